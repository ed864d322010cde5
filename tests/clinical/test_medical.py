import pytest

from tests.clinical.helpers import check, of_type, risks

# (text, category, level or None, assertion, experiencer)
MEDICAL = [
    (
        "crushing pain in my chest and it's going down my left arm",
        "chest_pain",
        "emergency",
        "present",
        "caller",
    ),
    ("I have chest pain and I'm sweating", "chest_pain", "emergency", "present", "caller"),
    ("my chest feels tight", "chest_pain", "urgent", "present", "caller"),
    (
        "my mom's face is drooping on one side and her speech is slurred",
        "stroke",
        "emergency",
        "present",
        "other",
    ),
    ("my husband can't breathe", "breathing", "emergency", "present", "other"),
    ("she's not breathing", "unresponsive", "emergency", "present", "other"),
    ("the bleeding won't stop", "bleeding", "emergency", "present", "caller"),
    ("my throat is closing up", "anaphylaxis", "emergency", "present", "caller"),
    ("my son swallowed a bunch of pills", "overdose", "emergency", "present", "other"),
    ("he's having a seizure", "seizure", "emergency", "present", "other"),
    ("he fell and hit his head and he's been throwing up", "head_injury", "emergency", "present", "other"),
    ("my baby is choking", "choking", "emergency", "present", "other"),
    ("I burned my hand on the stove with boiling water on it", "burns", "urgent", "present", "caller"),
    ("my baby has a fever", "infant_fever", "urgent", "present", "other"),
    ("my 3 week old has a temperature of 101", "infant_fever", "emergency", "present", "caller"),
    ("I'm pregnant and bleeding", "pregnancy", "emergency", "present", "caller"),
    ("severe stomach pain", "abdominal", "urgent", "present", "caller"),
    ("he has a fever and a stiff neck", "sepsis", "emergency", "present", "other"),
    ("I'm diabetic and my sugar is low and I'm confused", "hypoglycaemia", "emergency", "present", "caller"),
    ("she can't keep anything down", "dehydration", "urgent", "present", "other"),
    ("I suddenly lost vision in one eye", "vision_loss", "emergency", "present", "caller"),
    ("worst headache of my life", "thunderclap_headache", "emergency", "present", "caller"),
    # negated
    ("no chest pain but my arm is numb", "chest_pain", "urgent", "negated", "caller"),
    ("I don't have any trouble breathing", "breathing", "urgent", "negated", "caller"),
    # historical
    ("I had a heart attack last year", "chest_pain", "emergency", "historical", "caller"),
    ("years ago I had a seizure", "seizure", "urgent", "historical", "caller"),
    # hypothetical
    ("what if I have a heart attack", "chest_pain", "emergency", "hypothetical", "caller"),
    ("what are the signs of a stroke", "stroke", "emergency", "hypothetical", "caller"),
    # third person
    ("my dad has chest pain", "chest_pain", "urgent", "present", "other"),
    # hard negatives
    ("my back is killing me", None, None, "", ""),
    ("I need a refill of my seizure medication", None, None, "", ""),
    ("I'm dying to know my appointment time", None, None, "", ""),
    ("my phone died", None, None, "", ""),
]


@pytest.mark.parametrize(("text", "category", "level", "assertion", "experiencer"), MEDICAL)
def test_medical_table(
    text: str, category: str | None, level: str | None, assertion: str, experiencer: str
) -> None:
    found = of_type(text, "medical_emergency")
    if category is not None:
        found = [f for f in found if f.category == category]
    f = check(found, level, assertion, experiencer)
    if f is not None and f.is_present:
        assert bool(f.follow_up) == (level != "emergency")
        if f.follow_up:
            assert 3 <= len(f.follow_up) <= 6


def test_numb_arm_after_negated_chest_pain_is_present() -> None:
    found = of_type("no chest pain but my arm is numb", "medical_emergency")
    assert any(
        f.is_present
        and "arm is numb" in "no chest pain but my arm is numb"[f.evidence[0][0] : f.evidence[0][1]]
        for f in found
    )


def test_symptom_in_someone_else_keeps_its_level() -> None:
    (mine,) = of_type("I can't breathe", "medical_emergency")
    (theirs,) = of_type("my husband can't breathe", "medical_emergency")
    assert (mine.level, mine.experiencer) == ("emergency", "caller")
    assert (theirs.level, theirs.experiencer) == ("emergency", "other")
    assert theirs.score == mine.score


def test_combination_raises_urgency() -> None:
    (alone,) = of_type("I have chest pain", "medical_emergency")
    (combined,) = of_type("I have chest pain and I'm sweating", "medical_emergency")
    assert (alone.level, combined.level) == ("urgent", "emergency")


def test_calm_appointment_call_has_no_risk_findings() -> None:
    call = [
        "Hi, I'd like to book an appointment with Dr. Patel please.",
        "It's just my annual check-up, nothing urgent.",
        "Next Tuesday morning works, thank you so much.",
        "My date of birth is the fourth of March 1980.",
        "Can I get a reminder text? Great, thanks, bye.",
    ]
    for line in call:
        assert risks(line) == [], line
