"""The shipped scenario files: they load, validate, and become well-formed event streams."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from calmline.events import SEVERITY_RANK, CallEnded, CallStarted, UtteranceReceived, parse_input
from calmline.sim.scenario import (
    Scenario,
    ScenarioError,
    builtin_ids,
    builtin_scenarios,
    load_builtin,
    load_scenario,
    parse_scenario,
    resolve,
    schedule,
    to_events,
)

REQUIRED = {
    "calm_appointment",
    "anxious_caller",
    "angry_billing_dispute",
    "grieving_relative",
    "passive_suicidal_ideation",
    "active_ideation_plan_means",
    "chest_pain",
    "stroke_signs_relative",
    "domestic_violence_disclosure",
    "relative_requests_test_results",
    "medication_dosing_advice",
    "agent_false_reassurance",
}
IDS = builtin_ids()
START = datetime(2026, 3, 1, 14, 30, tzinfo=UTC)


def test_builtin_scenarios_include_the_required_set():
    assert len(IDS) >= 12
    assert set(IDS) >= REQUIRED


@pytest.mark.parametrize("scenario_id", IDS)
def test_builtin_scenario_loads_and_is_a_realistic_call(scenario_id):
    scenario = load_builtin(scenario_id)
    assert scenario.id == scenario_id
    assert 8 <= len(scenario.turns) <= 20
    assert {t.speaker for t in scenario.turns} == {"caller", "agent"}
    assert scenario.title and scenario.description.strip()
    assert all(t.duration > 0 for t in scenario.turns)


def test_builtin_expectations_match_the_brief():
    def kinds(sid):
        return {a.kind: a.min_severity for a in load_builtin(sid).expect.alerts}

    assert load_builtin("calm_appointment").expect.no_alerts
    assert "suicide_risk" in kinds("passive_suicidal_ideation")
    assert kinds("active_ideation_plan_means")["suicide_risk"] == "critical"
    assert kinds("chest_pain")["medical_emergency"] == "critical"
    assert "medical_emergency" in kinds("stroke_signs_relative")
    assert "abuse_disclosure" in kinds("domestic_violence_disclosure")


def test_some_turns_have_speech_to_text_flavour():
    lower = [t.text for s in builtin_scenarios() for t in s.turns if t.text[:1].islower()]
    fillers = [t for t in lower if any(w in t.split() for w in ("um", "uh", "um,", "uh,"))]
    assert len(lower) >= 5 and len(fillers) >= 3


@pytest.mark.parametrize("scenario_id", IDS)
def test_scenario_round_trips_through_yaml(scenario_id):
    scenario = load_builtin(scenario_id)
    again = parse_scenario(yaml.safe_dump(scenario.model_dump(mode="json")), "dumped")
    assert again == scenario


@pytest.mark.parametrize("scenario_id", IDS)
def test_scenario_converts_to_ordered_well_formed_events(scenario_id):
    scenario = load_builtin(scenario_id)
    call_id = f"demo-{scenario_id}-1"
    events = to_events(scenario, call_id, START)
    assert isinstance(events[0], CallStarted) and events[0].started_at == START
    assert isinstance(events[-1], CallEnded)
    assert all(isinstance(e, UtteranceReceived) for e in events[1:-1])
    assert [e.seq for e in events] == list(range(len(scenario.turns) + 2))
    assert {e.call_id for e in events} == {call_id}
    assert events[0].queue == scenario.queue and events[0].reason == scenario.reason
    utterances = [e for e in events if isinstance(e, UtteranceReceived)]
    for turn, utt in zip(scenario.turns, utterances, strict=True):
        assert (utt.speaker, utt.text) == (turn.speaker, turn.text)
        assert utt.start_ms == round(turn.at * 1000) and utt.end_ms > utt.start_ms
    assert all(a.end_ms <= b.start_ms for a, b in itertools.pairwise(utterances))
    assert (events[-1].at - START).total_seconds() == scenario.end_at
    offsets = [offset for offset, _ in schedule(scenario, call_id, START)]
    assert offsets == sorted(offsets)
    for event in events:  # every event survives the ingest wire format
        assert parse_input(event.model_dump(mode="json")) == event


GOOD = """\
id: tiny
title: Tiny
description: A two-turn call.
turns:
  - {speaker: agent, at: 0, duration: 1, text: "Hello"}
  - {speaker: caller, at: 1.5, duration: 1, text: "Hi"}
end_at: 3
"""


def test_bad_scenario_error_names_the_file_the_line_and_the_field(tmp_path: Path):
    path = tmp_path / "broken.yaml"
    path.write_text(GOOD.replace("speaker: caller", "speaker: doctor"))
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    message = str(err.value)
    assert message.startswith(str(path))
    assert "turns[1].speaker" in message and "line 6" in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("end_at: 3", "end_at: 2"), "end_at"),
        (("at: 1.5", "at: 0.5"), "overlap"),
        (("title: Tiny\n", "title: Tiny\ncolour: red\n"), "colour"),
        (("id: tiny", "id: Tiny Call"), "id"),
        (("id: tiny\n", ""), "id: Field required"),
        (("description: A two-turn call.", "description: [a, b]\n  - x"), "not valid YAML"),
    ],
)
def test_invalid_scenarios_are_reported(tmp_path: Path, change, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(ScenarioError, match=expected) as err:
        load_scenario(path)
    assert str(path) in str(err.value)


def test_missing_file_and_unknown_id_are_clear(tmp_path: Path):
    with pytest.raises(ScenarioError, match=r"nope\.yaml: cannot read"):
        load_scenario(tmp_path / "nope.yaml")
    with pytest.raises(ScenarioError, match=r"no scenario 'nope'.*calm_appointment"):
        load_builtin("nope")
    with pytest.raises(ScenarioError, match="top level"):
        parse_scenario("- a list", "list.yaml")


def test_expectation_cannot_contradict_itself():
    with pytest.raises(ScenarioError, match="contradicts"):
        parse_scenario(GOOD + "expect: {no_alerts: true, alerts: [{kind: suicide_risk}]}\n", "x.yaml")


def test_expectation_unmet_reports_missing_weak_and_unexpected_alerts():
    scenario = parse_scenario(
        GOOD + "expect: {alerts: [{kind: suicide_risk, min_severity: high}], findings: [guardrail]}\n", "x"
    )
    assert scenario.expect.unmet({"suicide_risk": "critical"}, ["guardrail"]) == []
    assert scenario.expect.unmet({"suicide_risk": "warning"}, ["guardrail"]) == [
        "expected suicide_risk at high or above, got warning"
    ]
    assert len(scenario.expect.unmet({}, [])) == 2
    calm = load_builtin("calm_appointment").expect
    assert calm.unmet({"medical_emergency": "high"}) == ["expected no alerts, got medical_emergency"]
    assert set(SEVERITY_RANK) >= {a.min_severity for s in builtin_scenarios() for a in s.expect.alerts}


def test_resolve_accepts_an_id_a_path_or_a_scenario(tmp_path: Path):
    path = tmp_path / "tiny.yaml"
    path.write_text(GOOD)
    tiny = resolve(path)
    assert isinstance(tiny, Scenario) and tiny.id == "tiny"
    assert resolve(str(path)) == tiny and resolve(tiny) is tiny
    assert resolve("chest_pain").id == "chest_pain"
