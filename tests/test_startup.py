"""Start-up wiring: the compiled-database cache follows `$APISHIELD_CACHE_DIR`."""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path

import hyperscan
import pytest

from apishield.checks import hscache
from apishield.startup import ANALYSIS_GC_THRESHOLDS, analysis_collector, install_compiled_cache
from apishield.state.disk import DiskStore

from .conftest import Compiles

Install = Callable[[hscache.DatabaseStore | None], None]
EXPRESSIONS = [rb"union\s+select", rb"<script\b"]
FLAGS = [hyperscan.HS_FLAG_CASELESS] * 2
IDS = [0, 1]


def test_the_cache_goes_where_the_environment_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, install_store: Install, compiles: Compiles
) -> None:
    monkeypatch.setenv("APISHIELD_CACHE_DIR", str(tmp_path / "hs"))
    assert install_compiled_cache() == tmp_path / "hs"
    store = hscache.installed_store()
    assert isinstance(store, DiskStore)
    assert store.directory == tmp_path / "hs"
    hscache.compiled(EXPRESSIONS, FLAGS, IDS)
    hscache.compiled(EXPRESSIONS, FLAGS, IDS)
    assert compiles.count == 1
    assert len(list((tmp_path / "hs").glob("*.hsdb"))) == 1


def test_a_disabled_cache_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, install_store: Install, compiles: Compiles
) -> None:
    monkeypatch.setenv("APISHIELD_CACHE_DIR", "off")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert install_compiled_cache() is None
    assert hscache.installed_store() is None
    hscache.compiled(EXPRESSIONS, FLAGS, IDS)
    hscache.compiled(EXPRESSIONS, FLAGS, IDS)
    assert compiles.count == 2
    assert list(tmp_path.iterdir()) == []


def test_the_engine_reads_the_files_its_configuration_names(tmp_path: Path) -> None:
    from apishield.config import ConfigError, parse_config
    from apishield.startup import build_engine

    listed = tmp_path / "tor-exits.netset"
    listed.write_text("# exits\n198.51.100.0/24\nnot an address\n", encoding="utf-8")
    config = parse_config(
        f"data_dir: {tmp_path / 'home'}\nchecks: {{reputation_lists: [{listed}]}}\n"
    )
    warnings: list[str] = []
    engine = build_engine(config, warn=warnings.append)
    context = engine.check_stages[0].context
    assert context.reputation is not None
    assert context.reputation.lookup("198.51.100.77") is not None
    assert len(warnings) == 1 and "skipped 1 unreadable line" in warnings[0]

    missing = parse_config(f"data_dir: {tmp_path / 'home'}\nchecks: {{jwt_secrets_file: /nope}}\n")
    with pytest.raises(ConfigError, match=r"checks\.jwt_secrets_file: cannot read /nope"):
        build_engine(missing)


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_analysis_runs_with_a_lazier_collector_and_gives_the_old_one_back() -> None:
    gc.unfreeze()  # as in a process that froze nothing before
    before = gc.get_threshold()
    with analysis_collector():
        assert gc.get_threshold() == ANALYSIS_GC_THRESHOLDS
        assert gc.get_freeze_count() > 0  # what was alive at the start is left alone
        cycle = _Cycle()
        del cycle
        assert gc.collect() >= 1  # cycles made during the analysis are still collected
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_what_a_guard_froze_before_stays_frozen() -> None:
    gc.freeze()
    frozen = gc.get_freeze_count()
    try:
        with analysis_collector():
            pass
        assert gc.get_freeze_count() >= frozen
    finally:
        gc.unfreeze()
