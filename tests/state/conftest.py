"""The backends under test, and the record types detectors keep in them.

Redis tests use the server on 127.0.0.1:6379, each under a prefix of its own whose keys are
deleted afterwards; they skip, saying why, only when that server does not answer.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import math
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from redis.exceptions import RedisError

from apishield.state.memory import MemoryState
from apishield.state.redis import RedisState
from apishield.stateful import State

REDIS_URL = "redis://127.0.0.1:6379/0"
DETECT = Path(__file__).parents[2] / "src" / "apishield" / "detect"


def detector_kinds() -> list[type]:
    """Every type a detector loads (`state.load(key, Kind, now)`), found in detect/'s source."""
    kinds: dict[str, type] = {}
    for path in sorted(DETECT.glob("*.py")):
        module = importlib.import_module(f"apishield.detect.{path.stem}")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "load"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Name)
            ):
                name = node.args[1].id
                kind = getattr(module, name, None) or getattr(builtins, name, None)
                assert isinstance(kind, type), f"{path.name} loads {name}, which is not a type"
                kinds[f"{kind.__module__}.{kind.__qualname__}"] = kind
    return [kinds[name] for name in sorted(kinds)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "detector_kind" in metafunc.fixturenames:
        kinds = detector_kinds()
        metafunc.parametrize("detector_kind", kinds, ids=[kind.__qualname__ for kind in kinds])


@pytest.fixture(scope="session")
def redis_url() -> str:
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=1.0, socket_timeout=1.0)
    try:
        client.ping()
    except RedisError as error:
        pytest.skip(f"no Redis answers on {REDIS_URL} ({error}); start one to run these tests")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A prefix no other test uses; every key under it is deleted when the test ends."""
    prefix = f"apishield-test:{uuid.uuid4().hex}:"
    yield prefix
    client = Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def redis_state(redis_url: str, redis_prefix: str) -> Iterator[Callable[[], RedisState]]:
    """Makes RedisStates under the test's prefix, each with a client of its own."""
    clients: list[Redis] = []

    def make() -> RedisState:
        state = RedisState.from_url(redis_url, redis_prefix, timeout=2.0)
        clients.append(state.client)
        return state

    yield make
    for client in clients:
        client.close()


@pytest.fixture(params=["memory", "redis"])
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def handles(backend_name: str, request: pytest.FixtureRequest) -> tuple[State, State]:
    """Two handles on one store: the same MemoryState twice, or two Redis clients on one prefix."""
    if backend_name == "memory":
        memory = MemoryState()
        return memory, memory
    make: Callable[[], RedisState] = request.getfixturevalue("redis_state")
    return make(), make()


@pytest.fixture
def state(handles: tuple[State, State]) -> State:
    return handles[0]


@pytest.fixture(scope="session")
def identical() -> Callable[[Any, Any], bool]:
    return same


def same(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down; NaN equals NaN, deques compare maxlen."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if hasattr(a, "maxlen"):
        return a.maxlen == b.maxlen and same(list(a), list(b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if hasattr(a, "__dataclass_fields__"):
        return all(same(getattr(a, f), getattr(b, f)) for f in a.__dataclass_fields__)
    return bool(a == b)
