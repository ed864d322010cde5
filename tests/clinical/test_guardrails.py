"""Agent guardrails: one table per category with present, negated and quoted rows, plus severity,
alternatives, verification and the batch contract shape."""

from __future__ import annotations

import pytest

from calmline.analysis import AnalysisContext
from calmline.analysis.guardrail import GuardrailAnalyzer, GuardrailLexicon, guardrail_dict
from calmline.analysis.rules import RuleFileError, parse_rules, read_rule_text
from calmline.events import Finding
from tests.clinical.helpers import registry

# (text, assertion expected for the category; None: no finding of that category at all)
Row = tuple[str, str | None]

TABLES: dict[str, list[Row]] = {
    "medical_advice": [
        ("just take two more of the tablets", "present"),
        ("you can give him some ibuprofen for that", "present"),
        ("you don't need to go to A&E for that", "present"),
        ("no, you don't need an ambulance", "present"),
        ("it's probably just a migraine", "present"),
        ("it's probably just a panic attack", "present"),
        ("take two more", "present"),
        ("you don't need to go to the ER", "present"),
        ("double the dose tonight", "present"),
        ("I'm not able to tell you what dose to take", None),
        ("I'm not going to tell you it's probably just a migraine", "negated"),
        ("the pharmacist told you to take two more, but let the nurse check that first", "uncertain"),
        ("take two forms of ID with you", None),
    ],
    "false_reassurance": [
        ("don't worry, you'll be fine", "present"),
        ("calm down sir, it's nothing", "present"),
        ("I'm not going to tell you to calm down", "negated"),
        ("what if I told you it's nothing", "hypothetical"),
        ("the nurse said it's probably nothing but I want you to be seen", "uncertain"),
        ("let me get your details so we can book you in", None),
        ("dont worry youll be fine", "present"),
        ("calm down, it's nothing", "present"),
        ("I can't tell you it's nothing", "negated"),
        ("I won't say you'll be fine, because I don't know that", "negated"),
        ("you were told it's nothing, but you're still in pain", "uncertain"),
        ("it will be fine to bring your husband with you", None),
        ("don't worry about the paperwork", None),
    ],
    "unkeepable_promise": [
        ("I promise the doctor will call you today", "present"),
        ("I guarantee you'll get an appointment this week", "present"),
        ("the results will definitely be back by Friday", "present"),
        ("I promise I won't tell anyone what you've said", "present"),
        ("I can't promise the doctor will call today", None),
        ("I promise I'll stay on the line with you", None),
    ],
    "legal_advice": [
        ("honestly, you should sue them", "present"),
        ("you have a strong case", "present"),
        ("that sounds like negligence to me", "present"),
        ("I'm not saying you should sue", "uncertain"),  # "saying": reported, severity info
        ("I can't tell you whether you have a strong case", None),  # an indirect question
        ("I can explain how to make a complaint", None),
    ],
    "judgmental": [
        ("you should have come in sooner", "present"),
        ("that was stupid", "present"),
        ("it's your own fault for missing the appointment", "present"),
        ("I'm not saying you should have come in sooner", "uncertain"),
        ("you're not wasting our time at all", "negated"),
        ("you did the right thing calling us", None),
    ],
    "other_patient_disclosure": [
        ("the lady before you had the same thing", "present"),
        ("another patient of Dr Lee's had the same reaction", "present"),
        ("I can't tell you whether the lady before you had the same thing", None),
        ("another patient has cancelled, so I can offer you two o'clock", None),
        ("it's very common to feel this way", None),
    ],
    "unsafe_messaging": [
        ("your brother committed suicide, didn't he?", "present"),
        ("was it a successful attempt?", "present"),
        ("twenty of those would be enough to stop your heart", "present"),
        ("you wouldn't actually do it, would you?", "present"),
        ("he committed suicide last year", "present"),  # a past death, but the words are said now
        ("I'm so sorry, your brother died by suicide, is that right?", None),
        ("are you thinking about killing yourself?", None),
    ],
}
CASES = [(category, text, assertion) for category, rows in TABLES.items() for text, assertion in rows]


def _guardrails(text: str, verified: bool = False) -> list[Finding]:
    ctx = AnalysisContext(text=text, speaker="agent", verified=verified)
    return [f for f in registry().run(ctx) if f.type == "guardrail"]


@pytest.mark.parametrize(("category", "text", "assertion"), CASES)
def test_guardrail_category_table(category: str, text: str, assertion: str | None) -> None:
    found = [f for f in _guardrails(text) if f.level == category]
    if assertion is None:
        assert found == [], [(f.level, f.assertion) for f in found]
        return
    assert [f.assertion for f in found] == [assertion], [(f.level, f.assertion, f.modifiers) for f in found]
    (f,) = found
    assert f.evidence and all(0 <= a < b <= len(text) for a, b in f.evidence)
    assert f.alternative and f.rule_id and f.analyzer_version
    assert f.category == ("info" if assertion != "present" else f.category)
    assert f.category in ("info", "warning", "high")


@pytest.mark.parametrize(
    "text",
    [
        "her results came back positive",
        "he was admitted to ward five last night",
        "your husband's test was negative",
        "I can see your son is on methadone",
    ],
)
def test_disclosure_is_a_breach_before_verification_only(text: str) -> None:
    (before,) = [f for f in _guardrails(text) if f.level == "unverified_disclosure"]
    assert before.assertion == "present" and before.category == "high"
    assert [f for f in _guardrails(text, verified=True) if f.level == "unverified_disclosure"] == []


@pytest.mark.parametrize(
    ("text", "assertion"),
    [
        ("I can't discuss her results until we've confirmed you're allowed to hear them", None),
        ("I can't tell you whether he was admitted until I've checked who you are", None),
        ("your results are back and the doctor would like to discuss them", None),
        ("I can see your visit from last Tuesday", None),
    ],
)
def test_disclosure_negated_and_own_record_rows(text: str, assertion: str | None) -> None:
    found = [f.assertion for f in _guardrails(text) if f.level == "unverified_disclosure"]
    assert found == ([] if assertion is None else [assertion])


def test_severity_and_alternative_come_from_the_rule_file() -> None:
    (f,) = [
        f for f in _guardrails("people like that usually hang themselves") if f.level == "unsafe_messaging"
    ]
    assert (f.rule_id, f.category) == ("gr-unsafe-method", "high")
    assert f.alternative and "safe" in f.alternative
    (g,) = _guardrails("he committed suicide")
    assert (g.rule_id, g.category) == ("gr-unsafe-messaging", "warning")
    assert g.alternative and "died by suicide" in g.alternative


def test_batch_guardrail_shape() -> None:
    (f,) = _guardrails("I promise the doctor will call you today")
    out = guardrail_dict(f)
    assert list(out)[:4] == ["type", "severity", "evidence", "alternative"]
    assert out["type"] == "unkeepable_promise" and out["severity"] == "warning"
    assert out["evidence"] == [list(span) for span in f.evidence]
    assert out["analyzer"] == f"guardrail@{f.analyzer_version}" and out["rule"] == f.rule_id


def test_third_person_reassurance_still_fires() -> None:
    (f,) = _guardrails("your husband will be fine")
    assert (f.level, f.assertion, f.experiencer, f.category) == (
        "false_reassurance",
        "present",
        "other",
        "warning",
    )


def test_guardrail_ignores_caller_turns() -> None:
    ctx = AnalysisContext(text="I promise the doctor will call you today", speaker="caller")
    assert [f for f in registry().run(ctx) if f.type == "guardrail"] == []


def test_lexicon_needs_a_severity_and_an_alternative_for_every_level() -> None:
    text = read_rule_text("guardrail.yaml")
    assert isinstance(parse_rules(text, GuardrailLexicon, "guardrail.yaml"), GuardrailLexicon)
    broken = text.replace("  judgmental: warning\n", "", 1)
    with pytest.raises(RuleFileError, match="severity"):
        parse_rules(broken, GuardrailLexicon, "guardrail.yaml")
    typo = text.replace("  gr-unsafe-method: high\n", "  gr-unsafe-methods: high\n", 1)
    with pytest.raises(RuleFileError, match="name no level or rule"):
        parse_rules(typo, GuardrailLexicon, "guardrail.yaml")


def test_lexicon_round_trips_through_its_schema() -> None:
    lexicon = GuardrailAnalyzer().rules
    again = GuardrailLexicon.model_validate(lexicon.model_dump())
    assert again == lexicon
    assert GuardrailAnalyzer().version.startswith("2+")
