"""One walk over a parsed body: classify its values, count the people in it, note field paths.

The walk is the hot loop of sensitive-data scanning, so it avoids per-value function calls where it
can: strings under a field name that nominates nothing are passed over on their first character
unless that character could start a value with a self-proving format.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from apishield.inventory.classify import PERSONAL, by_value, classify
from apishield.inventory.credentials import KEY_FIRST_CHARS, KEY_FORMATS
from apishield.inventory.fieldnames import NAMES, NO_CLASS, FieldName, field_name
from apishield.inventory.personal import is_person_name, is_place, is_postcode, is_street
from apishield.inventory.textscan import scan_text

_IDENTIFYING = frozenset(
    {"person_name", "email", "phone", "msisdn", "ssn", "national_id", "date_of_birth"}
)
"""Any one of these makes an object a person record."""
_DEFINING = frozenset({"person_name", "ssn", "national_id", "date_of_birth"})
"""Inside a person record, only these start another one: a nested {"email": ...} is a contact
point of the person around it, a nested {"name": ..., "phone": ...} is somebody else."""

MAX_DEPTH = 64
MAX_NODES = 200_000
"""Values and containers looked at per body; a 256 KiB body of sane JSON holds far fewer."""
MAX_FIELDS = 512
"""Distinct field paths kept per body; the shape of a sane API response has far fewer."""
_MIN_TEXT = 20
"""Strings this long with a space in them that match no class as a whole are searched as text."""
_ADDRESS_CHECKS = {
    "street": is_street,
    "line": is_street,
    "city": is_place,
    "postcode": is_postcode,
}
_NAME_PARTS_FIELD = FieldName(("person_name",))
_MAYBE = frozenset("+-e0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") | KEY_FIRST_CHARS
_SELF_PROVING = re.compile(
    r"\+\d|-----BEGIN|eyJ|[A-Z]{2}\d\d|\d{4}[ -]\d{4}|89\d{17}|"
    + "|".join(re.escape(prefix) for prefix, _ in KEY_FORMATS)
)
"""How values whose format alone can prove a class begin (e-mails are found by their "@")."""

_CONTAINERS = (dict, list)
_NOTHING: frozenset[str] = frozenset()

Pending = list[tuple[str, FieldName, str]]


class Walk:
    """Counts and field paths of one body, and the free text to search once the tree is done."""

    __slots__ = ("_latest", "_nodes", "_texts", "classes", "fields", "records", "truncated")

    def __init__(self, latest: dt.date | None) -> None:
        self.classes: dict[str, int] = {}
        self.fields: dict[str, str] = {}
        self.records = 0
        self.truncated = False
        self._latest = latest
        self._nodes = 0
        self._texts: list[tuple[str, str]] = []

    def root(self, tree: object) -> None:
        if isinstance(tree, _CONTAINERS):
            self.container(tree, "", 0, False, NO_CLASS)
        elif isinstance(tree, str) or type(tree) is int:
            self._scalar(NO_CLASS, tree, "")

    def free_text(self, path: str, text: str) -> None:
        self._texts.append((path, text))

    def _hit(self, class_id: str, path: str) -> None:
        self.classes[class_id] = self.classes.get(class_id, 0) + 1
        if len(self.fields) < MAX_FIELDS:
            self.fields.setdefault(path, class_id)

    def _scalar(self, name: FieldName, value: str | int, path: str) -> str | None:
        if not name.plain:
            class_id = classify(name, value, self._latest)
        elif isinstance(value, str) and _may_prove_itself(value):
            class_id = by_value(value, name.identifier)
        else:
            class_id = None
        if class_id is not None:
            self._hit(class_id, path)
        elif isinstance(value, str) and len(value) >= _MIN_TEXT and " " in value:
            self._texts.append((path, value))
        return class_id

    def _enter(self, size: int, depth: int) -> bool:
        self._nodes += size
        if depth > MAX_DEPTH or self._nodes > MAX_NODES:
            self.truncated = True
            return False
        return True

    def container(
        self,
        value: object,
        path: str,
        depth: int,
        owned: bool,
        name: FieldName,
        *,
        scalars: bool = True,
    ) -> None:
        """`owned`: inside a person record already; `name`: the key the container sits under;
        `scalars`: whether a list's scalars are still to be classified."""
        if isinstance(value, dict):
            if self._enter(len(value), depth):
                self.mapping(value.items(), path, depth, owned, name)
        elif isinstance(value, list) and self._enter(len(value), depth):
            path += "[]"
            if scalars:
                self._scalars(value, name, path)
            for item in value:
                if isinstance(item, _CONTAINERS):
                    self.container(item, path, depth + 1, owned, name)

    def mapping(
        self,
        items: Iterable[tuple[str, object]],
        path: str,
        depth: int,
        owned: bool,
        parent: FieldName,
    ) -> None:
        """Scalars first, so whether this object is a person is known before its children are.
        A value's field path is only built when something is recorded under it."""
        found: set[str] = set()
        pending: Pending = []
        nested: list[tuple[str, FieldName, object]] = []
        prefix = path + "." if path else ""
        known, texts, maybe, proving = NAMES, self._texts, _MAYBE, _SELF_PROVING.match
        classes, fields, latest = self.classes, self.fields, self._latest
        for raw, value in items:
            name = known.get(raw) or field_name(raw)
            key = raw
            if name.renamed:
                key, name = self._rename(raw, name, parent, prefix)
            if isinstance(value, str):
                if (  # `_may_prove_itself`, inlined: this runs for most strings of every body
                    name.plain
                    and "@" not in value
                    and (len(value) < 6 or value[0] not in maybe or proving(value) is None)
                ):
                    if len(value) >= _MIN_TEXT and " " in value:
                        texts.append((prefix + key, value))
                    continue
            elif isinstance(value, _CONTAINERS):
                found |= self._nest(nested, key, name, value, prefix)
                continue
            elif type(value) is not int or name.plain:
                continue
            if name.contextual:
                pending.append((key, name, str(value)))
                continue
            # A plain name gets here with a string only.
            class_id = (
                by_value(str(value), name.identifier)
                if name.plain
                else classify(name, value, latest)
            )
            if class_id is None:
                if isinstance(value, str) and len(value) >= _MIN_TEXT and " " in value:
                    texts.append((prefix + key, value))
                continue
            classes[class_id] = classes.get(class_id, 0) + 1  # `_hit`, inlined
            if len(fields) < MAX_FIELDS:
                fields.setdefault(prefix + key, class_id)
            found.add(class_id)
        self._close(found, pending, nested, prefix, depth + 1, owned, parent)

    def _rename(
        self, key: str, name: FieldName, parent: FieldName, prefix: str
    ) -> tuple[str, FieldName]:
        """A key that is a value is kept by its kind and nominates nothing, and it counts as a
        value of its class (a map keyed by phone numbers holds phone numbers) but makes no
        person of the object. A generic key takes its meaning from the key above it."""
        valued = name.value
        if valued is None:
            return key, _inherit(name, parent)
        if valued.data_class is not None:
            self._hit(valued.data_class, prefix + valued.shown)
        return valued.shown, name

    def _nest(
        self,
        nested: list[tuple[str, FieldName, object]],
        key: str,
        name: FieldName,
        value: dict[str, object] | list[object],
        prefix: str,
    ) -> set[str] | frozenset[str]:
        """Keep a child container for after its siblings; a list's scalars are judged now."""
        nested.append((key, name, value))
        if isinstance(value, list):
            return self._scalars(value, name, prefix + key + "[]")
        return _NOTHING

    def _close(
        self,
        found: set[str],
        pending: Pending,
        nested: list[tuple[str, FieldName, object]],
        prefix: str,
        depth: int,
        owned: bool,
        parent: FieldName,
    ) -> None:
        """Settle what needed the whole object, then walk the children, which need to know
        whether they sit inside a person."""
        if pending:
            self._in_context(pending, prefix, found, parent, nested)
        if owned:
            person = not found.isdisjoint(_DEFINING)
        else:
            person = not found.isdisjoint(_IDENTIFYING) or (
                "account_number" in found and len(found & PERSONAL) >= 2
            )
        self.records += person
        owned = owned or person
        for key, name, value in nested:
            if isinstance(value, dict):
                if self._enter(len(value), depth):
                    self.mapping(value.items(), prefix + key, depth, owned, name)
            else:
                self.container(value, prefix + key, depth, owned, name, scalars=False)

    def _in_context(
        self,
        pending: Pending,
        prefix: str,
        found: set[str],
        parent: FieldName,
        nested: list[tuple[str, FieldName, object]],
    ) -> None:
        """Address parts and bare names mean something only together with their siblings: bare
        names only beside personal fields, or below a key that holds people."""
        parts = [
            (name.address, key)
            for key, name, value in pending
            if name.address and _ADDRESS_CHECKS[name.address](value)
        ]
        if parts:
            roles = {role for role, _ in parts}
            if "street" in roles or len(roles) >= 2:
                self._hit("postal_address", prefix + parts[0][1])
                for _, key in parts:
                    if len(self.fields) < MAX_FIELDS:
                        self.fields.setdefault(prefix + key, "postal_address")
                found.add("postal_address")
        names = [(key, value) for key, name, value in pending if name.contextual_name]
        if names and (parent.people or _personal_keys(nested) or not found.isdisjoint(PERSONAL)):
            for key, value in names:
                if is_person_name(value):
                    self._hit("person_name", prefix + key)
                    found.add("person_name")

    def _scalars(self, items: list[object], name: FieldName, path: str) -> set[str]:
        """Scalars in a list belong to the object holding the list: {"emails": [...]}."""
        found: set[str] = set()
        for item in items:
            if isinstance(item, str) or (type(item) is int and not name.plain):
                class_id = self._scalar(name, item, path)
                if class_id is not None:
                    found.add(class_id)
        return found

    def finish(self) -> None:
        """Search all collected free text in one pass, mapping each hit back to its field."""
        texts, self._texts = self._texts, []
        if not texts:
            return
        starts: list[int] = []
        offset = 0
        for _, text in texts:
            starts.append(offset)
            offset += len(text) + 1
        found = scan_text("\n".join(text for _, text in texts))
        self.truncated |= not found.complete
        index = 0
        for offset, class_id in found.hits:
            while index + 1 < len(starts) and starts[index + 1] <= offset:
                index += 1
            self._hit(class_id, texts[index][0])


def _may_prove_itself(value: str) -> bool:
    """The walk's cheap first look: most strings are dismissed on their first character."""
    if "@" in value:
        return True
    return len(value) >= 6 and value[0] in _MAYBE and _SELF_PROVING.match(value) is not None


def _inherit(name: FieldName, parent: FieldName) -> FieldName:
    """{"card": {"number": ...}} is a card number; {"name": {"first": ...}} a person's name."""
    if name.inherits == "value":
        return parent.value_field or (parent if parent.checks else name)
    if name.inherits == "name_part" and parent.contextual_name:
        return _NAME_PARTS_FIELD
    return name


def _personal_keys(nested: list[tuple[str, FieldName, object]]) -> bool:
    """Nested addresses or phone lists beside a bare "name" say the object is about a person."""
    return any(
        name.address or any(check in PERSONAL for check in name.checks) for _, name, _ in nested
    )
