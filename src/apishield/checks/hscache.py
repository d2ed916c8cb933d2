"""Compiled Hyperscan databases kept in a store, so a process starts in milliseconds, not seconds.

Compiling the signature databases takes seconds; loading a serialised one takes a millisecond or
two. This module decides what an entry is and whether one may be used; where entries live is
the installed `DatabaseStore`'s business (`apishield.state.disk.DiskStore` keeps them in a
directory, `apishield.startup.install_compiled_cache` installs it), so the checks stay free of
I/O. With no store installed, which is the default, every database is compiled in memory.

An entry is named by a SHA-256 over everything that shapes the database (the expressions,
flags, ids and mode) and everything that decides whether it runs here (the python-hyperscan
version, the Hyperscan library version and CPU features a database compiled here targets, the
machine), so an entry is only loaded by a build that would compile it alike. It carries a
SHA-256 of its payload, checked before Hyperscan sees it: Hyperscan does not guard against a
damaged database. An entry that is missing, damaged or refused is compiled afresh and put back.
A store that raises is treated as empty, with one debug line to say why: a cache never stops
the checks from running.
"""

from __future__ import annotations

import hashlib
import logging
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol

import hyperscan

log = logging.getLogger("apishield.checks.hscache")

MAGIC = b"apishield-hsdb 1\n"
"""The first bytes of every entry; a new framing gets a new number."""
_DIGEST = hashlib.sha256().digest_size


class DatabaseStore(Protocol):
    """Where entries are kept between processes: bytes under a key of 64 hex digits."""

    def get(self, key: str) -> bytes | None:
        """The entry stored under `key`, or None."""

    def put(self, key: str, data: bytes) -> None:
        """Keep `data` under `key`; a store that cannot keep it may drop it."""


@dataclass
class _Installed:
    store: DatabaseStore | None = None
    complained: bool = False
    """Whether the store's failure has been logged (once per installed store)."""


_installed = _Installed()


def use_store(store: DatabaseStore | None) -> None:
    """Keep compiled databases in `store` from now on, for the whole process; None compiles
    in memory every time."""
    _installed.store = store
    _installed.complained = False


def installed_store() -> DatabaseStore | None:
    return _installed.store


def compiled(
    expressions: Sequence[bytes],
    flags: Sequence[int],
    ids: Sequence[int],
    mode: int = hyperscan.HS_MODE_BLOCK,
) -> hyperscan.Database:
    """The database for these patterns: from the store when it holds the very same input,
    else compiled and stored. A pattern that does not compile raises Hyperscan's error."""
    store = _installed.store
    if store is None:
        return compile_database(expressions, flags, ids, mode)
    key = cache_key(expressions, flags, ids, mode)
    database = _load(store, key, mode)
    if database is None:
        database = compile_database(expressions, flags, ids, mode)
        _keep(store, key, database)
    return database


def compile_database(
    expressions: Sequence[bytes], flags: Sequence[int], ids: Sequence[int], mode: int
) -> hyperscan.Database:
    database = hyperscan.Database(mode=mode)
    database.compile(
        expressions=list(expressions),
        ids=list(ids),
        elements=len(expressions),
        flags=list(flags),
    )
    return database


def cache_key(
    expressions: Sequence[bytes], flags: Sequence[int], ids: Sequence[int], mode: int
) -> str:
    digest = hashlib.sha256(MAGIC)
    header = f"{build_identity()}\0mode={mode}\0flags={_ints(flags)}\0ids={_ints(ids)}\0"
    digest.update(header.encode())
    for expression in expressions:  # length-prefixed, so no two lists frame alike
        digest.update(len(expression).to_bytes(8, "little"))
        digest.update(expression)
    return digest.hexdigest()


@cache
def build_identity() -> str:
    """What decides whether a serialised database runs here: the bindings' version, and
    Hyperscan's own account of a database compiled here (library version, CPU features)."""
    probe = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    probe.compile(expressions=[b"apishield"])
    info: object = probe.info()  # bytes at run time, though the stub says str
    described = info.decode() if isinstance(info, bytes) else str(info)
    bindings = getattr(hyperscan, "__version__", "unknown")
    return f"python-hyperscan {bindings}; {described}; {platform.machine()} {platform.system()}"


def frame(payload: bytes) -> bytes:
    """An entry: the magic line, the payload's SHA-256, the payload (`hyperscan.dumpb`)."""
    return MAGIC + hashlib.sha256(payload).digest() + payload


def unframe(entry: bytes) -> bytes | None:
    """The payload, if the entry is whole and unchanged."""
    start = len(MAGIC) + _DIGEST
    if len(entry) <= start or not entry.startswith(MAGIC):
        return None
    payload = entry[start:]
    if hashlib.sha256(payload).digest() != entry[len(MAGIC) : start]:
        return None
    return payload


def loaded(entry: bytes, mode: int) -> hyperscan.Database | None:
    """The database an entry holds, ready to scan; None when it is damaged or refused."""
    payload = unframe(entry)
    if payload is None:
        return None
    try:
        database = hyperscan.loadb(payload, mode)
        database.scratch = hyperscan.Scratch(database)  # loadb leaves the database without one
    except hyperscan.error:
        return None
    return database


def _ints(values: Sequence[int]) -> str:
    return ",".join(str(value) for value in values)


def _load(store: DatabaseStore, key: str, mode: int) -> hyperscan.Database | None:
    try:
        entry = store.get(key)
    except Exception as exc:  # any store's failure: compile instead
        _complain(store, exc)
        return None
    if entry is None:
        return None
    database = loaded(entry, mode)
    if database is None:
        log.debug("hyperscan cache entry %s is damaged or refused; compiling it again", key)
    return database


def _keep(store: DatabaseStore, key: str, database: hyperscan.Database) -> None:
    try:
        entry = frame(hyperscan.dumpb(database))
        store.put(key, entry)
    except Exception as exc:  # any store's failure: the database is in memory all the same
        _complain(store, exc)


def _complain(store: DatabaseStore, reason: Exception) -> None:
    if not _installed.complained:
        _installed.complained = True
        log.debug("hyperscan cache %r failed (%r); compiling in memory", store, reason)
