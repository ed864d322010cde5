"""The shipped analyzers, through the batch contract's logic, on the public C-SSRS users.

Each user's posts are one call (in order, with history, as ``calmline analyze`` groups lines sharing a
``call_id``); a user counts as positive when any post yields a ``suicide_risk`` finding asserted present or
uncertain — the rule the hidden C-SSRS evaluation applies. Ideation, Behavior and Attempt users are positive.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from calmline.analysis.base import AnalysisContext, AnalyzerRegistry, Turn
from calmline.metrics import prf

POSITIVE = {"Ideation", "Behavior", "Attempt"}


def evaluate_cssrs_users(data_dir: Path, registry: AnalyzerRegistry) -> dict[str, Any]:
    """User-level precision, recall and F1 of the analyzers on ``cssrs_reddit/dev.jsonl``."""
    tp = fp = fn = tn = 0
    by_label: dict[str, list[int]] = {}
    path = data_dir / "cssrs_reddit" / "dev.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        user = json.loads(line)
        history: list[Turn] = []
        flagged = False
        for i, post in enumerate(user["posts"]):
            found = registry.run(AnalysisContext(text=post, seq=i, history=tuple(history[-12:])))
            history.append(Turn(seq=i, speaker="caller", text=post))
            if any(f.type == "suicide_risk" and f.is_present for f in found):
                flagged = True
                break
        positive = user["label"] in POSITIVE
        tp += int(flagged and positive)
        fp += int(flagged and not positive)
        fn += int(not flagged and positive)
        tn += int(not flagged and not positive)
        counts = by_label.setdefault(user["label"], [0, 0])
        counts[0] += int(flagged)
        counts[1] += 1
    return {
        "users": tp + fp + fn + tn,
        "positives": tp + fn,
        **prf(tp, fp, fn),
        "flagged_by_label": {label: {"flagged": c[0], "of": c[1]} for label, c in sorted(by_label.items())},
    }
