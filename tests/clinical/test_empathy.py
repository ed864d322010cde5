"""Empathy of agent turns (EPITOME levels 0/1/2), read against the caller's previous turn."""

from __future__ import annotations

from functools import lru_cache

import pytest
import yaml

from calmline.analysis import AnalysisContext, AnalyzerRegistry, Turn
from calmline.analysis.empathy import (
    EXTRAS,
    MECHANISMS,
    EmpathyAnalyzer,
    EmpathyRules,
    caller_text,
    empathy_dict,
)
from calmline.analysis.rules import parse_rules, read_rule_text
from calmline.events import Finding

SCARED = "I found my mum on the floor and I'm on my own, I'm so scared"
CHEST = "I've had chest pain for two days and I'm terrified it's my heart"
JOB = "since I lost my job everything feels pointless"


@lru_cache(maxsize=1)
def _analyzer() -> EmpathyAnalyzer:
    analyzer = EmpathyAnalyzer()
    analyzer.setup()
    return analyzer


def _findings(agent: str, caller: str = SCARED) -> list[Finding]:
    history = (Turn(seq=1, speaker="caller", text=caller),) if caller else ()
    return list(_analyzer().analyze(AnalysisContext(text=agent, speaker="agent", seq=2, history=history)))


def _levels(agent: str, caller: str = SCARED) -> dict[str, int | float | bool]:
    return empathy_dict(_findings(agent, caller))


TABLE = [
    # emotional reactions
    ("I'm sorry to hear that.", SCARED, "emotional_reaction", 1),
    ("That's hard.", SCARED, "emotional_reaction", 1),
    ("hang in there, sending hugs", JOB, "emotional_reaction", 1),
    (
        "I'm so sorry you're going through this on your own, that sounds frightening.",
        SCARED,
        "emotional_reaction",
        2,
    ),
    ("my heart goes out to you", JOB, "emotional_reaction", 2),
    ("Let me get your details.", SCARED, "emotional_reaction", 0),
    # interpretations
    ("I understand.", CHEST, "interpretation", 1),
    ("I get it.", JOB, "interpretation", 1),
    ("It sounds like you're worried the pain means something serious.", CHEST, "interpretation", 2),
    ("So since losing your job everything feels pointless.", JOB, "interpretation", 2),
    ("That must be terrifying.", SCARED, "interpretation", 2),
    ("been there, when i lost my job in 2019 i felt useless for months", JOB, "interpretation", 2),
    ("It makes sense that you feel frightened.", SCARED, "interpretation", 2),
    ("What's your postcode?", SCARED, "interpretation", 0),
    # explorations
    ("What happened?", SCARED, "exploration", 1),
    ("How are you feeling?", SCARED, "exploration", 1),
    ("What was going through your mind when you found her?", SCARED, "exploration", 2),
    ("When you say you can't cope, what does a bad night look like?", JOB, "exploration", 2),
    ("how are you coping since losing the job", JOB, "exploration", 2),  # ASR: no question mark
    ("Can I take your date of birth?", SCARED, "exploration", 0),
    ("Is the pain spreading to your arm?", CHEST, "exploration", 0),
    ("I understand.", SCARED, "exploration", 0),
]


@pytest.mark.parametrize(("agent", "caller", "mechanism", "level"), TABLE)
def test_empathy_table(agent: str, caller: str, mechanism: str, level: int) -> None:
    assert _levels(agent, caller)[mechanism] == level


@pytest.mark.parametrize(
    "agent",
    [
        "I'm not going to say I understand.",
        "I don't understand what you're asking.",
        "The leaflet says we understand this is a worrying time.",
        "Thank you for your patience.",
        "We apologise for any inconvenience.",
        "Sorry, could you repeat that?",
        "Can you spell your surname for me?",
        "Okay, I've booked that for Tuesday at ten.",
    ],
)
def test_negated_quoted_scripted_and_procedural_lines_score_zero(agent: str) -> None:
    levels = _levels(agent)
    assert [levels[m] for m in MECHANISMS] == [0, 0, 0], levels


def test_specificity_comes_from_the_callers_words() -> None:
    # the same question is specific when it picks up what the caller said, generic otherwise
    assert _levels("Is it your heart you keep thinking about?", CHEST)["exploration"] == 2
    assert _levels("Do you have family nearby?", CHEST)["exploration"] == 1


def test_extra_signals() -> None:
    levels = _levels(
        "So what I'm hearing is that since losing your job everything feels pointless. Is that right?", JOB
    )
    assert (
        levels["summarising"] is True
        and levels["closed_question"] is True
        and levels["open_question"] is False
    )
    assert 0.0 < float(levels["mirroring"]) <= 1.0
    assert _levels("It makes sense that you feel frightened.")["validation"] is True
    assert _levels("What happened?")["open_question"] is True
    assert _levels("I'm sorry.", "")["mirroring"] == 0.0


def test_every_agent_turn_gets_three_mechanism_findings_and_the_extras() -> None:
    found = _findings("I'm so sorry, that must be terrifying. What happened?")
    assert [f.level for f in found] == [*MECHANISMS, *EXTRAS]
    assert all(f.type == "empathy" and f.analyzer == "empathy" and f.rule_id for f in found)
    mech = {f.level: f for f in found if f.level in MECHANISMS}
    assert (mech["emotional_reaction"].category, mech["emotional_reaction"].score) == ("strong", 1.0)
    assert (mech["exploration"].category, mech["exploration"].score) == ("weak", 0.5)
    assert mech["interpretation"].evidence  # spans into the agent's text
    none = _findings("Let me check that for you.")[0]
    assert (none.category, none.score, none.evidence) == ("none", 0.0, ())


def test_caller_turns_are_not_scored() -> None:
    registry = AnalyzerRegistry([EmpathyAnalyzer()])
    assert registry.run(AnalysisContext(text="I'm so sorry, I understand", speaker="caller")) == ()
    assert empathy_dict(()) == {}


def test_caller_text_reads_the_callers_last_turns_before_the_agent() -> None:
    history = (
        Turn(1, "caller", "old"),
        Turn(2, "agent", "hello"),
        Turn(3, "caller", "first"),
        Turn(4, "caller", "second"),
        Turn(5, "caller", "third"),
    )
    assert caller_text(history) == "second third"
    assert caller_text((*history, Turn(6, "agent", "mm"))) == "second third"
    assert caller_text(()) == ""


def test_rule_file_round_trips() -> None:
    rules = parse_rules(read_rule_text("empathy.yaml"), EmpathyRules, "empathy.yaml")
    again = parse_rules(yaml.safe_dump(rules.model_dump()), EmpathyRules, "dump")
    assert again == rules
    assert rules.cues and all(c.patterns for c in rules.cues)
