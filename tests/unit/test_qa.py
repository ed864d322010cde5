"""The per-call empathy profile for QA, from the engine's agent.scored events."""

from __future__ import annotations

from calmline.events import AgentTurnScored
from calmline.qa import empathy_profile
from calmline.runtime import build_engine
from calmline.testing import run_call


def test_profile_counts_levels_questions_talk_overs_and_silences() -> None:
    turns = [
        {
            "empathy": {
                "emotional_reaction": 2,
                "interpretation": 1,
                "exploration": 0,
                "validation": True,
                "open_question": True,
                "closed_question": False,
                "mirroring": 0.5,
            },
            "talk_over": False,
            "silence_before_s": 1.0,
        },
        {
            "empathy": {
                "emotional_reaction": 0,
                "interpretation": 0,
                "exploration": 2,
                "validation": False,
                "open_question": False,
                "closed_question": True,
                "mirroring": 0.0,
            },
            "talk_over": True,
            "silence_before_s": 12.5,
        },
    ]
    p = empathy_profile(turns)
    assert p["agent_turns"] == 2
    assert p["mechanisms"]["emotional_reaction"] == {
        "levels": {"0": 1, "1": 0, "2": 1},
        "mean": 1.0,
        "strong_turns": 1,
    }
    assert (p["open_questions"], p["closed_questions"], p["talk_overs"], p["long_silences"]) == (1, 1, 1, 1)
    assert p["validation_share"] == 0.5 and p["mirroring_mean"] == 0.25 and p["longest_silence_s"] == 12.5
    empty = empathy_profile([])
    assert empty["agent_turns"] == 0 and empty["mechanisms"]["exploration"]["mean"] is None


def test_the_engine_scores_every_agent_turn_of_a_scenario() -> None:
    run = run_call("grieving_relative", engine=build_engine())
    scored = [o for o in run.outputs if isinstance(o, AgentTurnScored)]
    agent_turns = [t for t in run.scenario.turns if t.speaker == "agent"]
    assert len(scored) == len(agent_turns)
    profile = empathy_profile([o.model_dump() for o in scored])
    assert (
        profile["mechanisms"]["emotional_reaction"]["strong_turns"]
        + profile["mechanisms"]["emotional_reaction"]["levels"]["1"]
        >= 1
    )
    assert scored[0].silence_before_s is None and all(o.silence_before_s is not None for o in scored[1:])
