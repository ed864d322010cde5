"""Agent intent matchers (calmline.protocols.intents) and the eval set eval/sets/agent_intents.jsonl."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from calmline.protocols.intents import (
    IntentMatch,
    IntentMatcher,
    IntentRules,
    default_matcher,
    evaluate_intents,
    keyword_baseline,
    load_intent_rules,
    match_intents,
    parse_intent_rules,
    split_of,
)
from calmline.protocols.loader import ProtocolError

ROOT = Path(__file__).resolve().parents[2]
SET_PATH = ROOT / "eval" / "sets" / "agent_intents.jsonl"

S = "asked_directly_about_suicide"
M = "asked_about_means"
P = "asked_about_plan"
F = "asked_if_safe_now"
L = "asked_location"
T = "offered_transfer"
A = "advised_emergency_services"
K = "asked_time_last_known_well"
ID = "verified_identity"
ALL = (S, M, P, F, L, T, A, K, ID)
NL = "offered_nurse_line"
EC = "expressed_condolence"
OI = "offered_interpreter"
AF = "acknowledged_feelings"
SB = "set_boundary"
ND = "explained_cannot_disclose"
AU = "asked_about_authorisation"
INJ = "asked_about_injuries"
SS = "offered_support_services"
SL = "stayed_on_line"
BF = "checked_stroke_signs"
#: Intents added for the protocol library (issue 4); ALL are the first nine.
LIBRARY = (NL, EC, OI, AF, SB, ND, AU, INJ, SS, SL, BF)


def intents(text: str) -> set[str]:
    return {m.intent for m in match_intents(text)}


POSITIVES = [
    ("Are you thinking about killing yourself?", S),
    ("are you having thoughts of suicide", S),
    ("Do you want to end your life?", S),
    ("have you thought about hurting yourself", S),
    ("Do you have access to any weapons?", M),
    ("do you have the pills with you", M),
    ("Is there a gun in the house?", M),
    ("Have you thought about how you would do it?", P),
    ("Do you have a plan?", P),
    ("Are you safe right now?", F),
    ("are you somewhere safe", F),
    ("Is anyone with you?", F),
    ("What is your address?", L),
    ("where are you right now", L),
    ("I'm going to connect you with a counsellor.", T),
    ("I'm transferring you to a nurse.", T),
    ("Let me put you through to the crisis line.", T),
    ("Please call 911.", A),
    ("please call 999", A),
    ("Call 112 now.", A),
    ("I'm sending an ambulance.", A),
    ("Hang up and call an ambulance.", A),
    ("When was she last normal?", K),
    ("what time did it start", K),
    ("Can I take your date of birth?", ID),
    ("Can you confirm the patient's full name?", ID),
]

ASR_PARAPHRASES = [
    ("um are you are you thinking about suicide", S),
    ("so uh are you thinking about hurting yourself tonight", S),
    ("you thinking about taking your own life love", S),
    ("uh do you have a weapon on you", M),
    ("have you got any tablets with you right now", M),
    ("um have you got a plan for how you would do it", P),
    ("uh are you safe where you are", F),
    ("is there anyone with you right now", F),
    ("um can you give me your address", L),
    ("whats the postcode there", L),
    ("im gonna connect you to the crisis line", T),
    ("i can connect you with the samaritans if youd like", T),
    ("um you need to ring 999 now", A),
    ("ring nine nine nine straight away", A),
    ("you need to get to A&E now", A),
    ("uh when did his speech go funny", K),
    ("when was he last seen well", K),
    ("um whats your full name", ID),
    ("may i have your dob", ID),
]

NEGATED = [
    "I'm not going to ask if you're safe.",
    "I can't ask you whether you're thinking of suicide on this line.",
    "I'm not transferring you anywhere, you're staying with me.",
    "I won't be sending an ambulance for this.",
    "You don't need to call 911 for a cold.",
    "I'm not going to put you through to anyone.",
    "I'm not asking where you are.",
    "You don't have to give me your address.",
    "I'm not going to ask you your date of birth.",
    "I don't need your name.",
]

HYPOTHETICAL = [
    "If you were thinking about killing yourself, you would tell me, I know.",
    "If you were in danger you'd call 999, right?",
    "If you had a gun I'd be worried.",
]

HARD_NEGATIVES = [
    "Suicide is a really common topic on these calls.",
    "Thoughts of suicide can come and go.",
    "Do you have a plan for dinner tonight?",
    "Do you have a glass of water with you?",
    "How many pills are you meant to take a day?",
    "It's important that you feel safe.",
    "Our address is on the website.",
    "The ambulance service is very busy tonight.",
    "When I started here it was quieter.",
    "Where are you from originally?",
    "What's your cat called?",
    "You can always call 988 another time.",
    "",
    "   ",
]


# Intents the protocol library's steps wait for. Sentences written for these tests, not from the eval set.
LIBRARY_POSITIVES = [
    ("That sounds really hard.", AF),
    ("I'm so sorry you're going through this.", AF),
    ("i can hear how upset you are and that makes sense", AF),
    ("You mentioned your brother died by suicide last year, I'm so sorry.", EC),
    ("I'm so sorry for your loss.", EC),
    ("I can put you through to our nurse line.", NL),
    ("I'll ask the nurse to ring you back today.", NL),
    ("Would you like me to get an interpreter on the line?", OI),
    ("If you swear at me again I'll have to end this call.", SB),
    ("I'm sorry, I can't share her results without her consent.", ND),
    ("Is there a consent form on her record for you?", AU),
    ("Are you bleeding right now?", INJ),
    ("There's a domestic abuse helpline open all night, shall I give you the number?", SS),
    ("I'm going to stay on the line with you until they arrive.", SL),
    ("Can he lift both arms for me?", BF),
    ("Is it safe for you to talk right now?", F),
    ("Does he have access to any weapons?", M),
]

LIBRARY_NEGATIVES = [
    ("Sorry for the wait, we're very busy.", EC),
    ("I'm not going to put you through to the nurse.", NL),
    ("The interpreter was booked for last Tuesday.", OI),
    ("Calm down.", AF),
    ("The call dropped earlier, sorry.", SB),
    ("I can share your own results once I've checked your date of birth.", ND),
    ("I gave my consent for the operation.", AU),
    ("Did you hurt your wrist at work?", INJ),
    ("The number for billing is on the letter.", SS),
    ("Please hold the line.", SL),
    ("The stroke unit is on the fourth floor.", BF),
]


@pytest.mark.parametrize(("text", "intent"), LIBRARY_POSITIVES)
def test_library_intent_positive(text: str, intent: str) -> None:
    assert intent in intents(text)


@pytest.mark.parametrize(("text", "intent"), LIBRARY_NEGATIVES)
def test_library_intent_hard_negative(text: str, intent: str) -> None:
    assert intent not in intents(text)


@pytest.mark.parametrize(("text", "intent"), POSITIVES)
def test_positive(text: str, intent: str) -> None:
    assert intent in intents(text)


@pytest.mark.parametrize(("text", "intent"), ASR_PARAPHRASES)
def test_asr_paraphrase(text: str, intent: str) -> None:
    assert intent in intents(text)


@pytest.mark.parametrize("text", NEGATED)
def test_negated_does_not_match(text: str) -> None:
    assert intents(text) == set()


@pytest.mark.parametrize("text", HYPOTHETICAL)
def test_hypothetical_statement_does_not_match(text: str) -> None:
    assert intents(text) == set()


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_hard_negative(text: str) -> None:
    assert intents(text) == set()


def test_conditional_offer_still_counts() -> None:
    assert T in intents("Would it be alright if I put you through to a nurse?")


def test_plan_question_is_not_also_a_suicide_question() -> None:
    assert intents("do you have a plan to end your life") == {P}


def test_several_intents_in_one_turn() -> None:
    found = match_intents("I'm sending an ambulance, what's your address?")
    assert [m.intent for m in found] == [A, L]


def test_match_carries_evidence_rule_and_version() -> None:
    text = "Okay. Um, are you safe right now?"
    (found,) = match_intents(text)
    assert isinstance(found, IntentMatch)
    assert found.intent == F
    assert text[found.span[0] : found.span[1]] == found.evidence
    assert "safe" in found.evidence
    assert found.rule_id == "safe-now"
    assert found.version == load_intent_rules().version
    assert match_intents(text) == (found,)  # pure: same input, same output


def test_rule_file_declares_the_required_intents() -> None:
    rules = load_intent_rules()
    assert set(ALL) <= set(rules.intent_ids)
    assert {r.intent for r in rules.rules} == set(rules.intent_ids)
    with pytest.raises(ValidationError):
        rules.rules[0].__setattr__("id", "x")  # frozen


def test_rule_file_validation_errors() -> None:
    base = load_intent_rules().model_dump()
    bad_intent = {**base, "rules": [{"id": "r", "intent": "nope", "patterns": ["x"]}]}
    with pytest.raises(ValidationError, match="unknown intent"):
        IntentRules.model_validate(bad_intent)
    bad_regex = {**base, "rules": [{"id": "r", "intent": S, "patterns": ["(unclosed"]}]}
    with pytest.raises(ValidationError, match="does not compile"):
        IntentRules.model_validate(bad_regex)
    bad_macro = {**base, "rules": [{"id": "r", "intent": S, "patterns": ["{NOT_A_MACRO}"]}]}
    with pytest.raises(ValidationError, match="unknown macro"):
        IntentRules.model_validate(bad_macro)


def test_rule_file_errors_name_file_and_line() -> None:
    text = (
        'version: "t1"\nintents:\n  - id: greeted\n    description: said hello\n'
        'rules:\n  - id: hi\n    intent: nope\n    patterns: ["hello"]\n'
    )
    with pytest.raises(ProtocolError, match=r"^rules/en/intents.yaml:\d+: .*unknown intent"):
        parse_intent_rules(text, "rules/en/intents.yaml")
    with pytest.raises(ProtocolError, match=r"^x.yaml:2: invalid YAML: duplicate key"):
        parse_intent_rules('version: "1"\nversion: "2"\n', "x.yaml")


def test_matcher_from_custom_rules() -> None:
    rules = IntentRules.model_validate(
        {
            "version": "t1",
            "intents": [{"id": "greeted", "description": "said hello"}],
            "macros": {"HI": "(?:hello|hi)"},
            "rules": [{"id": "hi", "intent": "greeted", "patterns": ["{HI} there"]}],
        }
    )
    matcher = IntentMatcher(rules)
    assert [m.intent for m in matcher.match("Um, HELLO there!")] == ["greeted"]
    assert matcher.match("hello") == ()
    assert matcher.version == "t1"
    assert default_matcher() is default_matcher()


# ---- the eval set ------------------------------------------------------------------------------------------


def _rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SET_PATH.read_text("utf-8").splitlines() if line.strip()]


def test_set_format() -> None:
    rows = _rows()
    assert len(rows) >= 200
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == len(ids)
    texts = [r["text"] for r in rows]
    assert len(set(texts)) == len(texts)
    allowed = set(load_intent_rules().intent_ids)
    for row in rows:
        assert set(row) == {"id", "text", "intents"}, row
        assert isinstance(row["text"], str) and row["text"].strip()
        labels = row["intents"]
        assert isinstance(labels, list)
        assert set(labels) <= allowed, row
        assert len(set(labels)) == len(labels), row
    negatives = [r for r in rows if not r["intents"]]
    assert len(negatives) >= 60
    for intent in ALL:
        assert sum(1 for r in rows if intent in r["intents"]) >= 10, intent
    for intent in LIBRARY:  # smaller, so the test half has a handful of each
        assert sum(1 for r in rows if intent in r["intents"]) >= 8, intent


def test_split_is_stable_and_roughly_half() -> None:
    rows = _rows()
    assert split_of("ai-001") == split_of("ai-001")
    dev = sum(1 for r in rows if split_of(str(r["id"])) == "dev")
    assert 0.35 < dev / len(rows) < 0.65


def test_keyword_baseline() -> None:
    assert keyword_baseline("Please call 911") == {A}
    assert keyword_baseline("That sounds hard") == frozenset()


def test_evaluate_intents_structure() -> None:
    report = evaluate_intents(SET_PATH)
    assert report["version"] == load_intent_rules().version
    assert set(report["intents"]) >= set(ALL)
    assert set(report["splits"]) == {"dev", "test", "all"}
    assert report["splits"]["dev"]["n"] + report["splits"]["test"]["n"] == report["splits"]["all"]["n"]
    for split in report["splits"].values():
        for system in ("rules", "baseline"):
            result = split[system]
            assert set(result) == {"per_intent", "micro", "macro"}
            for avg in ("micro", "macro"):
                assert set(result[avg]) == {"precision", "recall", "f1"}
                assert all(0.0 <= v <= 1.0 for v in result[avg].values())
            for intent in ALL:
                per = result["per_intent"][intent]
                assert {"precision", "recall", "f1", "tp", "fp", "fn", "support"} <= set(per)
        assert isinstance(split["errors"], list)
    # the rules must beat keyword spotting on the development half they were tuned on
    dev = report["splits"]["dev"]
    assert dev["rules"]["micro"]["f1"] > dev["baseline"]["micro"]["f1"]


def test_evaluate_small_file(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    lines = [
        {"id": "a", "text": "are you safe right now", "intents": [F]},
        {"id": "b", "text": "thanks for holding", "intents": []},
        {"id": "c", "text": "please call 911", "intents": [A, L]},
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n", "utf-8")
    report = evaluate_intents(path)
    allr = report["splits"]["all"]["rules"]
    assert allr["per_intent"][F] == {
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
        "tp": 1,
        "fp": 0,
        "fn": 0,
        "support": 1,
    }
    assert allr["per_intent"][L]["fn"] == 1
    assert allr["micro"] == {"precision": 1.0, "recall": 0.6667, "f1": 0.8}
    assert report["splits"]["all"]["errors"] == [
        {"id": "c", "text": "please call 911", "missed": [L], "extra": []}
    ]
