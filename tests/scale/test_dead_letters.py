"""Dead letters reach operators (log line, counter, gauge, ``/readyz``) and are re-driven after the fix.

A bug that makes one utterance fail is the poison: it is dead-lettered, its call waits (the later events are
held), the others go on. Once the bug is fixed, ``calmline bus dead-letters redrive`` puts it back and the log
and alerts equal the undisturbed run's. Nothing an operator sees carries the utterance's text.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Engine
from structlog.testing import capture_logs
from typer.testing import CliRunner

from calmline import observability as obs
from calmline.analysis.base import AnalyzerRegistry
from calmline.bus.dead_letters import UnknownDeadLetter, describe, drop, redrive
from calmline.bus.redis_streams import EngineWorker
from calmline.cli import app
from calmline.events import InputEvent
from calmline.service import IngestResult
from tests.scale.conftest import REDIS_URL
from tests.scale.harness import LINES, MakeBus, drain, make_service, published, snapshot

POISON = ("scale-1", 3)  # "I want to die": the utterance a bug cannot handle
TEXT = LINES[POISON[1] - 1]


@pytest.mark.postgres
def test_dead_letter_alerts_operators_and_redrive_restores_the_call(
    pg: Engine,
    registry: AnalyzerRegistry,
    make_bus: MakeBus,
    baseline: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bus = published(make_bus)
    service = make_service(pg, registry)
    ingest = service.ingest
    fixed = False

    def buggy(event: InputEvent) -> IngestResult:
        if not fixed and (getattr(event, "call_id", None), getattr(event, "seq", None)) == POISON:
            raise RuntimeError(f"cannot analyse {event.text!r}")  # type: ignore[union-attr]
        return ingest(event)

    monkeypatch.setattr(service, "ingest", buggy)
    worker = EngineWorker(bus, service, "w1", block_ms=20)
    dead_before = obs.DEAD_LETTERS._value.get()
    with capture_logs() as logs:
        drain([worker], bus)
    # Operators are told: one error line with the call, seq, type and reason; the counter; the gauge.
    alerts = [e for e in logs if e["event"] == "bus.dead_letter"]
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["log_level"] == "error"
    assert (alert["call_id"], alert["seq"], alert["type"], alert["reason"]) == (
        *POISON,
        "utterance",
        "RuntimeError",
    )
    assert TEXT not in json.dumps(logs, default=str)  # never the text, not even through the error message
    assert obs.DEAD_LETTERS._value.get() == dead_before + 1
    worker.balance()
    assert obs.DEAD_LETTERS_WAITING._value.get() == 1
    assert bus.dead_letter_count() == 1
    # The call waits for the missing event; the other calls are complete.
    assert {h.stream for h in service.log.held()} == {"scale-1"}
    disturbed = snapshot(make_service(pg, registry))
    assert disturbed["log"]["scale-0"] == baseline["log"]["scale-0"]
    assert disturbed["log"]["scale-1"] != baseline["log"]["scale-1"]

    env = {"CALMLINE_BUS_URL": REDIS_URL, "CALMLINE_BUS_PREFIX": bus.config.prefix}
    runner = CliRunner()
    listed = runner.invoke(app, ["bus", "dead-letters", "list", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    [entry] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (entry["call_id"], entry["seq"], entry["type"], entry["error"]) == (
        *POISON,
        "utterance",
        "RuntimeError",
    )
    assert entry["failures"] == bus.config.max_deliveries
    assert TEXT not in listed.output
    table = runner.invoke(app, ["bus", "dead-letters", "list"], env=env)
    assert table.exit_code == 0 and "scale-1" in table.output and TEXT not in table.output
    assert runner.invoke(app, ["bus", "dead-letters", "redrive"], env=env).exit_code == 2  # ids or --all
    unknown = runner.invoke(app, ["bus", "dead-letters", "redrive", "0-1"], env=env)
    assert unknown.exit_code == 1 and bus.dead_letter_count() == 1  # nothing moved

    fixed = True  # the bug is fixed and deployed
    redriven = runner.invoke(app, ["bus", "dead-letters", "redrive", entry["id"]], env=env)
    assert redriven.exit_code == 0, redriven.output
    assert "re-driven 1" in redriven.stdout
    assert bus.dead_letter_count() == 0
    drain([worker], bus)
    assert service.log.held() == []
    assert snapshot(make_service(pg, registry)) == baseline
    worker.balance()
    assert obs.DEAD_LETTERS_WAITING._value.get() == 0


def test_redrive_all_drop_and_describe_without_text(make_bus: MakeBus) -> None:
    bus = make_bus()
    bus.client.xadd(
        bus.dead_stream,
        {
            "m": "{not json",
            "stream": bus.stream(0),
            "entry": "1-0",
            "error": "JSONDecodeError",
            "failures": 3,
        },
    )
    event = {"type": "utterance", "call_id": "c9", "seq": 4, "text": "a secret sentence"}
    body = json.dumps({"e": event, "t": 1.0})
    bus.client.xadd(
        bus.dead_stream, {"m": body, "stream": bus.stream(1), "entry": "2-0", "error": "X", "failures": 3}
    )
    control = json.dumps({"c": "tick", "call_id": "c9", "at": "2026-03-01T09:00:00+00:00"})
    summaries = [describe(d) for d in bus.dead_letters()] + [describe({"m": control})]
    assert [s["kind"] for s in summaries] == ["unreadable", "event", "control"]
    assert summaries[1] | {"id": ""} == {
        "id": "",
        "stream": bus.stream(1),
        "entry": "2-0",
        "error": "X",
        "failures": 3,
        "kind": "event",
        "type": "utterance",
        "call_id": "c9",
        "seq": 4,
    }
    assert "secret" not in json.dumps(summaries)
    with pytest.raises(UnknownDeadLetter):
        redrive(bus, ["0-1"])
    unreadable = bus.dead_letters()[0]["id"]
    assert drop(bus, [unreadable]) == 1 and drop(bus, []) == 0
    [new_id] = redrive(bus)  # --all: the event goes back to partition 1's stream, its wait time reset
    assert bus.dead_letter_count() == 0
    [(entry_id, fields)] = bus.client.xrange(bus.stream(1))
    assert entry_id == new_id
    message = json.loads(fields["m"])
    assert message["e"] == event and message["t"] > 1.0


def test_bus_cli_needs_a_bus_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CALMLINE_BUS_URL", raising=False)
    result = CliRunner().invoke(app, ["bus", "dead-letters", "list"])
    assert result.exit_code == 2


def test_failure_counts_are_per_stream_not_per_entry_id(
    registry: AnalyzerRegistry, make_bus: MakeBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entry ids are unique within a stream only: a poison entry must not count against its namesakes."""
    from calmline.bus import partition_of
    from calmline.events import CallStarted
    from calmline.store.db import make_engine, migrate
    from calmline.store.log import dump
    from tests.scale.harness import T0

    bus = make_bus()
    call_id = next(f"c{i}" for i in range(100) if partition_of(f"c{i}", 4) == 0)
    started = CallStarted(call_id=call_id, seq=0, started_at=T0)
    bus.client.xadd(bus.stream(0), {"m": json.dumps({"e": dump(started), "t": 0})}, id="5-0")
    bus.client.xadd(bus.stream(3), {"m": "{not json"}, id="5-0")  # the same id, in another partition
    db = make_engine("sqlite://")
    migrate(db)
    service = make_service(db, registry)
    ingest, flaky = service.ingest, {"left": 2}  # fails twice, then works (max_deliveries is 3)

    def transient(event: InputEvent) -> IngestResult:
        if flaky["left"] > 0:
            flaky["left"] -= 1
            raise RuntimeError("transient")
        return ingest(event)

    monkeypatch.setattr(service, "ingest", transient)
    drain([EngineWorker(bus, service, "w1", block_ms=20)], bus)
    assert [d["stream"] for d in bus.dead_letters()] == [bus.stream(3)]
    assert [r.type for r in service.log.read(call_id, kind="input")][-1] == "call.started"
    db.dispose()
