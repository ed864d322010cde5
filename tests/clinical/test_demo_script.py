"""The scripted demo lines: each must fire as present; the calm call and idioms must not fire."""

import pytest

from calmline.analysis import Turn
from tests.clinical.helpers import risks, run

DEMO = [
    (
        "sometimes I wish I could just go to sleep and not wake up",
        "caller",
        "suicide_risk",
        "wish_to_be_dead",
    ),
    (
        "I have a bottle of pills in front of me and I'm going to take them all tonight",
        "caller",
        "suicide_risk",
        "plan",
    ),
    ("crushing pain in my chest and it's going down my left arm", "caller", "medical_emergency", "emergency"),
    (
        "my mom's face is drooping on one side and her speech is slurred",
        "caller",
        "medical_emergency",
        "emergency",
    ),
    ("my husband hits me", "caller", "abuse_disclosure", "domestic"),
    ("I'm scared to go home", "caller", "abuse_disclosure", "domestic"),
    (
        "I'm calling for my father, can you give me his test results",
        "caller",
        "phi_request_third_party",
        "results",
    ),
    ("how many milligrams of ibuprofen should I take", "caller", "medical_advice_request", "dosing"),
    ("don't worry, I'm sure it's nothing", "agent", "guardrail", "false_reassurance"),
]


@pytest.mark.parametrize(("text", "speaker", "type_", "level"), DEMO)
def test_demo_line_fires_as_present(text: str, speaker: str, type_: str, level: str) -> None:
    found = [f for f in run(text, speaker) if f.type == type_ and f.level == level]
    assert found and found[0].is_present


def test_imminent_tier_for_means_at_hand_tonight() -> None:
    (f,) = [f for f in run(DEMO[1][0]) if f.type == "suicide_risk"]
    assert f.tier == "imminent"


@pytest.mark.parametrize(
    "text",
    [
        "this wait is killing me",
        "I'm dying to know",
        "my phone died",
        "I could kill for a coffee",
        "shoot, I forgot",
        "my feet are killing me",
        "I nearly died laughing",
    ],
)
def test_hard_negatives_do_not_fire(text: str) -> None:
    assert risks(text) == []


def test_calm_call_with_history_has_no_risk_findings() -> None:
    lines = [
        "Hello, I need to reschedule my appointment.",
        "Is Thursday at 3 available?",
        "Perfect, thank you, that's all.",
    ]
    history: tuple[Turn, ...] = ()
    for seq, line in enumerate(lines, start=1):
        assert [f for f in run(line, history=history) if f.type not in ("emotion", "distress")] == []
        history = (*history, Turn(seq, "caller", line))
