"""Compiled Hyperscan databases kept in a directory, shared by every process of one user.

`DiskStore` is the on-disk `apishield.checks.hscache.DatabaseStore` (it matches that protocol
by shape, so state does not import checks). An entry is one file named by its key. It is
written to a temporary file in the same directory and renamed into place, so no process ever
reads half of one; what a crash or power loss may still damage, the entry's own SHA-256 catches
(`hscache` checks it before Hyperscan sees the bytes). Reading an entry marks it used, and each
write prunes the directory to the `max_entries` most recently used ones and to no temporary
file older than an hour.

A directory that cannot be used means compiling in memory, as without a cache, with one debug
line to say why; a store never raises for a reason on disk. A directory that cannot be written
(a cache built ahead, in an image, and mounted read-only) is still read. The directory is
trusted like the code itself: Hyperscan does not guard against a crafted database, so a
directory anybody may write to (`/tmp`) is not used at all.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import tempfile
import time
from contextlib import suppress
from pathlib import Path

log = logging.getLogger("apishield.state.disk")

ENV = "APISHIELD_CACHE_DIR"
DISABLED = frozenset(("off", "none", "no", "false", "0"))
"""Values of `$APISHIELD_CACHE_DIR` that turn the cache off."""
MAX_ENTRIES = 32
"""Entries kept, the least recently used dropped first; the shipped databases are 5-7 MB each."""

SUFFIX = ".hsdb"
TEMPORARY = ".hsdb-"
STALE_SECONDS = 3600.0
"""A temporary file this old was left by a process that died while writing it."""
_KEY = re.compile(r"[0-9a-f]{64}")


def default_directory() -> Path | None:
    """`$APISHIELD_CACHE_DIR` ("off" disables the cache), else the user's cache directory."""
    configured = os.environ.get(ENV, "").strip()
    if configured.lower() in DISABLED:
        return None
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if xdg and Path(xdg).is_absolute():  # the XDG spec says to ignore a relative path
        return Path(xdg) / "apishield" / "hyperscan"
    try:
        return Path.home() / ".cache" / "apishield" / "hyperscan"
    except RuntimeError:  # no home directory to be found
        return None


class DiskStore:
    """Entries as files in one directory, created (mode 0700) by the first write."""

    def __init__(self, directory: Path, max_entries: int = MAX_ENTRIES) -> None:
        self.directory = directory
        self.max_entries = max_entries
        self._unwritable = False
        """A write failed: the directory is still read, and no longer written."""
        self._reported = False

    def __repr__(self) -> str:
        return f"DiskStore({str(self.directory)!r})"

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        if not self._usable():
            return None
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._stop_writing(exc)
            return None
        with suppress(OSError):
            os.utime(path)  # the least recently used entries are pruned first
        return data

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        if self._unwritable or not self._usable():
            return
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._write(path, data)
            self._prune()
        except OSError as exc:
            self._stop_writing(exc)

    def _path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise ValueError(f"a DiskStore key is 64 lowercase hex digits, not {key!r}")
        return self.directory / f"{key}{SUFFIX}"

    def _usable(self) -> bool:
        try:
            mode = self.directory.stat().st_mode
        except FileNotFoundError:
            return True  # created by the first write
        except OSError as exc:
            self._report(exc, "not used; compiling in memory")
            return False
        if mode & stat.S_IWOTH:
            self._report("anybody may write to it", "not used; compiling in memory")
            return False
        return True

    def _write(self, path: Path, data: bytes) -> None:
        handle, temporary = tempfile.mkstemp(prefix=TEMPORARY, dir=self.directory)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, path)
        except BaseException:
            with suppress(OSError):
                os.unlink(temporary)
            raise

    def _prune(self) -> None:
        """Keep the most recently used entries; drop temporary files a crash left."""
        now = time.time()
        entries: list[tuple[float, Path]] = []
        for path in self.directory.iterdir():
            with suppress(OSError):
                modified = path.stat().st_mtime
                if path.suffix == SUFFIX:
                    entries.append((modified, path))
                elif path.name.startswith(TEMPORARY) and now - modified > STALE_SECONDS:
                    path.unlink()
        entries.sort(reverse=True)
        for _, path in entries[self.max_entries :]:
            with suppress(OSError):
                path.unlink()

    def _stop_writing(self, reason: object) -> None:
        self._unwritable = True
        self._report(reason, "read but not written; compiling in memory what it lacks")

    def _report(self, reason: object, outcome: str) -> None:
        if not self._reported:
            self._reported = True
            log.debug("hyperscan cache in %s (%s): %s", self.directory, reason, outcome)
