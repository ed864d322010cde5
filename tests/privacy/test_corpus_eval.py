"""The synthetic corpus (deterministic, valid gold spans) and the scoring rule of the evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from calmline.cli import app
from calmline.privacy import evaluate
from calmline.privacy.corpus import FAMILIES, GoldSpan, Utterance, generate, pools
from calmline.privacy.redact import ENTITY_TYPES, PhiSpan

runner = CliRunner()


def test_generator_is_deterministic_per_seed() -> None:
    assert generate(300, seed=3) == generate(300, seed=3)
    assert generate(300, seed=3) != generate(300, seed=4)


@pytest.mark.parametrize("family", FAMILIES)
def test_corpus_rows_have_valid_gold_spans(family: str) -> None:
    rows = generate(2000, seed=7, family=family)
    assert len(rows) == 2000
    kinds = set()
    for row in rows:
        assert row.negative == (not row.spans)
        for span in row.spans:
            assert span.kind in ENTITY_TYPES
            assert 0 <= span.start < span.end <= len(row.text)
            assert row.text[span.start : span.end].strip() == row.text[span.start : span.end]
            kinds.add(span.kind)
    assert 0.15 < sum(r.negative for r in rows) / len(rows) < 0.35
    assert {"NAME", "PHONE", "DATE", "SSN", "MRN", "EMAIL", "ADDRESS"} <= kinds


def test_heldout2_has_its_own_name_pools_and_others_share_them() -> None:
    shared = pools("dev")
    assert pools("heldout")["first"] == shared["first"]
    assert set(pools("heldout2")["first"]).isdisjoint({"maria", "james", "kevin"})
    assert pools("heldout2")["towns"] == shared["towns"]
    assert "heldout2" in FAMILIES
    assert "heldout3" in FAMILIES
    assert set(pools("heldout3")["first"]).isdisjoint(pools("heldout2")["first"])
    assert pools("heldout3")["towns"] == shared["towns"]


def test_score_matches_by_overlap_within_a_group() -> None:
    text = "call 555 1212 or my son kevin"
    utt = Utterance(0, text, (GoldSpan("PHONE", 5, 13), GoldSpan("NAME", 24, 29)), False, False)
    neg = Utterance(1, "i took two pills", (), True, False)
    predictions = [
        [
            PhiSpan("ID", 5, 8),
            PhiSpan("DATE", 24, 29),
        ],  # phone found as an id (same group); name as a date: no
        [PhiSpan("NAME", 7, 10)],  # a false alarm on a hard negative
    ]
    report = evaluate.score([utt, neg], predictions)
    assert report["per_type"]["PHONE"]["recall"] == 1.0
    assert report["per_type"]["PHONE"]["leak_free"] == 0.0  # "1212" still shows
    assert report["per_type"]["NAME"]["recall"] == 0.0
    assert report["per_type"]["NAME"]["precision"] == 0.0
    assert report["per_type"]["ID"]["precision"] == 1.0
    assert report["hard_negatives"] == {"utterances": 1, "with_any_redaction": 1, "rate": 1.0}


def test_privacy_eval_without_presidio_prints_json() -> None:
    result = runner.invoke(
        app, ["privacy", "eval", "--n", "120", "--seed", "5", "--no-presidio", "--repeat", "1"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report["results"]) == set(FAMILIES)
    ours = report["results"]["dev"]["calmline"]
    assert ours["overall"]["support"] > 0
    assert ours["utterances_per_second"] > 0
    assert "presidio" not in report["results"]["dev"]


def test_privacy_eval_says_when_presidio_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> None:
        raise ImportError("No module named 'presidio_analyzer'")

    monkeypatch.setattr(evaluate, "presidio_predictor", missing)
    result = runner.invoke(app, ["privacy", "eval", "--n", "10"])
    assert result.exit_code == 2
    assert "presidio-analyzer is not installed" in result.output
    assert "--no-presidio" in result.output


def test_privacy_redact_plain_text_keeps_pseudonyms_across_lines(tmp_path: Path) -> None:
    source = tmp_path / "call.txt"
    source.write_text("hi this is maria lopez\nmaria again my number is 555 123 4567\n")
    result = runner.invoke(app, ["privacy", "redact", str(source)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["hi this is [NAME_1]", "[NAME_1] again my number is [PHONE_1]"]


def test_privacy_redact_jsonl_per_call() -> None:
    lines = [
        {"call_id": "a", "text": "my name is john smith"},
        {"call_id": "b", "text": "my name is anna brown"},
        {"call_id": "a", "text": "john here again"},
    ]
    stdin = "\n".join(json.dumps(x) for x in lines) + "\n"
    result = runner.invoke(app, ["privacy", "redact", "--jsonl"], input=stdin)
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in result.output.splitlines()]
    assert [r["text"] for r in rows] == ["my name is [NAME_1]", "my name is [NAME_1]", "[NAME_1] here again"]
    assert rows[0]["phi"] == [{"kind": "NAME", "start": 11, "end": 21, "label": "[NAME_1]"}]
    assert "john" not in result.output and "anna" not in result.output


def test_privacy_redact_jsonl_rejects_a_bad_line() -> None:
    result = runner.invoke(app, ["privacy", "redact", "--jsonl"], input='{"nope": 1}\n')
    assert result.exit_code == 1
    assert "line 1" in result.output
