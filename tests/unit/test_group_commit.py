"""Group commit (``CallService.submit``): the same log, projections and answers as ingesting one by one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from calmline.analysis.base import AnalyzerRegistry
from calmline.clock import FakeClock
from calmline.engine import CallEngine, load_alert_policy
from calmline.events import CallEnded, CallStarted, InputEvent, SupervisorAction, UtteranceReceived
from calmline.group_commit import Refused
from calmline.protocols.catalog import ProtocolCatalog
from calmline.protocols.loader import load_library
from calmline.service import CallService
from calmline.store.db import make_engine, migrate
from calmline.store.log import Append, StoredEvent
from calmline.store.projections import utc

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
LINES = ("hello, I need help with a refill", "I want to die", "I have the pills right here", "thank you")


def utt(call_id: str, seq: int) -> UtteranceReceived:
    return UtteranceReceived(
        call_id=call_id,
        seq=seq,
        speaker="caller",
        text=LINES[seq % len(LINES)],
        start_ms=seq * 1000,
        end_ms=seq * 1000 + 500,
    )


def script() -> list[InputEvent]:
    """Four calls interleaved, with a duplicate, an early event (held, then released) and an action."""
    events: list[InputEvent] = [CallStarted(call_id=f"g{i}", started_at=T0) for i in range(4)]
    for seq in (1, 2, 3):
        events += [utt(f"g{i}", seq) for i in range(4)]
    events += [utt("g0", 3), utt("g1", 5), utt("g1", 4)]  # a duplicate; g1's 5 waits for its 4
    events.append(SupervisorAction(call_id="g2", action="note", actor="sup", note="checked in", at=T0))
    events += [CallEnded(call_id=f"g{i}", seq=6 if i == 1 else 4, at=T0) for i in range(4)]
    return events


def make_service(db: Engine, registry: AnalyzerRegistry) -> CallService:
    engine = CallEngine(registry, load_alert_policy(), ProtocolCatalog.single(load_library()))
    return CallService(db, engine, FakeClock(T0), gap_timeout_s=5)


def fresh(url: str = "sqlite://") -> Engine:
    db = make_engine(url)
    migrate(db)
    return db


def log_of(service: CallService) -> list[tuple[Any, ...]]:
    rows = service.log.read_since(0, 100_000)
    return sorted((r.stream, r.pos, r.kind, r.type, r.seq, r.cause, r.payload) for r in rows)


def projections(service: CallService) -> dict[str, list[dict[str, Any]]]:
    """The projections, with times made comparable across backends (SQLite hands back naive UTC)."""
    return {
        table: [{k: utc(v) if isinstance(v, datetime) else v for k, v in row.items()} for row in rows]
        for table, rows in service.projections.snapshot().items()
    }


def answers(results: Sequence[Any]) -> list[tuple[Any, ...]]:
    return [(r.status, r.call_id, r.seq, r.outputs, r.released) for r in results]


@pytest.fixture
def sequential(registry: AnalyzerRegistry) -> tuple[CallService, list[tuple[Any, ...]]]:
    service = make_service(fresh(), registry)
    return service, answers([service.ingest(e) for e in script()])


def test_submitted_events_give_the_log_and_answers_of_one_by_one_ingest(
    db: Engine, registry: AnalyzerRegistry, sequential: tuple[CallService, list[tuple[Any, ...]]]
) -> None:
    baseline, expected = sequential
    service = make_service(db, registry)
    published: list[StoredEvent] = []
    service.subscribe(published.extend)
    futures = [service.submit(e) for e in script()]
    results = [f.result(timeout=60) for f in futures]
    service.close()
    assert answers(results) == expected
    assert log_of(service) == log_of(baseline)
    assert projections(service) == projections(baseline)
    assert sorted(r.id for r in published) == [r.id for r in service.log.read_since(0, 100_000)]
    assert all(service.replay(f"g{i}").ok for i in range(4))
    assert service.log.held() == []


def test_a_failed_group_is_ingested_again_one_by_one(
    registry: AnalyzerRegistry,
    sequential: tuple[CallService, list[tuple[Any, ...]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    baseline, expected = sequential
    service = make_service(fresh(), registry)
    append_batch = service.log.append_batch
    failed: list[int] = []

    def flaky(items: Sequence[Append], project: Any = None) -> list[list[StoredEvent]]:
        if len(items) > 1 and not failed:  # the first real group: nothing of it may be lost
            failed.append(len(items))
            raise OperationalError("INSERT", {}, ConnectionError("disk I/O error"))
        return append_batch(items, project)

    monkeypatch.setattr(service.log, "append_batch", flaky)
    with service._writer:  # hold the writer so the events queue up and go as groups
        futures = [service.submit(e) for e in script()]
    results = [f.result(timeout=60) for f in futures]
    service.close()
    assert failed, "no group was formed"
    assert answers(results) == expected
    assert log_of(service) == log_of(baseline)
    assert projections(service) == projections(baseline)


def test_a_refused_check_steps_and_stores_nothing(registry: AnalyzerRegistry) -> None:
    service = make_service(fresh(), registry)
    calls: list[str] = []

    def revoked() -> bool:
        calls.append("checked")
        return False

    with service._writer:
        futures = [
            service.submit(CallStarted(call_id=f"r{i}", started_at=T0), revoked, "key") for i in range(3)
        ]
    for future in futures:
        with pytest.raises(Refused):
            future.result(timeout=60)
    allowed = service.submit(CallStarted(call_id="ok", started_at=T0), lambda: True, "key").result(timeout=60)
    service.close()
    assert allowed.status == "accepted"
    assert 1 <= len(calls) <= 3  # one check per key per group
    assert [r.stream for r in service.log.read_since(0)] == ["ok", "ok"]  # its pin, then call.started
