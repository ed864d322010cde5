import pytest

from calmline.analysis.context import ContextEngine, ContextRules, assess
from calmline.analysis.rules import RuleFileError, parse_rules, read_rule_text


def _assess(text: str, target: str) -> tuple[str, str, list[str]]:
    start = text.index(target)
    result = assess(text, (start, start + len(target)))
    return result.assertion, result.experiencer, [m.category for m in result.modifiers]


@pytest.mark.parametrize(
    ("text", "target", "assertion", "experiencer"),
    [
        ("I'm not suicidal", "suicidal", "negated", "caller"),
        ("im not suicidal", "suicidal", "negated", "caller"),
        ("um i i'm not, uh, suicidal", "suicidal", "negated", "caller"),
        ("no chest pain but my arm is numb", "chest pain", "negated", "caller"),
        ("no chest pain but my arm is numb", "arm is numb", "present", "caller"),
        ("no chest pain, my arm is numb", "arm is numb", "present", "caller"),
        ("I tried to kill myself last year", "tried to kill myself", "historical", "caller"),
        ("last year i tried to kill myself", "tried to kill myself", "historical", "caller"),
        ("I used to cut", "cut", "historical", "caller"),
        ("what if I just took all the pills", "took all the pills", "hypothetical", "caller"),
        ("if this doesn't work I'll end it", "end it", "present", "caller"),
        ("if this doesnt work ill end it", "end it", "present", "caller"),
        ("my husband can't breathe", "can't breathe", "present", "other"),
        ("my daughter said she wants to die", "wants to die", "present", "other"),
        ("my friend wants to kill himself", "wants to kill himself", "present", "other"),
        ("I don't think I'm having a heart attack", "heart attack", "uncertain", "caller"),
        ("not only do I want to die", "want to die", "present", "caller"),
        ("i told her i want to die", "want to die", "present", "caller"),
        ("I don't want to die", "want to die", "negated", "caller"),
        # historical framings that reach over a comma or "but"; "now"/"again" bring it back to the present
        (
            "I wanted to die too, but that was years ago and I'm through it",
            "wanted to die",
            "historical",
            "caller",
        ),
        ("i attempted in my twenties um hanging but the rope broke", "rope broke", "historical", "caller"),
        (
            "my brother attempted suicide when he was nineteen, he's fine now",
            "attempted suicide",
            "historical",
            "other",
        ),
        (
            "I got arrested years ago for threatening my ex, but that's all behind me",
            "threatening my ex",
            "historical",
            "caller",
        ),
        (
            "when I was a teenager I cut myself and now I'm doing it again",
            "doing it again",
            "present",
            "caller",
        ),
        ("I took an overdose last Tuesday", "took an overdose", "present", "caller"),
        # hypothetical framings
        (
            "Hypothetically, how much insulin would it take to finish someone off?",
            "finish someone off",
            "hypothetical",
            "caller",
        ),
        (
            "Say somebody wanted to end it all, would you have to call the police?",
            "wanted to end it all",
            "hypothetical",
            "caller",
        ),
        ("if he ever hit me i'd leave straight away", "hit me", "hypothetical", "other"),
        ("what should I do if my son has another seizure", "seizure", "hypothetical", "other"),
        ("if my waters break early should i come straight in", "waters break", "hypothetical", "caller"),
        ("I'm terrified that one day I'll have a heart attack", "heart attack", "hypothetical", "caller"),
        # conditional threats and real situations stay present
        ("if he ever touches her again I'll kill him", "kill him", "present", "caller"),
        ("I swear if he comes near my kids again I'll kill him", "kill him", "present", "caller"),
        ("what do I do if he's not breathing", "not breathing", "present", "other"),
        ("If I get sacked on Monday, that's it, I'm done with life", "done with life", "present", "caller"),
        # negation over the subject it introduces
        ("there's no way i'd take my own life", "take my own life", "negated", "caller"),
    ],
)
def test_assess_examples(text: str, target: str, assertion: str, experiencer: str) -> None:
    got = _assess(text, target)
    assert got[:2] == (assertion, experiencer), got


def test_conditional_is_recorded_as_a_modifier_but_stays_present() -> None:
    assertion, _, categories = _assess("if this doesn't work I'll end it", "end it")
    assert assertion == "present"
    assert "CONDITIONAL" in categories


def test_trigger_inside_the_target_does_not_modify_it() -> None:
    assert _assess("I can't breathe", "can't breathe")[0] == "present"


def test_modifier_spans_point_at_the_trigger() -> None:
    text = "I'm not suicidal"
    result = assess(text, (8, 16))
    (mod,) = result.modifiers
    assert text[mod.span[0] : mod.span[1]] == "not"
    assert mod.rule_id == "neg-not"


def test_rule_file_round_trips_through_its_model() -> None:
    rules = parse_rules(read_rule_text("context.yaml"), ContextRules, "context.yaml")
    again = ContextRules.model_validate(rules.model_dump())
    assert again == rules
    assert ContextEngine(again).assess("no pain", (3, 7)).assertion == "negated"


def test_rule_file_errors_name_file_rule_and_line() -> None:
    text = (
        "version: x\nassertions: {}\nexperiencers: {}\nassertion_priority: []\nrules:\n"
        "  - id: good\n    category: PSEUDO\n    literal: no doubt\n"
        "  - id: broken\n    category: NOT_A_CATEGORY\n    literal: maybe\n"
    )
    with pytest.raises(RuleFileError) as err:
        parse_rules(text, ContextRules, "rules/en/test.yaml")
    message = str(err.value)
    assert "rules/en/test.yaml" in message
    assert "'broken'" in message
    assert "line 10" in message


def test_yes_and_no_stay_strings_in_rule_files() -> None:
    text = (
        "version: x\nassertions: {}\nexperiencers: {}\nassertion_priority: []\nrules:\n"
        "  - id: n\n    category: NEGATED_EXISTENCE\n    literal: no\n"
    )
    assert parse_rules(text, ContextRules, "t.yaml").rules[0].literal == "no"
