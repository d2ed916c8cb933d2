"""Compiled databases in a directory: written whole, shared with the next process, pruned, and
never a failure when the directory cannot be used or written."""

from __future__ import annotations

import errno
import logging
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

import hyperscan
import pytest

from apishield.checks import hscache
from apishield.state.disk import DiskStore, default_directory

from ..conftest import Compiles

EXPRESSIONS = [rb"union\s+select", rb"<script\b", rb"\.\./"]
FLAGS = [hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH] * 3
IDS = [0, 1, 2]
TEXT = b"a=1 UNION  SELECT 2 <SCRIPT> ../../etc/passwd"
Install = Callable[[hscache.DatabaseStore | None], None]


def key(number: int) -> str:
    return f"{number:064x}"


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def installed(cache_dir: Path, install_store: Install) -> DiskStore:
    """A DiskStore in a fresh directory, installed for `hscache.compiled`."""
    store = DiskStore(cache_dir)
    install_store(store)
    return store


def _entries(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.hsdb"))


def _finds(database: hyperscan.Database) -> set[int]:
    found: set[int] = set()
    database.scan(TEXT, match_event_handler=lambda pattern, *_: found.add(pattern))
    return found


def _read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every new file fails as on a file system mounted read-only (root writes anywhere else)."""

    def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)


def test_an_entry_is_written_whole_in_a_private_directory(cache_dir: Path) -> None:
    store = DiskStore(cache_dir)
    assert store.get(key(1)) is None
    assert not cache_dir.exists()  # reading creates nothing
    store.put(key(1), b"entry")
    assert store.get(key(1)) == b"entry"
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700
    [entry] = cache_dir.iterdir()  # no temporary file left behind
    assert entry.name == f"{key(1)}.hsdb"
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    store.put(key(1), b"newer")
    assert DiskStore(cache_dir).get(key(1)) == b"newer"


def test_a_write_that_fails_midway_leaves_the_old_entry_and_no_temporary(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    store = DiskStore(cache_dir)
    store.put(key(1), b"old")
    attempts: list[object] = []

    def fail(source: object, target: object) -> None:
        attempts.append(target)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with caplog.at_level(logging.DEBUG, logger="apishield.state.disk"):
        store.put(key(1), b"new")
        store.put(key(2), b"other")
    assert [path.name for path in cache_dir.iterdir()] == [f"{key(1)}.hsdb"]
    assert store.get(key(1)) == b"old"
    assert len(attempts) == 1  # a store that failed to write no longer tries
    assert len(caplog.records) == 1
    assert "No space left" in caplog.messages[0]


@pytest.mark.parametrize("name", ["../../etc/passwd", "A" * 64, key(1)[:-1], ""])
def test_a_key_that_is_not_a_digest_is_refused(cache_dir: Path, name: str) -> None:
    with pytest.raises(ValueError, match="64 lowercase hex digits"):
        DiskStore(cache_dir).put(name, b"x")
    with pytest.raises(ValueError, match="64 lowercase hex digits"):
        DiskStore(cache_dir).get(name)


def test_the_next_process_loads_what_this_one_compiled(
    cache_dir: Path, installed: DiskStore, install_store: Install, compiles: Compiles
) -> None:
    first = hscache.compiled(EXPRESSIONS, FLAGS, IDS)
    assert compiles.count == 1
    assert len(_entries(cache_dir)) == 1
    install_store(DiskStore(cache_dir))  # what a new process would install
    second = hscache.compiled(EXPRESSIONS, FLAGS, IDS)
    assert compiles.count == 1
    assert _finds(second) == _finds(first) == {0, 1, 2}


def test_a_damaged_file_is_compiled_again_and_rewritten(
    cache_dir: Path, installed: DiskStore, compiles: Compiles
) -> None:
    hscache.compiled(EXPRESSIONS, FLAGS, IDS)
    [entry] = _entries(cache_dir)
    good = entry.read_bytes()
    entry.write_bytes(good[: len(good) // 2])
    assert _finds(hscache.compiled(EXPRESSIONS, FLAGS, IDS)) == {0, 1, 2}
    assert compiles.count == 2
    assert entry.read_bytes() == good


def test_an_unusable_directory_compiles_in_memory_with_one_debug_line(
    tmp_path: Path,
    install_store: Install,
    compiles: Compiles,
    caplog: pytest.LogCaptureFixture,
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    install_store(DiskStore(blocker / "cache"))
    with caplog.at_level(logging.DEBUG, logger="apishield"):
        first = hscache.compiled(EXPRESSIONS, FLAGS, IDS)
        second = hscache.compiled(EXPRESSIONS, FLAGS, IDS)
    assert compiles.count == 2
    assert _finds(first) == _finds(second) == {0, 1, 2}
    assert len(caplog.records) == 1
    assert caplog.records[0].levelno == logging.DEBUG
    assert "compiling in memory" in caplog.messages[0]
    assert blocker.read_text() == "not a directory"


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes to read-only directories"
)
def test_a_read_only_directory_still_works(
    cache_dir: Path, installed: DiskStore, compiles: Compiles
) -> None:
    cache_dir.mkdir(mode=0o500)
    try:
        assert _finds(hscache.compiled(EXPRESSIONS, FLAGS, IDS)) == {0, 1, 2}
        assert _finds(hscache.compiled(EXPRESSIONS, FLAGS, IDS)) == {0, 1, 2}
        assert compiles.count == 2
        assert _entries(cache_dir) == []
    finally:
        cache_dir.chmod(0o700)


def test_a_read_only_cache_that_is_filled_is_still_read(
    cache_dir: Path,
    install_store: Install,
    monkeypatch: pytest.MonkeyPatch,
    compiles: Compiles,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A cache built ahead (an image build) and mounted read-only still saves compiling."""
    install_store(DiskStore(cache_dir))
    hscache.compiled(EXPRESSIONS, FLAGS, IDS)
    _read_only(monkeypatch)
    install_store(DiskStore(cache_dir))
    with caplog.at_level(logging.DEBUG, logger="apishield"):
        hscache.compiled(EXPRESSIONS[:1], FLAGS[:1], IDS[:1])  # not held, and cannot be written
        assert _finds(hscache.compiled(EXPRESSIONS, FLAGS, IDS)) == {0, 1, 2}
    assert compiles.count == 2
    assert len(_entries(cache_dir)) == 1
    assert len(caplog.records) == 1
    assert "read but not written" in caplog.messages[0]


def test_a_directory_anybody_may_write_to_is_not_used(
    cache_dir: Path, installed: DiskStore, compiles: Compiles
) -> None:
    hscache.compiled(EXPRESSIONS, FLAGS, IDS)
    cache_dir.chmod(0o777)  # from now on, anybody could have put that entry there
    hscache.compiled(EXPRESSIONS, FLAGS, IDS)
    hscache.compiled(EXPRESSIONS[:1], FLAGS[:1], IDS[:1])
    assert compiles.count == 3
    assert len(_entries(cache_dir)) == 1


def test_the_least_recently_used_entries_and_stale_temporaries_are_pruned(
    cache_dir: Path,
) -> None:
    store = DiskStore(cache_dir, max_entries=2)
    store.put(key(1), b"used")
    store.put(key(2), b"unused")
    used, unused = cache_dir / f"{key(1)}.hsdb", cache_dir / f"{key(2)}.hsdb"
    os.utime(used, (1.0, 1.0))
    os.utime(unused, (2.0, 2.0))
    stale = cache_dir / ".hsdb-left-by-a-crash"
    stale.write_bytes(b"half")
    os.utime(stale, (1.0, 1.0))
    writing = cache_dir / ".hsdb-being-written"
    writing.write_bytes(b"half")
    other = cache_dir / "notes.txt"
    other.write_text("not ours")
    os.utime(other, (1.0, 1.0))
    assert store.get(key(1)) == b"used"  # a read marks the entry as used
    store.put(key(3), b"new")
    assert _entries(cache_dir) == sorted([used, cache_dir / f"{key(3)}.hsdb"])
    assert not stale.exists()
    assert writing.exists()  # another process may be writing it now
    assert other.exists()


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"APISHIELD_CACHE_DIR": "/srv/hs", "XDG_CACHE_HOME": "/x"}, Path("/srv/hs")),
        ({"APISHIELD_CACHE_DIR": "~/hs"}, Path("/home/u/hs")),
        ({"APISHIELD_CACHE_DIR": "off", "XDG_CACHE_HOME": "/x"}, None),
        ({"APISHIELD_CACHE_DIR": " OFF "}, None),
        ({"APISHIELD_CACHE_DIR": "none"}, None),
        ({"APISHIELD_CACHE_DIR": "no"}, None),
        ({"APISHIELD_CACHE_DIR": "False"}, None),
        ({"APISHIELD_CACHE_DIR": "0"}, None),
        ({"APISHIELD_CACHE_DIR": "", "XDG_CACHE_HOME": "/x"}, Path("/x/apishield/hyperscan")),
        ({"XDG_CACHE_HOME": "/x"}, Path("/x/apishield/hyperscan")),
        ({"XDG_CACHE_HOME": "relative"}, Path("/home/u/.cache/apishield/hyperscan")),
        ({}, Path("/home/u/.cache/apishield/hyperscan")),
    ],
)
def test_where_the_cache_lives(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], expected: Path | None
) -> None:
    for name in ("APISHIELD_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOME", "/home/u")
    assert default_directory() == expected
