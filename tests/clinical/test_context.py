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
        # 2026.11-8: negations that measure rather than deny stay present; plain ones stay negated
        ("i've never had pain like this in my chest before", "pain", "present", "caller"),
        ("I have never felt so scared, I can't breathe", "can't breathe", "present", "caller"),
        ("it's not the first time he's strangled me", "strangled", "present", "other"),
        ("i have never had chest pain", "chest pain", "negated", "caller"),
        ("I have never had that problem with my heart", "problem with my heart", "negated", "caller"),
        # 2026.11-6: "... ago now", a child's age, asides after the mention, "how would I know if I"
        (
            "i was suicidal for a while after my son was born, eight years ago now",
            "suicidal",
            "historical",
            "caller",
        ),
        (
            "she had an allergic reaction to peanuts when she was two",
            "allergic reaction",
            "historical",
            "other",
        ),
        ("how many would be a lethal dose, just out of curiosity?", "lethal dose", "hypothetical", "caller"),
        ("how would I know if I was having a stroke?", "stroke", "hypothetical", "caller"),
        (
            "if someone cuts themselves how do you stop the bleeding",
            "cuts themselves",
            "hypothetical",
            "other",
        ),
        # 2026.11-7: "in the past" and "not for a long time now" after the mention, a single past "once",
        # decades, "my worst fear is", "imagine if", an if-clause about a generic person, "if ... is that X?"
        (
            "I've had suicidal thoughts in the past but not for a long time now.",
            "suicidal thoughts",
            "historical",
            "caller",
        ),
        ("i self harmed in the past", "self harmed", "historical", "caller"),
        ("in the past few days i've been thinking about ending it", "ending it", "present", "caller"),
        ("I've self harmed in the past but I'm doing it again now", "doing it again", "present", "caller"),
        ("i used to cut but not anymore", "cut", "historical", "caller"),
        ("I went into anaphylaxis once from penicillin", "anaphylaxis", "historical", "caller"),
        ("I once took an overdose", "took an overdose", "historical", "caller"),
        ("I took an overdose once last week", "took an overdose", "present", "caller"),
        ("I have never once taken an overdose", "taken an overdose", "negated", "caller"),
        ("i want to end it once and for all", "end it", "present", "caller"),
        ("i took them all at once", "took them all", "present", "caller"),
        ("once i get home i'm going to take them all", "take them all", "present", "caller"),
        ("My first husband hit me a lot back in the nineties.", "hit me", "historical", "caller"),
        ("i woke up in the early hours with chest pain", "chest pain", "present", "caller"),
        ("My worst fear is the baby choking when I'm alone with her.", "choking", "hypothetical", "caller"),
        (
            "Imagine if someone hurt your kid, any parent would want to kill them, right?",
            "want to kill them",
            "hypothetical",
            "caller",
        ),
        ("imagine if he found out, i'd kill myself", "kill myself", "present", "caller"),
        (
            "if someone threatened to kill their boss would the police get involved",
            "threatened to kill",
            "hypothetical",
            "other",
        ),
        ("if anyone touches my kids i'll kill them", "kill them", "present", "caller"),
        ("If I scratch my arms is that self harm?", "self harm", "hypothetical", "caller"),
        ("if he's not breathing is that an emergency", "not breathing", "present", "other"),
        ("if the chest pain comes back is it an emergency", "chest pain", "hypothetical", "caller"),
        ("if he touches her again is it ok if i kill him", "kill him", "present", "caller"),
        ("im suicidal now", "suicidal", "present", "caller"),
        ("i want to die, and im not asking for a friend", "want to die", "present", "caller"),
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
        # British and informal kin words, possessives ("mum's") and kin words used as names
        ("My mum's taken all her tablets", "taken all her tablets", "present", "other"),
        ("My mum's taken all her tablets", "My mum's taken all her tablets", "present", "other"),
        ("Mum's taken an overdose", "taken an overdose", "present", "other"),
        ("my nan's collapsed in the kitchen", "collapsed", "present", "other"),
        ("me mam can't breathe", "can't breathe", "present", "other"),
        ("my gran's having chest pains", "chest pains", "present", "other"),
        ("my granny fell and hit her head", "fell", "present", "other"),
        ("my grandad is having a stroke", "stroke", "present", "other"),
        ("grandma's not breathing", "not breathing", "present", "other"),
        ("my auntie took an overdose", "took an overdose", "present", "other"),
        ("my hubby's having a seizure", "seizure", "present", "other"),
        ("the missus is having chest pains", "chest pains", "present", "other"),
        ("my partner's bleeding heavily", "bleeding heavily", "present", "other"),
        ("my other half took an overdose", "took an overdose", "present", "other"),
        ("my bf wants to die", "wants to die", "present", "other"),
        ("my gf cut her wrists", "cut", "present", "other"),
        ("my fiancée collapsed", "collapsed", "present", "other"),
        ("my fiance is unconscious", "unconscious", "present", "other"),
        ("my flatmate took a load of pills", "took a load of pills", "present", "other"),
        ("my carer hit me", "hit me", "present", "other"),
        ("I'm a mum and I want to die", "want to die", "present", "caller"),
        ("as a single mum I can't cope and I want to die", "want to die", "present", "caller"),
        # a third-person possessive inside or just after the target, unless the caller is its subject
        ("he's got pain in his chest", "pain in his chest", "present", "other"),
        ("pain in his chest", "pain in his chest", "present", "other"),
        ("her lips are blue", "lips are blue", "present", "other"),
        ("there's no blood in his poo", "blood", "negated", "other"),
        ("I think there's blood in her nappy", "blood", "uncertain", "other"),
        ("I'm worried there's swelling on their leg", "swelling", "present", "other"),
        ("I hurt her", "hurt", "present", "caller"),
        ("I hurt her arm", "hurt", "present", "caller"),
        ("I'm going to break his legs", "break his legs", "present", "caller"),
        ("I want to kill her", "kill her", "present", "caller"),
        ("my chest pain is worse", "chest pain", "present", "caller"),
        ("he would be better off without me", "he would be better off without me", "present", "caller"),
        ("I told him to kill himself", "kill himself", "present", "caller"),
        # a time expression after the event does not swallow it, and applies even inside the target
        ("I had a seizure years ago", "seizure", "historical", "caller"),
        ("I had a seizure years ago", "seizure years ago", "historical", "caller"),
        ("I had a seizure a long time ago", "seizure", "historical", "caller"),
        ("I had a seizure two years ago", "seizure", "historical", "caller"),
        ("I took an overdose a few years ago", "took an overdose", "historical", "caller"),
        ("I had a seizure this morning", "seizure", "present", "caller"),
        # negations that intensify
        ("I can't stop thinking about killing myself", "killing myself", "present", "caller"),
        ("I can't stop thinking about killing myself", "thinking about killing myself", "present", "caller"),
        ("I cannot stop crying", "crying", "present", "caller"),
        ("I can't get the thoughts of killing myself out of my head", "killing myself", "present", "caller"),
        ("I can't think about anything but dying", "dying", "present", "caller"),
        ("I don't want to die", "want to die", "negated", "caller"),
        # reported speech: someone else's words, still present
        ("saying he's going to jump", "going to jump", "present", "other"),
        ("saying he's going to jump", "he's going to jump", "present", "other"),
        ("he keeps saying he's going to jump", "going to jump", "present", "other"),
        ("she keeps saying she wants to die", "wants to die", "present", "other"),
        ("she keeps saying she wants to die", "she wants to die", "present", "other"),
        ("he's been telling me he'll jump off the bridge", "jump off the bridge", "present", "other"),
        ("she keeps telling me that life isn't worth living", "life isn't worth living", "present", "other"),
        ("i keep saying i want to die", "want to die", "present", "caller"),
        # hypothetical questions and if-clauses (the clause's own "I" does not end the scope; the consequent's
        # "I'll" does)
        ("can you overdose on ibuprofen", "overdose", "hypothetical", "caller"),
        ("is it possible to have a stroke at my age", "stroke", "hypothetical", "caller"),
        ("can stress cause chest pain", "chest pain", "hypothetical", "caller"),
        ("if the chest pain comes back should I ring 999", "chest pain", "hypothetical", "caller"),
        ("I'm scared of having another seizure", "seizure", "hypothetical", "caller"),
        ("if I ever took an overdose what would happen", "took an overdose", "hypothetical", "caller"),
        ("if it ever happens again I'll kill myself", "kill myself", "present", "caller"),
        ("I have chest pain now", "chest pain", "present", "caller"),
        ("I had chest pain years ago", "chest pain", "historical", "caller"),
        ("I don't have chest pain", "chest pain", "negated", "caller"),
        ("his chest pain came back", "chest pain", "present", "other"),
    ],
)
def test_assess_examples(text: str, target: str, assertion: str, experiencer: str) -> None:
    got = _assess(text, target)
    assert got[:2] == (assertion, experiencer), got


@pytest.mark.parametrize(
    ("text", "target", "finding_type", "assertion"),
    [
        ("Honestly, killing myself isn't something I'd do.", "killing myself", "suicide_risk", "negated"),
        ("Ending it all is not something I've ever considered", "Ending it all", "suicide_risk", "negated"),
        ("killing myself isn't something i'd rule out", "killing myself", "suicide_risk", "present"),
        ("i want to kill myself, it isn't something i can control", "kill myself", "suicide_risk", "present"),
        (
            "If it came to it I'd want to know whether I could take legal action, but I'm not there yet.",
            "take legal action",
            "legal_advice_request",
            "hypothetical",
        ),
        ("if it comes to it i'll kill myself", "kill myself", "suicide_risk", "present"),
    ],
)
def test_typed_rules_apply_to_their_finding_types(
    text: str, target: str, finding_type: str, assertion: str
) -> None:
    start = text.index(target)
    engine = ContextEngine.load()
    assert engine.assess(text, (start, start + len(target)), finding_type).assertion == assertion


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


def test_time_expression_inside_the_target_still_applies() -> None:
    text = "I had a seizure years ago"
    start = text.index("seizure")
    result = assess(text, (start, len(text)))
    assert result.assertion == "historical"
    (mod,) = result.modifiers
    assert text[mod.span[0] : mod.span[1]] == "years ago"


def test_possessive_is_blocked_when_the_caller_is_the_subject() -> None:
    assert _assess("pain in his chest", "pain")[1:] == ("other", ["OTHER_EXPERIENCER"])
    assert _assess("I hurt his chest", "hurt")[1:] == ("caller", [])


def test_unknown_rule_ids_are_rejected() -> None:
    text = (
        "version: x\nassertions: {}\nexperiencers: {}\nassertion_priority: []\nrules:\n"
        "  - id: n\n    category: OTHER_EXPERIENCER\n    literal: his\n    blocked_by_rules: [no-such-rule]\n"
    )
    with pytest.raises(RuleFileError) as err:
        parse_rules(text, ContextRules, "t.yaml")
    assert "no-such-rule" in str(err.value)
