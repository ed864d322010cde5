"""Evaluate the analyzers on our labelled call-style utterances (``eval/sets/call_utterances.jsonl``).

For each detector type a row is *positive* when it carries a label of that type asserted ``present``; the
product counts a detection when the analyzers report a finding of that type asserted present or uncertain (the
same rule the alert policy applies). Medical rows are positive only above ``routine`` (that is what raises an
alert), and a routine row reported above ``routine`` is over-triage. The context score counts negated,
historical and hypothetical mentions that the product does not report as present.

Two baselines run on the same seeded, stratified folds: a keyword list, and TF-IDF + logistic regression
trained on the other folds. The analyzers themselves are rules, so their per-fold numbers only show spread.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from calmline.analysis.base import AnalysisContext, AnalyzerRegistry, Turn
from calmline.events import RISK_TYPES, Finding
from calmline.metrics import prf

MEDICAL_ALERTING = ("emergency", "urgent")
CONTEXT_ASSERTIONS = ("negated", "historical", "hypothetical")
#: Cardio-respiratory categories, for the red-flag recall the targets name.
CARDIO_RESPIRATORY = ("chest_pain", "breathing", "choking", "anaphylaxis", "unresponsive")

#: The keyword baseline: the words a reasonable first attempt would list for each detector.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "suicide_risk": (
        "suicide",
        "suicidal",
        "kill myself",
        "end my life",
        "want to die",
        "end it all",
        "overdose",
    ),
    "self_harm": ("cut myself", "cutting", "self harm", "self-harm", "burn myself", "hurt myself"),
    "medical_emergency": (
        "chest pain",
        "can't breathe",
        "cant breathe",
        "stroke",
        "unconscious",
        "bleeding",
        "seizure",
        "overdose",
        "heart attack",
        "not breathing",
        "choking",
    ),
    "violence_threat": ("kill", "hurt him", "hurt her", "shoot", "stab", "beat up"),
    "abuse_disclosure": ("hits me", "abuse", "abused", "beats me", "hit me", "rape", "assaulted"),
    "phi_request_third_party": (
        "results",
        "records",
        "my mother's",
        "my father's",
        "my husband's",
        "my wife's",
    ),
    "medical_advice_request": ("how much", "should i take", "can i take", "is it safe", "dose"),
    "legal_advice_request": ("sue", "lawyer", "malpractice", "legal", "negligence"),
}


def split_of(row_id: str) -> str:
    """A fixed half split by id: rule authors may study ``dev`` failures; ``test`` is for reporting only."""
    return "dev" if int(hashlib.sha1(row_id.encode()).hexdigest(), 16) % 2 == 0 else "test"


@dataclass(frozen=True, slots=True)
class Row:
    """One labelled utterance."""

    id: str
    text: str
    history: tuple[str, ...]
    labels: tuple[dict[str, Any], ...]
    group: str
    kind: str
    emotions: tuple[str, ...] = ()


def load_rows(path: Path) -> list[Row]:
    """Read the labelled set."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            rows.append(
                Row(
                    d["id"],
                    d["text"],
                    tuple(d.get("history", ())),
                    tuple(d["labels"]),
                    d["group"],
                    d["kind"],
                    tuple(d.get("emotions", ())),
                )
            )
    return rows


def gold_positive(row: Row, kind: str) -> bool:
    """Whether the row is a present-tense case of ``kind`` (medical: above routine)."""
    return any(
        lab["type"] == kind
        and lab["assertion"] == "present"
        and (kind != "medical_emergency" or lab["level"] in MEDICAL_ALERTING)
        for lab in row.labels
    )


def predicted_positive(findings: Sequence[Finding], kind: str) -> bool:
    """Whether the product reports ``kind`` as happening now (medical: above routine)."""
    return any(
        f.type == kind and f.is_present and (kind != "medical_emergency" or f.level in MEDICAL_ALERTING)
        for f in findings
    )


def analyse(rows: Sequence[Row], registry: AnalyzerRegistry) -> list[tuple[Finding, ...]]:
    """Run the analyzers on every row, with its history as earlier caller turns."""
    out = []
    for row in rows:
        history = tuple(Turn(seq=i, speaker="caller", text=t) for i, t in enumerate(row.history))
        ctx = AnalysisContext(text=row.text, speaker="caller", seq=len(history), history=history)
        out.append(registry.run(ctx))
    return out


def _prf(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    tp, fp, fn = int(np.sum(y & p)), int(np.sum(~y & p)), int(np.sum(y & ~p))
    return {**prf(tp, fp, fn), "support": int(y.sum())}


def _folds(rows: Sequence[Row], k: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    by_group: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_group.setdefault(row.group, []).append(i)
    fold_of = np.zeros(len(rows), dtype=int)
    for members in by_group.values():
        order = rng.permutation(members)
        for j, i in enumerate(order):
            fold_of[i] = j % k
    return [np.flatnonzero(fold_of == f) for f in range(k)]


def _keyword(texts: Sequence[str], kind: str) -> np.ndarray:
    words = KEYWORDS[kind]
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    return np.array([bool(pattern.search(t)) for t in texts])


def _tfidf_lr(texts: Sequence[str], y: np.ndarray, folds: list[np.ndarray], seed: int) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    pred = np.zeros(len(texts), dtype=bool)
    for test in folds:
        train = np.setdiff1d(np.arange(len(texts)), test)
        if y[train].sum() == 0:
            continue
        vec = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True)
        x_train = vec.fit_transform([texts[i] for i in train])
        model = LogisticRegression(C=10.0, class_weight="balanced", max_iter=2000, random_state=seed)
        model.fit(x_train, y[train])
        pred[test] = model.predict(vec.transform([texts[i] for i in test])).astype(bool)
    return pred


def evaluate_callset(
    path: Path, registry: AnalyzerRegistry, *, folds: int = 5, seed: int = 0, split: str | None = None
) -> dict[str, Any]:
    """Per-detector precision/recall/F1 for calmline and both baselines, plus context and triage figures.

    Args:
        path: the labelled JSONL file.
        registry: the analyzers to measure.
        folds: cross-validation folds for the trained baseline (and the spread of the rule scores).
        seed: the fold assignment seed.
        split: ``dev`` or ``test`` to measure one half only (see :func:`split_of`); both when ``None``.
    """
    rows = [r for r in load_rows(path) if split is None or split_of(r.id) == split]
    found = analyse(rows, registry)
    texts = [" ".join((*r.history, r.text)) for r in rows]
    fold_rows = _folds(rows, folds, seed)
    per_type: dict[str, Any] = {}
    for kind in RISK_TYPES:
        y = np.array([gold_positive(r, kind) for r in rows])
        if not y.any():
            continue
        ours = np.array([predicted_positive(f, kind) for f in found])
        per_fold = [_prf(y[idx], ours[idx])["f1"] for idx in fold_rows]
        per_type[kind] = {
            "calmline": {**_prf(y, ours), "f1_fold_sd": round(float(np.std(per_fold)), 4)},
            "keyword": _prf(y, _keyword(texts, kind)),
            "tfidf_lr": _prf(y, _tfidf_lr(texts, y, fold_rows, seed)),
        }
    return {
        "rows": len(rows),
        "split": split or "all",
        "folds": folds,
        "seed": seed,
        "per_type": per_type,
        "macro_f1": {
            name: round(float(np.mean([v[name]["f1"] for v in per_type.values()])), 4)
            for name in ("calmline", "keyword", "tfidf_lr")
        },
        "context": _context(rows, found),
        "medical_triage": _triage(rows, found),
        "suicide_tier": _tiers(rows, found),
        "emotions": _emotions(rows, found),
        **_informal(path.parent / "informal_posts.jsonl", registry, split),
        **_symptoms(path.parent / "symptom_phrases.jsonl", registry, split),
        **_symptoms(
            path.parent / "symptom_phrases_blind2.jsonl", registry, split, key="symptom_phrases_blind2"
        ),
        **_context_set(path.parent / "context_blind2.jsonl", registry, split),
        **_context_set(path.parent / "context_blind3.jsonl", registry, split, key="context_blind3"),
    }


def _informal(path: Path, registry: AnalyzerRegistry, split: str | None) -> dict[str, Any]:
    """The informal-posts figures for the same half, when that set lies next to the call set."""
    if not path.is_file():
        return {}
    from calmline.evaluation.informal import evaluate_informal

    return {"informal_posts": evaluate_informal(path, registry, split=split)}


def _symptoms(
    path: Path, registry: AnalyzerRegistry, split: str | None, key: str = "symptom_phrases"
) -> dict[str, Any]:
    """The symptom-phrase triage figures for the same half, when that set lies next to the call set."""
    if not path.is_file():
        return {}
    from calmline.evaluation.symptoms import evaluate_symptoms

    return {key: evaluate_symptoms(path, registry, split=split)}


def _context_set(
    path: Path, registry: AnalyzerRegistry, split: str | None, key: str = "context_blind2"
) -> dict[str, Any]:
    """Context figures on a context-only set in the call-set schema, under ``key``, if the file is present.

    ``context_blind2.jsonl`` and ``context_blind3.jsonl`` lie next to the call set.
    """
    if not path.is_file():
        return {}
    return {key: evaluate_context(path, registry, split=split)}


def evaluate_context(path: Path, registry: AnalyzerRegistry, *, split: str | None = None) -> dict[str, Any]:
    """Negated/historical/hypothetical mentions not reported as present, and recall on the asserted rows.

    Args:
        path: a labelled JSONL file in the call-set schema.
        registry: the analyzers to measure.
        split: ``dev`` or ``test`` for one half (see :func:`split_of`); both when ``None``.
    """
    rows = [r for r in load_rows(path) if split is None or split_of(r.id) == split]
    found = analyse(rows, registry)
    hit = total = 0
    for row, findings in zip(rows, found, strict=True):
        for kind in {lab["type"] for lab in row.labels if lab["assertion"] == "present"}:
            if gold_positive(row, kind):
                total += 1
                hit += int(predicted_positive(findings, kind))
    by_group: dict[str, list[int]] = {}
    for row, findings in zip(rows, found, strict=True):
        one = _context([row], [findings])
        counts = by_group.setdefault(row.group, [0, 0])
        counts[0] += sum(v["ok"] for v in one["by_assertion"].values())
        counts[1] += one["mentions"]
    return {
        "rows": len(rows),
        "split": split or "all",
        "context": _context(rows, found),
        "context_by_group": {g: {"ok": c[0], "of": c[1]} for g, c in sorted(by_group.items()) if c[1]},
        "present_recall": round(hit / total, 4) if total else None,
        "present_cases": total,
    }


EMOTION_NAMES = ("anger", "frustration", "fear", "sadness", "confusion", "relief", "neutral")


def _emotions(rows: Sequence[Row], found: Sequence[tuple[Finding, ...]]) -> dict[str, Any]:
    """Per-emotion precision/recall/F1 (an emotion is present when its score is 0.5 or more)."""
    per: dict[str, dict[str, float]] = {}
    for name in EMOTION_NAMES:
        y = np.array([name in r.emotions for r in rows])
        p = np.array(
            [any(f.type == "emotion" and f.level == name and f.score >= 0.5 for f in fs) for fs in found]
        )
        per[name] = _prf(y, p)
    return {"per_class": per, "macro_f1": round(float(np.mean([v["f1"] for v in per.values()])), 4)}


def _context(rows: Sequence[Row], found: Sequence[tuple[Finding, ...]]) -> dict[str, Any]:
    """Share of negated/historical/hypothetical mentions not reported as present, by assertion."""
    counts: dict[str, list[int]] = {a: [0, 0] for a in CONTEXT_ASSERTIONS}
    for row, findings in zip(rows, found, strict=True):
        for lab in row.labels:
            if lab["assertion"] not in CONTEXT_ASSERTIONS or gold_positive(row, lab["type"]):
                continue
            ok = not any(f.type == lab["type"] and f.is_present for f in findings)
            counts[lab["assertion"]][0] += int(ok)
            counts[lab["assertion"]][1] += 1
    total_ok = sum(c[0] for c in counts.values())
    total = sum(c[1] for c in counts.values())
    return {
        "not_reported_present": round(total_ok / total, 4) if total else None,
        "mentions": total,
        "by_assertion": {a: {"ok": c[0], "of": c[1]} for a, c in counts.items()},
    }


def _triage(rows: Sequence[Row], found: Sequence[tuple[Finding, ...]]) -> dict[str, Any]:
    """Red-flag recall (cardio-respiratory and all) and over-triage of routine symptom phrases."""
    cardio_hit = cardio_all = flag_hit = flag_all = routine_raised = routine_all = 0
    for row, findings in zip(rows, found, strict=True):
        med = [
            lab for lab in row.labels if lab["type"] == "medical_emergency" and lab["assertion"] == "present"
        ]
        raised = predicted_positive(findings, "medical_emergency")
        if any(lab["level"] in MEDICAL_ALERTING for lab in med):
            flag_all += 1
            flag_hit += int(raised)
            if any(lab.get("category") in CARDIO_RESPIRATORY for lab in med):
                cardio_all += 1
                cardio_hit += int(raised)
        elif med and all(lab["level"] == "routine" for lab in med):
            routine_all += 1
            routine_raised += int(raised)
    return {
        "cardio_respiratory_recall": round(cardio_hit / cardio_all, 4) if cardio_all else None,
        "cardio_respiratory_cases": cardio_all,
        "red_flag_recall": round(flag_hit / flag_all, 4) if flag_all else None,
        "red_flag_cases": flag_all,
        "routine_over_triage": round(routine_raised / routine_all, 4) if routine_all else None,
        "routine_cases": routine_all,
    }


def _tiers(rows: Sequence[Row], found: Sequence[tuple[Finding, ...]]) -> dict[str, Any]:
    """How often the highest suicide tier reported matches the label's, and imminent recall."""
    order = ("low", "moderate", "high", "imminent")
    exact = total = imminent_hit = imminent_all = under = 0
    for row, findings in zip(rows, found, strict=True):
        gold = [
            lab["tier"]
            for lab in row.labels
            if lab["type"] == "suicide_risk"
            and lab["assertion"] == "present"
            and lab["experiencer"] == "caller"
            and lab.get("tier")
        ]
        if not gold:
            continue
        want = max(gold, key=order.index)
        got = [f.tier for f in findings if f.type == "suicide_risk" and f.is_present and f.tier]
        best = max(got, key=order.index) if got else None
        total += 1
        exact += int(best == want)
        under += int(best is None or order.index(best) < order.index(want))
        if want == "imminent":
            imminent_all += 1
            imminent_hit += int(best == "imminent")
    return {
        "cases": total,
        "tier_exact": round(exact / total, 4) if total else None,
        "tier_under": round(under / total, 4) if total else None,
        "imminent_recall": round(imminent_hit / imminent_all, 4) if imminent_all else None,
    }
