"""Emotion stackers: per-class logistic regression over out-of-fold decision values.

Inputs are the TF-IDF head and the static-embedding head (all seven classes of each), optionally plus
the seven lexicon scores of :class:`calmline.analysis.emotion.EmotionAnalyzer` (the run-time
lexicon fusion).

Everything is cross-fitted in evaluation: base-head decision values are out-of-fold, and for fold k the
stacker and its threshold are fitted on the other folds' rows only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from calmline.analysis.learned.model import Stacker, threshold_to_half
from calmline.training import cv

STACK_C = 1.0


def lexicon_matrix(texts: list[str]) -> np.ndarray:
    """``(n, 7)`` lexicon scores (context-aware, as the analyzer computes them), in EMOTIONS order."""
    from calmline.analysis.emotion import EMOTIONS, EmotionAnalyzer

    ea = EmotionAnalyzer()
    out = np.zeros((len(texts), len(EMOTIONS)))
    for i, t in enumerate(texts):
        sc = ea.lexicon_scores(t)
        out[i] = [sc[e] for e in EMOTIONS]
    return out


def _fit(f: np.ndarray, y: np.ndarray) -> LogisticRegression:
    return LogisticRegression(C=STACK_C, solver="lbfgs", max_iter=5000).fit(f, y)


def crossfit_stack(
    f: np.ndarray, y: np.ndarray, folds: cv.Folds
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cross-fitted probabilities, 0/1 decisions and shipped scores (threshold mapped to 0.5).

    Stacker and max-F1 threshold are fitted on the other folds; the threshold for fold k is chosen on
    inner out-of-fold stacker probabilities of the other folds.
    """
    prob = np.zeros(len(y))
    pred = np.zeros(len(y), dtype=int)
    score = np.zeros(len(y))
    for tr, te in folds:
        inner = np.zeros(len(tr))
        for itr, ite in folds:
            a = np.intersect1d(tr, itr)
            b = np.intersect1d(tr, ite)
            if len(b) == 0:
                continue
            pos = np.searchsorted(tr, b)
            inner[pos] = _fit(f[a], y[a]).predict_proba(f[b])[:, 1]
        thr = cv.best_f_threshold(inner, y[tr])
        prob[te] = _fit(f[tr], y[tr]).predict_proba(f[te])[:, 1]
        pred[te] = (prob[te] >= thr).astype(int)
        score[te] = [threshold_to_half(float(v), thr) for v in prob[te]]
    return prob, pred, score


def evaluate_stack(f_by_class: list[np.ndarray], y: np.ndarray, folds: cv.Folds,
                   labels: tuple[str, ...]) -> dict[str, Any]:
    """Per-class metrics and macro-F1 of a stacker (one input matrix per class).

    ``analyzer_rule`` adds the same figures after the analyzer's neutral rule (neutral is held below 0.5
    when another class scores higher), i.e. what ``calmline analyze`` reports, lexicon caps aside.
    """
    per_class: dict[str, Any] = {}
    scores = np.zeros(y.shape)
    for j, lab in enumerate(labels):
        prob, pred, scores[:, j] = crossfit_stack(f_by_class[j], y[:, j], folds)
        per_class[lab] = cv.binary_metrics(y[:, j], pred, prob)
    out: dict[str, Any] = {"per_class": per_class, "macro_f1": cv.macro(per_class),
                           "macro_pr_auc": cv.macro(per_class, "pr_auc")}
    if "neutral" in labels:
        n = labels.index("neutral")
        others = np.delete(scores, n, axis=1).max(axis=1)
        ruled = {lab: m for lab, m in per_class.items()}
        pred_n = ((scores[:, n] >= 0.5) & (others <= scores[:, n])).astype(int)
        ruled["neutral"] = cv.binary_metrics(y[:, n], pred_n, None)
        out["analyzer_rule"] = {"neutral": ruled["neutral"], "macro_f1": cv.macro(ruled)}
    return out


def fit_stacker(inputs: dict[str, np.ndarray], y: np.ndarray, folds: cv.Folds,
                labels: tuple[str, ...]) -> Stacker:
    """Final stacker on all rows; per-class thresholds from its own 5-fold OOF probabilities."""
    names = tuple(inputs)
    f = np.column_stack([inputs[n] for n in names])
    k = len(labels)
    w = np.zeros((k, len(names)), np.float32)
    b = np.zeros(k, np.float32)
    thr = np.zeros(k, np.float32)
    for j in range(k):
        oof = np.zeros(len(y))
        for tr, te in folds:
            oof[te] = _fit(f[tr], y[tr, j]).predict_proba(f[te])[:, 1]
        thr[j] = cv.best_f_threshold(oof, y[:, j])
        m = _fit(f, y[:, j])
        w[j] = m.coef_[0]
        b[j] = m.intercept_[0]
    return Stacker(labels, names, w, b, thr)
