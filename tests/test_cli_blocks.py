"""`apishield blocks list|add|remove` against the real Redis on 127.0.0.1:6379."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from redis import Redis
from redis.exceptions import RedisError
from typer.testing import CliRunner

from apishield.cli import app
from apishield.config import load_config
from apishield.state.admin import list_blocks

runner = CliRunner()
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_config(tmp_path: Path) -> Iterator[Path]:
    client = Redis.from_url(REDIS_URL, socket_timeout=1.0)
    try:
        client.ping()
    except RedisError as exc:
        pytest.skip(f"no Redis answers on {REDIS_URL} ({exc}); start one to run these tests")
    prefix = f"apishield-test-{uuid.uuid4().hex[:8]}:"
    config = tmp_path / "apishield.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'home'}\nstate: {{backend: redis, url: '{REDIS_URL}', "
        f"prefix: '{prefix}'}}\n",
        encoding="utf-8",
    )
    yield config
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_a_block_is_added_listed_and_lifted(redis_config: Path) -> None:
    added = runner.invoke(
        app,
        ["blocks", "add", "ip", "203.0.113.9", "--seconds", "600", "--config", str(redis_config)],
    )
    assert added.exit_code == 0, added.output
    assert "blocked ip 203.0.113.9 for 600s" in added.output
    listed = runner.invoke(app, ["blocks", "list", "--json", "--config", str(redis_config)])
    assert listed.exit_code == 0, listed.output
    blocks = [orjson.loads(line) for line in listed.output.splitlines()]
    assert [(b["kind"], b["value"]) for b in blocks] == [("ip", "203.0.113.9")]
    assert blocks[0]["reason"] == "blocked by an operator"
    removed = runner.invoke(
        app, ["blocks", "remove", "ip", "203.0.113.9", "--config", str(redis_config)]
    )
    assert removed.exit_code == 0, removed.output
    listed = runner.invoke(app, ["blocks", "list", "--config", str(redis_config)])
    assert "no blocks in force" in listed.output
    again = runner.invoke(
        app, ["blocks", "remove", "ip", "203.0.113.9", "--config", str(redis_config)]
    )
    assert again.exit_code == 1


def test_asking_for_a_shorter_block_says_the_longer_one_holds(redis_config: Path) -> None:
    config = ["--config", str(redis_config)]
    assert runner.invoke(app, ["blocks", "add", "ip", "203.0.113.9", *config]).exit_code == 0
    shorter = runner.invoke(app, ["blocks", "add", "ip", "203.0.113.9", "--seconds", "60", *config])
    assert shorter.exit_code == 0, shorter.output
    assert "until removed" in shorter.output and "for 60s" not in shorter.output
    assert "already lasted longer" in " ".join(shorter.output.split())


def test_a_block_can_be_added_as_a_tarpit_or_a_decoy(redis_config: Path) -> None:
    config = ["--config", str(redis_config)]
    added = runner.invoke(
        app, ["blocks", "add", "ip", "203.0.113.9", "--action", "tarpit", *config]
    )
    assert added.exit_code == 0, added.output
    assert "blocked ip 203.0.113.9 until removed (tarpit)" in added.output
    (block,) = list_blocks(load_config(redis_config))
    assert (block.value, block.action) == ("203.0.113.9", "tarpit")
    wrong = runner.invoke(app, ["blocks", "add", "ip", "203.0.113.9", "--action", "decoi", *config])
    assert wrong.exit_code == 2 and "Did you mean 'decoy'?" in wrong.output


def test_blocks_need_a_shared_backend(tmp_path: Path) -> None:
    config = tmp_path / "apishield.yaml"
    config.write_text(f"data_dir: {tmp_path / 'home'}\n", encoding="utf-8")
    result = runner.invoke(app, ["blocks", "list", "--config", str(config)])
    assert result.exit_code == 2
    assert "redis" in result.output
