"""Learned text heads (emotions, suicidal intent, C-SSRS call-level risk).

No shipped artifact is derived from ETHOS (GPL-3.0); violent language is left to the rule-based analyzer.

Inference is numpy-only: TF-IDF word/char n-grams from saved vocabularies, a static (model2vec-distilled
all-MiniLM-L6-v2) token-embedding lookup with a pure-Python WordPiece, and linear heads with Platt
calibration (the NB-LR emotion head is an ordinary linear head: its naive-Bayes feature scaling is
folded into the stored weights). Artifacts live in ``calmline/resources/models`` and are rebuilt by
``calmline.training``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from calmline.analysis.learned.model import (
    Featurizer,
    FloatArray,
    LinearHead,
    Stacker,
    default_model_dir,
    read_manifest,
)
from calmline.analysis.learned.text import normalize

EMOTION_CLASSES: tuple[str, ...] = (
    "anger", "frustration", "fear", "sadness", "confusion", "relief", "neutral"
)
HEADS: tuple[str, ...] = ("emotions", "emotions_nb", "emotions_emb", "suicide", "cssrs_user")
#: Heads whose raw decision values feed the emotion stacker (TF-IDF head, NB-weighted TF-IDF head,
#: static-embedding head).
EMOTION_BASE_HEADS: tuple[str, ...] = ("emotions", "emotions_nb", "emotions_emb")
EMOTION_STACK_FILE = "emotions.stack.npz"
EMOTION_FUSION_FILE = "emotions.fusion.npz"

__all__ = [
    "EMOTION_BASE_HEADS",
    "EMOTION_CLASSES",
    "LearnedModels",
    "cssrs_user_probability",
    "emotion_decisions",
    "load_models",
    "normalize",
    "predict_emotions",
    "suicide_probability",
]


class LearnedModels:
    """The featurizer and all heads, loaded once from a model directory."""

    def __init__(self, model_dir: Path | None = None) -> None:
        d = model_dir or default_model_dir()
        self.featurizer = Featurizer(d)
        self.heads: dict[str, LinearHead] = {name: LinearHead.load(d / f"{name}.npz") for name in HEADS}
        manifest = read_manifest(d)
        #: Content hash of the artifacts (changes whenever any weight or vocabulary changes).
        self.version = str(manifest["version"])
        #: High-precision alert threshold of the suicide head (see suicide.card.yaml).
        self.suicide_alert_threshold = float(str(manifest["suicide_alert_threshold"]))
        #: Lower recall-target flag threshold of the suicide head (an uncertain, low-tier finding); a manifest
        #: without one (older artifacts) means no flag: the alert threshold.
        self.suicide_flag_threshold = float(
            str(manifest.get("suicide_flag_threshold", manifest["suicide_alert_threshold"]))
        )
        #: Learned-only emotion probabilities (TF-IDF + embedding heads) and the lexicon fusion.
        self.emotion_stack = Stacker.load(d / EMOTION_STACK_FILE)
        self.emotion_fusion = Stacker.load(d / EMOTION_FUSION_FILE)
        for h in (*EMOTION_BASE_HEADS, "emotion_stack", "emotion_fusion"):
            labels = self.heads[h].labels if h in self.heads else getattr(self, h).labels
            if labels != EMOTION_CLASSES:
                raise ValueError(f"{h} labels {labels} != {EMOTION_CLASSES}")

    def emotion_inputs(self, text: str, lexicon: Sequence[float] | None = None) -> dict[str, float]:
        """Named stacker inputs: ``<head>:<class>`` raw decision values (+ ``lexicon:<class>``)."""
        f = self.featurizer.features(text)
        out: dict[str, float] = {}
        for h in EMOTION_BASE_HEADS:
            z = self.heads[h].logits(f)
            out.update({f"{h}:{c}": float(v) for c, v in zip(EMOTION_CLASSES, z, strict=True)})
        if lexicon is not None:
            out.update({f"lexicon:{c}": float(v) for c, v in zip(EMOTION_CLASSES, lexicon, strict=True)})
        return out

    def emotion_learned_and_fused(self, text: str, lexicon: Sequence[float]) -> tuple[FloatArray, FloatArray]:
        """Learned-only and lexicon-fused ``(7,)`` probabilities, features computed once."""
        named = self.emotion_inputs(text, lexicon)
        ls, fs = self.emotion_stack, self.emotion_fusion
        learned = ls.predict(np.asarray([named[i] for i in ls.inputs], dtype=np.float32))
        fused = fs.predict(np.asarray([named[i] for i in fs.inputs], dtype=np.float32))
        return learned, fused

    def emotion_probabilities(self, text: str, lexicon: Sequence[float] | None = None) -> FloatArray:
        """Calibrated ``(7,)`` probabilities: learned only, or fused with the 7 lexicon scores when given."""
        stack = self.emotion_stack if lexicon is None else self.emotion_fusion
        named = self.emotion_inputs(text, lexicon)
        x = np.asarray([named[i] for i in stack.inputs], dtype=np.float32)
        return stack.predict(x)

    def probabilities(self, head: str, texts: Sequence[str]) -> FloatArray:
        """Calibrated probabilities, shape ``(len(texts), n_labels)`` (``emotions``: the learned stack)."""
        if head == "emotions":
            out_e = np.zeros((len(texts), len(EMOTION_CLASSES)), dtype=np.float32)
            for i, text in enumerate(texts):
                out_e[i] = self.emotion_probabilities(text)
            return out_e
        h = self.heads[head]
        out = np.zeros((len(texts), len(h.labels)), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = h.calibrate(h.logits(self.featurizer.features(text)))
        return out

    def predict_all(self, texts: Sequence[str]) -> dict[str, FloatArray]:
        """Every utterance output at once (features computed once per text): ``{"emotions", "suicide"}``."""
        out = {
            "emotions": np.zeros((len(texts), len(EMOTION_CLASSES)), dtype=np.float32),
            "suicide": np.zeros((len(texts), 1), dtype=np.float32),
        }
        stack = self.emotion_stack
        for i, text in enumerate(texts):
            f = self.featurizer.features(text)
            named: dict[str, float] = {}
            for h in EMOTION_BASE_HEADS:
                z = self.heads[h].logits(f)
                named.update({f"{h}:{c}": float(v) for c, v in zip(EMOTION_CLASSES, z, strict=True)})
            out["emotions"][i] = stack.predict(np.asarray([named[k] for k in stack.inputs], dtype=np.float32))
            head = self.heads["suicide"]
            out["suicide"][i] = head.calibrate(head.logits(f))
        return out

    def thresholds(self, head: str) -> FloatArray:
        """Decision thresholds on the calibrated probabilities (chosen in cross-validation)."""
        if head == "emotions":
            return self.emotion_stack.thresholds.copy()
        if head == "emotion_fusion":
            return self.emotion_fusion.thresholds.copy()
        return self.heads[head].thresholds.copy()


@lru_cache(maxsize=4)
def load_models(model_dir: Path | None = None) -> LearnedModels:
    """Load (once per directory) the committed artifacts."""
    return LearnedModels(model_dir)


def predict_emotions(texts: Sequence[str], model_dir: Path | None = None) -> FloatArray:
    """Per-class probabilities ``(n, 7)`` in :data:`EMOTION_CLASSES` order (one-vs-rest, not summing to 1)."""
    return load_models(model_dir).probabilities("emotions", texts)


def emotion_decisions(texts: Sequence[str], model_dir: Path | None = None) -> np.ndarray:
    """Boolean ``(n, 7)``: probability >= the class's cross-validated threshold (multi-label)."""
    m = load_models(model_dir)
    return np.asarray(m.probabilities("emotions", texts) >= m.thresholds("emotions"))


def suicide_probability(texts: Sequence[str], model_dir: Path | None = None) -> FloatArray:
    """Calibrated probability ``(n,)`` that each utterance expresses suicidal intent/behaviour."""
    return load_models(model_dir).probabilities("suicide", texts)[:, 0]


def cssrs_user_probability(utterances: Sequence[str], model_dir: Path | None = None) -> float:
    """Probability that a whole call (all caller utterances) shows ideation or worse on C-SSRS."""
    text = "\n\n".join(utterances)
    return float(load_models(model_dir).probabilities("cssrs_user", [text])[0, 0])
