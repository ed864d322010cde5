"""The demo: a live dashboard fed by the shipped scenarios, or a headless run that proves the pipeline.

* ``run_demo(settings, headless=False, ...)`` opens the embedded store, creates the demo accounts and an
  ingest API key, starts the web app with uvicorn and plays the scenarios to it over HTTP, round after
  round, until Ctrl-C (or ``duration`` seconds).
* ``run_demo(settings, headless=True, duration=N)`` plays every scenario in-process into a fresh store
  under ``data_dir/headless-demo``, with a ``FakeClock`` the player moves, so the outcome is the same on
  every run; it replays every call, then prints and returns a JSON summary.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from calmline.aftercall.followups import FollowupDesk
from calmline.clock import FakeClock, SystemClock
from calmline.continuity.safety_plan import SafetyPlan, SafetyPlans
from calmline.engine import CallEngine
from calmline.runtime import build_service
from calmline.service import CallService
from calmline.settings import Settings
from calmline.sim.player import DEFAULT_STAGGER_S, PlayerError, play_http, play_inprocess, span_s
from calmline.sim.provision import Provisioned, provision
from calmline.sim.report import next_round, summarize
from calmline.sim.scenario import Scenario, builtin_scenarios
from calmline.sim.simulate import simulate
from calmline.store.log import StoredEvent

#: Simulated start of the headless run (fixed, so its results never change).
HEADLESS_START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
HEADLESS_DIR = "headless-demo"
CALL_PREFIX = "demo"

__all__ = ["next_round", "run_demo", "run_headless", "simulate", "summarize"]


def run_demo(
    settings: Settings,
    *,
    headless: bool = False,
    duration: float | None = None,
    speed: float = 1.0,
    loop: bool = True,
    engine: CallEngine | None = None,
    scenarios: Sequence[Scenario] | None = None,
    console: Console | None = None,
) -> dict[str, Any] | None:
    """Run the demo; returns the summary when ``headless``, else ``None`` after Ctrl-C or ``duration``.

    Args:
        settings: where the store lives (``data_dir``) and where the server listens (``host``/``port``).
        headless: play in-process and print a JSON summary instead of serving the dashboard.
        duration: seconds to run. Headless: playback is compressed to finish within it (no waiting at all
            when omitted). Live: the server stops after it (runs until Ctrl-C when omitted).
        speed: playback speed (2.0 = twice real time; 0 = as fast as possible).
        loop: live only: play the scenarios again, round after round, with fresh call ids.
        engine: the call engine (the shipped analyzers when omitted).
        scenarios: the calls to play (the shipped scenarios when omitted).
        console: where human-readable output goes.
    """
    speed = math.inf if speed <= 0 else speed
    scenarios = list(scenarios) if scenarios is not None else builtin_scenarios()
    if headless:
        return run_headless(settings, duration=duration, speed=speed, engine=engine, scenarios=scenarios)
    run_live(
        settings,
        duration=duration,
        speed=speed,
        loop=loop,
        engine=engine,
        scenarios=scenarios,
        console=console,
    )
    return None


def aftercare(service: CallService, scenarios: Sequence[Scenario]) -> Callable[[Sequence[StoredEvent]], None]:
    """A listener doing what the demo's agents do once a call ends.

    It opens the call's caring contacts at once (the server's tick would, within a second) and records the
    scripted safety plan (``Scenario.safety_plan``) for the caller.
    """
    by_id = {s.id: s for s in scenarios}
    followups = FollowupDesk(service.db)
    plans = SafetyPlans(service.db)

    def on_rows(rows: Sequence[StoredEvent]) -> None:
        for row in rows:
            if row.type != "call.ended" or row.kind != "input":
                continue
            at = datetime.fromisoformat(row.payload["at"])
            followups.sync(at)
            scenario = by_id.get(row.stream.split("-", 1)[-1].rsplit("-", 1)[0])
            if scenario is not None and scenario.safety_plan and scenario.caller_ref:
                plan = SafetyPlan.model_validate(scenario.safety_plan)
                plans.save(scenario.caller_ref, plan, actor="demo", at=at, call_id=row.stream)

    return on_rows


def demo_settings(settings: Settings) -> Settings:
    """The settings with the demo floor's roster (``resources/routing/demo.yaml``) unless one is set."""
    if settings.routing_file is not None:
        return settings
    floor = resources.files("calmline.resources").joinpath("routing", "demo.yaml")
    return settings.model_copy(update={"routing_file": Path(str(floor))})


# -- headless -----------------------------------------------------------------------------------------


def run_headless(
    settings: Settings,
    *,
    duration: float | None = None,
    speed: float = 1.0,
    engine: CallEngine | None = None,
    scenarios: Sequence[Scenario] | None = None,
    emit: bool = True,
) -> dict[str, Any]:
    """Play every scenario into a fresh embedded store, replay every call, print and return the summary."""
    began = time.monotonic()
    scenarios = list(scenarios) if scenarios is not None else builtin_scenarios()
    fresh = demo_settings(settings).model_copy(
        update={"data_dir": settings.data_dir / HEADLESS_DIR, "database_url": None}
    )
    fresh.ensure_data_dir()
    for suffix in ("", "-wal", "-shm"):
        (fresh.data_dir / f"calmline.db{suffix}").unlink(missing_ok=True)
    clock = FakeClock(HEADLESS_START)
    service = build_service(fresh, clock=clock, engine=engine)
    service.subscribe(aftercare(service, scenarios))
    try:
        pace = math.inf if not duration else max(speed, span_s(scenarios) / duration)
        report = play_inprocess(service, scenarios, pace, clock, CALL_PREFIX, start=HEADLESS_START)
        by_id = {s.id: s for s in scenarios}
        summary = summarize(service, {cid: by_id[sid] for cid, sid in report.calls.items()})
    finally:
        service.db.dispose()
    summary["duration_s"] = round(time.monotonic() - began, 3)
    if emit:
        print(json.dumps(summary, indent=2, sort_keys=True))
    return summary


# -- live ---------------------------------------------------------------------------------------------


def run_live(
    settings: Settings,
    *,
    duration: float | None,
    speed: float,
    loop: bool,
    engine: CallEngine | None,
    scenarios: Sequence[Scenario],
    console: Console | None = None,
) -> None:
    """Serve the dashboard and feed it scenarios until Ctrl-C or ``duration`` seconds."""
    import uvicorn

    try:
        from calmline.api.app import create_app
    except ImportError as exc:  # pragma: no cover - the API ships with calmline
        raise RuntimeError(f"the live demo needs calmline.api.app ({exc}); try --headless") from exc

    console = console or Console()
    if settings.env == "prod":
        raise RuntimeError(
            "the demo creates accounts with a published password; refusing with CALMLINE_ENV=prod"
        )
    settings = demo_settings(settings)
    service = build_service(settings, engine=engine)
    service.subscribe(aftercare(service, scenarios))
    setup = provision(settings, service)
    app = create_app(settings, service=service)
    server = uvicorn.Server(uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning"))
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    base_url = f"http://{host}:{settings.port}"
    _banner(console, base_url, setup, settings)

    stop = threading.Event()
    feeder = threading.Thread(
        target=_feed,
        args=(server, service, setup, base_url, scenarios, speed, loop, stop, console),
        name="calmline-demo-player",
        daemon=True,
    )
    timer = threading.Timer(duration, lambda: setattr(server, "should_exit", True)) if duration else None
    feeder.start()
    if timer is not None:
        timer.start()
    try:
        server.run()
    finally:
        stop.set()
        if timer is not None:
            timer.cancel()
        feeder.join(timeout=5)
        service.db.dispose()
    console.print("[bold]calmline demo stopped.[/bold]")


def _feed(
    server: Any,
    service: CallService,
    setup: Provisioned,
    base_url: str,
    scenarios: Sequence[Scenario],
    speed: float,
    loop: bool,
    stop: threading.Event,
    console: Console,
) -> None:
    while not server.started and not stop.wait(0.1):
        pass
    first_n = next_round(service, CALL_PREFIX)
    while not stop.is_set():
        try:
            if setup.api_key is not None:
                report = play_http(
                    base_url,
                    setup.api_key,
                    scenarios,
                    speed,
                    call_id_prefix=CALL_PREFIX,
                    first_n=first_n,
                    stop=stop,
                )
            else:
                report = play_inprocess(
                    service, scenarios, speed, SystemClock(), CALL_PREFIX, first_n=first_n, stop=stop
                )
        except PlayerError as exc:
            console.print(f"[red]demo player stopped:[/red] {exc}")
            return
        console.print(
            f"[dim]round {first_n}: {len(report.calls)} calls, {report.events} events"
            f"{', ' + str(len(report.errors)) + ' refused' if report.errors else ''}[/dim]"
        )
        first_n += 1
        if not loop:
            return


def _banner(console: Console, base_url: str, setup: Provisioned, settings: Settings) -> None:
    table = Table(title="Demo logins", show_header=True, header_style="bold")
    table.add_column("username")
    table.add_column("password")
    table.add_column("role")
    for username, password, role in setup.logins:
        table.add_row(username, password, role)
    feed = "over HTTP with a demo API key" if setup.api_key else "in-process"
    console.print(
        Panel.fit(
            f"[bold green]calmline demo[/bold green]\n"
            f"Dashboard: [link={base_url}/]{base_url}/[/link]\n"
            f"Store: {settings.db_url}\n"
            f"Scenarios are played {feed}, staggered every {DEFAULT_STAGGER_S:g}s. Press Ctrl-C to stop.",
            title="calmline",
        )
    )
    if setup.logins:
        console.print(table)
    if setup.api_key:
        console.print(f"Ingest API key (demo only): [bold]{setup.api_key}[/bold]")
    for note in setup.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
