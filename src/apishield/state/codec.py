"""Records as JSON, read back by the type the caller asks for.

A shared store must never be a path to code execution, so records are not pickled: a value is
written as plain JSON and rebuilt from the type `load` is given (a dataclass's field
annotations), never from a name found in the data. Exact for what detectors keep: None, bools,
ints (past 64 bits too), floats (infinities and NaN too), strings, enums, and dataclasses whose
fields hold those or lists, tuples, sets, frozensets, deques (with their `maxlen`) and dicts of
them. Anything else is refused when it is first saved, naming the field.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import functools
import math
import sys
import types
import typing
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

T = TypeVar("T")
Encoder = Callable[[Any], Any]
Decoder = Callable[[Any], Any]

_INT_RANGE = range(-(1 << 63), 1 << 64)
"""Integers JSON parsers read back as integers; larger ones are written as strings."""
_FLOAT_WORDS = frozenset({"inf", "-inf", "nan"})
_SUPPORTED = (
    "None, bool, int, float, str, an Enum, a dataclass, or a list, tuple, set, frozenset, "
    "deque or dict (keys str, int or float) of those"
)


class CodecError(ValueError):
    """Stored data that does not decode as the type asked for: another version's, or damaged."""


def type_tag(kind: type) -> str:
    """The name stored beside a record; a record loads only as the type it was saved as."""
    return f"{kind.__module__}.{kind.__qualname__}"


def encode(value: object) -> Any:
    """`value` as JSON-ready data; TypeError names a type that cannot be stored."""
    kind: Any = type(value)
    return encoder(kind)(value)


def decode(kind: type[T], data: Any) -> T:
    """A `kind` rebuilt from `data`; CodecError when the data is not one."""
    tp: Any = kind
    return typing.cast(T, decoder(tp)(data))


def check_kind(kind: type) -> None:
    """Raise TypeError now, before any I/O, if a `kind` cannot be decoded."""
    tp: Any = kind
    decoder(tp)


@functools.cache
def encoder(tp: Any) -> Encoder:
    scalar = _SCALAR_ENCODERS.get(tp)
    if scalar is not None:
        return scalar
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        _check_enum(tp)
        return _enum_value
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass_encoder(tp)
    origin, args = get_origin(tp), get_args(tp)
    inner = _optional(tp)
    if inner is not None:
        present = _nested(encoder, inner)
        return lambda value: None if value is None else present(value)
    if origin in (list, set, frozenset) or _is_variadic_tuple(tp):
        return _sequence_encoder(_nested(encoder, args[0]))
    if origin is tuple and args:
        items = tuple(_nested(encoder, arg) for arg in args)
        return lambda value: [item(x) for item, x in zip(items, value, strict=True)]
    if origin is deque and len(args) == 1:
        each = _sequence_encoder(_nested(encoder, args[0]))
        return lambda value: {"maxlen": value.maxlen, "items": each(value)}
    if origin is dict and len(args) == 2:
        key = _KEY_ENCODERS.get(args[0])
        if key is not None:
            return _dict_encoder(key, _nested(encoder, args[1]))
    raise TypeError(f"state records cannot hold {tp!r}; they hold {_SUPPORTED}")


@functools.cache
def decoder(tp: Any) -> Decoder:
    scalar = _SCALAR_DECODERS.get(tp)
    if scalar is not None:
        return scalar
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        _check_enum(tp)
        return _enum_decoder(tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass_decoder(tp)
    origin, args = get_origin(tp), get_args(tp)
    inner = _optional(tp)
    if inner is not None:
        present = _nested(decoder, inner)
        return lambda data: None if data is None else present(data)
    if origin in (list, set, frozenset) or _is_variadic_tuple(tp):
        each = _list_decoder(_nested(decoder, args[0]))
        return each if origin is list else lambda data: origin(each(data))
    if origin is tuple and args:
        return _tuple_decoder(tuple(_nested(decoder, arg) for arg in args))
    if origin is deque and len(args) == 1:
        return _deque_decoder(_list_decoder(_nested(decoder, args[0])))
    if origin is dict and len(args) == 2:
        key, each = _KEY_DECODERS.get(args[0]), _nested(decoder, args[1])
        if key is not None:
            return _dict_decoder(key, each)
    raise TypeError(f"state records cannot hold {tp!r}; they hold {_SUPPORTED}")


def _nested(build: Callable[[Any], Any], tp: Any) -> Any:
    """The codec of a field's type; dataclasses resolve on first use, so a type may nest itself."""
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        resolved: list[Callable[[Any], Any]] = []

        def resolve(value: Any) -> Any:
            if not resolved:
                resolved.append(build(tp))
            return resolved[0](value)

        return resolve
    return build(tp)


def _optional(tp: Any) -> Any:
    """X for `X | None`; None for anything that is not a union; other unions are refused."""
    if get_origin(tp) not in (typing.Union, types.UnionType):
        return None
    args = get_args(tp)
    present = [arg for arg in args if arg is not type(None)]
    if len(args) != 2 or len(present) != 1:
        raise TypeError(f"state records cannot hold {tp!r}: of unions only `X | None` is decidable")
    return present[0]


def _is_variadic_tuple(tp: Any) -> bool:
    args = get_args(tp)
    return get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis


# Scalars


def _same(value: Any) -> Any:
    return value


def _encode_int(value: Any) -> Any:
    if type(value) is not int:
        if type(value) is not bool:
            raise TypeError(f"state records hold {value!r} where an int is declared")
        value = int(value)
    return value if value in _INT_RANGE else str(value)


def _encode_float(value: Any) -> Any:
    if not isinstance(value, int | float):
        raise TypeError(f"state records hold {value!r} where a float is declared")
    number = float(value)
    return number if math.isfinite(number) else repr(number)


def _encode_str(value: Any) -> Any:
    if type(value) is not str:
        raise TypeError(f"state records hold {value!r} where a str is declared")
    return value


def _decode_int(data: Any) -> int:
    if type(data) is int:
        return data
    if type(data) is str:
        try:
            return int(data)
        except ValueError:
            pass
    raise CodecError(f"expected an int, found {data!r:.40}")


def _decode_float(data: Any) -> float:
    if type(data) is float:
        return data
    if type(data) is int or (type(data) is str and data in _FLOAT_WORDS):
        return float(data)
    raise CodecError(f"expected a float, found {data!r:.40}")


def _exactly(kind: type) -> Decoder:
    def decode_exactly(data: Any) -> Any:
        if type(data) is not kind:
            raise CodecError(f"expected a {kind.__name__}, found {data!r:.40}")
        return data

    return decode_exactly


_decode_str = _exactly(str)
_SCALAR_ENCODERS: dict[Any, Encoder] = {
    str: _encode_str,
    int: _encode_int,
    float: _encode_float,
    bool: _exactly(bool),
    type(None): _exactly(type(None)),
}
_SCALAR_DECODERS: dict[Any, Decoder] = {
    str: _decode_str,
    int: _decode_int,
    float: _decode_float,
    bool: _exactly(bool),
    type(None): _exactly(type(None)),
}
_PLAIN: dict[Decoder, type] = {
    _decode_str: str,
    _decode_int: int,
    _decode_float: float,
    _SCALAR_DECODERS[bool]: bool,
}
_KEY_ENCODERS: dict[Any, Encoder] = {str: _encode_str, int: str, float: repr}


def _decode_float_key(data: Any) -> float:
    try:
        return float(data)
    except ValueError:
        raise CodecError(f"expected a float, found {data!r:.40}") from None


_KEY_DECODERS: dict[Any, Decoder] = {str: _same, int: _decode_int, float: _decode_float_key}


def _check_enum(kind: type[enum.Enum]) -> None:
    for member in kind:
        if type(member.value) not in (str, int):
            raise TypeError(f"state records hold enums of str or int values; {member!r} is not")


def _enum_value(value: Any) -> Any:
    return value.value


def _enum_decoder(kind: type[enum.Enum]) -> Decoder:
    def decode_enum(data: Any) -> Any:
        try:
            return kind(data)
        except ValueError:
            raise CodecError(f"{data!r:.40} is not a {kind.__qualname__}") from None

    return decode_enum


# Containers


# Strings and floats, the common items, skip a call each: `x - x == 0.0` is false for infinities,
# NaN and non-numbers, which take the slow path. String items are trusted to be strings, as
# annotated; anything else there still fails, in orjson.


def _sequence_encoder(each: Encoder) -> Encoder:
    if each is _encode_str:
        return list
    if each is _encode_float:
        return lambda value: [
            x if type(x) is float and x - x == 0.0 else _encode_float(x) for x in value
        ]
    return lambda value: [each(x) for x in value]


def _dict_encoder(key: Encoder, each: Encoder) -> Encoder:
    if key is not _encode_str:
        return lambda value: {key(k): each(v) for k, v in value.items()}
    if each is _encode_float:
        return lambda value: {
            k: v if type(v) is float and v - v == 0.0 else _encode_float(v)
            for k, v in value.items()
        }
    return lambda value: {k: each(v) for k, v in value.items()}


def _list_decoder(each: Decoder) -> Callable[[Any], list[Any]]:
    def decode_list(data: Any) -> list[Any]:
        if type(data) is not list:
            raise CodecError(f"expected a list, found {data!r:.40}")
        if each is _decode_str and set(map(type, data)) == {str}:
            return data
        return [each(x) for x in data]

    return decode_list


def _tuple_decoder(items: tuple[Decoder, ...]) -> Decoder:
    def decode_tuple(data: Any) -> tuple[Any, ...]:
        if type(data) is not list or len(data) != len(items):
            raise CodecError(f"expected a list of {len(items)}, found {data!r:.40}")
        return tuple(item(x) for item, x in zip(items, data, strict=True))

    return decode_tuple


def _deque_decoder(each: Callable[[Any], list[Any]]) -> Decoder:
    def decode_deque(data: Any) -> deque[Any]:
        if type(data) is not dict or set(data) != {"maxlen", "items"}:
            raise CodecError(f"expected a deque's maxlen and items, found {data!r:.40}")
        maxlen = data["maxlen"]
        if maxlen is not None and (type(maxlen) is not int or maxlen < 0):
            raise CodecError(f"a deque's maxlen is {maxlen!r:.40}")
        return deque(each(data["items"]), maxlen)

    return decode_deque


def _dict_decoder(key: Decoder, each: Decoder) -> Decoder:
    def decode_dict(data: Any) -> dict[Any, Any]:
        if type(data) is not dict:
            raise CodecError(f"expected an object, found {data!r:.40}")
        if key is not _same:
            return {key(k): each(v) for k, v in data.items()}
        if each is _decode_float:
            return {k: v if type(v) is float else _decode_float(v) for k, v in data.items()}
        return {k: each(v) for k, v in data.items()}

    return decode_dict


# Dataclasses


def field_types(cls: type) -> dict[str, Any]:
    """The resolved annotations of a dataclass's fields, as its source writes them.

    A class compiled by mypyc keeps erased annotations (`list` for `list[Slot]`, `type` for
    `int | None`), so for one its module's source, which lies beside the compiled module, is read.
    """
    try:
        hints = get_type_hints(cls)
        if any(_compiled(sys.modules.get(klass.__module__)) for klass in cls.__mro__):
            hints.update(_source_hints(cls))
    except NameError as exc:
        raise TypeError(f"{cls.__qualname__}'s annotations do not resolve: {exc}") from exc
    return hints


def _compiled(module: types.ModuleType | None) -> bool:
    file = getattr(module, "__file__", None)
    return file is not None and not file.endswith(".py")


def _source_hints(cls: type) -> dict[str, Any]:
    """The field annotations of `cls` and the dataclasses it extends, as their modules' source
    writes them, resolved in those modules; nothing for a class whose source is not at hand."""
    hints: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        module = klass.__module__
        tree = _source_tree(sys.modules.get(module))
        node = _class_node(tree, klass.__qualname__) if tree is not None else None
        if node is None:
            continue
        written = {
            statement.target.id: ast.unparse(statement.annotation)
            for statement in node.body
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
        }
        # Resolved as any annotation is: in the namespace of the module that wrote it.
        stand_in = type(klass.__name__, (), {"__annotations__": written, "__module__": module})
        hints.update(get_type_hints(stand_in))
    return hints


def _source_tree(module: types.ModuleType | None) -> ast.Module | None:
    """The parsed source of `module`, also when it was compiled (its `.py` lies beside it)."""
    file = getattr(module, "__file__", None)
    if module is None or file is None:
        return None
    path = Path(file)
    if path.suffix != ".py":
        path = path.with_name(module.__name__.rpartition(".")[2] + ".py")
    return _parsed(path)


@functools.cache
def _parsed(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None


def _class_node(tree: ast.Module, qualname: str) -> ast.ClassDef | None:
    body: list[ast.stmt] = tree.body
    node: ast.ClassDef | None = None
    for name in qualname.split("."):
        node = next((n for n in body if isinstance(n, ast.ClassDef) and n.name == name), None)
        if node is None:
            return None
        body = node.body
    return node


def _field_codecs(
    cls: type, build: Callable[[Any], Any]
) -> list[tuple[dataclasses.Field[Any], Any]]:
    hints = field_types(cls)
    codecs = []
    for field in dataclasses.fields(cls):
        try:
            codecs.append((field, _nested(build, hints[field.name])))
        except TypeError as exc:
            raise TypeError(f"{cls.__qualname__}.{field.name}: {exc}") from None
    return codecs


def _dataclass_encoder(cls: type) -> Encoder:
    plan = [(field.name, codec) for field, codec in _field_codecs(cls, encoder)]

    def encode_dataclass(value: Any) -> dict[str, Any]:
        return {name: codec(getattr(value, name)) for name, codec in plan}

    return encode_dataclass


def _dataclass_decoder(cls: type) -> Decoder:
    missing = dataclasses.MISSING
    plan = [
        (
            field.name,
            codec,
            field.init,
            field.init and field.default is missing and field.default_factory is missing,
        )
        for field, codec in _field_codecs(cls, decoder)
    ]
    simple = None
    if all(init for _, _, init, _ in plan):
        # A JSON value already of the field's scalar type is used as it is, without a call.
        simple = [(name, codec, _PLAIN.get(codec)) for name, codec, _, _ in plan]

    def decode_dataclass(data: Any) -> Any:
        if type(data) is not dict:
            raise CodecError(f"expected a {cls.__qualname__} object, found {data!r:.40}")
        if simple is not None and len(data) == len(simple):
            # The usual record: every field there, all of them arguments. Any surprise takes the
            # careful way below, which also says which field was wrong.
            try:
                return cls(
                    **{
                        name: value if type(value := data[name]) is plain else codec(value)
                        for name, codec, plain in simple
                    }
                )
            except (KeyError, CodecError, TypeError, ValueError):
                pass
        arguments, late = {}, []
        for name, codec, init, required in plan:
            if name not in data:
                # A record from a version without this field: its default fills in.
                if required:
                    raise CodecError(f"{cls.__qualname__}.{name} is missing")
                continue
            try:
                value = codec(data[name])
            except CodecError as exc:
                raise CodecError(f"{cls.__qualname__}.{name}: {exc}") from None
            if init:
                arguments[name] = value
            else:
                late.append((name, value))
        try:
            instance = cls(**arguments)
        except (TypeError, ValueError) as exc:
            raise CodecError(f"{cls.__qualname__} refused the stored fields: {exc}") from None
        for name, value in late:
            object.__setattr__(instance, name, value)
        return instance

    return decode_dataclass
