"""One suite, every backend: the event log, the inbox and the projections behave the same everywhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from calmline.analysis.base import AnalyzerRegistry
from calmline.clock import FakeClock
from calmline.engine import CallEngine, load_alert_policy
from calmline.events import CallEnded, CallStarted, SupervisorAction, UtteranceReceived
from calmline.service import CallService
from calmline.store.log import Append, DuplicateEventError, SqlEventLog

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def utt(call_id: str, seq: int, text: str, speaker: str = "caller") -> UtteranceReceived:
    return UtteranceReceived(
        call_id=call_id,
        seq=seq,
        speaker=speaker,
        text=text,  # type: ignore[arg-type]
        start_ms=seq * 1000,
        end_ms=seq * 1000 + 800,
    )


def test_log_append_assigns_contiguous_positions_and_keeps_order(db: Engine) -> None:
    log = SqlEventLog(db)
    log.append("c1", CallStarted(call_id="c1", started_at=T0), (), T0)
    log.append("c1", utt("c1", 1, "hello"), (), T0)
    log.append("c2", CallStarted(call_id="c2", started_at=T0), (), T0)
    rows = log.read("c1")
    assert [(r.pos, r.seq, r.kind, r.type) for r in rows] == [
        (1, 0, "input", "call.started"),
        (2, 1, "input", "utterance"),
    ]
    assert log.streams() == ["c1", "c2"]
    assert rows[1].event() == utt("c1", 1, "hello")


def test_log_rejects_a_duplicate_seq_and_keeps_the_first(db: Engine) -> None:
    log = SqlEventLog(db)
    log.append("c1", utt("c1", 0, "first"), (), T0)
    with pytest.raises(DuplicateEventError):
        log.append("c1", utt("c1", 0, "second"), (), T0)
    assert [r.payload["text"] for r in log.read("c1")] == ["first"]


def test_log_append_batch_writes_several_streams_at_once_or_nothing(db: Engine) -> None:
    log = SqlEventLog(db)
    log.append("c1", CallStarted(call_id="c1", started_at=T0), (), T0)
    ended = CallEnded(call_id="c1", seq=3, at=T0)
    stored = log.append_batch(
        [
            Append("c1", utt("c1", 1, "hello"), (ended,), T0, last_pos=1),
            Append("c2", CallStarted(call_id="c2", started_at=T0), (), T0),
            Append("c1", utt("c1", 2, "again"), (), T0),  # its position follows the first item's rows
        ]
    )
    assert [[(r.stream, r.pos, r.kind, r.cause) for r in rows] for rows in stored] == [
        [("c1", 2, "input", None), ("c1", 3, "output", 2)],
        [("c2", 1, "input", None)],
        [("c1", 4, "input", None)],
    ]
    assert [r.id for rows in stored for r in rows] == [r.id for r in log.read_since(1)]
    assert [r.payload for r in log.read("c1", after_pos=1)] == [r.payload for r in stored[0] + stored[2]]
    with pytest.raises(IntegrityError):  # seq 2 is taken: the whole batch is refused
        log.append_batch([Append("c3", utt("c3", 1, "x"), (), T0), Append("c1", utt("c1", 2, "dup"), (), T0)])
    assert log.streams() == ["c1", "c2"]


def test_log_append_with_a_stale_last_position_reads_it_again(db: Engine) -> None:
    log = SqlEventLog(db)
    log.append("c1", CallStarted(call_id="c1", started_at=T0), (), T0)
    log.append("c1", utt("c1", 1, "another writer"), (), T0)
    rows = log.append("c1", utt("c1", 2, "stale cache"), (), T0, last_pos=1)
    assert [r.pos for r in rows] == [3]
    with pytest.raises(DuplicateEventError):
        log.append("c1", utt("c1", 2, "again"), (), T0, last_pos=1)


def test_log_read_since_pages_across_streams_by_global_id(db: Engine) -> None:
    log = SqlEventLog(db)
    for i in range(5):
        log.append(f"c{i % 2}", utt(f"c{i % 2}", i, "x"), (), T0)
    first = log.read_since(0, limit=3)
    rest = log.read_since(first[-1].id, limit=10)
    assert len(first) == 3 and len(rest) == 2
    assert log.last_id() == rest[-1].id


def test_inbox_holds_once_and_releases(db: Engine) -> None:
    log = SqlEventLog(db)
    assert log.hold("c1", 3, {"x": 1}, T0)
    assert not log.hold("c1", 3, {"x": 2}, T0)
    assert [(h.seq, h.payload) for h in log.held("c1")] == [(3, {"x": 1})]
    log.release("c1", 3)
    assert log.held() == []


def test_service_projects_alerts_and_rebuild_reproduces_projections(
    db: Engine, registry: AnalyzerRegistry
) -> None:
    service = CallService(db, CallEngine(registry, load_alert_policy()), FakeClock(T0))
    service.ingest(CallStarted(call_id="c1", queue="nurse", started_at=T0))
    service.ingest(utt("c1", 1, "I want to die"))
    service.ingest(utt("c1", 2, "I will take all my pills tonight"))
    alert = service.projections.list_alerts(call_id="c1")[0]
    service.ingest(
        SupervisorAction(
            call_id="c1",
            action="acknowledge_alert",
            actor="sue",
            alert_id=alert["alert_id"],
            at=T0 + timedelta(seconds=5),
        )
    )
    service.ingest(CallEnded(call_id="c1", seq=3, at=T0 + timedelta(seconds=9)))

    call = service.projections.get_call("c1")
    assert call is not None
    assert (call["status"], call["queue"], call["utterances"], call["max_severity"]) == (
        "ended",
        "nurse",
        2,
        "critical",
    )
    alerts = service.projections.list_alerts(call_id="c1")
    assert [(a["kind"], a["severity"], a["status"], a["acknowledged_by"]) for a in alerts] == [
        ("suicide_risk", "critical", "acknowledged", "sue")
    ]
    assert [f["level"] for f in service.projections.list_findings("c1")] == ["wish_to_be_dead", "plan"]

    before = service.projections.snapshot()
    assert service.rebuild() == len(service.log.read("c1"))
    assert service.projections.snapshot() == before
    assert service.replay("c1").ok
