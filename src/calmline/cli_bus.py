"""``calmline bus dead-letters list|redrive|drop``: poison events the engine workers set aside.

See docs/SCALING.md. The bus is the one named by ``CALMLINE_BUS_URL`` and ``CALMLINE_BUS_PREFIX``. Listing
shows the call id, seq, event type and error class of each dead letter, never its text.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from calmline.settings import Settings

if TYPE_CHECKING:
    from calmline.bus.redis_streams import RedisStreamsBus

bus_app = typer.Typer(
    help="The Redis Streams bus of a scaled deployment (CALMLINE_BUS_URL).", no_args_is_help=True
)
dead_app = typer.Typer(
    help="Events the engine workers could not step: list them, re-drive them after a fix, or drop them.",
    no_args_is_help=True,
)
bus_app.add_typer(dead_app, name="dead-letters")
err = Console(stderr=True)


def _bus() -> RedisStreamsBus:
    from calmline.bus.redis_streams import RedisStreamsBus

    settings = Settings()
    if settings.bus_url is None:
        err.print("[red]error:[/red] CALMLINE_BUS_URL is not set (the in-process bus keeps no dead letters)")
        raise typer.Exit(2)
    return RedisStreamsBus(settings.streams_config())


@dead_app.command("list")
def list_cmd(
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object a line instead of a table.")
    ] = False,
) -> None:
    """The dead letters, oldest first: id, call, seq, event type, error class, failures, stream."""
    from calmline.bus.dead_letters import list_dead

    entries = list_dead(_bus())
    if as_json:
        for entry in entries:
            typer.echo(json.dumps(entry, sort_keys=True))
        return
    table = Table("id", "call", "seq", "type", "error", "failures", "stream")
    for e in entries:
        table.add_row(
            e["id"],
            str(e.get("call_id") or ""),
            "" if e.get("seq") is None else str(e["seq"]),
            str(e.get("type") or e.get("kind", "")),
            str(e.get("error", "")),
            str(e.get("failures", "")),
            str(e.get("stream", "")),
        )
    Console().print(table)
    err.print(f"{len(entries)} dead letter(s)")


@dead_app.command("redrive")
def redrive_cmd(
    ids: Annotated[list[str] | None, typer.Argument(help="Dead-letter ids (from `list`).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Re-drive every dead letter.")] = False,
) -> None:
    """Put dead letters back on their stream once the cause is fixed; the engine workers step them again."""
    from calmline.bus.dead_letters import UnknownDeadLetter, redrive

    if not ids and not all_:
        err.print("[red]error:[/red] name the dead letters to re-drive, or pass --all")
        raise typer.Exit(2)
    try:
        moved = redrive(_bus(), None if all_ else ids)
    except UnknownDeadLetter as exc:
        err.print(f"[red]error:[/red] no dead letter {exc.args[0]}; nothing was re-driven")
        raise typer.Exit(1) from exc
    typer.echo(f"re-driven {len(moved)} dead letter(s)")


@dead_app.command("drop")
def drop_cmd(ids: Annotated[list[str], typer.Argument(help="Dead-letter ids (from `list`).")]) -> None:
    """Delete dead letters for good (an event that can never be stepped; its call records a sequence gap)."""
    from calmline.bus.dead_letters import drop

    typer.echo(f"dropped {drop(_bus(), ids)} dead letter(s)")
