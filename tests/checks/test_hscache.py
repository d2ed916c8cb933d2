"""Compiled databases in a store: loaded when the input is the same, compiled when it is not or
when the entry is damaged, and never a failure when the store is. The store here is a dict; the
directory behind it in production is tested in tests/state/test_disk.py."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

import hyperscan
import pytest

from apishield.checks import hscache
from apishield.checks.gate import Gate
from apishield.checks.matcher import Matcher
from apishield.checks.response_leaks import LeakScanner
from apishield.checks.signatures import SIGNATURES

from ..conftest import Compiles

EXPRESSIONS = [rb"union\s+select", rb"<script\b", rb"\.\./"]
FLAGS = [hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH] * 3
IDS = [0, 1, 2]
TEXT = b"a=1 UNION  SELECT 2 <SCRIPT> ../../etc/passwd"
Install = Callable[[hscache.DatabaseStore | None], None]


class DictStore:
    def __init__(self) -> None:
        self.entries: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self.entries.get(key)

    def put(self, key: str, data: bytes) -> None:
        self.entries[key] = data


class BrokenStore:
    """A store whose reads, writes or both fail, as a full disk or a lost server would."""

    def __init__(self, get: bool, put: bool) -> None:
        self.fail_get = get
        self.fail_put = put
        self.calls = 0

    def get(self, key: str) -> bytes | None:
        self.calls += 1
        if self.fail_get:
            raise OSError("the store is gone")
        return None

    def put(self, key: str, data: bytes) -> None:
        self.calls += 1
        if self.fail_put:
            raise RuntimeError("the store refuses")


@pytest.fixture
def store(install_store: Install) -> DictStore:
    store = DictStore()
    install_store(store)
    return store


def _matches(database: hyperscan.Database, text: bytes = TEXT) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []

    def on_match(pattern: int, start: int, end: int, flags: int, context: object) -> None:
        found.append((pattern, end))

    database.scan(text, match_event_handler=on_match)
    return sorted(found)


def test_the_second_call_loads_from_the_store(store: DictStore, compiles: Compiles) -> None:
    first = hscache.compiled(EXPRESSIONS, FLAGS, IDS)
    assert compiles.count == 1
    assert list(store.entries) == [
        hscache.cache_key(EXPRESSIONS, FLAGS, IDS, hyperscan.HS_MODE_BLOCK)
    ]
    second = hscache.compiled(EXPRESSIONS, FLAGS, IDS)
    assert compiles.count == 1
    assert _matches(second) == _matches(first)
    assert {pattern for pattern, _ in _matches(first)} == {0, 1, 2}


def test_an_entry_is_the_magic_line_a_digest_and_the_serialised_database(
    store: DictStore,
) -> None:
    hscache.compiled(EXPRESSIONS, FLAGS, IDS)
    [entry] = store.entries.values()
    header = len(hscache.MAGIC) + 32
    assert entry.startswith(hscache.MAGIC)
    assert entry[len(hscache.MAGIC) : header] == hashlib.sha256(entry[header:]).digest()
    assert hscache.unframe(entry) == entry[header:]
    assert hscache.frame(entry[header:]) == entry


def test_without_a_store_every_call_compiles(install_store: Install, compiles: Compiles) -> None:
    install_store(None)
    assert hscache.installed_store() is None
    first = hscache.compiled(EXPRESSIONS, FLAGS, IDS)
    second = hscache.compiled(EXPRESSIONS, FLAGS, IDS)
    assert compiles.count == 2
    assert _matches(first) == _matches(second) != []


@pytest.mark.parametrize(
    ("expressions", "flags", "ids", "mode"),
    [
        ([*EXPRESSIONS[:2], rb"\.\.\\"], FLAGS, IDS, hyperscan.HS_MODE_BLOCK),
        (EXPRESSIONS, [hyperscan.HS_FLAG_SINGLEMATCH] * 3, IDS, hyperscan.HS_MODE_BLOCK),
        (EXPRESSIONS, FLAGS, [2, 1, 0], hyperscan.HS_MODE_BLOCK),
        (EXPRESSIONS, FLAGS, IDS, hyperscan.HS_MODE_STREAM),
    ],
    ids=["expression", "flags", "ids", "mode"],
)
def test_a_different_input_gets_its_own_entry(
    store: DictStore,
    compiles: Compiles,
    expressions: list[bytes],
    flags: list[int],
    ids: list[int],
    mode: int,
) -> None:
    hscache.compiled(EXPRESSIONS, FLAGS, IDS)
    hscache.compiled(expressions, flags, ids, mode)
    assert compiles.count == 2
    assert len(store.entries) == 2


def test_expressions_are_framed_so_no_two_lists_share_a_key() -> None:
    block = hyperscan.HS_MODE_BLOCK
    assert hscache.cache_key([b"ab", b"c"], [0, 0], [0, 1], block) != hscache.cache_key(
        [b"a", b"bc"], [0, 0], [0, 1], block
    )
    assert hscache.cache_key([b"a"], [1], [0], block) == hscache.cache_key(
        (b"a",), (1,), [0], block
    )


def test_another_hyperscan_build_does_not_read_this_builds_entries(
    store: DictStore, compiles: Compiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "python-hyperscan" in hscache.build_identity()
    assert "Version:" in hscache.build_identity()  # Hyperscan's own version and platform line
    hscache.compiled(EXPRESSIONS, FLAGS, IDS)
    monkeypatch.setattr(hscache, "build_identity", lambda: "python-hyperscan 99; Version: 9.9.9")
    hscache.compiled(EXPRESSIONS, FLAGS, IDS)
    assert compiles.count == 2
    assert len(store.entries) == 2


def _flip_last_byte(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 0xFF])


def _valid_digest_bad_payload(data: bytes) -> bytes:
    """Whole and unchanged as far as the entry goes, yet not a database Hyperscan accepts."""
    return hscache.frame(b"\xdb\xdb\xdb\xdb" + b"\0" * 200)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: b"",
        lambda data: data[: len(data) // 2],
        _flip_last_byte,
        lambda data: b"X" + data[1:],
        _valid_digest_bad_payload,
    ],
    ids=["empty", "truncated", "bit-flip", "magic", "refused-by-hyperscan"],
)
def test_a_damaged_entry_is_compiled_again_and_rewritten(
    store: DictStore,
    compiles: Compiles,
    damage: Callable[[bytes], bytes],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fresh = hscache.compiled(EXPRESSIONS, FLAGS, IDS)
    [key] = store.entries
    good = store.entries[key]
    store.entries[key] = damage(good)
    with caplog.at_level(logging.DEBUG, logger="apishield.checks.hscache"):
        again = hscache.compiled(EXPRESSIONS, FLAGS, IDS)
    assert compiles.count == 2
    assert _matches(again) == _matches(fresh)
    assert store.entries[key] == good  # rewritten whole
    assert "compiling it again" in caplog.text
    hscache.compiled(EXPRESSIONS, FLAGS, IDS)
    assert compiles.count == 2


@pytest.mark.parametrize(
    ("fail_get", "fail_put"),
    [(True, False), (False, True), (True, True)],
    ids=["get", "put", "both"],
)
def test_a_store_that_raises_is_ignored_with_one_debug_line(
    install_store: Install,
    compiles: Compiles,
    caplog: pytest.LogCaptureFixture,
    fail_get: bool,
    fail_put: bool,
) -> None:
    broken = BrokenStore(get=fail_get, put=fail_put)
    install_store(broken)
    with caplog.at_level(logging.DEBUG, logger="apishield"):
        first = hscache.compiled(EXPRESSIONS, FLAGS, IDS)
        second = hscache.compiled(EXPRESSIONS, FLAGS, IDS)
    assert compiles.count == 2
    assert _matches(first) == _matches(second) != []
    assert broken.calls == 4  # asked each time: a store may come back
    assert len(caplog.records) == 1
    assert caplog.records[0].levelno == logging.DEBUG
    assert "compiling in memory" in caplog.messages[0]


def test_a_new_store_that_raises_is_reported_again(
    install_store: Install, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="apishield.checks.hscache"):
        install_store(BrokenStore(get=True, put=True))
        hscache.compiled(EXPRESSIONS, FLAGS, IDS)
        install_store(BrokenStore(get=True, put=True))
        hscache.compiled(EXPRESSIONS, FLAGS, IDS)
    assert len(caplog.records) == 2


def test_a_loaded_database_finds_what_a_fresh_one_finds(
    install_store: Install, compiles: Compiles
) -> None:
    signatures = SIGNATURES[:: max(len(SIGNATURES) // 60, 1)]
    texts = [
        "1' OR '1'='1",
        "1 union select password from users--",
        "<script>alert(1)</script>",
        "../../../../etc/passwd",
        "${jndi:ldap://x.example/a}",
        "; cat /etc/passwd",
        "http://169.254.169.254/latest/meta-data/",
        "{{7*7}}",
        "plain words and numbers 12345",
    ]
    install_store(None)
    fresh = Matcher(signatures).scan(texts)
    install_store(DictStore())
    Matcher(signatures)
    loaded = Matcher(signatures)
    assert compiles.count == 2  # once without a store, once to fill it; the third was loaded
    assert [(i, s.rule_id) for i, s in loaded.scan(texts)] == [(i, s.rule_id) for i, s in fresh]
    assert fresh  # the comparison means something


def test_a_loaded_database_scans_with_a_cloned_scratch(store: DictStore) -> None:
    """The matcher clones the scratch when another thread holds it; a loaded database has one."""
    hscache.compiled(EXPRESSIONS, FLAGS, IDS)
    loaded = hscache.compiled(EXPRESSIONS, FLAGS, IDS)
    found: list[int] = []
    loaded.scan(
        TEXT,
        match_event_handler=lambda pattern, *_: found.append(pattern),
        scratch=loaded.scratch.clone(),
    )
    assert sorted(set(found)) == [0, 1, 2]


def test_the_leak_scanner_is_cached_too(store: DictStore, compiles: Compiles) -> None:
    body = b'Traceback (most recent call last):\n  File "/srv/app.py", line 4, in get\nORA-00933: '
    assert LeakScanner().scan(body) == {"trace": "python", "sql": "oracle"}
    assert LeakScanner().scan(body) == {"trace": "python", "sql": "oracle"}
    assert compiles.count == 1


def test_the_gate_is_cached_too(store: DictStore, compiles: Compiles) -> None:
    signatures = SIGNATURES[:5]
    first, second = Gate(signatures), Gate(signatures)
    assert compiles.count == 1
    for gate in (first, second):
        assert gate.quiet("/customers/40213377/profile")
        assert not gate.quiet("q=1' or 1=1--")
    assert len(store.entries) == 1


def test_a_compile_error_is_raised_and_nothing_is_stored(store: DictStore) -> None:
    with pytest.raises(hyperscan.error):
        hscache.compiled([b"(unclosed"], [0], [0])
    assert store.entries == {}
