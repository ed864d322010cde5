"""The shipped protocol library, end to end at the interpreter level.

Every protocol is activated by a realistic finding, its required steps are completed by realistic AGENT lines
run through the intent matchers (and by recorded actions), and its escalation chain (or its absence:
guidance-only protocols raise no alert) is checked against fake ``now`` values. The last test runs the real
analyzers over the demo scenarios: alerting protocols start exactly where an alert is expected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

import pytest

from calmline.analysis import AnalysisContext, Turn
from calmline.events.findings import Finding
from calmline.protocols.intents import load_intent_rules, match_intents
from calmline.protocols.interpreter import (
    ActionTaken,
    ActivateProtocol,
    AlertAcknowledged,
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
    Tick,
    Transferred,
    step,
)
from calmline.protocols.loader import PROTOCOL_DIR, PROTOCOL_PACKAGE, load_library, parse_protocol
from calmline.protocols.schema import (
    ActionCompletion,
    FindingTrigger,
    IntentCompletion,
    ProtocolLibrary,
)
from calmline.sim.scenario import builtin_scenarios
from tests.clinical.helpers import registry

LIB = load_library()
T0 = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)

#: Who is alerted, and how fast (seconds), per protocol. Empty: guidance for the agent only (no alert), on
#: purpose: an alert for every toddler fever, raised voice or request for results is alert fatigue.
CHAINS: dict[str, list[tuple[str, int]]] = {
    "suicide_imminent": [("supervisor", 60), ("clinician", 120), ("emergency_services", 300)],
    "suicide_risk": [("supervisor", 120), ("clinician", 300)],
    "suicide_risk_low": [("supervisor", 300)],
    "self_harm": [("supervisor", 120), ("clinician", 300)],
    "medical_emergency": [("supervisor", 30), ("clinician", 60)],
    "stroke": [("supervisor", 30), ("clinician", 60)],
    "abuse_disclosure": [("supervisor", 120), ("clinician", 300)],
    "threat_to_others": [("supervisor", 60), ("clinician", 180)],
    "abusive_caller": [("supervisor", 60)],
    "nurse_triage": [],
    "agitated_caller": [],
    "grieving_caller": [],
    "relative_info_request": [],
    "medical_advice_request": [],
    "language_barrier": [],
}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def finding(type_: str, level: str, **kw: Any) -> Finding:
    base: dict[str, Any] = {"score": 0.85, "analyzer": "test", "analyzer_version": "1"}
    return Finding(type=type_, level=level, **(base | kw))


def said(text: str, seq: int = 10) -> list[IntentSeen]:
    """What the agent's line completes: its intents, as the engine will feed them."""
    return [IntentSeen(m.intent, seq) for m in match_intents(text)]


def run(
    events: list[tuple[float, ProtocolInput]], library: ProtocolLibrary = LIB
) -> tuple[ProtocolState, list[Command]]:
    state = ProtocolState()
    out: list[Command] = []
    for seconds, inp in events:
        state, commands = step(library, state, inp, at(seconds))
        out.extend(commands)
    return state, out


def of(commands: list[Command], kind: type) -> list[Any]:
    return [c for c in commands if isinstance(c, kind)]


# ---- the files ---------------------------------------------------------------------------------------------


def _shipped_files() -> list[Any]:
    folder = resources.files(PROTOCOL_PACKAGE).joinpath(PROTOCOL_DIR)
    return sorted((e for e in folder.iterdir() if e.name.endswith(".yaml")), key=lambda e: e.name)


def test_every_shipped_file_validates_and_its_id_is_its_file_name() -> None:
    files = _shipped_files()
    assert {e.name.removesuffix(".yaml") for e in files} == set(CHAINS)
    for entry in files:
        protocol = parse_protocol(entry.read_text("utf-8"), entry.name)
        assert protocol.id == entry.name.removesuffix(".yaml")
        assert protocol.enabled
        assert len(protocol.rationale) > 200 and len(protocol.sources) >= 2, protocol.id
        assert any(s.required for s in protocol.steps), protocol.id
    assert {p.id for p in LIB.protocols} == set(CHAINS)


@pytest.mark.parametrize("protocol_id", sorted(CHAINS))
def test_escalation_chain_is_as_documented(protocol_id: str) -> None:
    protocol = LIB.get(protocol_id)
    assert protocol is not None
    assert [(e.notify, e.ack_within_s) for e in protocol.escalation] == CHAINS[protocol_id]
    if not protocol.escalation:  # guidance only: nothing after the call either
        assert protocol.severity in ("info", "warning") and protocol.follow_up is None


def test_references_resolve() -> None:
    intents = set(load_intent_rules().intent_ids)
    ids = {p.id for p in LIB.protocols}
    for protocol in LIB.protocols:
        assert set(protocol.supersedes) <= ids, protocol.id
        for c in (*(s.completes_on for s in protocol.steps), *protocol.exit):
            if isinstance(c, IntentCompletion):
                assert c.intent in intents, (protocol.id, c.intent)


@pytest.mark.parametrize(
    ("protocol_id", "step_id"),
    [
        (p.id, s.id)
        for p in LIB.protocols
        for s in p.steps
        if isinstance(s.completes_on, IntentCompletion) and s.script
    ],
)
def test_a_script_line_completes_its_own_step(protocol_id: str, step_id: str) -> None:
    """An agent who reads the suggested line gets the step ticked."""
    protocol = LIB.get(protocol_id)
    assert protocol is not None
    s = next(s for s in protocol.steps if s.id == step_id)
    assert isinstance(s.completes_on, IntentCompletion)
    heard = {m.intent for line in s.script for m in match_intents(line)}
    assert s.completes_on.intent in heard, (s.script, heard)


# ---- each protocol end to end ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    protocol_id: str
    trigger: ProtocolInput | list[ProtocolInput]
    agent: list[str]
    actions: list[str] = field(default_factory=list)


CASES = [
    Case(
        "suicide_imminent",
        FindingSeen(finding("suicide_risk", "plan", tier="imminent"), 5),
        [
            "I'm really glad you told me. Are you on your own right now?",
            "Can you tell me the address where you are, so we can get someone to you?",
            "Do you have the pills with you right now?",
        ],
        ["emergency_services_dispatched"],
    ),
    Case(
        "suicide_risk",
        FindingSeen(finding("suicide_risk", "suicidal_thoughts", tier="moderate"), 5),
        [
            "Thank you for telling me. Are you thinking about killing yourself?",
            "Have you thought about how you would do it?",
            "Do you have access to any pills or weapons at home?",
            "Are you safe right now? Is anyone there with you?",
            "There are counsellors available right now. Would it be okay if I put you through to them?",
        ],
    ),
    Case(
        "suicide_risk_low",
        FindingSeen(finding("suicide_risk", "wish_to_be_dead", tier="low"), 5),
        [
            "I want to ask you directly: are you having thoughts of ending your life?",
            "I'd like the duty doctor to call you back today, would that be okay?",
        ],
    ),
    Case(
        "self_harm",
        FindingSeen(finding("self_harm", "cutting"), 4),
        [
            "Thank you for telling me. Is the cut still bleeding?",
            "Sometimes people who hurt themselves think about suicide. Are you thinking about suicide?",
            "Is anyone with you at the moment?",
            "I'm going to connect you with someone from the crisis team.",
        ],
    ),
    Case(
        "medical_emergency",
        FindingSeen(finding("medical_emergency", "emergency", category="chest_pain"), 3),
        ["Okay, I need you to hang up and call 911 right now.", "What's the address where you are?"],
    ),
    Case(
        "stroke",
        FindingSeen(finding("medical_emergency", "emergency", category="stroke", experiencer="other"), 3),
        [
            "These can be signs of a stroke. Please call 911 now, or I can connect you.",
            "When was she last completely normal?",
            "What is the exact address where you are?",
        ],
    ),
    Case(
        "nurse_triage",
        FindingSeen(finding("medical_emergency", "urgent", category="infant_fever", experiencer="other"), 2),
        [
            "I'd like one of our nurses to talk to you about this, I can put you through now.",
            "If he becomes floppy or struggles to breathe, call 911 straight away.",
        ],
    ),
    Case(
        "abuse_disclosure",
        FindingSeen(finding("abuse_disclosure", "domestic"), 6),
        [
            "Thank you for trusting me with that. Is it safe for you to talk right now?",
            "There's a domestic abuse helpline open day and night, would you like the number?",
        ],
        ["safeguarding_referral_made"],
    ),
    Case(
        "threat_to_others",
        FindingSeen(finding("violence_threat", "threat_to_others"), 4),
        [
            "Is anyone with you right now?",
            "Does he have access to any weapons?",
            "Where are you right now?",
        ],
        ["duty_to_warn_decision_recorded"],
    ),
    Case(
        "abusive_caller",
        FindingSeen(finding("violence_threat", "threat_to_agent"), 7),
        ["I want to help you, but I won't accept being threatened."],
        ["incident_reported"],
    ),
    Case(
        "agitated_caller",
        [
            DistressScored(0.7, 3, (("anger", 0.8), ("frustration", 0.6))),
            DistressScored(0.7, 5, (("frustration", 0.9),)),
        ],
        ["I can hear how frustrated you are, and I understand why."],
    ),
    Case(
        "grieving_caller",
        FindingSeen(finding("bereavement", "recent_death"), 1),
        [
            "I'm so sorry for your loss. Take your time.",
            "I can give you the number for our bereavement support service.",
        ],
    ),
    Case(
        "relative_info_request",
        FindingSeen(finding("phi_request_third_party", "results"), 3),
        [
            "Can I take your full name and date of birth?",
            "Is he there with you, or is there a consent form on his record for you?",
        ],
    ),
    Case(
        "medical_advice_request",
        FindingSeen(finding("medical_advice_request", "dosing"), 4),
        ["I'm not able to advise on doses myself, but I can put you through to the nurse line now."],
    ),
    Case(
        "language_barrier",
        FindingSeen(finding("language_barrier", "limited_english"), 1),
        ["Would you like an interpreter? I can get one on the line now."],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.protocol_id for c in CASES])
def test_protocol_end_to_end(case: Case) -> None:
    protocol = LIB.get(case.protocol_id)
    assert protocol is not None
    triggers = case.trigger if isinstance(case.trigger, list) else [case.trigger]
    state, commands = run([(i, t) for i, t in enumerate(triggers)])
    # Only this protocol is left running.
    assert [i.protocol_id for i in state.active] == [case.protocol_id]
    alerts = [a for a in of(commands, RaiseAlert) if a.protocol_id == case.protocol_id]
    deadlines = [d for d in of(commands, ScheduleDeadline) if d.protocol_id == case.protocol_id]
    chain = CHAINS[case.protocol_id]
    if chain:
        assert [(a.escalation_level, a.notify) for a in alerts] == [(1, chain[0][0])]
        assert alerts[0].severity == protocol.severity
        assert deadlines == [ScheduleDeadline(case.protocol_id, at(len(triggers) - 1 + chain[0][1]))]
    else:
        assert of(commands, RaiseAlert) == [] and of(commands, ScheduleDeadline) == []

    later: list[tuple[float, ProtocolInput]] = [
        (20 + i, inp) for i, line in enumerate(case.agent) for inp in said(line)
    ]
    later += [(40 + i, ActionTaken(a, "agent-7")) for i, a in enumerate(case.actions)]
    events = [(float(i), t) for i, t in enumerate(triggers)] + later
    state, commands = run(events)
    inst = state.instance(case.protocol_id)
    assert inst is not None and inst.status == "active"
    required = [s.id for s in protocol.steps if s.required]
    assert [sid for sid in inst.due if sid in required] == [], inst.steps
    done_by = {c.step_id: c.by for c in of(commands, StepDone) if c.protocol_id == case.protocol_id}
    for s in protocol.steps:
        if s.id in done_by and isinstance(s.completes_on, IntentCompletion):
            assert done_by[s.id] == f"intent:{s.completes_on.intent}"
        if s.id in done_by and isinstance(s.completes_on, ActionCompletion):
            assert done_by[s.id] == "agent-7"


@pytest.mark.parametrize("protocol_id", [p for p, chain in CHAINS.items() if chain])
def test_unacknowledged_alert_walks_the_whole_chain(protocol_id: str) -> None:
    protocol = LIB.get(protocol_id)
    assert protocol is not None
    case = next(c for c in CASES if c.protocol_id == protocol_id)
    assert not isinstance(case.trigger, list)
    chain = CHAINS[protocol_id]
    events: list[tuple[float, ProtocolInput]] = [(0, case.trigger)]
    now = 0.0
    for _, ack_within_s in chain:
        events.append((now + ack_within_s - 1, Tick()))  # a second early: nothing
        now += ack_within_s
        events.append((now, Tick()))
    state, commands = run(events)
    escalations = [(e.level, e.notify) for e in of(commands, Escalate) if e.protocol_id == protocol_id]
    assert escalations == [(i + 2, notify) for i, (notify, _) in enumerate(chain[1:])]
    inst = state.instance(protocol_id)
    assert inst is not None and inst.escalation_level == len(chain) and inst.next_deadline is None


def test_acknowledgement_stops_the_chain() -> None:
    case = next(c for c in CASES if c.protocol_id == "medical_emergency")
    assert not isinstance(case.trigger, list)
    _, commands = run(
        [
            (0, case.trigger),
            (10, AlertAcknowledged("medical_emergency", "sup-1")),
            (30, Tick()),
            (500, Tick()),
        ]
    )
    assert of(commands, Escalate) == []


# ---- what must not activate --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("f", "expected"),
    [
        (finding("suicide_risk", "suicidal_thoughts", tier="moderate", assertion="negated"), []),
        (finding("suicide_risk", "suicidal_thoughts", tier="moderate", assertion="historical"), []),
        (finding("suicide_risk", "suicidal_thoughts", tier="moderate", assertion="hypothetical"), []),
        (finding("suicide_risk", "suicidal_thoughts", tier="moderate", speaker="agent"), []),
        (
            finding("suicide_risk", "suicidal_thoughts", tier="moderate", experiencer="other"),
            ["suicide_risk"],
        ),
        (finding("suicide_risk", "wish_to_be_dead", tier="low"), ["suicide_risk_low"]),
        (finding("suicide_risk", "method", tier="high"), ["suicide_risk"]),
        (finding("suicide_risk", "behavior", tier="high"), ["suicide_imminent"]),
        (finding("medical_emergency", "routine", category="other"), []),
        (finding("medical_emergency", "urgent", category="breathing"), ["nurse_triage"]),
        (finding("medical_emergency", "emergency", category="breathing"), ["medical_emergency"]),
        (finding("medical_emergency", "urgent", category="stroke"), ["stroke"]),
        (finding("violence_threat", "incitement"), ["abusive_caller"]),
        (finding("violence_threat", "homicidal_ideation"), ["threat_to_others"]),
        (finding("bereavement", "recent_death", assertion="historical"), []),
        (finding("language_barrier", "interpreter", assertion="negated"), []),
        (finding("legal_advice_request", "lawsuit"), []),
        (finding("guardrail", "false_reassurance", speaker="agent"), []),
    ],
)
def test_trigger_table(f: Finding, expected: list[str]) -> None:
    _, commands = run([(0, FindingSeen(f, 1))])
    assert [c.protocol_id for c in of(commands, ActivateProtocol)] == expected


@pytest.mark.parametrize(
    "turns",
    [
        [(("anger", 0.9),)],  # one angry turn is not sustained
        [(("anger", 0.9),), (("neutral", 0.9),), (("frustration", 0.8),)],  # broken run
        [(("fear", 0.95),), (("sadness", 0.95),)],  # distress, not anger
        [(("anger", 0.7),), (("frustration", 0.74),)],  # below the threshold
    ],
)
def test_agitated_caller_needs_sustained_anger(turns: list[tuple[tuple[str, float], ...]]) -> None:
    _, commands = run([(i, DistressScored(0.5, i, em)) for i, em in enumerate(turns)])
    assert of(commands, ActivateProtocol) == []


# ---- supersedes --------------------------------------------------------------------------------------------


def _ids(commands: list[Command], kind: type) -> list[str]:
    return [c.protocol_id for c in of(commands, kind)]


def test_suicide_tiers_replace_each_other_upwards() -> None:
    low = FindingSeen(finding("suicide_risk", "wish_to_be_dead", tier="low"), 1)
    moderate = FindingSeen(finding("suicide_risk", "suicidal_thoughts", tier="moderate"), 3)
    imminent = FindingSeen(finding("suicide_risk", "plan", tier="imminent"), 5)
    state, commands = run([(0, low), (10, moderate), (20, imminent), (30, low), (40, moderate)])
    assert _ids(commands, ActivateProtocol) == ["suicide_risk_low", "suicide_risk", "suicide_imminent"]
    assert of(commands, ProtocolExited) == [
        ProtocolExited("suicide_risk_low", "superseded by suicide_risk"),
        ProtocolExited("suicide_risk", "superseded by suicide_imminent"),
    ]
    assert [i.protocol_id for i in state.active] == ["suicide_imminent"]
    # the exited ones no longer escalate; only the imminent chain runs
    _, later = step(LIB, state, Tick(), at(20 + 60))
    assert _ids(list(later), Escalate) == ["suicide_imminent"]


def test_imminent_first_blocks_the_lower_tiers_and_self_harm() -> None:
    imminent = FindingSeen(finding("suicide_risk", "behavior", tier="imminent"), 2)
    _, commands = run(
        [
            (0, imminent),
            (5, FindingSeen(finding("suicide_risk", "suicidal_thoughts", tier="moderate"), 3)),
            (6, FindingSeen(finding("self_harm", "cutting"), 4)),
        ]
    )
    assert _ids(commands, ActivateProtocol) == ["suicide_imminent"]
    assert _ids(commands, RaiseAlert) == ["suicide_imminent"]


def test_self_harm_hands_over_to_suicide_risk() -> None:
    state, commands = run(
        [
            (0, FindingSeen(finding("self_harm", "cutting"), 1)),
            (30, FindingSeen(finding("suicide_risk", "suicidal_thoughts", tier="moderate"), 3)),
        ]
    )
    assert _ids(commands, ProtocolExited) == ["self_harm"]
    assert [i.protocol_id for i in state.active] == ["suicide_risk"]


@pytest.mark.parametrize("urgent_first", [True, False])
def test_medical_emergency_replaces_nurse_triage(urgent_first: bool) -> None:
    urgent = FindingSeen(finding("medical_emergency", "urgent", category="breathing"), 1)
    emergency = FindingSeen(finding("medical_emergency", "emergency", category="chest_pain"), 2)
    order = [urgent, emergency] if urgent_first else [emergency, urgent]
    state, commands = run([(0, order[0]), (5, order[1])])
    assert [i.protocol_id for i in state.active] == ["medical_emergency"]
    assert _ids(commands, RaiseAlert) == ["medical_emergency"]


def test_threat_to_agent_replaces_deescalation_guidance() -> None:
    angry = [DistressScored(0.7, i, (("anger", 0.9),)) for i in (1, 3)]
    threat = FindingSeen(finding("violence_threat", "threat_to_agent"), 5)
    _, commands = run([(0, angry[0]), (5, angry[1]), (10, threat)])
    assert _ids(commands, ActivateProtocol) == ["agitated_caller", "abusive_caller"]
    assert _ids(commands, ProtocolExited) == ["agitated_caller"]
    assert _ids(commands, RaiseAlert) == ["abusive_caller"]


def test_transfer_completes_the_emergency_transfer_step_and_keeps_the_deadline() -> None:
    case = next(c for c in CASES if c.protocol_id == "medical_emergency")
    assert not isinstance(case.trigger, list)
    _, commands = run([(0, case.trigger), (10, Transferred()), (30, Tick())])
    assert StepDone("medical_emergency", "transfer_to_emergency", "call.transferred") in commands
    assert _ids(commands, Escalate) == ["medical_emergency"]


# ---- stroke replaces medical_emergency ---------------------------------------------------------------------


STROKE = FindingSeen(finding("medical_emergency", "emergency", category="stroke", experiencer="other"), 3)


def test_stroke_replaces_medical_emergency() -> None:
    state, commands = run([(0, STROKE)])
    assert [i.protocol_id for i in state.active] == ["stroke"]
    assert of(commands, ProtocolExited) in ([], [ProtocolExited("medical_emergency", "superseded by stroke")])
    assert [a.protocol_id for a in of(commands, ScheduleDeadline)][-1] == "stroke"
    chest = FindingSeen(finding("medical_emergency", "emergency", category="chest_pain"), 4)
    later, more = step(LIB, state, chest, at(5))
    assert list(more) == [] and later.active == state.active  # cannot start while stroke runs
    _, other = run([(0, chest)])
    assert _ids(other, ActivateProtocol) == ["medical_emergency"]


def test_stroke_raises_one_alert_not_two() -> None:
    _, commands = run([(0, STROKE)])
    assert _ids(commands, RaiseAlert) == ["stroke"]


# ---- the demo scenarios: alerting protocols start exactly where an alert is expected -----------------------


def _alert_kinds(protocol_id: str) -> set[str]:
    protocol = LIB.get(protocol_id)
    assert protocol is not None
    return {t.finding for t in protocol.triggers if isinstance(t, FindingTrigger)}


def _play(scenario: Any) -> tuple[ProtocolState, list[Command]]:
    reg = registry()
    state = ProtocolState()
    out: list[Command] = []
    history: tuple[Turn, ...] = ()
    for seq, turn in enumerate(scenario.turns):
        findings = reg.run(AnalysisContext(text=turn.text, speaker=turn.speaker, history=history))
        history = (*history, Turn(seq=seq, speaker=turn.speaker, text=turn.text))
        inputs: list[ProtocolInput] = [
            FindingSeen(f, seq) for f in findings if f.type not in ("emotion", "distress", "guardrail")
        ]
        if turn.speaker == "caller":
            distress = max((f.score for f in findings if f.type == "distress"), default=0.0)
            emotions = tuple((f.level, f.score) for f in findings if f.type == "emotion")
            inputs.append(DistressScored(distress, seq, emotions))
        else:
            inputs.extend(said(turn.text, seq))
        for inp in inputs:
            state, commands = step(LIB, state, inp, at(turn.at))
            out.extend(commands)
    return state, out


@pytest.mark.parametrize("scenario", builtin_scenarios(), ids=lambda s: s.id)
def test_demo_scenario_alerts_only_where_expected(scenario: Any) -> None:
    _, commands = _play(scenario)
    kinds = {k for a in of(commands, RaiseAlert) for k in _alert_kinds(a.protocol_id)}
    assert kinds == {a.kind for a in scenario.expect.alerts}, [
        a.protocol_id for a in of(commands, RaiseAlert)
    ]
