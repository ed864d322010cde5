"""``train_all`` (rebuild every artifact from the data dir) and ``evaluate`` (cross-validated metrics).

Every head is the same recipe: L2 logistic regression (liblinear) over scaled feature blocks
[word 1-2-gram TF-IDF, char 3-5-gram TF-IDF, static embedding], Platt-calibrated on 5-fold out-of-fold
decision values, with the decision threshold chosen on those out-of-fold probabilities. Evaluation
*cross-fits* calibration and threshold: for each fold they are chosen on the other four folds' OOF scores.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import KFold, StratifiedGroupKFold, StratifiedKFold

from calmline.analysis.learned.model import Featurizer, LinearHead
from calmline.training import cv
from calmline.training import data as D
from calmline.training.features import FeatureMatrices, build_feature_artifacts, distill_static_embedding
from calmline.training.synthetic import synthetic_suicide_set

PCA_DIMS = 256
N_FOLDS = 5
GOEMOTIONS_SUICIDE_NEGATIVES = 4000
BLOCKS = ("words", "chars", "emb")

#: Per-task recipe: regularisation C, block scales (0 = block unused), threshold objective.
RECIPES: dict[str, dict[str, Any]] = {
    "emotions": {"c": 1.0, "scales": (1.0, 1.0, 0.0), "beta": 1.0, "min_recall": 0.0},
    "suicide": {"c": 4.0, "scales": (1.0, 1.0, 1.0), "beta": 2.0, "min_recall": 0.9},
    "violence": {"c": 4.0, "scales": (1.0, 1.0, 1.0), "beta": 1.0, "min_recall": 0.0},
    "cssrs_user": {"c": 4.0, "scales": (1.0, 1.0, 1.0), "beta": 1.0, "min_recall": 0.0},
}

EMOTION_KEYWORDS: dict[str, list[str]] = {
    "anger": ["angry", "furious", "hate", "pissed", "rage", "disgusting", "mad at", "fuck", "fucking"],
    "frustration": ["annoying", "annoyed", "frustrated", "frustrating", "ridiculous", "again", "seriously",
                    "sick of", "tired of", "stupid", "wrong"],
    "fear": ["scared", "afraid", "terrified", "fear", "worried", "nervous", "anxious", "panic", "scary"],
    "sadness": ["sad", "sorry", "miss", "lost", "died", "crying", "depressed", "disappointed", "unfortunately"],
    "confusion": ["confused", "dont understand", "what do you mean", "not sure", "huh", "why", "how"],
    "relief": ["relieved", "relief", "thank god", "finally", "phew", "glad"],
    "neutral": ["ok", "okay", "yes", "the", "is"],
}
SUICIDE_KEYWORDS = ["kill myself", "suicide", "suicidal", "want to die", "end my life", "end it all",
                    "better off without me", "overdose", "hang myself", "wish i was dead", "not want to live",
                    "dont want to live", "take my life", "self harm", "cut myself"]
VIOLENCE_KEYWORDS = ["kill", "killed", "shoot", "shot", "nuke", "bomb", "burn", "hang", "die", "death",
                     "execute", "murder", "beat", "exterminate", "gas", "destroy", "slaughter"]


@dataclass
class Task:
    """A binary or multi-label training problem on one set of texts."""

    name: str
    labels: tuple[str, ...]
    texts: list[str]
    y: np.ndarray  # (n, k) 0/1
    folds: cv.Folds
    subsets: dict[str, np.ndarray] = field(default_factory=dict)  # named index sets to report separately
    keywords: dict[str, list[str]] = field(default_factory=dict)


def _suicide_task(data_dir: Path, seed: int) -> Task:
    texts: list[str] = []
    y: list[int] = []
    groups: list[str] = []
    source: list[str] = []
    for u in D.load_cssrs(data_dir):
        if u.label == "Indicator":  # at-risk language without ideation: neither clearly positive nor negative
            continue
        for p in u.posts:
            texts.append(p)
            y.append(int(u.positive))
            groups.append(u.user_id)
            source.append("cssrs_posts")
    s_texts, s_y, s_groups = synthetic_suicide_set(seed)
    texts += s_texts
    y += s_y
    groups += [f"syn-{g}" for g in s_groups]
    source += ["synthetic"] * len(s_texts)
    ge = D.load_goemotions_texts(data_dir)
    for i in sorted(random.Random(seed).sample(range(len(ge)), GOEMOTIONS_SUICIDE_NEGATIVES)):
        texts.append(ge[i])
        y.append(0)
        groups.append(f"ge-{i}")
        source.append("goemotions_negatives")
    ya = np.asarray(y)
    folds = list(StratifiedGroupKFold(N_FOLDS, shuffle=True, random_state=seed).split(texts, ya, groups))
    src = np.asarray(source)
    subsets = {s: np.flatnonzero(src == s) for s in ("cssrs_posts", "synthetic", "goemotions_negatives")}
    return Task("suicide", ("suicidal_intent",), texts, ya.reshape(-1, 1), folds, subsets,
                {"suicidal_intent": SUICIDE_KEYWORDS})


def build_tasks(data_dir: Path, seed: int) -> dict[str, Task]:
    """All four training problems with their seeded folds."""
    em = D.load_emotions(data_dir)
    ye = np.asarray(em.labels)
    emo = Task("emotions", D.EMOTION_CLASSES, em.texts, ye,
               list(KFold(N_FOLDS, shuffle=True, random_state=seed).split(ye)), keywords=EMOTION_KEYWORDS)
    vi = D.load_violence(data_dir)
    yv = np.asarray(vi.labels)
    vio = Task("violence", ("incites_violence",), vi.texts, yv.reshape(-1, 1),
               list(StratifiedKFold(N_FOLDS, shuffle=True, random_state=seed).split(vi.texts, vi.strata)),
               keywords={"incites_violence": VIOLENCE_KEYWORDS})
    users = D.load_cssrs(data_dir)
    yu = np.asarray([int(u.positive) for u in users])
    ordinal = [D.CSSRS_LABELS.index(u.label) for u in users]
    usr = Task("cssrs_user", ("ideation_or_worse",), ["\n\n".join(u.posts) for u in users], yu.reshape(-1, 1),
               list(StratifiedKFold(N_FOLDS, shuffle=True, random_state=seed).split(ordinal, ordinal)),
               keywords={"ideation_or_worse": SUICIDE_KEYWORDS})
    return {"emotions": emo, "suicide": _suicide_task(data_dir, seed), "violence": vio, "cssrs_user": usr}


def corpus_for_vocab(tasks: dict[str, Task]) -> list[str]:
    """Texts the TF-IDF vocabulary/idf are fitted on (unsupervised; all dev texts, de-duplicated)."""
    seen: dict[str, None] = {}
    for t in tasks.values():
        if t.name == "cssrs_user":
            continue  # its texts are the concatenated cssrs posts already in the suicide task
        for x in t.texts:
            seen.setdefault(x, None)
    return list(seen)


def _design(fm: FeatureMatrices, scales: tuple[float, float, float]) -> Any:
    blocks = [b for b, s in zip(BLOCKS, scales, strict=True) if s > 0]
    return fm.stacked(scales, blocks)


def _chooser(recipe: dict[str, Any]) -> Any:
    return lambda p, y: cv.best_f_threshold(p, y, recipe["beta"], recipe["min_recall"])


def evaluate_task(task: Task, fm: FeatureMatrices, recipe: dict[str, Any]) -> dict[str, Any]:
    """Cross-validated metrics of the recipe, of TF-IDF+LR (no embedding) and of the keyword list."""
    out: dict[str, Any] = {"n": len(task.texts), "recipe": {k: v for k, v in recipe.items()}}
    variants = {"model": recipe["scales"], "tfidf_lr": (1.0, 1.0, 0.0), "embedding_lr": (0.0, 0.0, 1.0)}
    for vname, scales in variants.items():
        x = _design(fm, scales)
        per_class: dict[str, Any] = {}
        for j, lab in enumerate(task.labels):
            yj = task.y[:, j]
            z = cv.oof_scores(x, yj, task.folds, recipe["c"])
            prob, pred = cv.crossfit(z, yj, task.folds, _chooser(recipe))
            m = cv.binary_metrics(yj, pred, prob)
            for sname, idx in task.subsets.items():
                m[f"subset:{sname}"] = cv.binary_metrics(yj[idx], pred[idx], None) | (
                    {"mean_prob": round(float(prob[idx].mean()), 4)})
            per_class[lab] = m
        out[vname] = {"per_class": per_class, "macro_f1": cv.macro(per_class),
                      "macro_pr_auc": cv.macro(per_class, "pr_auc")}
    kw: dict[str, Any] = {}
    for j, lab in enumerate(task.labels):
        pred = cv.keyword_scores(task.texts, task.keywords.get(lab, []))
        kw[lab] = cv.binary_metrics(task.y[:, j], pred, None)
    out["keywords"] = {"per_class": kw, "macro_f1": cv.macro(kw)}
    return out


def fit_head(task: Task, fm: FeatureMatrices, recipe: dict[str, Any], featurizer: Featurizer) -> LinearHead:
    """Final head on all data; calibration and thresholds from 5-fold OOF decision values."""
    scales = recipe["scales"]
    x = _design(fm, scales)
    vw, vc, de = featurizer.word_idf.shape[0], featurizer.char_idf.shape[0], featurizer.emb_dim
    k = len(task.labels)
    w_word = np.zeros((vw, k), np.float32)
    w_char = np.zeros((vc, k), np.float32)
    w_emb = np.zeros((de, k), np.float32)
    bias = np.zeros(k, np.float32)
    ca = np.zeros(k, np.float32)
    cb = np.zeros(k, np.float32)
    thr = np.zeros(k, np.float32)
    for j in range(k):
        yj = task.y[:, j]
        z = cv.oof_scores(x, yj, task.folds, recipe["c"])
        a, b = cv.fit_platt(z, yj)
        ca[j], cb[j] = a, b
        thr[j] = _chooser(recipe)(cv.sigmoid(a * z + b), yj)
        coef = cv.fit_lr(x, yj, recipe["c"])
        w = coef.coef_[0]
        bias[j] = coef.intercept_[0]
        off = 0
        for block, s, target in zip(BLOCKS, scales, (w_word, w_char, w_emb), strict=True):
            if s > 0:
                size = target.shape[0]
                target[:, j] = w[off : off + size]
                off += size
    return LinearHead(task.labels, np.asarray(scales, np.float32), w_word, w_char, w_emb, bias, ca, cb, thr)


def _prepare(data_dir: Path, out_dir: Path, seed: int) -> tuple[dict[str, Task], Featurizer]:
    tasks = build_tasks(data_dir, seed)
    vocab, matrix = distill_static_embedding(PCA_DIMS)
    build_feature_artifacts(corpus_for_vocab(tasks), vocab, matrix, out_dir)
    return tasks, Featurizer(out_dir)


def train_all(data_dir: Path, out_dir: Path, seed: int = 0) -> dict[str, Any]:
    """Rebuild every artifact in ``out_dir`` from ``data_dir``; returns a summary (sizes, thresholds)."""
    t0 = time.time()
    np.random.seed(seed)
    tasks, featurizer = _prepare(data_dir, out_dir, seed)
    summary: dict[str, Any] = {"seed": seed, "heads": {}}
    for name, task in tasks.items():
        fm = FeatureMatrices(featurizer, task.texts)
        head = fit_head(task, fm, RECIPES[name], featurizer)
        head.save(out_dir / f"{name}.npz")
        summary["heads"][name] = {"labels": list(head.labels), "thresholds": [round(float(t), 4) for t in head.thresholds],
                                  "n_train": len(task.texts)}
    summary["files"] = {p.name: p.stat().st_size for p in sorted(out_dir.iterdir()) if p.is_file()}
    summary["seconds"] = round(time.time() - t0, 1)
    return summary


def evaluate(data_dir: Path, seed: int = 0, tasks_wanted: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Cross-validated metrics for every task (features rebuilt in a temporary directory)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        tasks, featurizer = _prepare(data_dir, Path(tmp), seed)
        report: dict[str, Any] = {"seed": seed, "folds": N_FOLDS}
        for name, task in tasks.items():
            if tasks_wanted and name not in tasks_wanted:
                continue
            t = time.time()
            report[name] = evaluate_task(task, FeatureMatrices(featurizer, task.texts), RECIPES[name])
            report[name]["seconds"] = round(time.time() - t, 1)
            print(json.dumps({name: {v: report[name][v].get("macro_f1") for v in
                                     ("model", "tfidf_lr", "embedding_lr", "keywords")}}), flush=True)
    return report
