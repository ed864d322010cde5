"""Shared figures: precision/recall/F1 from counts (to 4 places), nearest-rank percentiles, Gini."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    """``precision``, ``recall`` and ``f1``; 0.0 where a ratio has nothing to divide by."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def percentile(values: Iterable[float], p: float) -> float | None:
    """The nearest-rank ``p``-th percentile (0 < p <= 100) of ``values``; None when there are none."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100), at least 1
    return ordered[min(len(ordered), int(rank)) - 1]


def gini(values: Sequence[float]) -> float:
    """The Gini coefficient of non-negative ``values``: 0 when all are equal, towards 1 when one has all."""
    ordered = sorted(values)
    n, total = len(ordered), sum(ordered)
    if n == 0 or total <= 0:
        return 0.0
    weighted = sum((i + 1) * v for i, v in enumerate(ordered))
    return (2 * weighted) / (n * total) - (n + 1) / n
