"""The hand-written evaluation set eval/sets/call_utterances.jsonl: format, label vocabulary, coverage."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from calmline.evaluation.guardrails import CATEGORIES as GUARDRAIL_CATEGORY_ORDER
from calmline.events import RISK_TYPES

ROOT = Path(__file__).resolve().parents[2]
SET_PATH = ROOT / "eval" / "sets" / "call_utterances.jsonl"

TYPES = RISK_TYPES  # the set is labelled with exactly the batch contract's finding types
LEVELS: dict[str, set[str]] = {
    "suicide_risk": {"wish_to_be_dead", "suicidal_thoughts", "method", "intent", "plan", "behavior"},
    "self_harm": {"urge", "behavior"},
    "medical_emergency": {"emergency", "urgent", "routine"},
    "violence_threat": {"toward_others", "toward_agent", "homicidal_ideation"},
    "abuse_disclosure": {"domestic", "child", "elder", "sexual"},
    "phi_request_third_party": {"request"},
    "medical_advice_request": {"request"},
    "legal_advice_request": {"request"},
}
#: Tiers a C-SSRS level may carry (README "Suicide risk: level and tier").
SUICIDE_TIERS: dict[str, set[str]] = {
    "wish_to_be_dead": {"low"},
    "suicidal_thoughts": {"moderate"},
    "method": {"moderate"},
    "intent": {"high", "imminent"},
    "plan": {"high", "imminent"},
    "behavior": {"moderate", "high", "imminent"},
}
RED_FLAG_CATEGORIES = {
    "chest_pain",
    "breathing",
    "stroke",
    "unresponsive",
    "bleeding",
    "anaphylaxis",
    "overdose",
    "seizure",
    "head_injury",
    "choking",
    "burns",
    "infant_fever",
    "pregnancy",
    "abdominal",
    "sepsis",
    "hypoglycaemia",
    "dehydration",
    "vision_loss",
    "thunderclap_headache",
}
ROUTINE_ONLY_CATEGORIES = {"minor_illness", "musculoskeletal", "skin", "medication", "other"}
CATEGORIES = RED_FLAG_CATEGORIES | ROUTINE_ONLY_CATEGORIES
ASSERTIONS = {"present", "negated", "historical", "hypothetical"}
EXPERIENCERS = {"caller", "other"}
EMOTIONS = {"anger", "frustration", "fear", "sadness", "confusion", "relief", "neutral"}
KINDS = {
    "positive",
    "paraphrase",
    "hard_negative",
    "negated",
    "historical",
    "hypothetical",
    "third_person",
    "conditional",
}
GROUPS = {"suicide", "self_harm", "medical", "violence", "abuse", "request", "neutral"}
ROW_KEYS = {"id", "text", "speaker", "history", "labels", "emotions", "group", "kind", "note"}
REQUIRED_ROW_KEYS = ROW_KEYS - {"history"}


def _load() -> list[dict[str, Any]]:
    rows = []
    with SET_PATH.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            assert line.strip(), f"blank line {n}"
            rows.append(json.loads(line))
    return rows


ROWS = _load()


def _row_ids(rows: list[dict[str, Any]]) -> list[str]:
    return [r.get("id", "?") for r in rows]


def test_set_is_large_enough() -> None:
    assert len(ROWS) >= 400


def test_ids_are_unique_and_well_formed() -> None:
    ids = [r["id"] for r in ROWS]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"cu-\d{4}", i) for i in ids)


def test_texts_are_unique() -> None:
    dup = [t for t, n in Counter(r["text"].strip().lower() for r in ROWS).items() if n > 1]
    assert not dup


@pytest.mark.parametrize("row", ROWS, ids=_row_ids(ROWS))
def test_row_shape(row: dict[str, Any]) -> None:
    assert REQUIRED_ROW_KEYS <= set(row) <= ROW_KEYS
    assert isinstance(row["text"], str) and row["text"].strip()
    assert row["speaker"] == "caller"
    if "history" in row:
        assert isinstance(row["history"], list) and row["history"]
        assert all(isinstance(h, str) and h.strip() for h in row["history"])
    assert row["group"] in GROUPS
    assert row["kind"] in KINDS
    assert isinstance(row["note"], str) and row["note"].strip()
    emotions = row["emotions"]
    assert emotions and set(emotions) <= EMOTIONS and len(set(emotions)) == len(emotions)
    assert "neutral" not in emotions or emotions == ["neutral"], "neutral is only used alone"


@pytest.mark.parametrize("row", ROWS, ids=_row_ids(ROWS))
def test_labels_use_the_vocabulary(row: dict[str, Any]) -> None:
    assert isinstance(row["labels"], list)
    for lab in row["labels"]:
        t = lab["type"]
        assert t in TYPES
        allowed = {"type", "level", "assertion", "experiencer"}
        if t == "suicide_risk":
            allowed.add("tier")
        if t == "medical_emergency":
            allowed.add("category")
        assert set(lab) == allowed, f"{row['id']}: keys {sorted(lab)}"
        assert lab["level"] in LEVELS[t]
        assert lab["assertion"] in ASSERTIONS
        assert lab["experiencer"] in EXPERIENCERS
        if t == "suicide_risk":
            assert lab["tier"] in SUICIDE_TIERS[lab["level"]], f"{row['id']}: {lab}"
            if lab["level"] == "behavior" and lab["tier"] == "moderate":
                assert lab["assertion"] == "historical", "lifetime (past) behaviour only is moderate"
        if t == "medical_emergency":
            assert lab["category"] in CATEGORIES
            if lab["category"] in ROUTINE_ONLY_CATEGORIES:
                assert lab["level"] != "emergency", f"{row['id']}: emergency needs a red-flag category"
        if t == "phi_request_third_party":
            assert lab["experiencer"] == "other", "the information sought is always another person's"


@pytest.mark.parametrize("row", ROWS, ids=_row_ids(ROWS))
def test_kind_agrees_with_labels(row: dict[str, Any]) -> None:
    labels = row["labels"]
    kind = row["kind"]
    assertions = {lab["assertion"] for lab in labels}
    if kind == "hard_negative":
        assert labels == []
    elif kind in ("negated", "historical", "hypothetical"):
        assert kind in assertions
    elif kind == "third_person":
        assert any(lab["experiencer"] == "other" for lab in labels)
    elif kind == "conditional":
        assert labels and assertions == {"present"}
    else:  # positive, paraphrase
        assert "present" in assertions


def _has(type_: str, kind: str) -> bool:
    for row in ROWS:
        if row["kind"] != kind:
            continue
        for lab in row["labels"]:
            if lab["type"] != type_:
                continue
            if kind == "third_person" and lab["experiencer"] == "other":
                return True
            if kind in ("negated", "historical", "hypothetical") and lab["assertion"] == kind:
                return True
            if kind in ("positive", "paraphrase", "conditional") and lab["assertion"] == "present":
                return True
    return False


@pytest.mark.parametrize("type_", TYPES)
@pytest.mark.parametrize("kind", ["positive", "negated", "historical", "hypothetical", "third_person"])
def test_every_detector_type_is_covered(type_: str, kind: str) -> None:
    assert _has(type_, kind), f"no {kind} row for {type_}"


def test_hard_negatives_and_routine_symptoms_are_plentiful() -> None:
    kinds = Counter(r["kind"] for r in ROWS)
    assert kinds["hard_negative"] >= 60
    routine = sum(
        1
        for r in ROWS
        if any(
            lab["type"] == "medical_emergency" and lab["level"] == "routine" and lab["assertion"] == "present"
            for lab in r["labels"]
        )
    )
    assert routine >= 50
    # Idioms that must never fire a detector.
    texts = {re.sub(r"[^a-z' ]", "", r["text"].lower()): r for r in ROWS}
    for idiom in (
        "this wait is killing me",
        "i nearly had a heart attack when i saw the bill",
        "i could kill for a coffee right now",
    ):
        assert texts[idiom]["labels"] == []


def test_every_emotion_is_used() -> None:
    used = {e for r in ROWS for e in r["emotions"]}
    assert used == EMOTIONS


def test_speech_to_text_style_rows_are_about_a_third() -> None:
    lower = sum(1 for r in ROWS if not any(c.isupper() for c in r["text"]))
    assert lower / len(ROWS) >= 0.25


# ---- eval/sets/informal_posts.jsonl ----------------------------------------------------------------------

INFORMAL_PATH = ROOT / "eval" / "sets" / "informal_posts.jsonl"
INFORMAL_KINDS = {
    1: {"positive", "indirect", "conditional"},
    0: {
        "idiom",
        "bereavement",
        "third_person",
        "advice",
        "media",
        "lyrics",
        "negated",
        "historical",
        "hypothetical",
        "everyday",
        "means_word",
    },
}


def _informal() -> list[dict[str, Any]]:
    return [
        json.loads(line) for line in INFORMAL_PATH.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def test_informal_posts_are_well_formed() -> None:
    rows = _informal()
    assert len(rows) >= 150
    assert len({r["id"] for r in rows}) == len(rows) and len({r["text"] for r in rows}) == len(rows)
    for row in rows:
        assert set(row) == {"id", "text", "label", "level", "kind"}, row
        assert re.fullmatch(r"ip-\d{3}", row["id"]), row
        assert row["text"] == row["text"].lower() and not re.search(r"[^\w\s]", row["text"]), row
        assert row["kind"] in INFORMAL_KINDS[row["label"]], row
        assert (row["level"] in LEVELS["suicide_risk"]) if row["label"] else row["level"] is None, row


def test_informal_posts_cover_every_level_and_hard_negative_kind() -> None:
    rows = _informal()
    assert {r["level"] for r in rows if r["label"]} == LEVELS["suicide_risk"]
    assert {r["kind"] for r in rows if not r["label"]} == INFORMAL_KINDS[0]
    positives = sum(r["label"] for r in rows)
    assert 0.4 <= positives / len(rows) <= 0.6


# ---- eval/sets/symptom_phrases.jsonl ---------------------------------------------------------------------

SYMPTOM_PATH = ROOT / "eval" / "sets" / "symptom_phrases.jsonl"
SYMPTOM_RED_FLAGS = {"chest_pain", "breathing", "choking", "anaphylaxis", "cardiac"}
SYMPTOM_KINDS = {
    "red_flag": {"direct", "paraphrase", "third_person"},
    "routine": {"routine", "hard_negative", "negated", "historical", "hypothetical", "third_person"},
}


def _symptoms() -> list[dict[str, Any]]:
    return [
        json.loads(line) for line in SYMPTOM_PATH.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def test_symptom_phrases_are_well_formed() -> None:
    rows = _symptoms()
    assert len(rows) >= 200
    assert len({r["id"] for r in rows}) == len(rows) and len({r["text"].lower() for r in rows}) == len(rows)
    for row in rows:
        assert set(row) == {"id", "text", "label", "category", "kind"}, row
        assert re.fullmatch(r"sp-\d{3}", row["id"]), row
        assert row["label"] in LEVELS["medical_emergency"], row
        if row["label"] == "routine":
            assert row["kind"] in SYMPTOM_KINDS["routine"] and row["category"] not in SYMPTOM_RED_FLAGS, row
        else:
            assert row["kind"] in SYMPTOM_KINDS["red_flag"] and row["category"] in SYMPTOM_RED_FLAGS, row


def test_symptom_phrases_cover_every_red_flag_and_context_kind() -> None:
    rows = _symptoms()
    flags = [r for r in rows if r["label"] != "routine"]
    assert {r["category"] for r in flags} == SYMPTOM_RED_FLAGS
    assert {r["kind"] for r in rows if r["label"] == "routine"} == SYMPTOM_KINDS["routine"]
    assert 0.4 <= len(flags) / len(rows) <= 0.6
    assert sum(r["kind"] == "hard_negative" for r in rows) >= 40
    assert sum(not any(c.isupper() for c in r["text"]) for r in rows) / len(rows) >= 0.8


def test_empathy_pairs_set_is_well_formed_and_covers_every_level() -> None:
    from calmline.evaluation.callset import split_of

    path = ROOT / "eval" / "sets" / "empathy_pairs.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 300
    assert len({r["id"] for r in rows}) == len(rows)
    mechanisms = ("emotional_reaction", "interpretation", "exploration")
    for r in rows:
        assert {"id", "caller", "agent", *mechanisms} <= set(r)
        assert r["caller"].strip() and r["agent"].strip()
        assert all(r[m] in (0, 1, 2) for m in mechanisms)
    for half in ("dev", "test"):
        sub = [r for r in rows if split_of(r["id"]) == half]
        for m in mechanisms:
            counts = Counter(r[m] for r in sub)
            assert all(counts[level] >= 10 for level in (0, 1, 2)), (half, m, counts)


GUARDRAIL_CATEGORIES = set(GUARDRAIL_CATEGORY_ORDER)
GUARDRAIL_KINDS = {
    "positive",
    "paraphrase",
    "asr",
    "method",
    "negated",
    "quoted",
    "near_miss",
    "verified",
    "compliant",
}


def test_agent_guardrails_set_is_well_formed_and_covers_every_category() -> None:
    from calmline.evaluation.callset import split_of

    path = ROOT / "eval" / "sets" / "agent_guardrails.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 300
    assert len({r["id"] for r in rows}) == len(rows) and len({r["text"] for r in rows}) == len(rows)
    for r in rows:
        assert set(r) == {"id", "text", "verified", "labels", "group", "kind"}, r
        assert re.fullmatch(r"ag-\d{3}", r["id"]) and isinstance(r["verified"], bool), r
        assert set(r["labels"]) <= GUARDRAIL_CATEGORIES and r["kind"] in GUARDRAIL_KINDS, r
        assert r["group"] in GUARDRAIL_CATEGORIES | {"compliant"}, r
        if r["kind"] in ("negated", "quoted", "near_miss", "compliant"):
            assert r["labels"] == [], r
        if r["verified"]:
            assert "unverified_disclosure" not in r["labels"], r
    for half in ("dev", "test"):
        counts = Counter(lab for r in rows if split_of(r["id"]) == half for lab in r["labels"])
        assert all(counts[c] >= 7 for c in GUARDRAIL_CATEGORIES), (half, counts)
    negatives = [r for r in rows if not r["labels"]]
    assert len(negatives) >= 100
    assert {r["group"] for r in negatives if r["kind"] in ("negated", "quoted")} >= GUARDRAIL_CATEGORIES
    assert sum(r["verified"] and not r["labels"] for r in rows) >= 10
