"""Evaluate suicide-risk detection on short informal posts (``eval/sets/informal_posts.jsonl``).

Each post is analysed alone, as the batch contract analyses a line without ``call_id``; a post counts as
flagged when any ``suicide_risk`` finding is asserted present or uncertain, whoever it is about. Rows carry
``label`` 1 (the writer's own suicidal ideation or worse, C-SSRS levels) or 0 (hard negatives: idioms, talk
about others, advice, media, negated, historical and hypothetical mentions, everyday means words).

The set is split in halves by :func:`calmline.evaluation.callset.split_of`: rule authors may study ``dev``
failures only; ``test`` is for reporting.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from calmline.analysis.base import AnalysisContext, AnalyzerRegistry
from calmline.evaluation.callset import predicted_positive, split_of
from calmline.metrics import prf

#: The keyword baseline: the words a first attempt at a suicide keyword list would use.
KEYWORDS: tuple[str, ...] = (
    "suicide",
    "suicidal",
    "kill myself",
    "kms",
    "end my life",
    "want to die",
    "end it all",
    "overdose",
    "better off without me",
    "never wake up",
)
_KEYWORD = re.compile("|".join(re.escape(w) for w in KEYWORDS))


def load_posts(path: Path) -> list[dict[str, Any]]:
    """Read the labelled posts."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _prf(pairs: Sequence[tuple[bool, bool]]) -> dict[str, float | int]:
    tp = sum(y and p for y, p in pairs)
    fp = sum(p and not y for y, p in pairs)
    fn = sum(y and not p for y, p in pairs)
    return {**prf(tp, fp, fn), "support": tp + fn, "flagged": tp + fp}


def evaluate_informal(path: Path, registry: AnalyzerRegistry, *, split: str | None = None) -> dict[str, Any]:
    """Post-level precision, recall and F1 of the analyzers and of the keyword list, plus flags by kind.

    Args:
        path: the labelled JSONL file.
        registry: the analyzers to measure.
        split: ``dev`` or ``test`` for one half (see :func:`split_of`); both when ``None``.
    """
    rows = [r for r in load_posts(path) if split is None or split_of(r["id"]) == split]
    ours: list[tuple[bool, bool]] = []
    keyword: list[tuple[bool, bool]] = []
    by_kind: dict[str, list[int]] = {}
    for row in rows:
        y = row["label"] == 1
        flagged = predicted_positive(registry.run(AnalysisContext(text=row["text"])), "suicide_risk")
        ours.append((y, flagged))
        keyword.append((y, bool(_KEYWORD.search(row["text"].lower()))))
        counts = by_kind.setdefault(f"{'positive' if y else 'negative'}/{row['kind']}", [0, 0])
        counts[0] += int(flagged)
        counts[1] += 1
    return {
        "rows": len(rows),
        "split": split or "all",
        "calmline": _prf(ours),
        "keyword": _prf(keyword),
        "flagged_by_kind": {k: {"flagged": c[0], "of": c[1]} for k, c in sorted(by_kind.items())},
    }
