"""``calmline simulate``: play one scenario into the store (or to a running server) and say what it raised."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from calmline.clock import SystemClock
from calmline.engine import CallEngine
from calmline.runtime import build_service
from calmline.settings import Settings
from calmline.sim.player import play_http, play_inprocess
from calmline.sim.report import next_round, summarize
from calmline.sim.scenario import Scenario, resolve
from calmline.store.log import StoredEvent

SIM_PREFIX = "sim"
_COLOURS = {"info": "cyan", "warning": "yellow", "high": "red", "critical": "bold white on red"}


def simulate(
    settings: Settings,
    scenario: str | Path | Scenario,
    *,
    url: str | None = None,
    api_key: str | None = None,
    speed: float = 0.0,
    engine: CallEngine | None = None,
    console: Console | None = None,
) -> dict[str, Any]:
    """Play one scenario (a shipped id, a YAML path, or a ``Scenario``) as a live call; return a summary.

    Without ``url`` the call is ingested into the store named by ``settings`` (call id ``sim-<id>-<n>``,
    ``n`` one above the last simulation of that scenario), its transcript, findings and alerts are printed
    on stderr as they happen, and the summary includes the replay check and any unmet expectation. With
    ``url`` and ``api_key`` the events are posted to that server instead. ``speed`` paces playback
    (2.0 = twice real time; 0 = as fast as possible).
    """
    script = resolve(scenario)
    pace = math.inf if speed <= 0 else speed
    console = console or Console(stderr=True)
    if url is not None:
        if not api_key:
            raise ValueError("an API key is required to send to a server (--api-key or CALMLINE_API_KEY)")
        report = play_http(url, api_key, [script], pace, call_id_prefix=SIM_PREFIX)
        for error in report.errors:
            console.print(f"[red]refused:[/red] {escape(error)}")
        return {"scenario": script.id, "url": url, **report.as_dict()}
    service = build_service(settings, engine=engine)
    try:
        first_n = next_round(service, SIM_PREFIX, script.id)
        call_id = f"{SIM_PREFIX}-{script.id}-{first_n}"
        console.print(f"[bold]{escape(script.title)}[/bold] ({script.id}), call {call_id}")
        printer = _Printer(console)
        service.subscribe(printer)
        try:
            play_inprocess(service, [script], pace, SystemClock(), SIM_PREFIX, first_n=first_n)
        finally:
            service.unsubscribe(printer)
        summary = summarize(service, {call_id: script})
        for problem in summary["expectation_failures"]:
            console.print(f"[yellow]expectation not met:[/yellow] {escape(problem)}")
    finally:
        service.db.dispose()
    return {"scenario": script.id, "call_id": call_id, **summary}


class _Printer:
    """Prints each committed row of the simulated call: utterances, findings and alerts."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.kinds: dict[str, str] = {}

    def __call__(self, rows: Sequence[StoredEvent]) -> None:
        for row in rows:
            p = row.payload
            if row.type == "utterance":
                seconds = int(p["end_ms"]) // 1000
                stamp = f"{seconds // 60:02d}:{seconds % 60:02d}"
                self.console.print(f"[dim]{stamp}[/dim] [bold]{p['speaker']:>6}[/bold]: {escape(p['text'])}")
            elif row.type == "finding":
                f = p["finding"]
                what = f"{f['type']}/{f['level']} ({f['assertion']}, {f['score']:.2f})"
                self.console.print(f"       [cyan]finding[/cyan] {what}")
            elif row.type in ("alert.raised", "alert.escalated"):
                if row.type == "alert.raised":
                    self.kinds[p["alert_id"]] = p["kind"]
                verb = "ALERT" if row.type == "alert.raised" else "ESCALATED"
                colour = _COLOURS.get(p["severity"], "red")
                kind = self.kinds.get(p["alert_id"], "?")
                self.console.print(
                    f"       [{colour}]{verb} {p['severity']}[/{colour}] {kind}: {escape(p['reason'])}"
                )
