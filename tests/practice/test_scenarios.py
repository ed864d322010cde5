"""The shipped practice scenarios: schema, names, FILE:LINE errors, and every rehearsal behaving."""

from __future__ import annotations

from pathlib import Path

import pytest

from calmline.practice.dialogue import answer, opening
from calmline.practice.loader import PracticeError, load_file, parse_scenario, shipped_scenarios
from calmline.practice.runner import run_scripted
from calmline.practice.signals import AgentSignals
from calmline.practice.support import load_support

REQUIRED = {
    "suicidal_guarded",
    "abusive_caller",
    "grieving_parent",
    "third_party_at_risk",
    "diagnosis_request",
    "chest_pain_minimiser",
    "stroke_daughter",
    "domestic_violence",
    "self_harm_disclosure",
    "relative_test_results",
    "angry_billing",
    "anxious_results",
}


def test_shipped_scenarios_cover_the_demo_and_the_hard_callers() -> None:
    shipped = shipped_scenarios()
    assert len(shipped) >= 12
    assert set(shipped) >= REQUIRED
    assert all(s.rehearsal is not None for s in shipped.values())


@pytest.mark.parametrize("scenario_id", sorted(REQUIRED))
def test_rehearsal_reaches_its_end_with_the_expected_protocols(scenario_id: str) -> None:
    scenario = shipped_scenarios()[scenario_id]
    assert scenario.rehearsal is not None
    card = run_scripted(scenario, list(scenario.rehearsal.responses))
    assert card["outcome"] == scenario.rehearsal.reaches, card["key_moments"]
    assert all(e["ran"] for e in card["expected_protocols"]), card["protocols"]
    assert card["unused_responses"] == 0


def test_dialogue_branches_on_signals_deterministically() -> None:
    scenario = shipped_scenarios()["suicidal_guarded"]
    state, first = opening(scenario)
    assert first.node == "opening" and first.opening
    dismissive = AgentSignals(turn=1, guardrails=({"level": "false_reassurance"},))
    direct = AgentSignals(turn=1, intents=("asked_directly_about_suicide",))
    assert answer(scenario, state, dismissive)[1].node == "withdraws"
    assert answer(scenario, state, direct)[1].node == "discloses"
    assert answer(scenario, state, AgentSignals(turn=1))[1].node == "task_only"
    assert answer(scenario, state, direct) == answer(scenario, state, direct)


GOOD_YAML = Path("src/calmline/resources/practice/suicidal_guarded.yaml")


def _broken(old: str, new: str) -> str:
    text = GOOD_YAML.read_text("utf-8")
    assert old in text
    return text.replace(old, new, 1)


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_loader_unknown_intent_names_file_and_line() -> None:
    text = _broken("intent: [asked_directly_about_suicide]}", "intent: [asked_about_suicide_maybe]}")
    with pytest.raises(PracticeError) as err:
        parse_scenario(text, "broken.yaml")
    assert err.value.file == "broken.yaml"
    assert err.value.line == _line_of(text, "asked_about_suicide_maybe")
    assert "unknown agent intent" in err.value.reason


def test_loader_unknown_node_and_bad_field_are_refused() -> None:
    with pytest.raises(PracticeError, match="unknown node 'nowhere'"):
        parse_scenario(_broken("goto: withdraws", "goto: nowhere"), "b.yaml")
    text = _broken("max_turns: 10", "max_turns: 0")
    with pytest.raises(PracticeError) as err:
        parse_scenario(text, "b.yaml")
    assert err.value.line == _line_of(text, "max_turns: 0")
    assert str(err.value).startswith(f"b.yaml:{err.value.line}: max_turns")


def test_loader_duplicate_key_and_unknown_protocol(tmp_path: Path) -> None:
    with pytest.raises(PracticeError, match="duplicate key"):
        parse_scenario(_broken("max_turns: 10", "max_turns: 10\nmax_turns: 11"), "d.yaml")
    path = tmp_path / "p.yaml"
    path.write_text(_broken("expected_protocols: [suicide_risk]", "expected_protocols: [suicide_rsk]"))
    with pytest.raises(PracticeError, match="unknown protocol 'suicide_rsk'"):
        load_file(path)


def test_support_links_load() -> None:
    support = load_support()
    assert {link.id for link in support.links} >= {"eap", "peer_support"}
