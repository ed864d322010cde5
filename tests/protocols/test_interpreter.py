"""The pure protocol interpreter, driven by table tests with a fake ``now`` (plain datetimes)."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from calmline.events.findings import Finding
from calmline.protocols.interpreter import (
    ActionTaken,
    ActivateProtocol,
    AlertAcknowledged,
    ChainExhausted,
    Command,
    DistressScored,
    Escalate,
    FindingSeen,
    IntentSeen,
    ProtocolExited,
    ProtocolInput,
    ProtocolState,
    RaiseAlert,
    ScheduleDeadline,
    StepDone,
    StepDue,
    Tick,
    Transferred,
    matches,
    step,
)
from calmline.protocols.loader import load_library
from calmline.protocols.schema import FindingTrigger, Protocol, ProtocolLibrary

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
#: A frozen copy of the first four shipped protocols: these tests pin the interpreter's semantics, not the
#: library's content (tests/protocols/test_library.py covers the shipped library).
LIB = load_library(Path(__file__).parent / "fixtures")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def finding(type_: str = "suicide_risk", level: str = "plan", **kw: Any) -> Finding:
    base: dict[str, Any] = {"score": 0.9, "analyzer": "test", "analyzer_version": "1", "tier": "imminent"}
    return Finding(type=type_, level=level, **(base | kw))


IMMINENT = FindingSeen(finding(), utterance_seq=3)


def run(
    events: list[tuple[float, ProtocolInput]], library: ProtocolLibrary = LIB
) -> tuple[ProtocolState, list[tuple[Command, ...]]]:
    state = ProtocolState()
    out: list[tuple[Command, ...]] = []
    for seconds, inp in events:
        state, commands = step(library, state, inp, at(seconds))
        out.append(commands)
    return state, out


def of(commands: tuple[Command, ...], kind: type) -> list[Any]:
    return [c for c in commands if isinstance(c, kind)]


class TestActivation:
    def test_imminent_finding_activates_with_steps_alert_and_deadline(self) -> None:
        state, (commands,) = run([(0, IMMINENT)])
        activated = [c.protocol_id for c in of(commands, ActivateProtocol)]
        assert activated == ["suicide_imminent", "suicide_risk"]  # higher priority first
        assert isinstance(commands[0], ActivateProtocol) and commands[0].version == "1.0.0"
        assert "utterance 3" in commands[0].reason
        due = [c.step_id for c in of(commands, StepDue) if c.protocol_id == "suicide_imminent"]
        assert due == ["ask_safe_now", "ask_location", "ask_means", "dispatch_emergency", "warm_transfer"]
        alert = of(commands, RaiseAlert)[0]
        assert (alert.protocol_id, alert.severity, alert.escalation_level) == (
            "suicide_imminent",
            "critical",
            1,
        )
        deadlines = of(commands, ScheduleDeadline)
        assert deadlines[0] == ScheduleDeadline("suicide_imminent", at(60))
        inst = state.instance("suicide_imminent")
        assert inst is not None and inst.next_deadline == at(60) and inst.escalation_level == 1
        assert set(inst.due) == set(due) and not inst.acknowledged

    @pytest.mark.parametrize(
        ("f", "expected"),
        [
            (finding(tier="moderate", level="suicidal_thoughts"), ["suicide_risk"]),
            (finding(tier="low", level="wish_to_be_dead"), []),
            (finding(tier="low", level="behavior"), ["suicide_imminent"]),
            (finding(assertion="negated"), []),
            (finding(assertion="historical"), []),
            (finding(assertion="uncertain", tier="high"), ["suicide_risk"]),
            (finding(speaker="agent"), []),
            (
                finding("medical_emergency", "emergency", tier=None, experiencer="other"),
                ["medical_emergency"],
            ),
            (finding("medical_emergency", "urgent", tier=None), []),
            (finding("abuse_disclosure", "child", tier=None), ["abuse_disclosure"]),
            (finding("emotion", "fear", tier=None), []),
        ],
    )
    def test_trigger_table(self, f: Finding, expected: list[str]) -> None:
        _, (commands,) = run([(0, FindingSeen(f, 1))])
        assert [c.protocol_id for c in of(commands, ActivateProtocol)] == expected

    def test_no_double_activation(self) -> None:
        state, outs = run([(0, IMMINENT), (5, IMMINENT), (9, FindingSeen(finding(tier="high"), 4))])
        assert outs[1] == () and outs[2] == ()
        assert [i.protocol_id for i in state.instances] == ["suicide_imminent", "suicide_risk"]
        assert state.instance("suicide_imminent").activated_at == T0  # type: ignore[union-attr]

    def test_later_higher_priority_protocol_is_listed_first(self) -> None:
        abuse = FindingSeen(finding("abuse_disclosure", "domestic", tier=None), 1)
        state, _ = run([(0, abuse), (10, IMMINENT)])
        assert [i.protocol_id for i in state.instances] == [
            "suicide_imminent",
            "abuse_disclosure",
            "suicide_risk",
        ]

    def test_trigger_assertion_and_experiencer_fields(self) -> None:
        t = FindingTrigger(finding="suicide_risk", assertion="historical", experiencer="other")
        assert matches(t, finding(assertion="historical", experiencer="other"))
        assert not matches(t, finding(assertion="historical"))
        assert not matches(t, finding(experiencer="other"))
        assert not matches(FindingTrigger(finding="suicide_risk", min_tier="high"), finding(tier=None))


class TestEscalation:
    @pytest.mark.parametrize(
        ("tick_at", "escalated"),
        [(30, False), (59.999, False), (60, True), (75, True)],
    )
    def test_escalates_at_the_deadline_and_not_before(self, tick_at: float, escalated: bool) -> None:
        state, (_, commands) = run([(0, IMMINENT), (tick_at, Tick())])
        imminent = [c for c in of(commands, Escalate) if c.protocol_id == "suicide_imminent"]
        if not escalated:
            assert imminent == []
            assert state.instance("suicide_imminent").escalation_level == 1  # type: ignore[union-attr]
            return
        assert imminent == [
            Escalate(
                "suicide_imminent",
                2,
                "clinician",
                "Imminent suicide risk: not acknowledged by supervisor within 60 s",
            )
        ]
        assert ScheduleDeadline("suicide_imminent", at(tick_at + 120)) in commands
        inst = state.instance("suicide_imminent")
        assert inst is not None and inst.escalation_level == 2 and inst.next_deadline == at(tick_at + 120)

    def test_full_chain_then_stops(self) -> None:
        state, outs = run([(0, IMMINENT), (60, Tick()), (180, Tick()), (179 + 300, Tick()), (480, Tick())])
        levels = [
            (c.level, c.notify)
            for cmds in outs
            for c in of(cmds, Escalate)
            if c.protocol_id == "suicide_imminent"
        ]
        assert levels == [(2, "clinician"), (3, "emergency_services")]
        inst = state.instance("suicide_imminent")
        assert inst is not None and inst.escalation_level == 3 and inst.next_deadline is None
        exhausted = [
            c for c in outs[-1] if isinstance(c, ChainExhausted) and c.protocol_id == "suicide_imminent"
        ]
        assert [(c.level, c.notify) for c in exhausted] == [(3, "emergency_services")]
        _, more = step(LIB, state, Tick(), at(10_000))
        assert not [c for c in more if getattr(c, "protocol_id", "") == "suicide_imminent"]

    def test_one_level_per_tick(self) -> None:
        _, (_, commands) = run([(0, IMMINENT), (3_600, Tick())])
        assert [c.level for c in of(commands, Escalate) if c.protocol_id == "suicide_imminent"] == [2]

    def test_acknowledgement_stops_escalation(self) -> None:
        state, outs = run(
            [(0, IMMINENT), (30, AlertAcknowledged("suicide_imminent", "sup-1")), (60, Tick()), (999, Tick())]
        )
        assert outs[1] == ()
        assert not [c for cmds in outs[2:] for c in of(cmds, Escalate) if c.protocol_id == "suicide_imminent"]
        inst = state.instance("suicide_imminent")
        assert inst is not None and inst.acknowledged and inst.acknowledged_by == "sup-1"
        assert inst.next_deadline is None
        other = state.instance("suicide_risk")
        assert other is not None and other.escalation_level == 2  # its own chain keeps running

    def test_acknowledging_after_an_escalation_stops_the_rest(self) -> None:
        state, outs = run(
            [(0, IMMINENT), (60, Tick()), (100, AlertAcknowledged("suicide_imminent", "dr-a")), (500, Tick())]
        )
        assert not [c for c in of(outs[3], Escalate) if c.protocol_id == "suicide_imminent"]
        assert state.instance("suicide_imminent").escalation_level == 2  # type: ignore[union-attr]

    def test_ack_of_unknown_protocol_is_a_no_op(self) -> None:
        state, _ = run([(0, IMMINENT)])
        again, commands = step(LIB, state, AlertAcknowledged("nope", "x"), at(1))
        assert again == state and commands == ()

    def test_tick_without_protocols_does_nothing(self) -> None:
        assert step(LIB, ProtocolState(), Tick(), T0) == (ProtocolState(), ())


class TestSteps:
    def test_intent_completes_matching_due_steps(self) -> None:
        state, (_, commands) = run([(0, IMMINENT), (5, IntentSeen("asked_about_means", 4))])
        assert commands == (
            StepDone("suicide_imminent", "ask_means", "intent:asked_about_means"),
            StepDone("suicide_risk", "ask_means", "intent:asked_about_means"),
        )
        assert state.instance("suicide_imminent").step_status("ask_means") == "done"  # type: ignore[union-attr]

    def test_completed_step_is_not_completed_twice(self) -> None:
        _, outs = run(
            [(0, IMMINENT), (5, IntentSeen("asked_location", 4)), (6, IntentSeen("asked_location", 5))]
        )
        assert len(outs[1]) == 1 and outs[2] == ()

    def test_unknown_intent_changes_nothing_visible(self) -> None:
        state, outs = run([(0, IMMINENT), (5, IntentSeen("greeted", 4))])
        assert outs[1] == ()
        assert state.instances == run([(0, IMMINENT)])[0].instances

    def test_action_completes_step(self) -> None:
        _, (_, commands) = run([(0, IMMINENT), (5, ActionTaken("emergency_services_dispatched", "agent-7"))])
        assert commands == (StepDone("suicide_imminent", "dispatch_emergency", "agent-7"),)

    def test_action_with_step_id_checks_that_step_off(self) -> None:
        _, (_, commands) = run([(0, IMMINENT), (5, ActionTaken("step.completed", "agent-7", "ask_safe_now"))])
        assert [(c.protocol_id, c.step_id) for c in of(commands, StepDone)] == [
            ("suicide_imminent", "ask_safe_now"),
            ("suicide_risk", "ask_safe_now"),
        ]

    def test_exit_condition_closes_protocol(self) -> None:
        state, outs = run([(0, IMMINENT), (10, ActionTaken("clinician_cleared", "dr-a")), (61, Tick())])
        exits = [c.protocol_id for c in of(outs[1], ProtocolExited)]
        assert exits == ["suicide_imminent", "suicide_risk"]
        assert "dr-a" in of(outs[1], ProtocolExited)[0].reason
        assert state.active == () and outs[2] == ()
        _, again = step(LIB, state, IMMINENT, at(70))
        assert again == ()  # activated once per call
        _, later = step(LIB, state, IntentSeen("asked_location", 9), at(71))
        assert later == ()


class TestTransfer:
    def test_transfer_keeps_protocols_and_completes_transfer_steps(self) -> None:
        before, _ = run([(0, IMMINENT)])
        state, commands = step(LIB, before, Transferred(), at(20))
        assert commands == (StepDone("suicide_imminent", "warm_transfer", "call.transferred"),)
        assert [i.protocol_id for i in state.active] == ["suicide_imminent", "suicide_risk"]
        state, commands = step(LIB, state, Tick(), at(60))
        assert Escalate in {type(c) for c in commands}  # the deadline follows the call

    def test_transfer_without_protocols(self) -> None:
        assert step(LIB, ProtocolState(), Transferred(), T0) == (ProtocolState(), ())


def _distress_library() -> ProtocolLibrary:
    base = LIB.get("abuse_disclosure")
    assert base is not None
    data = base.model_dump() | {
        "id": "acute_distress",
        "severity": "warning",
        "triggers": [{"distress_at_least": 0.8, "for_turns": 3}],
        "exit": [{"intent": "offered_transfer"}],
    }
    return ProtocolLibrary((Protocol.model_validate(data), *LIB.protocols))


class TestDistressTrigger:
    @pytest.mark.parametrize(
        ("scores", "fires_on"),
        [
            ([0.9, 0.9, 0.9], 2),
            ([0.9, 0.9, 0.9, 0.95, 1.0], 2),
            ([0.9, 0.5, 0.9, 0.9, 0.85], 4),
            ([0.9, 0.9], None),
            ([0.79, 0.9, 0.9], None),
        ],
    )
    def test_sustained_distress_activates(self, scores: list[float], fires_on: int | None) -> None:
        lib = _distress_library()
        _, outs = run([(i, DistressScored(s, i)) for i, s in enumerate(scores)], lib)
        fired = [i for i, cmds in enumerate(outs) if of(cmds, ActivateProtocol)]
        assert fired == ([] if fires_on is None else [fires_on])
        if fires_on is not None:
            assert "distress >= 0.8 for 3 turns" in of(outs[fires_on], ActivateProtocol)[0].reason

    def test_window_is_bounded(self) -> None:
        state, _ = run([(i, DistressScored(0.1, i)) for i in range(10)], _distress_library())
        assert len(state.recent_distress) == 3
        no_distress = ProtocolLibrary(tuple(p for p in LIB.protocols if p.id == "suicide_imminent"))
        state, _ = run([(0, DistressScored(0.9, 0))], no_distress)
        assert state.recent_distress == ()  # no distress trigger: nothing kept

    def test_intent_exit(self) -> None:
        lib = _distress_library()
        events: list[tuple[float, ProtocolInput]] = [(i, DistressScored(0.9, i)) for i in range(3)]
        state, outs = run([*events, (5, IntentSeen("offered_transfer", 9))], lib)
        assert (
            ProtocolExited("acute_distress", "exit on intent offered_transfer by intent:offered_transfer")
            in outs[-1]
        )
        assert state.instance("acute_distress").status == "exited"  # type: ignore[union-attr]


class TestPurity:
    SCRIPT: list[tuple[float, ProtocolInput]] = [  # noqa: RUF012
        (0, FindingSeen(finding("abuse_disclosure", "domestic", tier=None), 1)),
        (1, IMMINENT),
        (2, IntentSeen("asked_if_safe_now", 4)),
        (30, ActionTaken("emergency_services_dispatched", "agent-7")),
        (61, Tick()),
        (90, AlertAcknowledged("suicide_imminent", "sup-1")),
        (100, Transferred()),
        (200, Tick()),
        (500, Tick()),
    ]

    def test_determinism_same_inputs_same_outputs(self) -> None:
        first = run(self.SCRIPT)
        second = run(self.SCRIPT)
        assert first == second
        assert sum(len(c) for c in first[1]) > 10

    def test_state_is_frozen_and_inputs_untouched(self) -> None:
        state, _ = run(self.SCRIPT[:2])
        with pytest.raises(FrozenInstanceError):
            state.instances = ()  # type: ignore[misc]
        again, _ = step(LIB, state, Tick(), at(61))
        assert state.instance("suicide_imminent").escalation_level == 1  # type: ignore[union-attr]
        assert again.instance("suicide_imminent").escalation_level == 2  # type: ignore[union-attr]

    def test_unknown_protocol_in_state_is_left_alone(self) -> None:
        state, _ = run([(0, IMMINENT)])
        other_lib = ProtocolLibrary(tuple(p for p in LIB.protocols if p.id != "suicide_imminent"))
        later, commands = step(other_lib, state, Tick(), at(61))
        assert all(getattr(c, "protocol_id", None) != "suicide_imminent" for c in commands)
        assert later.instance("suicide_imminent") == state.instance("suicide_imminent")
        _, done = step(other_lib, state, IntentSeen("asked_about_means", 5), at(62))
        assert [c.protocol_id for c in of(done, StepDone)] == ["suicide_risk"]
        abuse = FindingSeen(finding("abuse_disclosure", "elder", tier=None), 6)
        mixed, _ = step(other_lib, state, abuse, at(63))
        assert [i.protocol_id for i in mixed.instances] == [
            "abuse_disclosure",
            "suicide_risk",
            "suicide_imminent",
        ]
