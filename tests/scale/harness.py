"""Shared by the scale-out tests: scripted calls, the undisturbed run, snapshots of the log and alerts."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from calmline.analysis.base import AnalyzerRegistry
from calmline.bus import InProcessBus
from calmline.bus.redis_streams import EngineWorker, RedisStreamsBus
from calmline.clock import FakeClock
from calmline.engine import CallEngine, load_alert_policy
from calmline.events import CallEnded, CallStarted, InputEvent, UtteranceReceived
from calmline.service import CallService
from calmline.store.db import make_engine, migrate

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
LINES = (
    "hello, I need to talk to someone",
    "I am so upset, everything is falling apart",
    "I want to die",
    "I have been not feeling like myself",
    "I am going to take all my pills tonight",
    "I have chest pain as well",
    "okay, I am listening",
)

MakeBus = Callable[..., RedisStreamsBus]


def script(calls: int = 4) -> list[InputEvent]:
    """Each call: started, the lines above by the caller, ended (seq 0..len+1)."""
    events: list[InputEvent] = []
    for c in range(calls):
        call_id = f"scale-{c}"
        events.append(CallStarted(call_id=call_id, seq=0, started_at=T0))
        for i, text in enumerate(LINES, start=1):
            events.append(
                UtteranceReceived(
                    call_id=call_id,
                    seq=i,
                    speaker="caller",
                    text=text,
                    start_ms=i * 4000,
                    end_ms=i * 4000 + 3000,
                )
            )
        events.append(CallEnded(call_id=call_id, seq=len(LINES) + 1, at=T0 + timedelta(minutes=1)))
    return events


def published(make_bus: MakeBus, **kw: Any) -> RedisStreamsBus:
    """A fresh bus with the whole :func:`script` published on it."""
    bus = make_bus(**kw)
    for event in script():
        bus.publish(event)
    return bus


def make_service(db: Engine, registry: AnalyzerRegistry) -> CallService:
    return CallService(db, CallEngine(registry, load_alert_policy()), FakeClock(T0), gap_timeout_s=60)


def snapshot(service: CallService, calls: int = 4) -> dict[str, Any]:
    """The log (minus row ids and recording times) and the alerts of every call."""
    log = {}
    for c in range(calls):
        rows = service.log.read(f"scale-{c}")
        log[f"scale-{c}"] = [(r.pos, r.kind, r.type, r.seq, r.cause, r.payload) for r in rows]
    alerts = sorted((a["alert_id"], a["kind"], a["severity"], a["status"]) for a in _alerts(service))
    return {"log": log, "alerts": alerts}


def _alerts(service: CallService) -> list[dict[str, Any]]:
    return [dict(a) if not isinstance(a, dict) else a for a in service.projections.list_alerts(limit=1000)]


def undisturbed_run(registry: AnalyzerRegistry) -> dict[str, Any]:
    """The undisturbed run: the in-process bus on SQLite."""
    db = make_engine("sqlite://")
    migrate(db)
    service = make_service(db, registry)
    bus = InProcessBus(service)
    for event in script():
        assert bus.publish(event).status == "accepted"
    snap = snapshot(service)
    db.dispose()
    assert snap["alerts"], "the script must raise alerts"
    return snap


def drain(workers: Sequence[EngineWorker], bus: RedisStreamsBus, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while bus.depth() > 0:
        assert time.monotonic() < deadline, f"bus not drained: depth {bus.depth()}"
        for worker in workers:
            worker.run_once()
