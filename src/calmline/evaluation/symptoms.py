"""Evaluate medical triage on short patient-spoken symptom phrases (``eval/sets/symptom_phrases.jsonl``).

Each phrase is analysed alone, as the batch contract analyses a line without ``call_id``. A phrase counts as
*raised* when some ``medical_emergency`` finding asserted present or uncertain has level ``emergency`` or
``urgent``, whoever it is about (what raises an alert). Rows carry ``label`` ``emergency`` or ``urgent`` (all
cardio-respiratory: chest pain, breathing, choking, anaphylaxis, cardiac) or ``routine`` (everyday complaints
and hard negatives that share words: "chest infection cough", "out of breath after running for the bus").

The figures are the cardio-respiratory recall (raised / emergency+urgent rows) and the routine over-triage
(raised / routine rows). The set is split in halves by :func:`calmline.evaluation.callset.split_of`: rule
authors may study ``dev`` failures only; ``test`` is for reporting.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from calmline.analysis.base import AnalysisContext, AnalyzerRegistry
from calmline.evaluation.callset import KEYWORDS, MEDICAL_ALERTING, predicted_positive, split_of

_KEYWORD = re.compile("|".join(re.escape(w) for w in KEYWORDS["medical_emergency"]))


def load_phrases(path: Path) -> list[dict[str, Any]]:
    """Read the labelled phrases."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _rates(pairs: list[tuple[bool, bool]]) -> dict[str, float | int | None]:
    """Recall on red-flag rows and the share of routine rows raised, from (red flag, raised) pairs."""
    flags = [raised for y, raised in pairs if y]
    routine = [raised for y, raised in pairs if not y]
    return {
        "cardio_respiratory_recall": round(sum(flags) / len(flags), 4) if flags else None,
        "cardio_respiratory_cases": len(flags),
        "routine_over_triage": round(sum(routine) / len(routine), 4) if routine else None,
        "routine_cases": len(routine),
    }


def evaluate_symptoms(path: Path, registry: AnalyzerRegistry, *, split: str | None = None) -> dict[str, Any]:
    """Cardio-respiratory recall and routine over-triage of the analyzers and of the keyword list.

    Args:
        path: the labelled JSONL file.
        registry: the analyzers to measure.
        split: ``dev`` or ``test`` for one half (see :func:`split_of`); both when ``None``.
    """
    rows = [r for r in load_phrases(path) if split is None or split_of(r["id"]) == split]
    ours: list[tuple[bool, bool]] = []
    keyword: list[tuple[bool, bool]] = []
    by_group: dict[str, list[int]] = {}
    for row in rows:
        y = row["label"] in MEDICAL_ALERTING
        raised = predicted_positive(registry.run(AnalysisContext(text=row["text"])), "medical_emergency")
        ours.append((y, raised))
        keyword.append((y, bool(_KEYWORD.search(row["text"].lower()))))
        group = f"{row['category']}/{row['kind']}" if y else f"routine/{row['kind']}"
        counts = by_group.setdefault(group, [0, 0])
        counts[0] += int(raised)
        counts[1] += 1
    return {
        "rows": len(rows),
        "split": split or "all",
        "calmline": _rates(ours),
        "keyword": _rates(keyword),
        "raised_by_group": {k: {"raised": c[0], "of": c[1]} for k, c in sorted(by_group.items())},
    }
