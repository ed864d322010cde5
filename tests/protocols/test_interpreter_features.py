"""Interpreter features with a small synthetic library: supersedes, emotion triggers, agent-only guidance
(no escalation chain) and disabled protocols."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from calmline.events.findings import Finding
from calmline.protocols.interpreter import (
    ActivateProtocol,
    Command,
    DistressScored,
    FindingSeen,
    ProtocolExited,
    ProtocolInput,
    ProtocolState,
    RaiseAlert,
    ScheduleDeadline,
    Tick,
    step,
)
from calmline.protocols.schema import Protocol, ProtocolLibrary

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def protocol(pid: str, severity: str, triggers: list[dict[str, Any]], **extra: Any) -> Protocol:
    data: dict[str, Any] = {
        "id": pid,
        "version": "1",
        "title": pid.replace("_", " "),
        "rationale": "test",
        "sources": ["test"],
        "severity": severity,
        "triggers": triggers,
        "steps": [{"id": "ask", "prompt": "Ask.", "completes_on": {"intent": "asked_if_safe_now"}}],
        "escalation": [{"level": 1, "notify": "supervisor", "ack_within_s": 60}],
    }
    return Protocol.model_validate(data | extra)


RISK = protocol("risk", "high", [{"finding": "suicide_risk"}])
IMMINENT = protocol(
    "imminent", "critical", [{"finding": "suicide_risk", "min_tier": "imminent"}], supersedes=["risk"]
)
AGITATED = protocol(
    "agitated",
    "warning",
    [{"emotion": ["anger", "frustration"], "at_least": 0.6, "for_turns": 2}],
    escalation=[],
)
LIB = ProtocolLibrary((RISK, IMMINENT, AGITATED))


def risk(tier: str) -> FindingSeen:
    f = Finding(type="suicide_risk", level="plan", score=0.9, tier=tier, analyzer="t", analyzer_version="1")
    return FindingSeen(f, 1)


def run(inputs: list[ProtocolInput], library: ProtocolLibrary = LIB) -> tuple[ProtocolState, list[Command]]:
    state = ProtocolState()
    out: list[Command] = []
    for i, inp in enumerate(inputs):
        state, commands = step(library, state, inp, T0 + timedelta(seconds=i))
        out.extend(commands)
    return state, out


def activated(commands: list[Command]) -> list[str]:
    return [c.protocol_id for c in commands if isinstance(c, ActivateProtocol)]


def test_a_superseding_protocol_replaces_the_one_running() -> None:
    state, out = run([risk("moderate"), risk("imminent")])
    assert activated(out) == ["risk", "imminent"]
    assert ProtocolExited("risk", "superseded by imminent") in out
    assert [i.protocol_id for i in state.active] == ["imminent"]


def test_a_superseded_protocol_does_not_start_alongside_or_after() -> None:
    state, out = run([risk("imminent"), risk("moderate")])
    assert activated(out) == ["imminent"]
    assert state.instance("risk") is None


def test_emotion_trigger_needs_consecutive_turns_of_any_listed_emotion() -> None:
    turns = [
        DistressScored(0.5, 1, (("anger", 0.7), ("neutral", 0.1))),
        DistressScored(0.5, 2, (("frustration", 0.65),)),
    ]
    _, out = run(turns)
    assert activated(out) == ["agitated"]
    reason = next(c.reason for c in out if isinstance(c, ActivateProtocol))
    assert reason == "anger or frustration >= 0.6 for 2 turns (to utterance 2)"
    calm = [DistressScored(0.5, 1, (("anger", 0.7),)), DistressScored(0.2, 2, (("anger", 0.3),))]
    assert activated(run(calm)[1]) == []


def test_protocol_without_escalation_chain_is_guidance_only() -> None:
    turns = [DistressScored(0.5, i, (("anger", 0.9),)) for i in range(2)]
    state, out = run([*turns, Tick()])
    assert activated(out) == ["agitated"]
    assert not [c for c in out if isinstance(c, RaiseAlert | ScheduleDeadline)]
    assert state.instance("agitated").next_deadline is None  # type: ignore[union-attr]


def test_disabled_protocol_never_activates() -> None:
    off = ProtocolLibrary((RISK.model_copy(update={"enabled": False}),))
    assert activated(run([risk("moderate")], off)[1]) == []


def test_a_protocol_cannot_supersede_itself() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="cannot supersede itself"):
        protocol("x", "high", [{"finding": "suicide_risk"}], supersedes=["x"])


def test_an_equal_severity_superseder_later_in_the_library_still_wins_on_the_same_input() -> None:
    first = protocol("general", "critical", [{"finding": "medical_emergency"}])
    specific = protocol(
        "specific",
        "critical",
        [{"finding": "medical_emergency", "categories": ["stroke"]}],
        supersedes=["general"],
    )
    f = Finding(
        type="medical_emergency",
        level="emergency",
        category="stroke",
        score=0.9,
        analyzer="t",
        analyzer_version="1",
    )
    _, out = run([FindingSeen(f, 1)], ProtocolLibrary((first, specific)))
    assert activated(out) == ["specific"]
    assert [c.protocol_id for c in out if isinstance(c, RaiseAlert)] == ["specific"]


def test_what_the_agent_said_just_before_a_start_completes_its_steps_but_never_exits_it() -> None:
    from calmline.protocols.interpreter import IntentSeen, StepDone

    quitter = Protocol.model_validate(RISK.model_dump() | {"exit": [{"intent": "offered_transfer"}]})
    lib = ProtocolLibrary((quitter,))
    inputs: list[ProtocolInput] = [
        IntentSeen("asked_if_safe_now", 1),
        IntentSeen("offered_transfer", 2),
        risk("moderate"),
    ]
    state, out = run(inputs, lib)
    assert StepDone("risk", "ask", "intent:asked_if_safe_now") in out
    assert state.instance("risk").status == "active"  # type: ignore[union-attr]
    stale = [IntentSeen("asked_if_safe_now", 1), FindingSeen(risk("moderate").finding, 9)]
    _, out = run(stale, lib)
    assert not [c for c in out if isinstance(c, StepDone)]  # too long ago to count
