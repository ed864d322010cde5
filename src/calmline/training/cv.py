"""Cross-validation helpers: out-of-fold scores, cross-fitted Platt calibration and thresholds, metrics."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, precision_recall_fscore_support

Folds = list[tuple[np.ndarray, np.ndarray]]


def fit_lr(x: sp.csr_matrix, y: np.ndarray, c: float, w: np.ndarray | None = None) -> LogisticRegression:
    """The one logistic-regression recipe used by every head (liblinear, L2, optional sample weights)."""
    model = LogisticRegression(C=c, solver="liblinear", max_iter=300)
    model.fit(x, y, sample_weight=w)
    return model


def nb_ratio(x: sp.csr_matrix, y: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Naive-Bayes log-count ratio of every feature (Wang & Manning 2012, NBSVM).

    ``r = log((p / |p|_1) / (q / |q|_1))`` with ``p`` (``q``) = ``alpha`` + the number of positive (negative)
    examples in which the feature occurs (binarised features).
    """
    xb = x.copy().tocsr()
    xb.data[:] = 1.0
    p = np.asarray(xb[y == 1].sum(axis=0)).ravel() + alpha
    q = np.asarray(xb[y == 0].sum(axis=0)).ravel() + alpha
    out: np.ndarray = np.log((p / p.sum()) / (q / q.sum()))
    return out


def fit_nb_lr(
    x: sp.csr_matrix, y: np.ndarray, c: float, w: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """NB-LR: :func:`fit_lr` on features scaled by their :func:`nb_ratio` (fitted on these rows only).

    Returns the weights folded back onto the *unscaled* features (``r * coef``) and the intercept, so the
    head is an ordinary linear model at run time.
    """
    r = nb_ratio(x, y)
    model = fit_lr(x @ sp.diags(r), y, c, w)
    return r * model.coef_[0], float(model.intercept_[0])


def oof_scores(
    x: sp.csr_matrix, y: np.ndarray, folds: Folds, c: float, w: np.ndarray | None = None, nb: bool = False
) -> np.ndarray:
    """Out-of-fold decision values of :func:`fit_lr` (:func:`fit_nb_lr` when ``nb``), binary target."""
    out = np.zeros(len(y), dtype=np.float64)
    for tr, te in folds:
        wt = None if w is None else w[tr]
        if nb:
            coef, b = fit_nb_lr(x[tr], y[tr], c, wt)
            out[te] = x[te] @ coef + b
        else:
            out[te] = fit_lr(x[tr], y[tr], c, wt).decision_function(x[te])
    return out


def fit_platt(z: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt scaling p = sigmoid(a*z + b) fitted on decision values."""
    m = LogisticRegression(C=1e4, solver="lbfgs", max_iter=1000)
    m.fit(z.reshape(-1, 1), y)
    return float(m.coef_[0, 0]), float(m.intercept_[0])


def sigmoid(v: np.ndarray) -> np.ndarray:
    """Logistic function."""
    out: np.ndarray = 1.0 / (1.0 + np.exp(-v))
    return out


def best_f_threshold(p: np.ndarray, y: np.ndarray, beta: float = 1.0, min_recall: float = 0.0) -> float:
    """Probability threshold maximising F-beta (subject to recall >= ``min_recall`` when achievable)."""
    order = np.argsort(-p)
    ps, ys = p[order], y[order]
    tp = np.cumsum(ys)
    fp = np.cumsum(1 - ys)
    pos = max(int(ys.sum()), 1)
    recall = tp / pos
    precision = tp / np.maximum(tp + fp, 1)
    b2 = beta * beta
    f = (1 + b2) * precision * recall / np.maximum(b2 * precision + recall, 1e-12)
    # only cut between distinct scores
    valid = np.r_[ps[1:] < ps[:-1], True]
    if min_recall > 0 and np.any(valid & (recall >= min_recall)):
        valid &= recall >= min_recall
    i = int(np.argmax(np.where(valid, f, -1.0)))
    return float(ps[i])


def crossfit(
    z: np.ndarray,
    y: np.ndarray,
    folds: Folds,
    choose: Callable[[np.ndarray, np.ndarray], float],
    threshold_mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """For each fold, calibrate and choose the threshold on the *other* folds' OOF scores, apply to it.

    ``threshold_mask`` restricts the examples the threshold is chosen on (e.g. the cleanly labelled ones).
    Returns (calibrated probabilities, 0/1 decisions) for every example.
    """
    prob = np.zeros(len(y))
    pred = np.zeros(len(y), dtype=int)
    for tr, te in folds:
        a, b = fit_platt(z[tr], y[tr])
        sel = tr if threshold_mask is None else tr[threshold_mask[tr]]
        thr = choose(sigmoid(a * z[sel] + b), y[sel])
        prob[te] = sigmoid(a * z[te] + b)
        pred[te] = (prob[te] >= thr).astype(int)
    return prob, pred


def ece(prob: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error with equal-width bins."""
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(prob, edges) - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.mean() * abs(prob[m].mean() - y[m].mean())
    return float(total)


def binary_metrics(y: np.ndarray, pred: np.ndarray, prob: np.ndarray | None) -> dict[str, Any]:
    """Precision/recall/F1 (+ PR-AUC, ECE, Brier when probabilities are given)."""
    p, r, f, _ = precision_recall_fscore_support(y, pred, average="binary", zero_division=0)
    out: dict[str, Any] = {"n": len(y), "positives": int(y.sum()), "precision": round(float(p), 4),
                           "recall": round(float(r), 4), "f1": round(float(f), 4)}
    neg = int((y == 0).sum())
    out["fpr"] = round(float(((pred == 1) & (y == 0)).sum() / neg), 4) if neg else None
    if prob is not None and 0 < y.sum() < len(y):
        out["pr_auc"] = round(float(average_precision_score(y, prob)), 4)
        out["ece"] = round(ece(prob, y), 4)
        out["brier"] = round(float(np.mean((prob - y) ** 2)), 4)
    return out


def macro(per_class: dict[str, dict[str, Any]], key: str = "f1") -> float:
    """Unweighted mean of a metric over classes."""
    return round(float(np.mean([m[key] for m in per_class.values()])), 4)


def keyword_scores(texts: Sequence[str], keywords: Sequence[str]) -> np.ndarray:
    """1 where the normalised text contains any keyword phrase (as whole words)."""
    from calmline.analysis.learned.text import normalize

    pads = [f" {k} " for k in keywords]
    return np.array([int(any(k in f" {normalize(t)} " for k in pads)) for t in texts])


def alert_threshold(
    p: np.ndarray, y: np.ndarray, precision_set: np.ndarray, fp_set: np.ndarray,
    min_precision: float = 0.9, max_fp_rate: float = 0.02,
) -> float:
    """Lowest threshold meeting both constraints, else 1.0.

    Precision >= ``min_precision`` on ``precision_set`` (indices) and at most ``max_fp_rate`` of ``fp_set``
    (indices of known negatives) at or above it.
    """
    ps, ys = p[precision_set], y[precision_set]
    pf = p[fp_set]
    for t in np.unique(np.round(p, 4)):
        flagged = ps >= t
        if not flagged.any():
            break
        prec = ys[flagged].mean()
        if prec >= min_precision and (pf >= t).mean() <= max_fp_rate:
            return float(t)
    return 1.0


def recall_threshold(p: np.ndarray, y: np.ndarray, rows: np.ndarray, min_recall: float) -> float:
    """Highest 4-decimal threshold with at least ``min_recall`` of the positives in ``rows`` at or above it.

    0.0 when ``rows`` holds no positive.
    """
    pos = np.sort(np.floor(p[rows][y[rows] == 1] * 1e4) / 1e4)[::-1]
    if len(pos) == 0:
        return 0.0
    k = int(np.ceil(min_recall * len(pos) - 1e-9))
    return float(pos[max(k, 1) - 1])


def rate_threshold(p: np.ndarray, rows: np.ndarray, max_rate: float) -> float:
    """Lowest 4-decimal threshold with at most ``max_rate`` of ``rows`` (known negatives) at or above it."""
    ps = np.sort(np.floor(p[rows] * 1e4) / 1e4)[::-1]
    k = int(np.floor(max_rate * len(ps) + 1e-9))
    if k >= len(ps):
        return 0.0
    return round(float(ps[k]) + 1e-4, 4)
