import pytest

from tests.clinical.helpers import check, of_type

VIOLENCE = [
    ("I'm going to kill you", "threat_to_agent", "present", "caller"),
    ("I know where you live", "threat_to_agent", "present", "caller"),
    ("if you don't help me I'll come down there and hurt someone", "threat_to_agent", "present", "caller"),
    ("I'm gonna shoot him", "threat_to_others", "present", "caller"),
    ("I want to kill my boss", "homicidal_ideation", "present", "caller"),
    ("I'm not going to hurt him", "threat_to_others", "negated", "caller"),
    ("years ago I wanted to kill my stepfather", "homicidal_ideation", "historical", "caller"),
    ("what if I'm going to hurt someone", "threat_to_others", "hypothetical", "caller"),
    ("my son said he's going to kill his teacher", "threat_to_others", "present", "other"),
    ("I could kill for a coffee", None, "", ""),
    ("shoot, I forgot", None, "", ""),
    ("this wait is killing me", None, "", ""),
]


@pytest.mark.parametrize(("text", "level", "assertion", "experiencer"), VIOLENCE)
def test_violence_table(text: str, level: str | None, assertion: str, experiencer: str) -> None:
    check(of_type(text, "violence_threat"), level, assertion, experiencer)


ABUSE = [
    ("my husband hits me", "domestic", "present", "caller"),
    ("I'm scared to go home", "domestic", "present", "caller"),
    ("he won't let me leave the house", "domestic", "present", "caller"),
    ("my husband never hits me", "domestic", "negated", "caller"),
    ("my ex used to beat me years ago", "domestic", "historical", "caller"),
    ("what if he hits me again", "domestic", "hypothetical", "caller"),
    ("my sister's husband hits her", "domestic", "present", "other"),
    ("my boyfriend hits my son", "child", "present", "other"),
    ("my dad used to hit me when I was a kid", "child", "historical", "caller"),
    ("my grandson takes all of my pension", "elder", "present", "caller"),
    ("I was raped", "sexual", "present", "caller"),
    ("my friend hits me up every day", None, "", ""),
    ("my brother beat me at chess", None, "", ""),
]


@pytest.mark.parametrize(("text", "level", "assertion", "experiencer"), ABUSE)
def test_abuse_table(text: str, level: str | None, assertion: str, experiencer: str) -> None:
    f = check(of_type(text, "abuse_disclosure"), level, assertion, experiencer)
    if f is not None:
        assert f.notes, "abuse findings carry safeguarding notes"
