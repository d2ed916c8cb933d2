from __future__ import annotations

import dataclasses
import enum
import importlib
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apishield.detect.profile import Profile
from apishield.state.codec import (
    CodecError,
    check_kind,
    decode,
    encode,
    field_types,
    type_tag,
)


def _round_trip(value: Any) -> Any:
    return decode(type(value), orjson.loads(orjson.dumps(encode(value))))


def _strategy(tp: Any) -> st.SearchStrategy[Any]:
    """Values of `tp` with every field drawn, down to nested dataclasses and container items."""
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = field_types(tp)
        init = {f.name: _strategy(hints[f.name]) for f in dataclasses.fields(tp) if f.init}
        return st.builds(tp, **init)
    origin, args = get_origin(tp), get_args(tp)
    if type(None) in args:
        return st.none() | _strategy(next(a for a in args if a is not type(None)))
    if origin is dict:
        return st.dictionaries(_strategy(args[0]), _strategy(args[1]), max_size=4)
    if origin in (list, set, frozenset):
        return st.lists(_strategy(args[0]), max_size=6).map(origin)
    return st.from_type(tp)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_record_a_detector_keeps_round_trips_exactly(
    detector_kind: type, data: st.DataObject, identical: Callable[[Any, Any], bool]
) -> None:
    value = data.draw(_strategy(detector_kind))
    assert identical(_round_trip(value), value)


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass
class Node:
    name: str
    children: list[Node] = field(default_factory=list)


@dataclass(slots=True, frozen=True)
class Everything:
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=3))
    pair: tuple[int, str] = (0, "")
    many: tuple[float, ...] = ()
    tags: frozenset[str] = frozenset()
    by_id: dict[int, list[float]] = field(default_factory=dict)
    by_rate: dict[float, str] = field(default_factory=dict)
    colour: Colour = Colour.RED
    tree: Node | None = None
    later: int = field(default=0, init=False)


def test_containers_enums_and_nested_types_round_trip_exactly(
    identical: Callable[[Any, Any], bool],
) -> None:
    value = Everything(
        deque([1.0, math.inf, math.nan], maxlen=3),
        (1 << 80, "x"),
        (0.5, -0.0),
        frozenset({"a", "b"}),
        {-3: [1e308, 5e-324]},
        {0.25: "quarter", math.inf: "inf"},
        Colour.BLUE,
        Node("root", [Node("leaf")]),
    )
    object.__setattr__(value, "later", 9)
    back = _round_trip(value)
    assert identical(back, value)
    assert back.recent.maxlen == 3


def test_a_record_from_a_version_without_a_field_gets_its_default() -> None:
    data = orjson.loads(orjson.dumps(encode(Profile(first_seen=5.0, hour=3))))
    del data["endpoints"]
    data["removed_since"] = 1  # a field a later version dropped is ignored
    assert decode(Profile, data) == Profile(first_seen=5.0, hour=3)


@pytest.mark.parametrize(
    ("kind", "data", "complaint"),
    [
        (Profile, {"hour": 3}, "Profile.first_seen is missing"),
        (Profile, {"first_seen": "soon"}, "Profile.first_seen: expected a float"),
        (Profile, {"first_seen": 1.0, "networks": {"n": True}}, "Profile.networks"),
        (Profile, [1.0], "expected a Profile object"),
        (Everything, {"recent": {"maxlen": -1, "items": []}}, "maxlen"),
        (Everything, {"pair": [1]}, "a list of 2"),
        (Everything, {"colour": "green"}, "not a Colour"),
        (Everything, {"by_id": {"seven": []}}, "expected an int"),
        (int, True, "expected an int"),
        (bool, 1, "expected a bool"),
        (float, "1.5", "expected a float"),
    ],
)
def test_data_that_is_not_the_kind_asked_for_is_refused(
    kind: type, data: Any, complaint: str
) -> None:
    with pytest.raises(CodecError, match=complaint):
        decode(kind, data)


@dataclass
class Checked:
    size: int

    def __post_init__(self) -> None:
        if self.size < 0:
            raise ValueError(f"size is {self.size}")


def test_a_dataclass_refusing_its_stored_fields_is_a_codec_error() -> None:
    with pytest.raises(CodecError, match="refused the stored fields: size is -1"):
        decode(Checked, {"size": -1})


@dataclass
class Loose:
    anything: Any = None


@dataclass
class Ambiguous:
    either: int | str = 0


@dataclass
class Untyped:
    items: list = field(default_factory=list)  # type: ignore[type-arg]


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        (Loose(), r"Loose\.anything: state records cannot hold typing\.Any"),
        (Ambiguous(), r"Ambiguous\.either: .*only `X \| None`"),
        (Untyped(), r"Untyped\.items: state records cannot hold <class 'list'>"),
        ({"a": 1}, "cannot hold <class 'dict'>"),
        (object(), "cannot hold <class 'object'>"),
    ],
)
def test_types_that_cannot_be_stored_are_named_when_saved_and_loaded(
    value: object, complaint: str
) -> None:
    with pytest.raises(TypeError, match=complaint):
        encode(value)
    with pytest.raises(TypeError, match=complaint):
        check_kind(type(value))


@dataclass
class Hours:
    hour: int = 0


def test_a_value_that_does_not_match_its_annotation_is_refused_when_saved() -> None:
    with pytest.raises(TypeError, match=r"1\.5 where an int is declared"):
        encode(Hours(hour=1.5))  # type: ignore[arg-type]


def test_type_tags_name_the_class_not_its_data() -> None:
    assert type_tag(Profile) == "apishield.detect.profile.Profile"
    assert type_tag(float) == "builtins.float"


RECORDS_SOURCE = """
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Slot:
    requests: int = 0


@dataclass
class Base:
    tags: set[str] = field(default_factory=set)


@dataclass
class Record(Base):
    slots: list[Slot] = field(default_factory=list)
    seen: dict[str, float] = field(default_factory=dict)
    last: Slot | None = None
"""


def test_a_compiled_record_s_element_types_are_read_from_its_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A class compiled by mypyc keeps `list` of `list[Slot]` and `type` of `Slot | None`; its
    source, beside the compiled module, has the rest."""
    (tmp_path / "erased_records.py").write_text(RECORDS_SOURCE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("erased_records")
    record_type, base_type = module.Record, module.Base
    # What mypyc leaves: a module loaded from a shared library, erased annotations.
    compiled = tmp_path / "erased_records.cpython-311-x86_64-linux-gnu.so"
    monkeypatch.setattr(module, "__file__", str(compiled))
    monkeypatch.setattr(record_type, "__annotations__", {"slots": list, "seen": dict, "last": type})
    monkeypatch.setattr(base_type, "__annotations__", {"tags": set})
    assert field_types(record_type)["last"] == module.Slot | None
    record = record_type(tags={"a"}, slots=[module.Slot(3)], seen={"x": 1.5}, last=module.Slot(1))
    back = decode(record_type, orjson.loads(orjson.dumps(encode(record))))
    assert back == record
    assert type(back.slots[0]) is module.Slot
    assert type(back.last) is module.Slot
