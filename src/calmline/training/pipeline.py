"""``train_all`` (rebuild every artifact from the data dir) and ``evaluate`` (cross-validated metrics).

Every head is the same recipe: L2 logistic regression (liblinear) over scaled feature blocks
[word 1-2-gram TF-IDF, char 3-5-gram TF-IDF, static embedding], Platt-calibrated on 5-fold out-of-fold
decision values, with the decision threshold chosen on those out-of-fold probabilities. The ``emotions_nb``
head is the NB-LR variant (features scaled by naive-Bayes log-count ratios, folded back into the weights).
Evaluation *cross-fits* calibration and threshold: for each fold they are chosen on the other four folds'
OOF scores.
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

from calmline.analysis.learned import EMOTION_BASE_HEADS, EMOTION_FUSION_FILE, EMOTION_STACK_FILE
from calmline.analysis.learned.model import MANIFEST_FILE, Featurizer, LinearHead, write_manifest
from calmline.training import cv
from calmline.training import data as D
from calmline.training.cssrs_crossfit import crossfit_thresholds, cssrs_users_crossfit
from calmline.training.emotion_stack import evaluate_stack, fit_stacker, lexicon_matrix
from calmline.training.features import FeatureMatrices, build_feature_artifacts, distill_static_embedding
from calmline.training.synthetic import synthetic_suicide_set

PCA_DIMS = 256
N_FOLDS = 5
GOEMOTIONS_SUICIDE_NEGATIVES = 4000
BLOCKS = ("words", "chars", "emb")
#: Share of the suicide head's training weight per source (synthetic is clean but tiny).
SUICIDE_SOURCE_SHARE = {"cssrs_posts": 0.3, "synthetic": 0.4, "goemotions_negatives": 0.3}

#: Per-task recipe: regularisation C, block scales (0 = block unused), threshold objective, and ``nb``:
#: NB-LR (features scaled by per-class naive-Bayes log-count ratios, fitted on the training rows only).
RECIPES: dict[str, dict[str, Any]] = {
    "emotions": {"c": 1.0, "scales": (1.0, 1.0, 0.0), "beta": 1.0, "min_recall": 0.0},
    "emotions_nb": {"c": 1.0, "scales": (1.0, 1.0, 0.0), "beta": 1.0, "min_recall": 0.0, "nb": True},
    "emotions_emb": {"c": 4.0, "scales": (0.0, 0.0, 1.0), "beta": 1.0, "min_recall": 0.0},
    "suicide": {"c": 4.0, "scales": (1.0, 1.0, 1.0), "beta": 1.0, "min_recall": 0.9},
    "cssrs_user": {"c": 4.0, "scales": (1.0, 1.0, 1.0), "beta": 1.0, "min_recall": 0.0},
}

EMOTION_KEYWORDS: dict[str, list[str]] = {
    "anger": ["angry", "furious", "hate", "pissed", "rage", "disgusting", "mad at", "fuck", "fucking"],
    "frustration": ["annoying", "annoyed", "frustrated", "frustrating", "ridiculous", "again", "seriously",
                    "sick of", "tired of", "stupid", "wrong"],
    "fear": ["scared", "afraid", "terrified", "fear", "worried", "nervous", "anxious", "panic", "scary"],
    "sadness": ["sad", "sorry", "miss", "lost", "died", "crying", "depressed", "disappointed",
                "unfortunately"],
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
    #: examples the decision threshold is chosen on (None = all); calibration always uses all.
    threshold_mask: np.ndarray | None = None
    #: per-example training weights (None = 1)
    weights: np.ndarray | None = None
    #: (n, 7) lexicon scores (emotions only), computed at the start of a run: the lexicon reads
    #: emotion.yaml/context.yaml, which must not change under a long run.
    lexicon: np.ndarray | None = None


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
    # Threshold on the cleanly labelled examples only: cssrs post labels are their *user's* label and many
    # posts of at-risk users carry no intent, so a recall target on them would push the threshold too low.
    clean = src != "cssrs_posts"
    # The few clean, in-register synthetic utterances would be drowned by ~5k noisy user-labelled posts:
    # give each source a fixed share of the total weight.
    weights = np.ones(len(ya))
    for s, share in SUICIDE_SOURCE_SHARE.items():
        m = src == s
        weights[m] = share * len(ya) / m.sum()
    return Task("suicide", ("suicidal_intent",), texts, ya.reshape(-1, 1), folds, subsets,
                {"suicidal_intent": SUICIDE_KEYWORDS}, clean, weights)


def build_tasks(data_dir: Path, seed: int) -> dict[str, Task]:
    """The shipped training problems with their seeded folds (no ETHOS: it is GPL-3.0, see model cards)."""
    em = D.load_emotions(data_dir)
    ye = np.asarray(em.labels)
    emo = Task("emotions", D.EMOTION_CLASSES, em.texts, ye,
               list(KFold(N_FOLDS, shuffle=True, random_state=seed).split(ye)), keywords=EMOTION_KEYWORDS)
    users = D.load_cssrs(data_dir)
    yu = np.asarray([int(u.positive) for u in users])
    ordinal = [D.CSSRS_LABELS.index(u.label) for u in users]
    usr = Task("cssrs_user", ("ideation_or_worse",), ["\n\n".join(u.posts) for u in users], yu.reshape(-1, 1),
               list(StratifiedKFold(N_FOLDS, shuffle=True, random_state=seed).split(ordinal, ordinal)),
               keywords={"ideation_or_worse": SUICIDE_KEYWORDS})
    return {"emotions": emo, "suicide": _suicide_task(data_dir, seed), "cssrs_user": usr}


def corpus_for_vocab(tasks: dict[str, Task]) -> list[str]:
    """Texts the TF-IDF vocabulary/idf are fitted on (unsupervised; shipped tasks' texts, de-duplicated).

    Never ETHOS (GPL-3.0): ``build_tasks`` does not load it, and this refuses a task named ``violence``.
    """
    seen: dict[str, None] = {}
    for t in tasks.values():
        if t.name == "violence":
            raise ValueError("ETHOS-derived text must not enter the shipped vocabulary")
        if t.name == "cssrs_user":
            continue  # its texts are the concatenated cssrs posts already in the suicide task
        for x in t.texts:
            seen.setdefault(x, None)
    return list(seen)


def evaluate_rule_violence(data_dir: Path) -> dict[str, Any]:
    """Measurement only: the rule-based ``violence_threat`` detector against ETHOS ``violence`` labels.

    A comment counts as flagged when the default registry asserts a *present* ``violence_threat`` finding.
    ETHOS (GPL-3.0) is read here and nowhere in training; nothing derived from it is written anywhere.
    """
    from calmline.analysis import AnalysisContext
    from calmline.analysis.defaults import default_registry

    vi = D.load_violence(data_dir)
    reg = default_registry()
    reg.setup()
    y = np.asarray(vi.labels)
    pred = np.zeros(len(y), dtype=int)
    for i, text in enumerate(vi.texts):
        found = reg.run(AnalysisContext(text=text))
        pred[i] = int(any(f.type == "violence_threat" and f.assertion == "present" for f in found))
    out: dict[str, Any] = {"rule_based": cv.binary_metrics(y, pred, None)}
    strata = np.asarray(vi.strata)
    for s in sorted(set(vi.strata)):
        m = strata == s
        out["rule_based"][f"subset:{s}"] = {"n": int(m.sum()), "flagged": int(pred[m].sum()),
                                            "positives": int(y[m].sum())}
    out["keywords"] = cv.binary_metrics(y, cv.keyword_scores(vi.texts, VIOLENCE_KEYWORDS), None)
    return out


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
        if vname != "model" and tuple(scales) == tuple(recipe["scales"]):
            out[vname] = out["model"]  # same design as the shipped recipe
            continue
        x = _design(fm, scales)
        per_class: dict[str, Any] = {}
        for j, lab in enumerate(task.labels):
            yj = task.y[:, j]
            z = cv.oof_scores(x, yj, task.folds, recipe["c"], task.weights,
                              nb=vname == "model" and recipe.get("nb", False))
            prob, pred = cv.crossfit(z, yj, task.folds, _chooser(recipe), task.threshold_mask)
            m = cv.binary_metrics(yj, pred, prob)
            for sname, idx in task.subsets.items():
                m[f"subset:{sname}"] = cv.binary_metrics(yj[idx], pred[idx], prob[idx]) | (
                    {"mean_prob": round(float(prob[idx].mean()), 4)})
            if task.threshold_mask is not None:
                idx = np.flatnonzero(task.threshold_mask)
                m["subset:threshold_set"] = cv.binary_metrics(yj[idx], pred[idx], prob[idx])
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
    """Final head on all data; calibration and thresholds from 5-fold OOF decision values.

    With ``recipe["nb"]`` the NB-LR weights are stored already multiplied by the log-count ratios, so the
    run-time :class:`LinearHead` needs no change.
    """
    nb = bool(recipe.get("nb", False))
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
        z = cv.oof_scores(x, yj, task.folds, recipe["c"], task.weights, nb=nb)
        a, b = cv.fit_platt(z, yj)
        ca[j], cb[j] = a, b
        sel = np.ones(len(yj), bool) if task.threshold_mask is None else task.threshold_mask
        thr[j] = _chooser(recipe)(cv.sigmoid(a * z[sel] + b), yj[sel])
        if nb:
            w, bias[j] = cv.fit_nb_lr(x, yj, recipe["c"], task.weights)
        else:
            coef = cv.fit_lr(x, yj, recipe["c"], task.weights)
            w = coef.coef_[0]
            bias[j] = coef.intercept_[0]
        off = 0
        for s, target in zip(scales, (w_word, w_char, w_emb), strict=True):
            if s > 0:
                size = target.shape[0]
                target[:, j] = w[off : off + size]
                off += size
    return LinearHead(task.labels, np.asarray(scales, np.float32), w_word, w_char, w_emb, bias, ca, cb, thr)


#: Operating point of the learned suicide *alert* (LearnedRiskAnalyzer): precision on the synthetic
#: call-style set and share of GoEmotions comments flagged.
ALERT_MIN_PRECISION = 0.9
ALERT_MAX_GOEMOTIONS_RATE = 0.02


def suicide_alert_threshold(task: Task, prob: np.ndarray, idx: np.ndarray | None = None) -> float:
    """High-precision alert threshold on calibrated probabilities ``prob`` (restricted to rows ``idx``)."""
    rows = np.arange(len(task.texts)) if idx is None else idx
    syn = np.intersect1d(task.subsets["synthetic"], rows)
    ge = np.intersect1d(task.subsets["goemotions_negatives"], rows)
    return cv.alert_threshold(prob, task.y[:, 0], syn, ge, ALERT_MIN_PRECISION, ALERT_MAX_GOEMOTIONS_RATE)


#: Lower *flag* operating point of the learned suicide head (LearnedRiskAnalyzer: an ``uncertain`` low-tier
#: finding that prompts the agent to ask directly, no supervisor alert): a recall target on the synthetic
#: call-style positives, within a false-flag budget on generic text. The threshold is the higher of (a) the
#: highest one at which ``FLAG_MIN_RECALL`` of the synthetic positives score at or above it and (b) the lowest
#: one flagging at most ``FLAG_MAX_GOEMOTIONS_RATE`` of the GoEmotions negatives, on out-of-fold probabilities
#: (folds grouped by template and by user, so every row is scored by a head that never saw its template or
#: user). The budget binds on this data: recall alone (0.31) flagged 21 % of GoEmotions comments (OOF) and a
#: third of the call set's rows without suicide content. Chosen on the head's own training data only: never
#: on eval/sets or on C-SSRS user outcomes through the analyzers. 2.5 times the alert's budget: the flag is a
#: prompt to the agent, not a page.
FLAG_MIN_RECALL = 0.9
FLAG_MAX_GOEMOTIONS_RATE = 0.05


def suicide_flag_threshold(task: Task, prob: np.ndarray, idx: np.ndarray | None = None) -> float:
    """Flag threshold on calibrated probabilities ``prob`` (restricted to rows ``idx``); see above.

    Never above the alert threshold on the same rows.
    """
    rows = np.arange(len(task.texts)) if idx is None else idx
    syn = np.intersect1d(task.subsets["synthetic"], rows)
    ge = np.intersect1d(task.subsets["goemotions_negatives"], rows)
    flag = max(
        cv.recall_threshold(prob, task.y[:, 0], syn, FLAG_MIN_RECALL),
        cv.rate_threshold(prob, ge, FLAG_MAX_GOEMOTIONS_RATE),
    )
    return min(flag, suicide_alert_threshold(task, prob, idx))


def _per_source(task: Task, prob: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    y = task.y[:, 0]
    out: dict[str, Any] = {}
    for sname, idx in task.subsets.items():
        m = cv.binary_metrics(y[idx], pred[idx], prob[idx])
        out[sname] = m | {"flagged_rate": round(float(pred[idx].mean()), 4)}
    return out


def evaluate_operating_points(
    data_dir: Path, task: Task, fm: FeatureMatrices, recipe: dict[str, Any]
) -> dict[str, Any]:
    """Cross-fitted alert and flag operating points, and C-SSRS users through the analyzers with them.

    For each fold, calibration and both thresholds are chosen on the other four folds' OOF scores and applied
    to it; metrics per source. ``cssrs_users_crossfit``: see :mod:`calmline.training.cssrs_crossfit`.
    """
    x = _design(fm, recipe["scales"])
    y = task.y[:, 0]
    z = cv.oof_scores(x, y, task.folds, recipe["c"], task.weights)
    prob, flag, alert = crossfit_thresholds(
        z, y, task.folds,
        lambda p, tr: suicide_flag_threshold(task, p, tr),
        lambda p, tr: suicide_alert_threshold(task, p, tr),
    )
    firsts = [te[0] for _, te in task.folds]
    out: dict[str, Any] = {}
    for name, thr in (("alert", alert), ("flag", flag)):
        pred = (prob >= thr).astype(int)
        per_fold = [round(float(thr[i]), 4) for i in firsts]
        out[name] = {"fold_thresholds": per_fold} | _per_source(task, prob, pred)
    out["cssrs_users_crossfit"] = cssrs_users_crossfit(data_dir, prob, flag, alert)
    return out


def emotion_stack_inputs(
    task: Task, fm: FeatureMatrices, with_lexicon: bool
) -> dict[str, np.ndarray]:
    """Named OOF stacker inputs: ``<head>:<class>`` decision values (+ ``lexicon:<class>``)."""
    inputs: dict[str, np.ndarray] = {}
    for head in EMOTION_BASE_HEADS:
        r = RECIPES[head]
        x = _design(fm, r["scales"])
        for j, lab in enumerate(task.labels):
            inputs[f"{head}:{lab}"] = cv.oof_scores(x, task.y[:, j], task.folds, r["c"],
                                                    nb=r.get("nb", False))
    if with_lexicon:
        lex = task.lexicon if task.lexicon is not None else lexicon_matrix(task.texts)
        for j, lab in enumerate(task.labels):
            inputs[f"lexicon:{lab}"] = lex[:, j]
    return inputs


def _prepare(data_dir: Path, out_dir: Path, seed: int) -> tuple[dict[str, Task], Featurizer]:
    tasks = build_tasks(data_dir, seed)
    tasks["emotions"].lexicon = lexicon_matrix(tasks["emotions"].texts)
    vocab, matrix = distill_static_embedding(PCA_DIMS)
    build_feature_artifacts(corpus_for_vocab(tasks), vocab, matrix, out_dir)
    return tasks, Featurizer(out_dir)


def train_all(data_dir: Path, out_dir: Path, seed: int = 0) -> dict[str, Any]:
    """Rebuild every artifact in ``out_dir`` from ``data_dir``; returns a summary (sizes, thresholds)."""
    t0 = time.time()
    np.random.seed(seed)
    tasks, featurizer = _prepare(data_dir, out_dir, seed)
    summary: dict[str, Any] = {"seed": seed, "heads": {}}
    np.random.seed(seed)
    manifest: dict[str, Any] = {"seed": seed}
    for name, task in tasks.items():
        fm = FeatureMatrices(featurizer, task.texts)
        head = fit_head(task, fm, RECIPES[name], featurizer)
        head.save(out_dir / f"{name}.npz")
        if name == "emotions":
            for base in EMOTION_BASE_HEADS[1:]:
                fit_head(task, fm, RECIPES[base], featurizer).save(out_dir / f"{base}.npz")
            inputs = emotion_stack_inputs(task, fm, with_lexicon=True)
            learned = {k: v for k, v in inputs.items() if not k.startswith("lexicon:")}
            stack = fit_stacker(learned, task.y, task.folds, task.labels)
            stack.save(out_dir / EMOTION_STACK_FILE)
            fusion = fit_stacker(inputs, task.y, task.folds, task.labels)
            fusion.save(out_dir / EMOTION_FUSION_FILE)
            summary["heads"]["emotion_stack"] = [round(float(t), 4) for t in stack.thresholds]
            summary["heads"]["emotion_fusion"] = [round(float(t), 4) for t in fusion.thresholds]
        if name == "suicide":
            x = _design(fm, RECIPES[name]["scales"])
            z = cv.oof_scores(x, task.y[:, 0], task.folds, RECIPES[name]["c"], task.weights)
            prob = cv.sigmoid(head.calib_a[0] * z + head.calib_b[0])
            manifest["suicide_alert_threshold"] = round(suicide_alert_threshold(task, prob), 4)
            manifest["suicide_flag_threshold"] = round(suicide_flag_threshold(task, prob), 4)
        summary["heads"][name] = {
            "labels": list(head.labels),
            "thresholds": [round(float(t), 4) for t in head.thresholds],
            "n_train": len(task.texts),
        }
    write_manifest(out_dir, manifest)
    summary["manifest"] = json.loads((out_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
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
            fm = FeatureMatrices(featurizer, task.texts)
            report[name] = evaluate_task(task, fm, RECIPES[name])
            if name == "suicide":
                report[name] |= evaluate_operating_points(data_dir, task, fm, RECIPES[name])
            if name == "emotions":
                inputs = emotion_stack_inputs(task, fm, with_lexicon=True)
                k = len(task.labels)
                variants = {
                    "fusion_tfidf+nb+emb+lexicon": (*EMOTION_BASE_HEADS, "lexicon"),  # shipped (analyzer)
                    "stack_tfidf+nb+emb": EMOTION_BASE_HEADS,  # shipped learned-only
                    "fusion_tfidf+emb+lexicon": ("emotions", "emotions_emb", "lexicon"),  # round 2
                    "stack_tfidf+emb": ("emotions", "emotions_emb"),
                    "nb_lr_only": ("emotions_nb",),
                    "lexicon_only_calibrated": ("lexicon",),
                }
                for vname, prefixes in variants.items():
                    f = np.column_stack([v for n, v in inputs.items() if n.split(":")[0] in prefixes])
                    report[name][vname] = evaluate_stack([f] * k, task.y, task.folds, task.labels)
            report[name]["seconds"] = round(time.time() - t, 1)
            print(json.dumps({name: {v: report[name][v].get("macro_f1") for v in
                                     ("model", "tfidf_lr", "embedding_lr", "keywords")}}), flush=True)
        if not tasks_wanted or "violence" in tasks_wanted:
            report["violence"] = evaluate_rule_violence(data_dir)
            print(json.dumps({"violence": report["violence"]["rule_based"]}), flush=True)
    return report
