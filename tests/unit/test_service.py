"""Ingest sequencing: duplicates, out-of-order events, gaps that time out, and consistency after each."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from calmline.analysis.base import AnalyzerRegistry
from calmline.clock import FakeClock
from calmline.engine import CallEngine, load_alert_policy
from calmline.events import AgentStatusChanged, CallStarted, UtteranceReceived
from calmline.service import CallService
from calmline.store.db import make_engine, migrate

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def utt(seq: int, text: str = "hello", call_id: str = "c1") -> UtteranceReceived:
    return UtteranceReceived(
        call_id=call_id, seq=seq, speaker="caller", text=text, start_ms=seq * 1000, end_ms=seq * 1000 + 500
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def service(registry: AnalyzerRegistry, clock: FakeClock) -> CallService:
    db = make_engine("sqlite://")
    migrate(db)
    return CallService(db, CallEngine(registry, load_alert_policy()), clock, gap_timeout_s=5)


def seqs(service: CallService, call_id: str = "c1") -> list[int | None]:
    return [r.seq for r in service.log.read(call_id, kind="input")]


def test_duplicate_is_acknowledged_not_stored_twice(service: CallService) -> None:
    service.ingest(CallStarted(call_id="c1", started_at=T0))
    first = service.ingest(utt(1, "I want to die"))
    again = service.ingest(utt(1, "I want to die"))
    assert (first.status, again.status) == ("accepted", "duplicate")
    assert seqs(service) == [0, 1]
    assert len(service.projections.list_alerts(call_id="c1")) == 1


def test_early_event_is_held_then_stepped_in_order_when_the_gap_fills(service: CallService) -> None:
    service.ingest(CallStarted(call_id="c1", started_at=T0))
    assert service.ingest(utt(3)).status == "held"
    assert service.ingest(utt(2)).status == "held"
    assert service.ingest(utt(3)).status == "duplicate"  # already waiting
    filled = service.ingest(utt(1))
    assert (filled.status, filled.released) == ("accepted", 2)
    assert seqs(service) == [0, 1, 2, 3]
    assert service.log.held() == []
    assert service.replay("c1").ok


def test_gap_that_times_out_is_reported_and_held_events_proceed(
    service: CallService, clock: FakeClock
) -> None:
    service.ingest(CallStarted(call_id="c1", started_at=T0))
    service.ingest(utt(4, "I will take all my pills tonight"))
    clock.advance(2)
    assert service.tick() == []  # not yet
    clock.advance(4)
    gaps = service.tick()
    assert [(g.missing_from, g.missing_to) for g in gaps] == [(1, 3)]
    assert [r.type for r in service.log.read("c1", kind="input")] == [
        "call.started",
        "sequence.gap",
        "utterance",
    ]
    assert service.projections.get_call("c1")["gaps"] == 1  # type: ignore[index]
    assert service.projections.list_alerts(call_id="c1")[0]["severity"] == "critical"
    # a late arrival from inside the gap is still accepted, once
    assert service.ingest(utt(2)).status == "accepted"
    assert service.ingest(utt(2)).status == "duplicate"
    assert service.replay("c1").ok


def test_state_is_rebuilt_from_the_log_after_a_restart(
    service: CallService, registry: AnalyzerRegistry
) -> None:
    service.ingest(CallStarted(call_id="c1", started_at=T0))
    service.ingest(utt(1, "I want to die"))
    restarted = CallService(service.db, CallEngine(registry, load_alert_policy()), FakeClock(T0))
    assert restarted.state("c1").last_seq == 1
    assert restarted.ingest(utt(2, "I will take all my pills tonight")).status == "accepted"
    assert [a["status"] for a in restarted.projections.list_alerts(call_id="c1")] == ["escalated"]


def test_agent_status_goes_to_the_agent_stream(service: CallService) -> None:
    service.ingest(AgentStatusChanged(agent_id="a7", status="break", at=T0))
    assert [r.type for r in service.log.read("agent:a7")] == ["agent.status"]
    assert service.projections.list_calls() == []


def test_listener_failure_does_not_lose_the_event(service: CallService) -> None:
    seen: list[int] = []

    def broken(rows: object) -> None:
        raise RuntimeError("subscriber bug")

    service.subscribe(broken)
    service.subscribe(lambda rows: seen.extend(r.pos for r in rows))
    assert service.ingest(CallStarted(call_id="c1", started_at=T0)).status == "accepted"
    assert seen == [1]
    assert seqs(service) == [0]
