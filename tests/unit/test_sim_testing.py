"""The shipped harness ``calmline.testing.run_call``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from calmline.clock import FakeClock
from calmline.events import AlertRaised, CallEnded, CallStarted
from calmline.sim.scenario import builtin_ids, load_builtin
from calmline.testing import run_call, script_to_scenario
from calmline.testing.keywords import KeywordRule, keyword_registry


def test_run_call_with_speaker_text_pairs():
    run = run_call(
        [
            ("agent", "Advice line, how can I help?"),
            ("caller", "I have a bottle of pills and I'm going to take them all tonight."),
            ("agent", "Don't worry, you'll be fine."),
        ],
        registry=keyword_registry(),
    )
    assert run.alert_kinds == ("suicide_risk",)
    assert run.alert_severities == {"suicide_risk": "critical"}
    assert run.finding_types() == ("suicide_risk", "guardrail")
    assert all(isinstance(a, AlertRaised) for a in run.alerts)
    assert run.findings[0].utterance_seq == 2 and run.findings[1].speaker == "agent"
    assert run.state.status == "ended" and run.state.utterances == 3
    assert isinstance(run.inputs[0], CallStarted) and isinstance(run.inputs[-1], CallEnded)
    assert run.unmet() == []


def test_script_timing_follows_word_count_without_overlap():
    scenario = script_to_scenario([("caller", "one two three four five six"), ("agent", "ok")])
    first, second = scenario.turns
    assert first.duration > second.duration == 1.0
    assert second.at >= first.end and scenario.end_at >= second.end


def test_run_call_with_a_scenario_id_path_or_object(tmp_path: Path):
    registry = keyword_registry()
    by_id = run_call("chest_pain", registry=registry)
    path = tmp_path / "chest.yaml"
    path.write_text(
        Path(__file__).parents[2].joinpath("src/calmline/resources/scenarios/chest_pain.yaml").read_text()
    )
    by_path = run_call(path, registry=registry)
    by_object = run_call(load_builtin("chest_pain"), registry=registry)
    assert by_id.outputs == by_path.outputs == by_object.outputs
    assert by_id.alert_severities == {"medical_emergency": "critical"}
    assert by_id.unmet() == []


def test_run_call_uses_and_advances_the_clock():
    clock = FakeClock(datetime(2026, 5, 1, 12, 0, tzinfo=UTC))
    run = run_call("calm_appointment", clock=clock, registry=keyword_registry(), call_id="c-1")
    assert run.call_id == "c-1" and run.state.started_at == datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert (clock.now() - run.state.started_at).total_seconds() == run.scenario.end_at


def test_custom_rules_and_negative_results():
    registry = keyword_registry([KeywordRule("help me", "distress_call", "any")])
    run = run_call([("caller", "Please help me"), ("caller", "fine now")], registry=registry)
    assert run.finding_types() == ("distress_call",) and run.alerts == ()
    assert run_call([("caller", "hello")], registry=keyword_registry()).findings == ()


def test_every_builtin_scenario_meets_its_expectations_with_the_stub():
    for scenario_id in builtin_ids():
        assert run_call(scenario_id, registry=keyword_registry()).unmet(protocols=False) == [], scenario_id


def test_run_call_defaults_to_the_shipped_analyzers():
    run = run_call(
        [("caller", "I have a bottle of pills in front of me and I'm going to take them all tonight")]
    )
    assert "suicide_risk" in run.alert_kinds
