"""Evaluate the agent guardrails on labelled agent turns (``eval/sets/agent_guardrails.jsonl``).

Each row is one agent turn with ``verified`` (whether the caller had been verified when it was said) and the
guardrail categories it breaks (``labels``; ``[]`` for compliant lines, negated or quoted forms and
disclosures made after verification). A row is *detected* for a category when the analyzers report a
``guardrail`` finding of that level asserted ``present``: the agent's own words, which the batch contract
marks ``warning`` or ``high``. Negated, quoted or hypothetical mentions are reported with severity ``info``
and do not count.

Baselines run on the same seeded, group-stratified folds as the call set (:mod:`calmline.evaluation.callset`):
a keyword list per category, and TF-IDF + logistic regression trained on the other folds. The trained baseline
sees the verification state as one extra token, so it can learn that a disclosure after verification is fine.
The set is split in halves by :func:`calmline.evaluation.callset.split_of`: rules were written looking at the
``dev`` half only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from calmline.analysis.base import AnalysisContext, AnalyzerRegistry
from calmline.evaluation.callset import _folds, _prf, _tfidf_lr, split_of
from calmline.events import GUARDRAIL_TYPE, Finding

#: The guardrail categories, in the order the report lists them.
CATEGORIES: tuple[str, ...] = (
    "medical_advice",
    "false_reassurance",
    "unkeepable_promise",
    "legal_advice",
    "judgmental",
    "unverified_disclosure",
    "other_patient_disclosure",
    "unsafe_messaging",
)

#: The keyword baseline: the phrases a reasonable first attempt would list for each category.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "medical_advice": ("take two", "dose", "ibuprofen", "paracetamol", "don't need to go", "probably just"),
    "false_reassurance": ("don't worry", "you'll be fine", "it's nothing", "calm down", "nothing to worry"),
    "unkeepable_promise": ("i promise", "guarantee", "definitely", "you have my word"),
    "legal_advice": ("sue", "lawyer", "solicitor", "negligence", "compensation", "court"),
    "judgmental": ("should have", "stupid", "your own fault", "irresponsible", "silly"),
    "unverified_disclosure": ("results", "was admitted", "discharged", "test was", "diagnosed"),
    "other_patient_disclosure": ("another patient", "the lady before", "same thing", "other patients"),
    "unsafe_messaging": ("committed suicide", "successful", "attention", "hang", "overdose"),
}
_VERIFIED_TOKEN = "callerverified"


@dataclass(frozen=True, slots=True)
class GuardrailRow:
    """One labelled agent turn."""

    id: str
    text: str
    verified: bool
    labels: tuple[str, ...]
    group: str
    kind: str


def load_guardrail_rows(path: Path) -> list[GuardrailRow]:
    """Read the labelled agent turns."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            rows.append(
                GuardrailRow(
                    id=d["id"],
                    text=d["text"],
                    verified=bool(d.get("verified", False)),
                    labels=tuple(d["labels"]),
                    group=d.get("group", "all"),
                    kind=d.get("kind", ""),
                )
            )
    return rows


def detected(findings: Sequence[Finding], category: str) -> bool:
    """Whether the agent's own words break ``category`` (a present guardrail finding of that level)."""
    return any(
        f.type == GUARDRAIL_TYPE and f.level == category and f.assertion == "present" for f in findings
    )


def analyse_turns(rows: Sequence[GuardrailRow], registry: AnalyzerRegistry) -> list[tuple[Finding, ...]]:
    """Run the analyzers on every row as an agent turn, with the row's verification state."""
    return [
        registry.run(AnalysisContext(text=r.text, speaker="agent", seq=0, verified=r.verified)) for r in rows
    ]


def _keyword(texts: Sequence[str], category: str) -> np.ndarray:
    words = KEYWORDS[category]
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    return np.array([bool(pattern.search(t.replace("\u2019", "'"))) for t in texts])


def evaluate_guardrails(
    path: Path, registry: AnalyzerRegistry, *, folds: int = 5, seed: int = 0, split: str | None = None
) -> dict[str, Any]:
    """Per-category precision/recall/F1 for calmline and both baselines on one half (or all rows).

    Args:
        path: the labelled JSONL file.
        registry: the analyzers to measure (the guardrail analyzer reads agent turns).
        folds: cross-validation folds for the trained baseline (and the spread of the rule scores).
        seed: the fold assignment seed.
        split: ``dev`` or ``test`` to measure one half only (see :func:`split_of`); both when ``None``.
    """
    rows = [r for r in load_guardrail_rows(path) if split is None or split_of(r.id) == split]
    found = analyse_turns(rows, registry)
    texts = [r.text for r in rows]
    lr_texts = [f"{r.text} {_VERIFIED_TOKEN}" if r.verified else r.text for r in rows]
    fold_rows = _folds(rows, folds, seed)  # type: ignore[arg-type]  # needs only ``.group``
    per_category: dict[str, Any] = {}
    for category in CATEGORIES:
        y = np.array([category in r.labels for r in rows])
        if not y.any():
            continue
        ours = np.array([detected(f, category) for f in found])
        per_fold = [_prf(y[idx], ours[idx])["f1"] for idx in fold_rows if y[idx].any()]
        per_category[category] = {
            "calmline": {**_prf(y, ours), "f1_fold_sd": round(float(np.std(per_fold)), 4)},
            "keyword": _prf(y, _keyword(texts, category)),
            "tfidf_lr": _prf(y, _tfidf_lr(lr_texts, y, fold_rows, seed)),
        }
    y_any = np.array([bool(r.labels) for r in rows])
    ours_any = np.array([any(detected(f, c) for c in CATEGORIES) for f in found])
    negatives = [i for i, r in enumerate(rows) if not r.labels]
    return {
        "rows": len(rows),
        "split": split or "all",
        "folds": folds,
        "seed": seed,
        "per_category": per_category,
        "macro_f1": {
            name: round(float(np.mean([v[name]["f1"] for v in per_category.values()])), 4)
            for name in ("calmline", "keyword", "tfidf_lr")
        },
        "any_guardrail": _prf(y_any, ours_any),
        "compliant_rows_flagged": {
            "flagged": int(ours_any[negatives].sum()) if negatives else 0,
            "of": len(negatives),
        },
    }
