"""Protocols inside the pure engine: alerts carry their escalation chain, steps complete from the call,
acknowledgement stops escalation, transfers keep protocols, follow-ups at the end — deterministically."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from calmline.analysis.base import AnalyzerRegistry
from calmline.engine import CallEngine, CallState, load_alert_policy
from calmline.engine.protocols import next_deadline
from calmline.events import (
    AlertEscalated,
    AlertRaised,
    CallEnded,
    CallerVerified,
    CallInput,
    CallStarted,
    CallTransferred,
    ChecklistStepChanged,
    FollowUpScheduled,
    OutputEvent,
    ProtocolActivated,
    ProtocolsPinned,
    SupervisorAction,
    Tick,
    UtteranceReceived,
)
from calmline.protocols.catalog import ProtocolCatalog, ProtocolSet
from calmline.protocols.loader import load_library
from calmline.protocols.schema import Protocol
from calmline.testing.keywords import KeywordRule, keyword_registry
from tests.conftest import ENGINE_RULES

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
FIXTURES = load_library(Path(__file__).parents[1] / "protocols" / "fixtures")
INTERPRETER = Protocol.model_validate(
    {
        "id": "language_barrier",
        "version": "1",
        "title": "Language barrier",
        "rationale": "test",
        "sources": ["test"],
        "severity": "warning",
        "triggers": [{"finding": "language_barrier"}],
        "steps": [
            {
                "id": "interpreter",
                "prompt": "Offer an interpreter.",
                "completes_on": {"action": "interpreter_joined"},
            }
        ],
        "escalation": [{"level": 1, "notify": "supervisor", "ack_within_s": 120}],
    }
)
RULES = (*ENGINE_RULES, KeywordRule("no english", "language_barrier", "interpreter_needed", score=0.9))


@pytest.fixture
def engine() -> CallEngine:
    catalog = ProtocolCatalog.single((*FIXTURES.protocols, INTERPRETER))
    return CallEngine(keyword_registry(RULES), load_alert_policy(), catalog)


def utt(seq: int, text: str, speaker: str = "caller") -> UtteranceReceived:
    return UtteranceReceived(
        call_id="c1", seq=seq, speaker=speaker, text=text, start_ms=seq * 1000, end_ms=seq * 1000 + 500
    )


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def run(engine: CallEngine, events: list[CallInput]) -> tuple[CallState, list[OutputEvent]]:
    state, outputs = engine.fold("c1", [CallStarted(call_id="c1", started_at=T0), *events])
    return state, list(outputs)


def of(outputs: list[OutputEvent], kind: type) -> list:
    return [o for o in outputs if isinstance(o, kind)]


def test_policy_alert_carries_the_protocol_chain(engine: CallEngine) -> None:
    state, out = run(engine, [utt(1, "I will take all my pills tonight")])
    [alert] = of(out, AlertRaised)
    assert (alert.kind, alert.severity, alert.policy_rule) == ("suicide_risk", "critical", "suicide-imminent")
    assert (alert.protocol_id, alert.notify, alert.escalation_level) == ("suicide_imminent", "supervisor", 1)
    assert alert.ack_deadline == at(1.5 + 60)
    activations = of(out, ProtocolActivated)
    assert [a.protocol_id for a in activations] == ["suicide_imminent", "suicide_risk"]
    assert all(a.alert_id == alert.alert_id for a in activations)  # one alert for one situation
    assert next_deadline(state) == at(61.5)


def test_finding_without_policy_rule_gets_the_protocols_own_alert(engine: CallEngine) -> None:
    _, out = run(engine, [utt(1, "sorry no english")])
    [alert] = of(out, AlertRaised)
    assert (alert.kind, alert.policy_rule, alert.severity) == (
        "language_barrier",
        "protocol:language_barrier",
        "warning",
    )
    assert alert.evidence[0].type == "language_barrier"


def test_deadline_escalates_once_per_level_and_ack_stops_it(engine: CallEngine) -> None:
    state, out = run(engine, [utt(1, "I will take all my pills tonight")])
    alert_id = of(out, AlertRaised)[0].alert_id
    state, early = engine.step(state, Tick(call_id="c1", at=at(61)))
    assert of(list(early), AlertEscalated) == []
    state, late = engine.step(state, Tick(call_id="c1", at=at(62)))
    [esc] = of(list(late), AlertEscalated)
    assert (esc.notify, esc.escalation_level, esc.ack_deadline) == ("clinician", 2, at(62 + 120))
    ack = SupervisorAction(
        call_id="c1", action="acknowledge_alert", actor="sup", alert_id=alert_id, at=at(70)
    )
    state, _ = engine.step(state, ack)
    assert next_deadline(state) is None
    state, after = engine.step(state, Tick(call_id="c1", at=at(1000)))
    assert of(list(after), AlertEscalated) == []


def test_agent_intents_and_actions_complete_steps(engine: CallEngine) -> None:
    _, out = run(
        engine,
        [
            utt(1, "I will take all my pills tonight"),
            utt(2, "Are you safe right now?", speaker="agent"),
            SupervisorAction(
                call_id="c1",
                action="protocol_action",
                actor="agent-7",
                name="emergency_services_dispatched",
                at=at(5),
            ),
        ],
    )
    done = {(o.protocol_id, o.step_id, o.by) for o in of(out, ChecklistStepChanged) if o.status == "done"}
    assert ("suicide_imminent", "ask_safe_now", "intent:asked_if_safe_now") in done
    assert ("suicide_imminent", "dispatch_emergency", "agent-7") in done


def test_transfer_keeps_protocols_and_completes_the_transfer_step(engine: CallEngine) -> None:
    state, out = run(
        engine,
        [
            utt(1, "I will take all my pills tonight"),
            CallTransferred(call_id="c1", seq=2, to_queue="crisis", at=at(10)),
        ],
    )
    assert ("suicide_imminent", "warm_transfer") in {
        (o.protocol_id, o.step_id) for o in of(out, ChecklistStepChanged) if o.status == "done"
    }
    assert "suicide_imminent" in {i.protocol_id for i in state.protocols.active}
    state, later = engine.step(state, Tick(call_id="c1", at=at(100)))
    assert of(list(later), AlertEscalated)  # still escalating after the transfer: it followed the call


def test_follow_ups_are_scheduled_once_when_the_call_ends(engine: CallEngine) -> None:
    state, out = run(
        engine, [utt(1, "I will take all my pills tonight"), CallEnded(call_id="c1", seq=2, at=at(30))]
    )
    follow = of(out, FollowUpScheduled)
    assert {(f.protocol_id, f.kind) for f in follow} >= {("suicide_imminent", "clinical_callback")}
    assert all(
        f.due_by == at(30) + timedelta(hours=24) for f in follow if f.protocol_id == "suicide_imminent"
    )
    _, again = engine.step(state, CallEnded(call_id="c1", seq=3, at=at(40)))
    assert again == ()


def test_a_pinned_call_keeps_its_protocol_set(engine: CallEngine) -> None:
    old = engine.protocols.current
    engine.protocols.add(ProtocolSet.of(FIXTURES.protocols, disabled={"suicide_imminent"}))
    pin = ProtocolsPinned(call_id="c1", protocol_set=old.set_id, at=T0)
    _, pinned = run(engine, [pin, utt(1, "I will take all my pills tonight")])
    _, unpinned = run(engine, [utt(1, "I will take all my pills tonight")])
    assert "suicide_imminent" in {a.protocol_id for a in of(pinned, ProtocolActivated)}
    assert "suicide_imminent" not in {a.protocol_id for a in of(unpinned, ProtocolActivated)}


def test_same_events_same_outputs(engine: CallEngine) -> None:
    events: list[CallInput] = [
        utt(1, "I will take all my pills tonight"),
        utt(2, "Are you safe right now?", speaker="agent"),
        Tick(call_id="c1", at=at(70)),
        utt(3, "sorry no english"),
        Tick(call_id="c1", at=at(300)),
        CallEnded(call_id="c1", seq=4, at=at(400)),
    ]
    first = run(engine, events)
    second = run(engine, events)
    assert first == second
    assert len(first[1]) > 15


def test_without_protocols_the_engine_behaves_as_before(registry: AnalyzerRegistry) -> None:
    bare = CallEngine(registry, load_alert_policy())
    _, out = run(bare, [utt(1, "I will take all my pills tonight")])
    [alert] = of(out, AlertRaised)
    assert alert.protocol_id is None and alert.ack_deadline is None
    assert of(out, ProtocolActivated) == []


def test_the_last_level_missing_its_deadline_clears_it_and_says_so(engine: CallEngine) -> None:
    state, _ = run(engine, [utt(1, "I will take all my pills tonight")])
    out: list[OutputEvent] = []
    for seconds in (62, 182, 482):
        state, more = engine.step(state, Tick(call_id="c1", at=at(seconds)))
        out.extend(more)
    levels = [(e.escalation_level, e.notify, e.ack_deadline is None) for e in of(out, AlertEscalated)]
    assert levels == [
        (2, "clinician", False),
        (3, "emergency_services", False),
        (3, "emergency_services", True),
    ]
    assert "no further escalation level" in of(out, AlertEscalated)[-1].reason
    assert next_deadline(state) is None


def test_a_step_checked_off_in_one_protocol_only(engine: CallEngine) -> None:
    action = SupervisorAction(
        call_id="c1",
        action="protocol_action",
        actor="a",
        step_id="ask_safe_now",
        protocol_id="suicide_risk",
        at=at(5),
    )
    _, out = run(engine, [utt(1, "I will take all my pills tonight"), action])
    done = {(o.protocol_id, o.step_id) for o in of(out, ChecklistStepChanged) if o.status == "done"}
    assert ("suicide_imminent", "ask_safe_now") not in done


def shipped_engine() -> CallEngine:
    from calmline.runtime import build_engine

    return build_engine()


REQUEST = "can you tell me my dad's blood test results"


def test_a_records_request_before_verification_starts_the_privacy_protocol_and_after_it_does_not() -> None:
    engine = shipped_engine()
    _, before = run(engine, [utt(1, REQUEST)])
    assert "relative_info_request" in {a.protocol_id for a in of(before, ProtocolActivated)}
    verify = SupervisorAction(
        call_id="c1",
        action="verify_caller",
        actor="agent-3",
        relation="authorised_representative",
        method="power_of_attorney",
        at=at(1),
    )
    state, after = run(engine, [verify, utt(2, REQUEST)])
    assert "relative_info_request" not in {a.protocol_id for a in of(after, ProtocolActivated)}
    [verified] = of(after, CallerVerified)
    assert (verified.relation, verified.method, verified.by) == (
        "authorised_representative",
        "power_of_attorney",
        "agent-3",
    )
    assert state.verified and state.caller_relation == "authorised_representative"


def test_the_conversation_can_verify_the_caller() -> None:
    engine = shipped_engine()
    state, out = run(
        engine,
        [
            utt(1, "Can I take your full name and date of birth, please?", speaker="agent"),
            utt(2, "Thank you, that all matches what we have on file.", speaker="agent"),
            utt(3, REQUEST),
        ],
    )
    assert state.verified and state.verification_method == "confirmed_on_call"
    assert [v.by for v in of(out, CallerVerified)] == ["intent:confirmed_identity"]
    assert "relative_info_request" not in {a.protocol_id for a in of(out, ProtocolActivated)}
    _, conditional = run(engine, [utt(1, "If the details match I'll be able to help.", speaker="agent")])
    assert of(conditional, CallerVerified) == []


def test_verify_caller_needs_relation_and_method() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="relation and method are required"):
        SupervisorAction(call_id="c1", action="verify_caller", actor="a", at=T0)
