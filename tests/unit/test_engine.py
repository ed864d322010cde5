"""The pure engine: alerts from findings by table, signals, supervisor actions, and determinism."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from calmline.engine import CallEngine, load_alert_policy
from calmline.events import (
    AlertRaised,
    CallEnded,
    CallInput,
    CallStarted,
    CallTransferred,
    Finding,
    SequenceGap,
    SupervisorAction,
    Tick,
    UtteranceReceived,
    UtteranceScored,
)
from calmline.testing.keywords import keyword_registry
from tests.conftest import ENGINE_RULES

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def engine() -> CallEngine:
    return CallEngine(keyword_registry(ENGINE_RULES), load_alert_policy())


def utt(seq: int, text: str, speaker: str = "caller") -> UtteranceReceived:
    return UtteranceReceived(
        call_id="c1",
        seq=seq,
        speaker=speaker,
        text=text,  # type: ignore[arg-type]
        start_ms=seq * 1000,
        end_ms=seq * 1000 + 500,
    )


def test_risk_finding_raises_one_alert_with_its_evidence_and_policy() -> None:
    state, out = engine().fold(
        "c1", [CallStarted(call_id="c1", started_at=T0), utt(1, "I want to die"), utt(2, "I want to die")]
    )
    alerts = [o for o in out if isinstance(o, AlertRaised)]
    assert len(alerts) == 1
    alert = alerts[0]
    assert (alert.severity, alert.kind, alert.policy_rule) == ("warning", "suicide_risk", "suicide-low")
    assert alert.evidence[0].evidence == ((2, 13),)
    assert alert.at == T0 + timedelta(milliseconds=1500)
    assert state.utterances == 2 and state.last_seq == 2


def test_higher_tier_escalates_the_open_alert_instead_of_raising_another() -> None:
    _, out = engine().fold("c1", [utt(0, "I want to die"), utt(1, "I will take all my pills tonight")])
    assert [o.type for o in out if o.type.startswith("alert.")] == ["alert.raised", "alert.escalated"]


def test_agent_speech_is_not_read_by_caller_analyzers() -> None:
    _, out = engine().fold("c1", [utt(0, "do you want to die?", speaker="agent")])
    assert out == ()


def test_signals_become_a_scored_utterance_not_findings() -> None:
    _, out = engine().fold("c1", [utt(0, "I'm upset, not feeling well")])
    assert [o.type for o in out] == ["utterance.scored"]
    scored = out[0]
    assert isinstance(scored, UtteranceScored)
    assert scored.emotions == {"sadness": 0.6} and scored.distress == 0.8


def test_acknowledge_and_resolve_follow_the_alert_lifecycle() -> None:
    eng = engine()
    state, out = eng.fold("c1", [utt(0, "chest pain")])
    alert_id = out[-1].alert_id  # type: ignore[union-attr]
    ack = SupervisorAction(call_id="c1", action="acknowledge_alert", actor="sue", alert_id=alert_id, at=T0)
    state, first = eng.step(state, ack)
    state, second = eng.step(state, ack)
    resolve = SupervisorAction(
        call_id="c1",
        action="resolve_alert",
        actor="sue",
        alert_id=alert_id,
        outcome="ambulance dispatched",
        at=T0,
    )
    state, done = eng.step(state, resolve)
    _, after = eng.step(state, resolve)
    assert [o.type for o in first] == ["alert.acknowledged"]
    assert second == () and after == ()
    assert [(o.type, o.outcome) for o in done] == [("alert.resolved", "ambulance dispatched")]  # type: ignore[union-attr]


def test_unknown_alert_action_changes_nothing_but_the_clock() -> None:
    eng = engine()
    state = eng.initial("c1")
    act = SupervisorAction(call_id="c1", action="acknowledge_alert", actor="sue", alert_id="nope", at=T0)
    new_state, out = eng.step(state, act)
    assert out == () and new_state.alerts == () and new_state.now == T0


# -- any sequence of events folds without error, and replays identically ---------------------------------

_texts = st.sampled_from(
    ["hello", "I want to die", "chest pain", "I'm upset", "take all my pills tonight", ""]
)
_times = st.integers(min_value=0, max_value=10_000).map(lambda s: T0 + timedelta(seconds=s))


@st.composite
def _events(draw: st.DrawFn) -> CallInput:
    kind = draw(st.sampled_from(["start", "utt", "transfer", "end", "action", "tick", "gap"]))
    seq = draw(st.integers(min_value=0, max_value=50))
    at = draw(_times)
    if kind == "start":
        return CallStarted(call_id="c1", seq=seq, started_at=at)
    if kind == "utt":
        start = draw(st.integers(min_value=0, max_value=100_000))
        return UtteranceReceived(
            call_id="c1",
            seq=seq,
            speaker=draw(st.sampled_from(["caller", "agent", "other"])),
            text=draw(_texts),
            start_ms=start,
            end_ms=start + 10,
            is_final=draw(st.booleans()),
        )
    if kind == "transfer":
        return CallTransferred(call_id="c1", seq=seq, to_queue="nurse", at=at)
    if kind == "end":
        return CallEnded(call_id="c1", seq=seq, at=at)
    if kind == "action":
        action = draw(st.sampled_from(["acknowledge_alert", "resolve_alert", "note", "listen"]))
        return SupervisorAction(
            call_id="c1",
            action=action,
            actor="sue",
            alert_id=draw(st.sampled_from(["c1-A1", "c1-A2", "x"])),
            at=at,
        )
    if kind == "tick":
        return Tick(call_id="c1", at=at)
    return SequenceGap(call_id="c1", missing_from=seq, missing_to=seq + 2, at=at)


@settings(max_examples=150, deadline=None)
@given(st.lists(_events(), max_size=30))
def test_any_event_sequence_folds_and_replays_identically(events: list[CallInput]) -> None:
    first_state, first_out = engine().fold("c1", events)
    second_state, second_out = engine().fold("c1", events)
    assert first_state == second_state
    assert [o.model_dump() for o in first_out] == [o.model_dump() for o in second_out]
    alert_ids = [o.alert_id for o in first_out if isinstance(o, AlertRaised)]
    assert len(alert_ids) == len(set(alert_ids))


# ---- alert policy: the learned model's uncertain flag ------------------------------------------------


def _suicide(tier: str, rule_id: str, assertion: str = "present", level: str = "wish_to_be_dead") -> Finding:
    return Finding(
        type="suicide_risk",
        level=level,
        score=0.5,
        tier=tier,  # type: ignore[arg-type]
        assertion=assertion,  # type: ignore[arg-type]
        analyzer="x",
        analyzer_version="1",
        rule_id=rule_id,
    )


def test_learned_flag_raises_no_supervisor_alert() -> None:
    policy = load_alert_policy()
    flag = _suicide("low", "learned-flag", "uncertain", "suicidal_thoughts")
    assert policy.match(flag) is None
    # the rules' own low and uncertain findings still alert, and so does the learned high-precision alert
    rule = policy.match(_suicide("low", "si-wish-dead"))
    assert rule is not None and rule.id == "suicide-low"
    rule = policy.match(_suicide("low", "si-wish-dead", "uncertain"))
    assert rule is not None and rule.id == "suicide-low"
    rule = policy.match(_suicide("moderate", "learned", level="suicidal_thoughts"))
    assert rule is not None and rule.id == "suicide-moderate"


def test_exclude_rule_ids_is_a_filter_of_the_row() -> None:
    policy = load_alert_policy(
        'version: "t"\nrules:\n'
        '  - {id: a, finding: suicide_risk, exclude_rule_ids: [r1], severity: high, title: A}\n'
    )
    assert policy.match(_suicide("low", "r1")) is None
    assert policy.match(_suicide("low", "r2")) is not None
