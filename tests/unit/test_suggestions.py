"""Suggested phrases: the curated library, what is offered when, and the limits that keep agents unflooded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from calmline.engine.state import CallState
from calmline.engine.suggestions import load_suggestions, pick
from calmline.events import Finding, SuggestionOffered
from calmline.runtime import build_engine
from calmline.testing import run_call

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
LIB = load_suggestions()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def guardrail(level: str, alternative: str | None = None) -> Finding:
    return Finding(
        type="guardrail",
        level=level,
        score=0.9,
        speaker="agent",
        analyzer="guardrail",
        analyzer_version="1",
        rule_id=f"gr-{level}",
        alternative=alternative,
    )


def test_every_entry_names_its_source_and_one_moment() -> None:
    assert LIB.suggestions
    for s in LIB.suggestions:
        moments = [bool(s.when.caller_emotion), bool(s.when.guardrail), s.when.protocol is not None]
        assert sum(moments) == 1, s.id
        assert s.source.strip()


def test_the_guardrails_own_alternative_is_offered_first_and_always() -> None:
    state = CallState(call_id="c1", last_suggestion_at=at(0))
    state, out = pick(
        LIB, state, at=at(1), guardrails=(guardrail("false_reassurance", "I can't promise that."),)
    )
    [s] = out
    assert (
        s.text == "I can't promise that."
        and "false_reassurance" in s.reason
        and "gr-false_reassurance" in s.source
    )
    _, fallback = pick(LIB, CallState(call_id="c2"), at=at(1), guardrails=(guardrail("medical_advice"),))
    assert fallback[0].text.startswith("I'm not able to advise on that")


def test_emotion_phrases_are_rate_limited_and_never_repeated() -> None:
    state, first = pick(LIB, CallState(call_id="c1"), at=at(0), emotions={"fear": 0.9, "neutral": 0.1})
    assert [s.reason for s in first] == ["the caller sounds frightened (fear 0.90)"]
    state, soon = pick(LIB, state, at=at(5), emotions={"anger": 0.9})
    assert soon == ()  # within min_gap_s
    state, later = pick(LIB, state, at=at(60), emotions={"fear": 0.95})
    assert later == ()  # the same phrase is not offered twice in a call
    _, other = pick(LIB, state, at=at(60), emotions={"anger": 0.9})
    assert len(other) == 1 and "angry" in other[0].reason


def test_weak_or_neutral_feelings_get_nothing() -> None:
    assert pick(LIB, CallState(call_id="c1"), at=at(0), emotions={"anger": 0.4})[1] == ()
    assert pick(LIB, CallState(call_id="c1"), at=at(0), emotions={"neutral": 0.99, "relief": 0.9})[1] == ()


def test_a_protocol_start_is_offered_at_once_and_a_crisis_silences_emotion_phrases() -> None:
    state = CallState(call_id="c1", last_suggestion_at=at(0))
    _, out = pick(LIB, state, at=at(2), activated=("suicide_imminent",), crisis=True)
    assert out and out[0].reason == "protocol suicide_imminent started"
    assert pick(LIB, CallState(call_id="c1"), at=at(2), emotions={"fear": 0.99}, crisis=True)[1] == ()


@pytest.mark.parametrize("scenario_id", ["calm_appointment", "agent_false_reassurance", "grieving_relative"])
def test_scenarios(scenario_id: str) -> None:
    run = run_call(scenario_id, engine=build_engine())
    offered = [o for o in run.outputs if isinstance(o, SuggestionOffered)]
    if scenario_id == "calm_appointment":
        assert offered == []
    elif scenario_id == "agent_false_reassurance":
        assert any("false_reassurance" in o.reason for o in offered)
    else:
        assert any("grieving_caller" in o.reason for o in offered)
    times = [o.at for o in offered]
    assert times == sorted(times) and len(offered) <= len(run.scenario.turns) // 3


@pytest.mark.parametrize("scenario_id", ["agent_false_reassurance", "medication_dosing_advice"])
def test_guardrail_scenarios_warn_with_a_compliant_alternative_and_offer_it(scenario_id: str) -> None:
    run = run_call(scenario_id, engine=build_engine())
    hits = [f for f in run.findings if f.type == "guardrail" and f.category in ("warning", "high")]
    assert hits and all(f.alternative for f in hits)
    offered = {o.text for o in run.outputs if isinstance(o, SuggestionOffered)}
    assert {f.alternative for f in hits} & offered  # the fix reaches the agent as a suggestion


def test_the_calm_call_raises_no_guardrail() -> None:
    run = run_call("calm_appointment", engine=build_engine())
    assert [f for f in run.findings if f.type == "guardrail"] == []
