"""What a process sets up before it analyses anything: wiring, like the CLI, kept apart from it
so that the CLI and the in-line guard start alike.

The checks compile their Hyperscan databases on first use, which takes seconds; with the
compiled-database cache installed, every process after the first loads them in milliseconds.
"""

from __future__ import annotations

from pathlib import Path

from apishield.checks.hscache import use_store
from apishield.state.disk import DiskStore, default_directory


def install_compiled_cache() -> Path | None:
    """Keep compiled databases in `state.disk.default_directory()` (`$APISHIELD_CACHE_DIR`,
    else the user's cache directory) for this process; the directory used, or None when the
    cache is off and every database is compiled in memory."""
    directory = default_directory()
    use_store(DiskStore(directory) if directory is not None else None)
    return directory
