"""Every test process loads compiled Hyperscan databases from the user's cache, as the CLI does,
so only the first run after a signature change pays for compiling them.

The cache lives where `apishield.state.disk.default_directory()` says (`$APISHIELD_CACHE_DIR`,
"off" to compile in memory, else `~/.cache/apishield/hyperscan`). Tests about the cache itself
install a store of their own (a dict, or a `DiskStore` under `tmp_path`) with `install_store`,
which puts this one back afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import hyperscan
import pytest

from apishield.checks import hscache
from apishield.startup import install_compiled_cache

install_compiled_cache()


@pytest.fixture
def install_store() -> Iterator[Callable[[hscache.DatabaseStore | None], None]]:
    """`hscache.use_store` for one test: the process's own store is back when it ends."""
    previous = hscache.installed_store()
    yield hscache.use_store
    hscache.use_store(previous)


class Compiles:
    """Counts real compilations, so a test can tell a load from a compile."""

    def __init__(self) -> None:
        self.count = 0
        self.real = hscache.compile_database

    def __call__(
        self, expressions: Sequence[bytes], flags: Sequence[int], ids: Sequence[int], mode: int
    ) -> hyperscan.Database:
        self.count += 1
        return self.real(expressions, flags, ids, mode)


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> Compiles:
    counter = Compiles()
    monkeypatch.setattr(hscache, "compile_database", counter)
    return counter


@pytest.fixture(scope="session")
def small_traffic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 3,500 simulated exchanges (apishield JSONL) with a scanner and a BOLA walk in them,
    and the telco spec beside them as telco-openapi.yaml."""
    from apishield.sim.run import Options, simulate

    out = tmp_path_factory.mktemp("sim") / "traffic.jsonl"
    simulate(Options(out, days=0.1, subscribers=120, scenarios="scanner,bola", seed=7))
    return out
