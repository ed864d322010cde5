"""The evaluation code on small synthetic sets (the real sets are measured by `calmline eval`)."""

from __future__ import annotations

import json
from pathlib import Path

from calmline.evaluation.callset import evaluate_callset, split_of
from calmline.evaluation.informal import evaluate_informal
from calmline.evaluation.public import evaluate_cssrs_users
from calmline.evaluation.symptoms import evaluate_symptoms
from calmline.testing.keywords import KeywordRule, keyword_registry

REGISTRY_RULES = (
    KeywordRule("want to die", "suicide_risk", "wish_to_be_dead", tier="low", score=0.7),
    KeywordRule("chest pain", "medical_emergency", "emergency", score=0.9),
)


def _row(i: int, text: str, labels: list[dict[str, str]], group: str = "g", kind: str = "positive") -> str:
    return json.dumps(
        {"id": f"r{i}", "text": text, "labels": labels, "group": group, "kind": kind, "emotions": ["neutral"]}
    )


def test_callset_counts_detections_context_and_baselines(tmp_path: Path) -> None:
    si = {
        "type": "suicide_risk",
        "level": "wish_to_be_dead",
        "tier": "low",
        "assertion": "present",
        "experiencer": "caller",
    }
    med = {
        "type": "medical_emergency",
        "level": "emergency",
        "category": "chest_pain",
        "assertion": "present",
        "experiencer": "caller",
    }
    rows = [_row(i, "I want to die", [si]) for i in range(6)]
    rows += [_row(10 + i, "I have chest pain", [med]) for i in range(6)]
    rows += [_row(20 + i, "book me in for Tuesday", [], kind="hard_negative") for i in range(6)]
    rows.append(_row(30, "I don't want to die", [{**si, "assertion": "negated"}], kind="negated"))
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(rows) + "\n")
    report = evaluate_callset(path, keyword_registry(REGISTRY_RULES), folds=3, seed=1)
    suicide = report["per_type"]["suicide_risk"]["calmline"]
    assert (suicide["recall"], suicide["support"]) == (1.0, 6)
    assert suicide["precision"] < 1.0  # the keyword analyzer has no context: the negated row is a false alarm
    assert report["context"]["by_assertion"]["negated"] == {"ok": 0, "of": 1}
    assert report["medical_triage"]["red_flag_recall"] == 1.0
    assert set(report["macro_f1"]) == {"calmline", "keyword", "tfidf_lr"}
    assert report["rows"] == 19 and split_of("r1") in ("dev", "test")


def test_cssrs_users_positive_when_any_post_is_present_risk(tmp_path: Path) -> None:
    folder = tmp_path / "cssrs_reddit"
    folder.mkdir()
    users = [
        {"id": "u1", "label": "Ideation", "posts": ["hello", "I want to die"]},
        {"id": "u2", "label": "Supportive", "posts": ["stay strong friend"]},
        {"id": "u3", "label": "Attempt", "posts": ["it was hard"]},
    ]
    (folder / "dev.jsonl").write_text("\n".join(json.dumps(u) for u in users) + "\n")
    report = evaluate_cssrs_users(tmp_path, keyword_registry(REGISTRY_RULES))
    assert (report["users"], report["positives"]) == (3, 2)
    assert (report["precision"], report["recall"]) == (1.0, 0.5)
    assert report["flagged_by_label"]["Supportive"] == {"flagged": 0, "of": 1}


def test_informal_posts_flag_present_suicide_risk_and_join_the_callset_report(tmp_path: Path) -> None:
    posts = [
        {"id": "p1", "text": "i want to die", "label": 1, "level": "suicidal_thoughts", "kind": "positive"},
        {"id": "p2", "text": "bought a rope today", "label": 1, "level": "behavior", "kind": "indirect"},
        {"id": "p3", "text": "this exam is killing me", "label": 0, "level": None, "kind": "idiom"},
    ]
    path = tmp_path / "informal_posts.jsonl"
    path.write_text("\n".join(json.dumps(p) for p in posts) + "\n")
    report = evaluate_informal(path, keyword_registry(REGISTRY_RULES))
    assert report["calmline"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2, "flagged": 1}
    assert report["flagged_by_kind"]["negative/idiom"] == {"flagged": 0, "of": 1}
    assert report["keyword"]["recall"] == 0.5  # "want to die" is on the keyword list, the rope is not
    callset = tmp_path / "call_utterances.jsonl"
    si = {"type": "suicide_risk", "level": "suicidal_thoughts", "tier": "moderate"}
    si |= {"assertion": "present", "experiencer": "caller"}
    lines = [_row(i, "I want to die", [si]) for i in range(4)]
    lines += [_row(10 + i, "book me in for Tuesday", [], kind="hard_negative") for i in range(4)]
    callset.write_text("\n".join(lines) + "\n")
    nested = evaluate_callset(callset, keyword_registry(REGISTRY_RULES), folds=2)
    assert nested["informal_posts"]["rows"] == 3


def test_symptom_phrases_count_raised_red_flags_and_over_triage_and_join_the_callset_report(
    tmp_path: Path,
) -> None:
    phrases = [
        {
            "id": "s1",
            "text": "i have chest pain",
            "label": "emergency",
            "category": "chest_pain",
            "kind": "direct",
        },
        {
            "id": "s2",
            "text": "i cant catch my breath",
            "label": "urgent",
            "category": "breathing",
            "kind": "direct",
        },
        {
            "id": "s3",
            "text": "no chest pain at all",
            "label": "routine",
            "category": "other",
            "kind": "negated",
        },
        {
            "id": "s4",
            "text": "sore throat",
            "label": "routine",
            "category": "minor_illness",
            "kind": "routine",
        },
    ]
    path = tmp_path / "symptom_phrases.jsonl"
    path.write_text("\n".join(json.dumps(p) for p in phrases) + "\n")
    report = evaluate_symptoms(path, keyword_registry(REGISTRY_RULES))
    # the keyword analyzer knows "chest pain" only, and has no context: the negated row is raised
    assert report["calmline"] == {
        "cardio_respiratory_recall": 0.5,
        "cardio_respiratory_cases": 2,
        "routine_over_triage": 0.5,
        "routine_cases": 2,
    }
    assert report["raised_by_group"]["routine/negated"] == {"raised": 1, "of": 1}
    assert report["raised_by_group"]["breathing/direct"] == {"raised": 0, "of": 1}
    # "chest pain" is on the keyword list, the breath is not
    assert report["keyword"]["cardio_respiratory_recall"] == 0.5
    halves = [
        evaluate_symptoms(path, keyword_registry(REGISTRY_RULES), split=h)["rows"] for h in ("dev", "test")
    ]
    assert sum(halves) == 4
    callset = tmp_path / "call_utterances.jsonl"
    med = {"type": "medical_emergency", "level": "emergency", "category": "chest_pain"}
    med |= {"assertion": "present", "experiencer": "caller"}
    lines = [_row(i, "I have chest pain", [med]) for i in range(4)]
    lines += [_row(10 + i, "book me in for Tuesday", [], kind="hard_negative") for i in range(4)]
    callset.write_text("\n".join(lines) + "\n")
    nested = evaluate_callset(callset, keyword_registry(REGISTRY_RULES), folds=2)
    assert nested["symptom_phrases"]["rows"] == 4


def test_bench_analyze_reports_latency_figures_as_json_ready_data(tmp_path: Path) -> None:
    from calmline.bench import bench_analyze
    from calmline.engine import CallEngine, load_alert_policy
    from calmline.protocols.catalog import ProtocolCatalog
    from calmline.protocols.loader import load_library

    registry = keyword_registry(REGISTRY_RULES)
    engine = CallEngine(registry, load_alert_policy(), ProtocolCatalog.single(load_library()))
    report = bench_analyze(registry, n=30, warmup=5, sets_dir=tmp_path, pin=False, engine=engine)
    assert report["engine_step"]["p50_ms"] <= report["engine_step"]["max_ms"]
    assert report["utterances"] == 30
    assert set(report["pipeline"]) == {"p50_ms", "p95_ms", "p99_ms", "max_ms", "mean_ms"}
    assert report["pipeline"]["p50_ms"] <= report["pipeline"]["p99_ms"] <= report["pipeline"]["max_ms"]
    assert report["analyzers"] == {"keyword-test": "0"}
    json.dumps(report)


def test_empathy_evaluation_reports_macro_f1_accuracy_and_baselines(tmp_path: Path) -> None:
    from calmline.analysis.base import AnalyzerRegistry
    from calmline.analysis.empathy import EmpathyAnalyzer
    from calmline.evaluation.empathy import evaluate_empathy, macro_f1

    agents = [
        ("I understand.", 0, 1, 0),
        ("What happened?", 0, 0, 1),
        ("I'm sorry to hear that.", 1, 0, 0),
        ("Can I take your date of birth?", 0, 0, 0),
        ("That must be terrifying.", 0, 2, 0),
        ("my heart goes out to you", 2, 0, 0),
    ]
    rows = [
        {
            "id": f"e{i}",
            "caller": "I'm so scared",
            "agent": text,
            "emotional_reaction": er,
            "interpretation": ip,
            "exploration": ex,
            "group": f"g{i % 3}",
        }
        for i, (text, er, ip, ex) in enumerate(agents * 2)
    ]
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    report = evaluate_empathy(path, AnalyzerRegistry([EmpathyAnalyzer()]), folds=3, seed=1)
    assert report["rows"] == 12
    for m in ("emotional_reaction", "interpretation", "exploration"):
        block = report["per_mechanism"][m]
        assert block["calmline"]["accuracy"] == 1.0 and block["calmline"]["macro_f1"] == 1.0
        assert set(block) == {"distribution", "calmline", "keyword", "tfidf_lr"}
        assert 0.0 <= block["tfidf_lr"]["macro_f1"] <= 1.0
    import numpy as np

    assert abs(macro_f1(np.array([0, 1, 2]), np.array([0, 1, 1])) - (1 + 2 / 3 + 0) / 3) < 1e-9


def test_agent_guardrails_score_present_findings_per_category_against_baselines(tmp_path: Path) -> None:
    from calmline.analysis.base import AnalyzerRegistry
    from calmline.analysis.guardrail import GuardrailAnalyzer
    from calmline.evaluation.guardrails import evaluate_guardrails

    rows = [
        ("don't worry, you'll be fine", False, ["false_reassurance"]),
        ("calm down, it's nothing", False, ["false_reassurance"]),
        ("I can't tell you it's nothing", False, []),
        ("her results came back positive", False, ["unverified_disclosure"]),
        ("her results came back positive, so she'll get a call", True, []),
        ("he was admitted to ward five", False, ["unverified_disclosure"]),
        ("can I take your date of birth?", False, []),
        ("you should sue them", False, ["legal_advice"]),
    ]
    path = tmp_path / "agent_guardrails.jsonl"
    path.write_text(
        "\n".join(
            json.dumps({"id": f"ag-{i}", "text": t, "verified": v, "labels": lab, "group": "g", "kind": "k"})
            for i, (t, v, lab) in enumerate(rows)
        )
        + "\n",
        encoding="utf-8",
    )
    report = evaluate_guardrails(path, AnalyzerRegistry([GuardrailAnalyzer()]), folds=2)
    assert report["rows"] == 8 and report["split"] == "all"
    per = report["per_category"]
    assert set(per) == {"false_reassurance", "unverified_disclosure", "legal_advice"}
    assert per["false_reassurance"]["calmline"] | {"f1_fold_sd": 0} == {
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
        "support": 2,
        "f1_fold_sd": 0,
    }
    assert per["unverified_disclosure"]["calmline"]["precision"] == 1.0  # the verified row is not a breach
    assert set(per["legal_advice"]) == {"calmline", "keyword", "tfidf_lr"}
    assert report["compliant_rows_flagged"] == {"flagged": 0, "of": 3}
    assert set(report["macro_f1"]) == {"calmline", "keyword", "tfidf_lr"}

