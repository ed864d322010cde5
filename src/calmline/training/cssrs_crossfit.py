"""C-SSRS users through the analyzers with the learned suicide head *cross-fitted* (an honest estimate).

``calmline.evaluation.public`` runs the shipped analyzers on ``cssrs_reddit/dev.jsonl``; but the shipped
suicide head was trained on those very posts (with their user's label), so its learned flags there are
in-sample. Here each post of an Ideation/Behavior/Attempt/Supportive user is scored by the head fitted on
the other folds (the suicide task's folds are grouped by user), with Platt calibration and the alert and
flag thresholds chosen on those folds only, as ``calmline train`` would. Indicator users are not in the
head's training data, so the shipped head scores them.

A post yields a learned finding as ``LearnedRiskAnalyzer`` would - the rules found no ``suicide_risk`` on it,
probability at or above the fold's flag threshold, the caller speaks of themself - except that the context
ablation guard is not applied (it needs the fold's head on edited text), so the learned flags here are a
little more frequent than the analyzer's. A user is positive when any post yields a present or uncertain
``suicide_risk`` finding, as in ``calmline.evaluation.public``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from calmline.analysis import AnalysisContext, Turn
from calmline.analysis.base import AnalyzerRegistry
from calmline.analysis.learned_risk import LearnedRiskAnalyzer, speaks_of_self
from calmline.analysis.suicide import SuicideAnalyzer
from calmline.training import cv
from calmline.training import data as D

POSITIVE = ("Ideation", "Behavior", "Attempt")


def _prf(flagged: list[bool], positive: list[bool]) -> dict[str, Any]:
    tp = sum(f and p for f, p in zip(flagged, positive, strict=True))
    fp = sum(f and not p for f, p in zip(flagged, positive, strict=True))
    fn = sum(p and not f for f, p in zip(flagged, positive, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def cssrs_users_crossfit(
    data_dir: Path,
    oof_prob: np.ndarray,
    flag_threshold: np.ndarray,
    alert_threshold: np.ndarray,
) -> dict[str, Any]:
    """User-level figures: rules alone, rules + cross-fitted learned alert, rules + learned alert and flag.

    Args:
        data_dir: the public data folder.
        oof_prob: cross-fitted calibrated probability of each suicide-task row (its first rows are the
            non-Indicator users' posts in ``load_cssrs`` order, as ``_suicide_task`` builds them).
        flag_threshold: per row, the flag threshold chosen without the row's fold.
        alert_threshold: per row, the alert threshold chosen without the row's fold.
    """
    rules = AnalyzerRegistry([SuicideAnalyzer()])
    rules.setup()
    shipped = LearnedRiskAnalyzer()
    shipped.setup()
    raw = {row["id"]: [p for p in row["posts"] if p.strip()] for row in D._read_jsonl(
        data_dir / "cssrs_reddit" / "dev.jsonl")}
    row = 0
    flagged: dict[str, list[bool]] = {"rules": [], "rules+alert": [], "rules+alert+flag": []}
    positive: list[bool] = []
    by_label: dict[str, dict[str, int]] = {}
    for user in D.load_cssrs(data_dir):
        posts = raw[user.user_id]
        assert len(posts) == len(user.posts)
        seen = user.label != "Indicator"
        history: list[Turn] = []
        f_rules = f_alert = f_flag = False
        for i, post in enumerate(posts):
            found = rules.run(AnalysisContext(text=post, seq=i, history=tuple(history[-12:])))
            history.append(Turn(seq=i, speaker="caller", text=post))
            if any(f.type == "suicide_risk" and f.is_present for f in found):
                f_rules = True
            elif not any(f.type == "suicide_risk" for f in found) and speaks_of_self(post):
                if seen:
                    p, flag_t, alert_t = oof_prob[row], flag_threshold[row], alert_threshold[row]
                else:
                    p, flag_t, alert_t = shipped.probability(post), shipped.flag_threshold, shipped.threshold
                f_alert |= bool(p >= alert_t)
                f_flag |= bool(p >= flag_t)
            row += int(seen)
        flagged["rules"].append(f_rules)
        flagged["rules+alert"].append(f_rules or f_alert)
        flagged["rules+alert+flag"].append(f_rules or f_alert or f_flag)
        positive.append(user.label in POSITIVE)
        counts = by_label.setdefault(user.label, {"users": 0, "rules": 0, "rules+alert+flag": 0})
        counts["users"] += 1
        counts["rules"] += int(f_rules)
        counts["rules+alert+flag"] += int(f_rules or f_alert or f_flag)
    out: dict[str, Any] = {"users": len(positive), "positives": sum(positive)}
    for name, f in flagged.items():
        out[name] = _prf(f, positive)
    out["flagged_by_label"] = dict(sorted(by_label.items()))
    return out


def crossfit_thresholds(
    z: np.ndarray, y: np.ndarray, folds: cv.Folds, choose_flag: Any, choose_alert: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: cross-fitted calibrated probability, flag threshold and alert threshold.

    ``choose_flag(p_all, train_rows)`` / ``choose_alert(...)`` pick a threshold from the training rows only.
    """
    prob = np.zeros(len(y))
    flag = np.zeros(len(y))
    alert = np.zeros(len(y))
    for tr, te in folds:
        a, b = cv.fit_platt(z[tr], y[tr])
        p_all = cv.sigmoid(a * z + b)
        prob[te] = p_all[te]
        flag[te] = choose_flag(p_all, tr)
        alert[te] = choose_alert(p_all, tr)
    return prob, flag, alert
