"""Protocols running on live calls: alert within one utterance, escalation at the deadline, acknowledgement,
replay, recovery after a restart, and protocol versions pinned per call — on every supported database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from calmline.analysis.base import AnalyzerRegistry
from calmline.clock import FakeClock
from calmline.engine import CallEngine, load_alert_policy
from calmline.events import CallStarted, SupervisorAction, UtteranceReceived
from calmline.protocol_admin import publish_library, set_enabled
from calmline.protocols.catalog import ProtocolCatalog
from calmline.protocols.loader import load_library
from calmline.protocols.schema import ProtocolLibrary
from calmline.service import CallService
from calmline.store.protocol_sets import ProtocolStore

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
IMMINENT = "I'm going to take all my pills tonight"


def start_service(db: Engine, registry: AnalyzerRegistry, clock: FakeClock) -> CallService:
    """A service as `calmline serve` builds it: protocol sets read from the store."""
    store = ProtocolStore(db)
    catalog = store.load_catalog()
    if not catalog.current.protocols:
        publish_library(store, catalog, load_library(), actor="system", action="loaded", why="test", at=T0)
    engine = CallEngine(registry, load_alert_policy(), catalog)
    return CallService(db, engine, clock, protocol_store=store)


def utt(seq: int, text: str, speaker: str = "caller", call_id: str = "c1") -> UtteranceReceived:
    return UtteranceReceived(
        call_id=call_id, seq=seq, speaker=speaker, text=text, start_ms=seq * 1000, end_ms=seq * 1000 + 500
    )


def outputs(service: CallService, call_id: str = "c1", type_: str | None = None) -> list[dict[str, Any]]:
    rows = service.log.read(call_id, kind="output")
    return [r.payload for r in rows if type_ is None or r.type == type_]


def disclose(service: CallService, call_id: str = "c1") -> dict[str, Any]:
    service.ingest(CallStarted(call_id=call_id, started_at=T0))
    result = service.ingest(utt(1, IMMINENT, call_id=call_id))
    raised = [o for o in result.outputs if o["type"] == "alert.raised"]
    assert len(raised) == 1, [o["type"] for o in result.outputs]
    return raised[0]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


def test_imminent_disclosure_raises_an_alert_on_that_utterance_with_a_deadline(
    db: Engine, registry: AnalyzerRegistry, clock: FakeClock
) -> None:
    service = start_service(db, registry, clock)
    alert = disclose(service)
    assert alert["severity"] == "critical"
    assert alert["protocol_id"] == "suicide_imminent"
    assert alert["notify"] == "supervisor" and alert["escalation_level"] == 1
    said_at = T0 + timedelta(milliseconds=1500)
    assert datetime.fromisoformat(alert["ack_deadline"]) == said_at + timedelta(seconds=60)
    activated = outputs(service, type_="protocol.activated")
    assert [a["protocol_id"] for a in activated] == ["suicide_imminent"]
    assert activated[0]["alert_id"] == alert["alert_id"]
    due = [o["step_id"] for o in outputs(service, type_="checklist.step") if o["status"] == "due"]
    assert "ask_safe_now" in due and all(o["prompt"] for o in outputs(service, type_="checklist.step"))
    # the call is pinned to the set in force, in its own log
    first = service.log.read("c1", kind="input")[0]
    assert first.type == "protocols.pinned"
    assert first.payload["protocol_set"] == service.engine.protocols.current.set_id


def test_unacknowledged_alert_escalates_at_the_deadline_not_before(
    db: Engine, registry: AnalyzerRegistry, clock: FakeClock
) -> None:
    service = start_service(db, registry, clock)
    alert = disclose(service)
    clock.advance(60)  # 1.5 s short of the deadline
    service.tick()
    assert outputs(service, type_="alert.escalated") == []
    clock.advance(2)
    service.tick()
    [escalated] = outputs(service, type_="alert.escalated")
    assert escalated["alert_id"] == alert["alert_id"]
    assert (escalated["notify"], escalated["escalation_level"]) == ("clinician", 2)
    assert "not acknowledged by supervisor within 60 s" in escalated["reason"]
    row = service.projections.get_alert(alert["alert_id"])
    assert row is not None and row["status"] == "escalated" and row["notify"] == "clinician"
    service.tick()  # the same moment again: nothing new
    assert len(outputs(service, type_="alert.escalated")) == 1
    assert service.replay("c1").ok


def test_acknowledging_stops_the_escalation(db: Engine, registry: AnalyzerRegistry, clock: FakeClock) -> None:
    service = start_service(db, registry, clock)
    alert = disclose(service)
    clock.advance(20)
    service.ingest(
        SupervisorAction(
            call_id="c1", action="acknowledge_alert", actor="sup1", alert_id=alert["alert_id"], at=clock.now()
        )
    )
    row = service.projections.get_alert(alert["alert_id"])
    assert row is not None and row["ack_deadline"] is None
    for _ in range(5):
        clock.advance(600)
        assert service.fire_deadlines() == []
    assert outputs(service, type_="alert.escalated") == []
    assert service.replay("c1").ok


def test_escalation_survives_a_restart(db: Engine, registry: AnalyzerRegistry, clock: FakeClock) -> None:
    first = start_service(db, registry, clock)
    alert = disclose(first)
    del first  # the process dies: nothing in memory survives
    clock.advance(62)
    second = start_service(db, registry, clock)
    assert second.fire_deadlines() == ["c1"]
    [escalated] = outputs(second, type_="alert.escalated")
    assert escalated["alert_id"] == alert["alert_id"] and escalated["notify"] == "clinician"
    # and the chain goes on from the restarted process: clinician had 120 s
    clock.advance(121)
    second.tick()
    chain = [o["notify"] for o in outputs(second, type_="alert.escalated")]
    assert chain == ["clinician", "emergency_services"]
    assert second.replay("c1").ok


def test_a_protocol_edit_applies_to_new_calls_only_and_is_audited(
    db: Engine, registry: AnalyzerRegistry, clock: FakeClock
) -> None:
    service = start_service(db, registry, clock)
    store = service.protocol_store
    assert store is not None
    disclose(service, "before")
    # an admin makes the supervisor's window shorter: a new version of the protocol
    library = load_library()
    imminent = library.get("suicide_imminent")
    assert imminent is not None
    chain = tuple(
        lvl.model_copy(update={"ack_within_s": 30}) if lvl.level == 1 else lvl for lvl in imminent.escalation
    )
    edited = imminent.model_copy(update={"version": "1.1.0", "escalation": chain})
    new_library = ProtocolLibrary(tuple(edited if p.id == edited.id else p for p in library.protocols))
    _, changed = publish_library(
        store, ProtocolCatalog(), new_library, actor="admin1", action="changed", why="shorter window", at=T0
    )
    assert changed
    assert service.refresh_protocols()  # the running service picks the new set up on its next tick
    after = disclose(service, "after")
    before = outputs(service, "before", "alert.raised")[0]
    said_at = T0 + timedelta(milliseconds=1500)
    assert datetime.fromisoformat(before["ack_deadline"]) == said_at + timedelta(seconds=60)
    assert datetime.fromisoformat(after["ack_deadline"]) == said_at + timedelta(seconds=30)
    versions = {c: outputs(service, c, "protocol.activated")[0]["version"] for c in ("before", "after")}
    assert versions == {"before": imminent.version, "after": "1.1.0"}
    # both calls replay identically, each with its own version
    assert service.replay("before").ok and service.replay("after").ok
    entry = store.audit.entries()[-1]
    assert (entry.actor, entry.action) == ("admin1", "protocols.changed")
    assert entry.detail["changes"]["changed"] == ["suicide_imminent"]
    assert store.audit.verify() == []


def test_a_disabled_protocol_does_not_start_on_new_calls(
    db: Engine, registry: AnalyzerRegistry, clock: FakeClock
) -> None:
    service = start_service(db, registry, clock)
    store = service.protocol_store
    assert store is not None
    set_enabled(store, service.engine.protocols, "suicide_imminent", False, actor="admin1", why="test", at=T0)
    service.ingest(CallStarted(call_id="c2", started_at=T0))
    service.ingest(utt(1, IMMINENT, call_id="c2"))
    activated = [o["protocol_id"] for o in outputs(service, "c2", "protocol.activated")]
    assert "suicide_imminent" not in activated
    # the alert policy still raises the alert: disabling a protocol never silences the risk itself
    assert outputs(service, "c2", "alert.raised")[0]["severity"] == "critical"
    assert store.audit.entries()[-1].action == "protocols.disabled"
