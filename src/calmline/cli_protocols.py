"""``calmline protocols``: list, validate, test, enable/disable, reload and the history of the library."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from calmline.settings import Settings

protocols_app = typer.Typer(
    help="Crisis protocols: list, validate, test against a transcript, enable/disable, reload, history.",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True)

ActorOpt = Annotated[str, typer.Option("--actor", help="Who makes the change (kept in the audit log).")]
WhyOpt = Annotated[str, typer.Option("--why", help="Why (kept in the audit log).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _store() -> tuple[Any, Any, Any]:
    """The protocol store, catalog and clock of the configured database (files on disk published)."""
    from calmline.clock import SystemClock
    from calmline.runtime import configure_logging, open_protocols
    from calmline.store.db import make_engine, migrate

    configure_logging("warning")
    settings = Settings()
    settings.ensure_data_dir()
    db = make_engine(settings.db_url)
    migrate(db)
    clock = SystemClock()
    store, catalog = open_protocols(settings, db, clock)
    return store, catalog, clock


@protocols_app.command("list")
def list_cmd(as_json: JsonOpt = False) -> None:
    """The protocols new calls get now (set id, versions, enabled or not)."""
    from calmline.protocol_admin import describe

    _, catalog, _ = _store()
    current = catalog.current
    items = [describe(p) for p in current.library.protocols]
    if as_json:
        typer.echo(json.dumps({"protocol_set": current.set_id, "protocols": items}, indent=2))
        return
    table = Table(title=f"protocol set {current.set_id}")
    for col in ("id", "version", "severity", "enabled", "escalation", "steps"):
        table.add_column(col)
    for p in items:
        chain = " → ".join(f"{e['notify']} {e['ack_within_s']}s" for e in p["escalation"]) or "agent only"
        table.add_row(
            p["id"], p["version"], p["severity"], "yes" if p["enabled"] else "NO", chain, str(len(p["steps"]))
        )
    out.print(table)


@protocols_app.command("validate")
def validate_cmd(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Protocol files; the shipped and configured library when none."),
    ] = None,
) -> None:
    """Check protocol files; exits non-zero with FILE:LINE: reason for every error."""
    from calmline.protocol_admin import configured_files, validate_files

    paths = list(files) if files else configured_files(Settings().protocols_dir)
    good, errors = validate_files(paths)
    for exc in errors:
        err.print(f"{exc.file}:{exc.line}: {exc.reason}", markup=False, highlight=False, soft_wrap=True)
    if errors:
        err.print(f"{len(errors)} invalid, {len(good)} valid")
        raise typer.Exit(1)
    err.print(f"{len(good)} protocol file(s) valid")


@protocols_app.command("test")
def test_cmd(
    transcript: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            help="A transcript: scenario .yaml, .jsonl lines of {speaker, text[, call_id]}, "
            "or .txt lines 'caller: ...' / 'agent: ...'.",
        ),
    ],
    protocol: Annotated[
        list[Path] | None,
        typer.Option("--protocol", "-p", help="A protocol file to try instead of the one with its id."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show which protocols would start on a transcript, which steps fire and when, and what escalates."""
    from calmline.protocol_admin import load_configured, validate_files
    from calmline.protocols.catalog import ProtocolCatalog
    from calmline.protocols.loader import ProtocolError
    from calmline.protocols.schema import ProtocolLibrary
    from calmline.runtime import build_engine

    try:
        library = load_configured(Settings().protocols_dir)
    except ProtocolError as exc:
        err.print(f"{exc.file}:{exc.line}: {exc.reason}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from exc
    if protocol:
        extra, errors = validate_files(protocol)
        for bad in errors:
            err.print(f"{bad.file}:{bad.line}: {bad.reason}", markup=False, highlight=False, soft_wrap=True)
        if errors:
            raise typer.Exit(1)
        by_id = {p.id: p for p in library.protocols} | {p.id: p for p in extra}
        library = ProtocolLibrary(tuple(by_id.values()))
    try:
        scripts = list(_read_transcript(transcript))
    except (OSError, ValueError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    engine = build_engine(protocols=ProtocolCatalog.single(library))
    report = [_trace(engine, call_id, script) for call_id, script in scripts]
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    for call in report:
        out.print(f"[bold]{call['call_id']}[/bold]")
        if not call["events"]:
            out.print("  no protocol activated")
        for e in call["events"]:
            out.print(f"  {_mmss(e['t'])}  {e['what']}", markup=False, highlight=False, soft_wrap=True)


def _read_transcript(path: Path) -> Iterator[tuple[str, Any]]:
    """(call id, script) pairs: a scenario, or (speaker, text) turns."""
    from calmline.sim.scenario import load_scenario

    if path.suffix in (".yaml", ".yml"):
        scenario = load_scenario(path)
        yield scenario.id, scenario
        return
    calls: dict[str, list[tuple[str, str]]] = {}
    for n, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        if path.suffix == ".jsonl":
            try:
                row = json.loads(line)
                speaker, text, call_id = row["speaker"], row["text"], str(row.get("call_id", "transcript"))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{n}: expected JSON with speaker and text") from exc
        else:
            speaker, sep, text = line.partition(":")
            call_id = "transcript"
            if not sep:
                raise ValueError(f"{path}:{n}: expected 'caller: ...' or 'agent: ...'")
        speaker = speaker.strip().lower()
        if speaker not in ("caller", "agent"):
            raise ValueError(f"{path}:{n}: speaker must be caller or agent")
        calls.setdefault(call_id, []).append((speaker, text.strip()))
    yield from calls.items()


def _trace(engine: Any, call_id: str, script: Any) -> dict[str, Any]:
    """Run the script and, after it, let every deadline pass unacknowledged."""
    from calmline.engine.protocols import next_deadline
    from calmline.events import Tick
    from calmline.testing import run_call

    run = run_call(script, engine=engine, call_id=call_id)
    start: datetime = run.inputs[0].started_at  # type: ignore[union-attr]
    outputs = list(run.outputs)
    state = run.state
    for _ in range(10):  # nobody acknowledges: walk the escalation chain to its end
        due = next_deadline(state)
        if due is None:
            break
        state, more = engine.step(state, Tick(call_id=call_id, at=due))
        outputs.extend(more)
    events = [e for o in outputs if (e := _describe(o, start)) is not None]
    return {"call_id": call_id, "events": events}


def _describe(o: Any, start: datetime) -> dict[str, Any] | None:
    t = (o.at - start).total_seconds()
    kind = o.type
    if kind == "protocol.activated":
        what = f"protocol {o.protocol_id} v{o.version} activated: {o.reason}"
    elif kind == "protocol.exited":
        what = f"protocol {o.protocol_id} exited: {o.reason}"
    elif kind == "checklist.step":
        what = f"step {o.protocol_id}.{o.step_id} {o.status}" + (f" (by {o.by})" if o.by else "")
    elif kind in ("alert.raised", "alert.escalated") and o.protocol_id:
        deadline = (
            f", acknowledge by {_mmss((o.ack_deadline - start).total_seconds())}" if o.ack_deadline else ""
        )
        verb = "raised" if kind == "alert.raised" else "escalated"
        what = f"alert {o.alert_id} {verb} ({o.severity}) → {o.notify} (level {o.escalation_level}){deadline}"
    elif kind == "followup.scheduled":
        hours = (o.due_by - o.at).total_seconds() / 3600
        what = f"follow-up {o.kind} for {o.protocol_id} due within {hours:g} h"
    else:
        return None
    return {"t": round(t, 1), "type": kind, "what": what}


def _mmss(seconds: float) -> str:
    m, s = divmod(max(0.0, seconds), 60)
    return f"{int(m):02d}:{s:04.1f}"


@protocols_app.command("enable")
def enable_cmd(protocol_id: str, actor: ActorOpt = "admin", why: WhyOpt = "") -> None:
    """Switch a protocol on for new calls (audited)."""
    _set(protocol_id, True, actor, why)


@protocols_app.command("disable")
def disable_cmd(protocol_id: str, actor: ActorOpt = "admin", why: WhyOpt = "") -> None:
    """Switch a protocol off for new calls (audited). Calls already running keep it."""
    _set(protocol_id, False, actor, why)


def _set(protocol_id: str, enabled: bool, actor: str, why: str) -> None:
    from calmline.protocol_admin import set_enabled

    store, catalog, clock = _store()
    try:
        pset, changed = set_enabled(
            store, catalog, protocol_id, enabled, actor=actor, why=why, at=clock.now()
        )
    except KeyError:
        err.print(f"[red]error:[/red] no protocol {protocol_id!r} in the library")
        raise typer.Exit(2) from None
    state = "enabled" if enabled else "disabled"
    err.print(
        f"{protocol_id} {state} for new calls (protocol set {pset.set_id})"
        if changed
        else f"{protocol_id} was already {state}"
    )


@protocols_app.command("reload")
def reload_cmd(actor: ActorOpt = "admin", why: WhyOpt = "protocol files changed") -> None:
    """Publish the protocol files on disk for new calls; refuses (exit 1) if any file is invalid."""
    from calmline.protocol_admin import load_configured, publish_library
    from calmline.protocols.loader import ProtocolError

    store, catalog, clock = _store()
    try:
        library = load_configured(Settings().protocols_dir)
    except ProtocolError as exc:
        err.print(f"{exc.file}:{exc.line}: {exc.reason}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from exc
    pset, changed = publish_library(
        store, catalog, library, actor=actor, action="changed", why=why, at=clock.now()
    )
    err.print(f"protocol set {pset.set_id} in force for new calls" if changed else "no change")


@protocols_app.command("history")
def history_cmd(as_json: JsonOpt = False) -> None:
    """Every protocol set ever in force: when, by whom, why, and what changed (from the audit log)."""
    from calmline.protocol_admin import history_rows

    store, _, _ = _store()
    rows = [{**r, "at": r["at"].isoformat()} for r in history_rows(store)]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="protocol history (newest last)")
    for col in ("at", "set", "actor", "action", "changes", "why"):
        table.add_column(col)
    for r in rows:
        changed = "; ".join(f"{k}: {', '.join(v)}" for k, v in r["changes"].items() if v)
        table.add_row(r["at"][:19], r["protocol_set"], r["actor"], r["action"], changed, r["why"])
    out.print(table)
    broken = store.audit.verify()
    if broken:
        err.print(f"[red]audit log tampered:[/red] entries {broken}")
        raise typer.Exit(1)
