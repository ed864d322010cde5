"""Evaluate the empathy analyzer on ``eval/sets/empathy_pairs.jsonl`` (caller/agent pairs, EPITOME 0/1/2).

Each pair is scored the way the batch contract scores it: the caller line, then the agent line, in one call,
so the agent turn sees the caller's words in its history. Per mechanism the report gives macro-F1 over the
three levels and accuracy, for calmline and two baselines on the same seeded, group-stratified folds (pairs
that answer the same caller turn stay in one fold): a keyword list, and TF-IDF (word 1-2-grams of the agent
line) + multinomial logistic regression trained on the other folds. "fold sd" is the spread of calmline's
macro-F1 across folds (the analyzer itself is rules: nothing is trained).

Command: ``.venv/bin/calmline eval`` (the ``empathy`` block) or
``.venv/bin/python -m calmline.evaluation.empathy [--split dev|test]``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from calmline.analysis.base import AnalysisContext, AnalyzerRegistry, Turn
from calmline.analysis.empathy import MECHANISMS, empathy_dict
from calmline.evaluation.callset import split_of

#: The keyword baseline: what a first attempt would list, weak and strong forms per mechanism.
KEYWORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "emotional_reaction": (
        ("sorry", "hugs", "that sucks", "stay strong"),
        ("so sorry", "my heart", "i feel for you"),
    ),
    "interpretation": (("i understand", "i get it", "i hear you"), ("sounds like", "must be", "been there")),
    "exploration": (("?",), ("how do you feel", "how did you feel", "what was going through")),
}


@dataclass(frozen=True, slots=True)
class Pair:
    """One labelled caller/agent pair."""

    id: str
    caller: str
    agent: str
    levels: dict[str, int]
    group: str


def load_pairs(path: Path) -> list[Pair]:
    """Read the labelled pairs."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            levels = {m: int(d[m]) for m in MECHANISMS}
            out.append(Pair(d["id"], d["caller"], d["agent"], levels, d.get("group", d["id"])))
    return out


def score_pairs(pairs: Sequence[Pair], registry: AnalyzerRegistry) -> list[dict[str, Any]]:
    """The batch contract's ``empathy`` object for each pair's agent line (caller line as history)."""
    out = []
    for pair in pairs:
        history = (Turn(seq=1, speaker="caller", text=pair.caller),)
        found = registry.run(AnalysisContext(text=pair.agent, speaker="agent", seq=2, history=history))
        out.append(empathy_dict(found))
    return out


def macro_f1(y: np.ndarray, p: np.ndarray, labels: Sequence[int] = (0, 1, 2)) -> float:
    """Unweighted mean of the per-level F1 (a level absent from both gold and prediction is skipped)."""
    scores = []
    for k in labels:
        tp = int(np.sum((y == k) & (p == k)))
        fp = int(np.sum((y != k) & (p == k)))
        fn = int(np.sum((y == k) & (p != k)))
        if tp + fp + fn == 0:
            continue
        scores.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores)) if scores else 0.0


def _figures(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    per_level = {}
    for k in (0, 1, 2):
        tp = int(np.sum((y == k) & (p == k)))
        denom = int(np.sum(y == k)) + int(np.sum(p == k))
        per_level[str(k)] = {"f1": round(2 * tp / denom, 4) if denom else 0.0, "support": int(np.sum(y == k))}
    return {
        "macro_f1": round(macro_f1(y, p), 4),
        "accuracy": round(float(np.mean(y == p)), 4) if len(y) else 0.0,
        "per_level": per_level,
    }


def _folds(pairs: Sequence[Pair], k: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    groups = sorted({p.group for p in pairs})
    order = rng.permutation(len(groups))
    fold_of_group = {groups[g]: i % k for i, g in enumerate(order)}
    fold_of = np.array([fold_of_group[p.group] for p in pairs])
    return [np.flatnonzero(fold_of == f) for f in range(k)]


def _keyword(texts: Sequence[str], mechanism: str) -> np.ndarray:
    weak, strong = KEYWORDS[mechanism]

    def level(text: str) -> int:
        low = text.lower()
        if any(w in low for w in strong):
            return 2
        return 1 if any(w in low for w in weak) else 0

    return np.array([level(t) for t in texts])


def _tfidf_lr(texts: Sequence[str], y: np.ndarray, folds: list[np.ndarray], seed: int) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    pred = np.zeros(len(texts), dtype=int)
    for test in folds:
        train = np.setdiff1d(np.arange(len(texts)), test)
        if len(set(y[train].tolist())) < 2:
            pred[test] = y[train][0] if len(train) else 0
            continue
        vec = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True)
        x_train = vec.fit_transform([texts[i] for i in train])
        model = LogisticRegression(C=10.0, class_weight="balanced", max_iter=2000, random_state=seed)
        model.fit(x_train, y[train])
        pred[test] = model.predict(vec.transform([texts[i] for i in test]))
    return pred


def evaluate_empathy(
    path: Path, registry: AnalyzerRegistry, *, folds: int = 5, seed: int = 0, split: str | None = None
) -> dict[str, Any]:
    """Per-mechanism macro-F1 (three levels) and accuracy for calmline, keywords and TF-IDF + LR.

    Args:
        path: the labelled pairs (JSONL).
        registry: the analyzers to measure (must include the empathy analyzer).
        folds: cross-validation folds for the trained baseline (and the spread of calmline's figures).
        seed: the fold assignment seed.
        split: ``dev`` or ``test`` to measure one half only (:func:`calmline.evaluation.callset.split_of`).
    """
    pairs = [p for p in load_pairs(path) if split is None or split_of(p.id) == split]
    scored = score_pairs(pairs, registry)
    texts = [p.agent for p in pairs]
    fold_rows = _folds(pairs, folds, seed)
    per: dict[str, Any] = {}
    for m in MECHANISMS:
        y = np.array([p.levels[m] for p in pairs])
        ours = np.array([int(s.get(m, 0)) for s in scored])
        per_fold = [macro_f1(y[idx], ours[idx]) for idx in fold_rows if len(idx)]
        per[m] = {
            "distribution": {str(k): int(np.sum(y == k)) for k in (0, 1, 2)},
            "calmline": {**_figures(y, ours), "macro_f1_fold_sd": round(float(np.std(per_fold)), 4)},
            "keyword": _figures(y, _keyword(texts, m)),
            "tfidf_lr": _figures(y, _tfidf_lr(texts, y, fold_rows, seed)),
        }
    return {"rows": len(pairs), "split": split or "all", "folds": folds, "seed": seed, "per_mechanism": per}


def misses(path: Path, registry: AnalyzerRegistry, split: str = "dev") -> list[dict[str, Any]]:
    """The pairs of one half where calmline disagrees with the label (for rule authors: ``dev`` only)."""
    pairs = [p for p in load_pairs(path) if split_of(p.id) == split]
    out = []
    for pair, got in zip(pairs, score_pairs(pairs, registry), strict=True):
        wrong = {m: (pair.levels[m], got.get(m, 0)) for m in MECHANISMS if pair.levels[m] != got.get(m, 0)}
        if wrong:
            out.append({"id": pair.id, "agent": pair.agent, "gold_got": wrong})
    return out


def main(argv: Sequence[str] | None = None) -> None:  # pragma: no cover - thin CLI
    """Print the report (``--misses`` lists the ``dev`` disagreements)."""
    from calmline.analysis.defaults import default_registry

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", type=Path, default=Path("eval/sets/empathy_pairs.jsonl"))
    parser.add_argument("--split", choices=("dev", "test"), default=None)
    parser.add_argument("--misses", action="store_true")
    args = parser.parse_args(argv)
    registry = default_registry()
    if args.misses:
        for row in misses(args.set, registry, "dev"):
            print(json.dumps(row, ensure_ascii=False))
        return
    print(json.dumps(evaluate_empathy(args.set, registry, split=args.split), indent=2))


if __name__ == "__main__":  # pragma: no cover
    main()
