"""A good and a poor scripted run of one scenario: clearly different scorecards, each naming the turns."""

from __future__ import annotations

from typing import Any

import pytest

from calmline.practice.loader import get_scenario
from calmline.practice.runner import run_scripted
from tests.practice.scripts import GOOD, POOR


@pytest.fixture(scope="module")
def good() -> dict[str, Any]:
    return run_scripted(get_scenario("suicidal_guarded"), GOOD)


@pytest.fixture(scope="module")
def poor() -> dict[str, Any]:
    return run_scripted(get_scenario("suicidal_guarded"), POOR)


def test_scorecard_good_and_poor_runs_score_far_apart(good: dict[str, Any], poor: dict[str, Any]) -> None:
    assert good["score"] >= poor["score"] + 40
    assert good["outcome"] == "accepts_help"
    assert poor["outcome"] == "hangs_up"
    assert all(o["met"] for o in good["objectives"])
    assert {o["id"] for o in poor["objectives"] if o["met"] is False} >= {"ask_directly", "no_dismissing"}


def test_scorecard_good_run_points_at_the_direct_question_and_the_protocol(good: dict[str, Any]) -> None:
    asked = good["asked_about_suicide"]
    assert asked["asked"] is True and asked["turn"] == 2 and asked["at_s"] > 0
    moments = {m["turn"]: m for m in good["key_moments"]}
    assert moments[1]["node"] == "opens_up"  # the validating reflection opened the caller up
    assert moments[2]["node"] == "discloses" and "directly about suicide" in moments[2]["why"]
    assert good["guardrails"] == []
    assert good["expected_protocols"] == [{"id": "suicide_risk", "ran": True}]
    imminent = next(p for p in good["protocols"] if p["id"] == "suicide_imminent")
    done = {s["id"]: s for s in imminent["steps"] if s["status"] == "done"}
    assert done["ask_safe_now"]["turn"] == 3 and done["ask_means"]["turn"] == 3
    assert done["ask_safe_now"]["at_s"] is not None


def test_scorecard_poor_run_points_at_the_dismissive_turns_with_alternatives(poor: dict[str, Any]) -> None:
    assert poor["asked_about_suicide"]["asked"] is False
    assert [(g["turn"], g["level"]) for g in poor["guardrails"]] == [
        (2, "false_reassurance"),
        (3, "false_reassurance"),
    ]
    assert all(g["alternative"] for g in poor["guardrails"])
    assert poor["key_moments"][0] == {
        "turn": 2,
        "node": "withdraws",
        "why": "the agent minimised or judged; the caller closes down",
    }
    assert {m["turn"] for m in poor["missed_openings"]} >= {1, 3}
    assert {d["turn"] for d in poor["deductions"] if d["turn"] is not None} == {1, 2, 3}
    assert poor["expected_protocols"] == [{"id": "suicide_risk", "ran": False}]


def test_scorecard_has_empathy_per_turn_and_the_profile(good: dict[str, Any]) -> None:
    per_turn = good["empathy"]["per_turn"]
    assert [t["turn"] for t in per_turn] == [1, 2, 3, 4]
    assert per_turn[0]["interpretation"] >= 1 and per_turn[0]["acknowledged"] is True
    assert good["empathy"]["profile"]["agent_turns"] == 4


def test_scripted_runs_are_deterministic() -> None:
    scenario = get_scenario("suicidal_guarded")
    assert run_scripted(scenario, POOR) == run_scripted(scenario, POOR)


def test_assessment_mode_still_records_everything_for_the_debrief() -> None:
    card = run_scripted(get_scenario("suicidal_guarded"), POOR, mode="assessment")
    assert card["mode"] == "assessment"
    assert len(card["guardrails"]) == 2
