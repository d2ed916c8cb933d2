"""What a process sets up before it analyses anything: wiring, like the CLI, kept apart from it
so that the CLI and the in-line guard start alike.

The checks compile their Hyperscan databases on first use, which takes seconds; with the
compiled-database cache installed, every process after the first loads them in milliseconds.
The engine reads a few files besides the traffic (the install secret, a JWT verification key,
JWT secret candidates, IP reputation lists); `build_engine` reads them, so every front end gets
the same engine from the same configuration.
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

from apishield.checks import CheckContext
from apishield.checks.hscache import use_store
from apishield.checks.jwt_checks import parse_secret_list
from apishield.checks.reputation import BadLines, PrefixTable, parse_list
from apishield.config import Config, ConfigError
from apishield.engine import Engine
from apishield.inventory.spec import ApiSpec
from apishield.normalise.actor import JwtReader
from apishield.privacy import Hasher
from apishield.state.disk import DiskStore, default_directory
from apishield.stateful import State
from apishield.store.keys import install_secret, load_jwt_key

log = logging.getLogger("apishield.startup")


def install_compiled_cache() -> Path | None:
    """Keep compiled databases in `state.disk.default_directory()` (`$APISHIELD_CACHE_DIR`,
    else the user's cache directory) for this process; the directory used, or None when the
    cache is off and every database is compiled in memory."""
    directory = default_directory()
    use_store(DiskStore(directory) if directory is not None else None)
    return directory


ANALYSIS_GC_THRESHOLDS = (10_000, 20, 20)
"""Cycle-collector thresholds while a process analyses a stream (Python's default: 700, 10, 10).
Each exchange allocates a dozen containers that die by reference counting, while detector state
and inventories hold up to millions that live on; with the defaults the youngest generation is
collected every 60 or so exchanges and the older ones walk the long-lived state over and over
(about 15% of a run with the detectors on, measured by benchmarks/ingest.py's worker)."""


@contextlib.contextmanager
def analysis_collector() -> Iterator[None]:
    """For a process whose work is analysis (`apishield analyze`, `apishield worker`): what is
    alive at the start (modules, signatures, models) leaves the cycle collector's passes
    (`gc.freeze`) and the collector runs less often, until the block ends, when both are
    undone (what a guard in the same process froze before stays frozen). Objects still die as
    soon as nothing refers to them; reference cycles are collected, later than by default."""
    thresholds, frozen = gc.get_threshold(), gc.get_freeze_count()
    gc.collect()  # what is garbage now is collected, not frozen
    gc.freeze()
    gc.set_threshold(*ANALYSIS_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if not frozen:
            gc.unfreeze()


def build_engine(
    config: Config,
    spec: ApiSpec | None = None,
    *,
    state: State | None = None,
    warn: Callable[[str], None] = log.warning,
) -> Engine:
    """The engine `config` describes, with the files it names read. Raises ConfigError for a
    file that cannot be read or a key that does not load; `warn` hears about skipped lines."""
    try:
        hasher = Hasher(install_secret(config.data_dir))
        key = load_jwt_key(config.identity.jwt)
    except (OSError, ValueError) as exc:
        raise ConfigError(str(exc)) from exc
    jwt = config.identity.jwt
    reader = JwtReader(
        key=key, algorithms=jwt.algorithms, audience=jwt.audience, claim=jwt.identity_claim
    )
    context = check_context(config, warn)
    return Engine(config, hasher, spec=spec, jwt_reader=reader, context=context, state=state)


def check_context(config: Config, warn: Callable[[str], None] = log.warning) -> CheckContext:
    """What the checks read from files: JWT secret candidates and IP reputation lists."""
    checks = config.checks
    secrets = resources.files("apishield.checks").joinpath("data/jwt_weak_secrets.txt")
    lines = secrets.read_text(encoding="utf-8").splitlines()
    if checks.jwt_secrets_file is not None:
        lines += _read_lines(checks.jwt_secrets_file, "checks.jwt_secrets_file")
    table = PrefixTable()
    for path in checks.reputation_lists:
        bad = BadLines()
        table.add(
            parse_list(_read_lines(path, "checks.reputation_lists"), path.stem, bad), path.stem
        )
        if bad.count:
            examples = "; ".join(bad.examples[:3])
            warn(f"{path}: skipped {bad.count} unreadable line(s): {examples}")
    return CheckContext(
        reputation=table if checks.reputation_lists else None,
        jwt_secrets=parse_secret_list(lines),
        jwt_max_lifetime=checks.jwt_max_lifetime_hours * 3600,
    )


def _read_lines(path: Path, key: str) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise ConfigError(f"{key}: cannot read {path}: {exc.strerror}") from exc
