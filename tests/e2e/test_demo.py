"""The demo: the headless summary, and (once the API has landed) the live server fed over HTTP."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import types
from pathlib import Path

import httpx
from fastapi import FastAPI, Request

from calmline.events import parse_input
from calmline.runtime import build_engine
from calmline.settings import Settings
from calmline.sim.demo import next_round, run_demo
from calmline.sim.scenario import builtin_ids, builtin_scenarios
from calmline.testing.keywords import keyword_registry

SUMMARY_KEYS = {
    "calls",
    "utterances",
    "findings_by_type",
    "alerts_by_severity",
    "alerts_by_call",
    "replay_differences",
    "duration_s",
    "expectation_failures",
}


def check_shape(summary: dict) -> None:
    assert set(summary) == SUMMARY_KEYS
    ids = builtin_ids()
    assert summary["calls"] == len(ids)
    assert summary["utterances"] == sum(len(s.turns) for s in builtin_scenarios())
    assert set(summary["alerts_by_call"]) == {f"demo-{sid}-1" for sid in ids}
    assert all(isinstance(k, str) and isinstance(v, int) for k, v in summary["findings_by_type"].items())
    assert set(summary["alerts_by_severity"]) <= {"info", "warning", "high", "critical"}
    assert sum(summary["alerts_by_severity"].values()) == sum(map(len, summary["alerts_by_call"].values()))
    assert summary["replay_differences"] == 0
    assert isinstance(summary["duration_s"], float)


def test_headless_demo_summary_has_the_right_shape(tmp_path: Path, capsys):
    settings = Settings(data_dir=tmp_path)
    summary = run_demo(
        settings, headless=True, duration=None, speed=1.0, loop=False, engine=build_engine(keyword_registry())
    )
    assert summary is not None
    check_shape(summary)
    assert summary["alerts_by_call"]["demo-calm_appointment-1"] == []
    assert summary["alerts_by_call"]["demo-active_ideation_plan_means-1"] == ["suicide_risk"]
    assert summary["alerts_by_severity"] == {"warning": 1, "high": 1, "critical": 3}
    assert summary["expectation_failures"] == []
    printed = json.loads(capsys.readouterr().out)
    assert printed == summary
    assert (tmp_path / "headless-demo" / "calmline.db").exists()


def test_headless_demo_is_fresh_deterministic_and_fits_the_duration(tmp_path: Path, capsys):
    settings = Settings(data_dir=tmp_path)
    engine = build_engine(keyword_registry())
    first = run_demo(settings, headless=True, duration=1.0, speed=1.0, loop=False, engine=engine)
    second = run_demo(settings, headless=True, duration=None, speed=1.0, loop=False, engine=engine)
    assert first is not None and second is not None
    assert first["duration_s"] < 5
    first.pop("duration_s"), second.pop("duration_s")
    assert first == second  # a fresh store each time: no duplicates, same numbers


def test_headless_demo_with_the_shipped_analyzers(tmp_path: Path, capsys):
    summary = run_demo(Settings(data_dir=tmp_path), headless=True, duration=None, speed=1.0, loop=False)
    assert summary is not None
    check_shape(summary)
    assert summary["expectation_failures"] == []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_live_demo_serves_and_feeds_calls(tmp_path: Path):
    port = free_port()
    code = (
        "from pathlib import Path; from calmline.settings import Settings;"
        "from calmline.sim.demo import run_demo;"
        f"run_demo(Settings(data_dir=Path({str(tmp_path)!r}), port={port}),"
        " headless=False, duration=12, speed=20.0, loop=True)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 20
        up = False
        while time.monotonic() < deadline and not up:
            try:
                up = httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code < 500
            except httpx.HTTPError:
                time.sleep(0.2)
        assert up, "the demo server did not come up"
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out
    assert "super" in out and "calmline-demo" in out and f"127.0.0.1:{port}" in out
    settings = Settings(data_dir=tmp_path)
    from calmline.runtime import build_service

    service = build_service(settings, engine=build_engine(keyword_registry()))
    try:
        assert next_round(service) >= 2  # at least one round of calls reached the store
    finally:
        service.db.dispose()


def fake_api_module(monkeypatch) -> None:
    """Stand in for calmline.api.app (create_app + POST /api/events) to test the demo's wiring alone."""

    def create_app(settings, service=None, clock=None):
        app = FastAPI()

        @app.get("/")
        def index() -> dict[str, str]:
            return {"ok": "yes"}

        @app.post("/api/events")
        async def events(request: Request) -> dict[str, str]:
            result = service.ingest(parse_input(await request.json()))
            return {"status": result.status}

        return app

    module = types.ModuleType("calmline.api.app")
    module.create_app = create_app  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "calmline.api.app", module)


def test_live_demo_wiring_with_a_stand_in_app(tmp_path: Path, monkeypatch):
    from io import StringIO

    from rich.console import Console

    from calmline.runtime import build_service

    fake_api_module(monkeypatch)
    out = StringIO()
    settings = Settings(data_dir=tmp_path, port=free_port())
    engine = build_engine(keyword_registry())
    began = time.monotonic()
    result = run_demo(
        settings,
        headless=False,
        duration=3.0,
        speed=400.0,
        loop=False,
        engine=engine,
        console=Console(file=out, width=200),
    )
    assert result is None and time.monotonic() - began < 15
    printed = out.getvalue()
    assert f"http://127.0.0.1:{settings.port}/" in printed and "stopped" in printed
    service = build_service(settings, engine=engine)
    try:
        calls = [s for s in service.log.streams() if s.startswith("demo-")]
        assert len(calls) == len(builtin_ids())
        assert all(service.state(c).status == "ended" for c in calls)
        assert all(service.replay(c).ok for c in calls)
        assert next_round(service) == 2
    finally:
        service.db.dispose()
