"""`apishield blocks list|add|remove`: the block list every guard on one Redis enforces."""

from __future__ import annotations

import time
from typing import Annotated

import orjson
import typer

from apishield.cli.root import (
    ConfigOption,
    app,
    console,
    err,
    fail,
    read_config,
    warn,
)
from apishield.config import Config
from apishield.privacy import Hasher
from apishield.report.plain import plain
from apishield.store.keys import install_secret

blocks_app = typer.Typer(
    help="List, add and lift the blocks every guard enforces (needs state.backend: redis).",
    no_args_is_help=True,
)
app.add_typer(blocks_app, name="blocks")

BlockKind = Annotated[
    str, typer.Argument(help="ip, identity, key (16 hex digits of its keyed hash) or session.")
]
BlockValue = Annotated[
    str, typer.Argument(help="The address, identity, or key/session hash (as in incidents).")
]


def _block_hasher(config: Config) -> Hasher | None:
    """The install secret, needed only where the config hashes IPs or identities."""
    if not (config.identity.hash_ips or config.identity.hash_identities):
        return None
    try:
        return Hasher(install_secret(config.data_dir))
    except (OSError, ValueError) as exc:
        fail(str(exc))


@blocks_app.command("list")
def blocks_list(
    config_file: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Blocks in force now, the longest-lasting first."""
    from rich.table import Table

    from apishield.state.admin import BlocksError, list_blocks
    from apishield.stateful import StateUnavailable

    config = read_config(config_file)
    try:
        blocks = list_blocks(config)
    except BlocksError as exc:
        fail(str(exc))
    except StateUnavailable as exc:
        fail(str(exc), 1)
    if as_json:
        for block in blocks:
            ends = None if block.until == float("inf") else block.until
            line = {"kind": block.kind, "value": block.value, "until": ends, "action": block.action}
            typer.echo(orjson.dumps({**line, "reason": block.reason}).decode())
        return
    if not blocks:
        console.print("no blocks in force")
        return
    now = time.time()
    table = Table("kind", "value", "action", "until (UTC)", "left", "reason")
    for block in blocks:
        if block.until == float("inf"):
            until, left = "until removed", "-"
        else:
            until = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(block.until))
            seconds_left = block.until - now
            left = f"{seconds_left:.0f} s" if seconds_left < 60 else f"{seconds_left / 60:,.0f} min"
        value, reason = plain(block.value), plain(block.reason)
        table.add_row(block.kind, value, block.action, until, left, reason)
    console.print(table)


@blocks_app.command("add")
def blocks_add(
    kind: BlockKind,
    value: BlockValue,
    config_file: ConfigOption = None,
    seconds: Annotated[
        float | None, typer.Option(help="How long it lasts (default: until removed).", min=1)
    ] = None,
    reason: Annotated[str, typer.Option(help="Why; shown in refusals' logs and listings.")] = (
        "blocked by an operator"
    ),
    action: Annotated[
        str,
        typer.Option(
            help="How it is answered: block (403), tarpit (held enforce.bots.tarpit_seconds, "
            "then 429) or decoy (an empty 200 that never reaches the app)."
        ),
    ] = "block",
) -> None:
    """Block an IP, identity, API key or session in every guard sharing this Redis."""
    from apishield.state.admin import BlocksError, add_block
    from apishield.stateful import StateUnavailable

    config = read_config(config_file)
    try:
        block = add_block(
            config,
            kind,
            value,
            seconds=seconds,
            reason=reason,
            hasher=_block_hasher(config),
            action=action,
        )
    except BlocksError as exc:
        fail(str(exc))
    except StateUnavailable as exc:
        fail(str(exc), 1)
    kept_longer = seconds is not None and block.until > time.time() + seconds + 1
    if block.until == float("inf"):
        span = "until removed"
    elif kept_longer:
        span = "until " + time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(block.until))
    else:
        span = f"for {seconds:g}s"
    answer = "" if block.action == "block" else f" ({block.action})"
    console.print(f"blocked {block.kind} {plain(block.value)} {span}{answer}")
    if kept_longer:
        warn(
            "a block on it already lasted longer and was kept; "
            "`apishield blocks remove` it first to make it shorter"
        )


@blocks_app.command("remove")
def blocks_remove(kind: BlockKind, value: BlockValue, config_file: ConfigOption = None) -> None:
    """Lift a block in every guard sharing this Redis."""
    from apishield.state.admin import BlocksError, remove_block
    from apishield.stateful import StateUnavailable

    config = read_config(config_file)
    try:
        lifted = remove_block(config, kind, value, _block_hasher(config))
    except BlocksError as exc:
        fail(str(exc))
    except StateUnavailable as exc:
        fail(str(exc), 1)
    if not lifted:
        err.print(f"no {kind} block on {plain(value)}")
        raise typer.Exit(1)
    console.print(f"lifted the {kind} block on {plain(value)}")
