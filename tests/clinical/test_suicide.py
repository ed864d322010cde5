import pytest

from calmline.analysis import Turn
from tests.clinical.helpers import check, of_type, run

# (text, level or None, assertion, experiencer, tier)
SUICIDE = [
    # present, direct and indirect
    (
        "sometimes I wish I could just go to sleep and not wake up",
        "wish_to_be_dead",
        "present",
        "caller",
        "low",
    ),
    ("I don't want to wake up", "wish_to_be_dead", "present", "caller", "low"),
    ("I just want it all to stop", "wish_to_be_dead", "present", "caller", "low"),
    ("everyone would be better off without me", "wish_to_be_dead", "present", "caller", "low"),
    ("I won't be a burden much longer", "suicidal_thoughts", "present", "caller", "moderate"),
    ("um i i want to to die", "suicidal_thoughts", "present", "caller", "moderate"),
    ("im gonna kill myself", "intent", "present", "caller", "high"),
    ("I've been giving my things away", "behavior", "present", "caller", "high"),
    ("I've been stockpiling my meds", "method", "present", "caller", "moderate"),
    ("how many tylenol would it take to die", "method", "present", "caller", "moderate"),
    (
        "I have a bottle of pills in front of me and I'm going to take them all tonight",
        "plan",
        "present",
        "caller",
        "imminent",
    ),
    ("I've taken all my pills", "behavior", "present", "caller", "imminent"),
    ("I want to die and I have a gun right here", "method", "present", "caller", "high"),
    ("if this doesn't work I'll end it", "intent", "present", "caller", "high"),
    # negated
    ("I'm not suicidal", "suicidal_thoughts", "negated", "caller", "low"),
    ("I would never kill myself", "suicidal_thoughts", "negated", "caller", "low"),
    ("I don't want to die", "suicidal_thoughts", "negated", "caller", "low"),
    # historical
    ("I tried to kill myself last year", "behavior", "historical", "caller", "low"),
    ("years ago I used to want to die", "suicidal_thoughts", "historical", "caller", "low"),
    # hypothetical
    ("what if I just took all the pills", "behavior", "hypothetical", "caller", "low"),
    # third person
    ("my daughter said she wants to die", "suicidal_thoughts", "present", "other", "moderate"),
    ("my friend wants to kill himself", "suicidal_thoughts", "present", "other", "moderate"),
    # hard negatives
    ("this wait is killing me", None, "", "", ""),
    ("I'm dying to know", None, "", "", ""),
    ("my phone died", None, "", "", ""),
    ("I could kill for a coffee", None, "", "", ""),
    ("shoot, I forgot", None, "", "", ""),
    ("I have my pills right here", None, "", "", ""),
    ("I'm going to take them all tonight", None, "", "", ""),
    ("is there a suicide prevention hotline number", None, "", "", ""),
]


@pytest.mark.parametrize(("text", "level", "assertion", "experiencer", "tier"), SUICIDE)
def test_suicide_table(text: str, level: str | None, assertion: str, experiencer: str, tier: str) -> None:
    f = check(of_type(text, "suicide_risk"), level, assertion, experiencer)
    if f is not None:
        assert f.tier == tier


def test_means_after_ideation_in_an_earlier_turn_combine() -> None:
    history = (Turn(1, "caller", "I want to die"), Turn(2, "agent", "Are you safe right now?"))
    (f,) = [x for x in run("I have the pills right here", history=history) if x.type == "suicide_risk"]
    assert f.is_present and f.tier == "high"
    assert any("earlier turn" in n for n in f.notes)


def test_means_after_a_negated_earlier_turn_do_not_fire() -> None:
    history = (Turn(1, "caller", "I'm not suicidal"),)
    assert not [x for x in run("I have the pills right here", history=history) if x.type == "suicide_risk"]


def test_method_outweighs_the_word_suicide() -> None:
    (word,) = of_type("I've thought about suicide", "suicide_risk")
    (method,) = of_type("I've been stockpiling my sleeping pills", "suicide_risk")
    assert method.score > word.score


SELF_HARM = [
    ("I've been cutting my arms again", "cutting", "present", "caller"),
    ("I burn myself with cigarettes", "burning", "present", "caller"),
    ("I don't cut myself", "cutting", "negated", "caller"),
    ("I used to cut", "cutting", "historical", "caller"),
    ("what if I cut myself again", "cutting", "hypothetical", "caller"),
    ("my daughter has been cutting herself", "cutting", "present", "other"),
    ("I cut my finger cooking", None, "", ""),
    ("I need to cut down on sugar", None, "", ""),
]


@pytest.mark.parametrize(("text", "level", "assertion", "experiencer"), SELF_HARM)
def test_self_harm_table(text: str, level: str | None, assertion: str, experiencer: str) -> None:
    check(of_type(text, "self_harm"), level, assertion, experiencer)
