from types import SimpleNamespace

import numpy as np
import pytest

from calmline.analysis import AnalysisContext
from calmline.analysis.emotion import EMOTIONS, EmotionAnalyzer
from calmline.events import Finding
from tests.clinical.helpers import run


def _emotions(text: str, prior: tuple[Finding, ...] = ()) -> tuple[dict[str, float], float]:
    found = EmotionAnalyzer().analyze(AnalysisContext(text=text, prior=prior))
    emotions = {f.level: f.score for f in found if f.type == "emotion"}
    (distress,) = [f.score for f in found if f.type == "distress"]
    return emotions, distress


EMOTION = [
    ("this is ridiculous, I'm so angry", "anger"),
    ("I've been on hold for an hour, I'm fed up", "frustration"),
    ("I'm really scared", "fear"),
    ("I feel so hopeless and I can't stop crying", "sadness"),
    ("I don't understand what you mean", "confusion"),
    ("oh thank god, that's a relief", "relief"),
    ("I'd like to book an appointment", "neutral"),
]


@pytest.mark.parametrize(("text", "emotion"), EMOTION)
def test_emotion_table(text: str, emotion: str) -> None:
    emotions, _ = _emotions(text)
    assert list(emotions) == list(EMOTIONS)
    assert emotions[emotion] >= 0.5
    # Fused learned+lexicon scores are multi-label (GoEmotions: "ridiculous ... angry" is also annoyance), so
    # the target must be the top emotion and clear of the third-best; neutral stays below 0.5 otherwise.
    assert max(emotions, key=lambda e: emotions[e]) == emotion
    if emotion != "neutral":
        assert emotions["neutral"] < 0.5


@pytest.mark.parametrize(
    ("text", "emotion"),
    [
        ("I'm not angry", "anger"),  # negated
        ("what if I get scared", "fear"),  # hypothetical
        ("my husband is scared", "fear"),  # third person: still the call's emotional tone (>= 0.5)
        ("I used to be so depressed", "sadness"),  # historical counts half
    ],
)
def test_emotion_context_rows(text: str, emotion: str) -> None:
    emotions, _ = _emotions(text)
    if text.startswith(("I'm not", "what if")):
        assert emotions[emotion] < 0.5
    elif text.startswith("I used"):
        assert 0 < emotions[emotion] < 0.5
    else:
        assert emotions[emotion] >= 0.5


def test_distress_rises_with_intensity_and_crying() -> None:
    _, calm = _emotions("I'd like to book an appointment")
    _, scared = _emotions("I'm scared")
    _, worse = _emotions("I'm so so scared!! please please help me, I can't stop crying")
    assert calm < 0.2 < scared < worse
    assert worse >= 0.8


def test_distress_floor_from_prior_risk_findings() -> None:
    risk = run("I have a bottle of pills in front of me and I'm going to take them all tonight")
    (distress,) = [f.score for f in risk if f.type == "distress"]
    assert distress >= 0.95


def test_emotion_findings_say_which_part_produced_them() -> None:
    found = EmotionAnalyzer().analyze(AnalysisContext(text="I'm really scared"))
    fear = next(f for f in found if f.type == "emotion" and f.level == "fear")
    assert fear.rule_id == "learned+lexicon"
    assert any(n.startswith("learned=") for n in fear.notes)
    assert any(n.startswith("lexicon=") for n in fear.notes)
    assert any(n.startswith("driver=") for n in fear.notes)


def test_exactly_one_distress_finding_per_caller_utterance() -> None:
    found = run("I'm fine thanks")
    assert [f.type for f in found].count("distress") == 1
    assert [f.type for f in found].count("emotion") == 7
    assert [f for f in run("hello", speaker="agent") if f.type in ("emotion", "distress")] == []


class _FixedModels:
    """Stand-in for the learned heads: fixed fused probabilities, all thresholds 0.5 (score = probability)."""

    def __init__(self, fused: list[float]) -> None:
        self.fused = np.asarray(fused, dtype=np.float32)
        half = SimpleNamespace(thresholds=np.full(len(EMOTIONS), 0.5, dtype=np.float32))
        self.emotion_fusion = half
        self.emotion_stack = half
        self.version = "fixed"

    def emotion_learned_and_fused(self, text: str, lexicon: object) -> tuple[np.ndarray, np.ndarray]:
        return self.fused, self.fused


def _with_fixed_models(fused: list[float], text: str = "ok") -> dict[str, float]:
    ea = EmotionAnalyzer()
    ea.setup()
    ea._models = _FixedModels(fused)  # type: ignore[assignment]
    return {f.level: f.score for f in ea.analyze(AnalysisContext(text=text)) if f.type == "emotion"}


@pytest.mark.parametrize(
    ("fused", "neutral_present"),
    [
        ([0.1, 0.9, 0.1, 0.1, 0.1, 0.1, 0.7], False),  # frustration outranks neutral: neutral held below 0.5
        ([0.1, 0.55, 0.1, 0.1, 0.1, 0.1, 0.8], True),  # a weaker present emotion does not hide neutral
        ([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.8], True),
    ],
)
def test_neutral_is_held_down_only_when_outranked(fused: list[float], neutral_present: bool) -> None:
    emotions = _with_fixed_models(fused)
    assert (emotions["neutral"] >= 0.5) is neutral_present
    assert emotions["frustration"] == pytest.approx(fused[1], abs=1e-3)
