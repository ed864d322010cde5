"""Numpy-only inference for the learned heads: features (TF-IDF word/char n-grams + static embedding) and
linear heads with Platt calibration, all loaded from committed artifacts under ``resources/models``.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from calmline.analysis.learned.text import char_features, normalize, word_features, wordpiece

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

FEATURES_FILE = "features.npz"
WORD_VOCAB_FILE = "tfidf_words.txt.gz"
CHAR_VOCAB_FILE = "tfidf_chars.txt.gz"
EMB_VOCAB_FILE = "static_embedding.vocab.txt.gz"


def default_model_dir() -> Path:
    """Directory of the committed artifacts (``calmline/resources/models``)."""
    return Path(str(resources.files("calmline.resources").joinpath("models")))


def read_vocab(path: Path) -> dict[str, int]:
    """Read a gzip'd one-entry-per-line vocabulary; the line number is the index."""
    with gzip.open(path, "rt", encoding="utf-8", newline="\n") as fh:
        return {line.rstrip("\n"): i for i, line in enumerate(fh)}


def write_vocab(path: Path, entries: Sequence[str]) -> None:
    """Write a vocabulary readable by :func:`read_vocab` (deterministic bytes: mtime fixed to 0)."""
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz,
    ):
        gz.write("".join(f"{e}\n" for e in entries).encode("utf-8"))


@dataclass(frozen=True, slots=True)
class SparseBlock:
    """Indices and L2-normalised sublinear TF-IDF values of one feature block of one text."""

    idx: IntArray
    val: FloatArray


@dataclass(frozen=True, slots=True)
class TextFeatures:
    """All features of one text."""

    words: SparseBlock
    chars: SparseBlock
    emb: FloatArray


def _tfidf(feats: list[str], vocab: dict[str, int], idf: FloatArray) -> SparseBlock:
    counts: dict[int, int] = {}
    for f in feats:
        i = vocab.get(f)
        if i is not None:
            counts[i] = counts.get(i, 0) + 1
    if not counts:
        return SparseBlock(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
    idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
    tf = np.fromiter((1.0 + math.log(c) for c in counts.values()), dtype=np.float32, count=len(counts))
    val = tf * idf[idx]
    norm = float(np.sqrt(np.dot(val, val)))
    if norm > 0.0:
        val = val / np.float32(norm)
    return SparseBlock(idx, val.astype(np.float32))


class Featurizer:
    """Turns a raw utterance into the feature blocks every head reads."""

    def __init__(self, model_dir: Path | None = None) -> None:
        d = model_dir or default_model_dir()
        with np.load(d / FEATURES_FILE, allow_pickle=False) as z:
            self.word_idf: FloatArray = z["word_idf"].astype(np.float32)
            self.char_idf: FloatArray = z["char_idf"].astype(np.float32)
            self.emb_matrix: FloatArray = z["emb"].astype(np.float32)
            meta = json.loads(str(z["meta"]))
        self.char_n_min = int(meta["char_n_min"])
        self.char_n_max = int(meta["char_n_max"])
        self.word_vocab = read_vocab(d / WORD_VOCAB_FILE)
        self.char_vocab = read_vocab(d / CHAR_VOCAB_FILE)
        self.emb_vocab = read_vocab(d / EMB_VOCAB_FILE)
        self.unk_id = self.emb_vocab["[UNK]"]
        if len(self.word_vocab) != self.word_idf.shape[0] or len(self.char_vocab) != self.char_idf.shape[0]:
            raise ValueError("TF-IDF vocabulary and idf sizes differ")
        if len(self.emb_vocab) != self.emb_matrix.shape[0]:
            raise ValueError("static embedding vocabulary and matrix sizes differ")

    @property
    def emb_dim(self) -> int:
        """Dimension of the static embedding."""
        return int(self.emb_matrix.shape[1])

    def embed_words(self, words: list[str]) -> FloatArray:
        """Mean of the static token vectors (unknown pieces dropped), L2-normalised; zeros if none."""
        ids = [i for i in wordpiece(words, self.emb_vocab, self.unk_id) if i != self.unk_id]
        if not ids:
            return np.zeros(self.emb_dim, dtype=np.float32)
        v = self.emb_matrix[np.asarray(ids, dtype=np.int64)].mean(axis=0)
        n = float(np.sqrt(np.dot(v, v)))
        return (v / np.float32(n)).astype(np.float32) if n > 0.0 else v.astype(np.float32)

    def features(self, text: str) -> TextFeatures:
        """Features of one raw text (normalised here)."""
        words = normalize(text).split()
        return TextFeatures(
            words=_tfidf(word_features(words), self.word_vocab, self.word_idf),
            chars=_tfidf(char_features(words, self.char_n_min, self.char_n_max), self.char_vocab, self.char_idf),
            emb=self.embed_words(words),
        )


@dataclass(frozen=True, slots=True)
class LinearHead:
    """``k`` one-vs-rest logistic outputs over the concatenated (scaled) feature blocks, Platt-calibrated."""

    labels: tuple[str, ...]
    scales: FloatArray
    w_word: FloatArray
    w_char: FloatArray
    w_emb: FloatArray
    bias: FloatArray
    calib_a: FloatArray
    calib_b: FloatArray
    thresholds: FloatArray

    @classmethod
    def load(cls, path: Path) -> LinearHead:
        """Load a head saved by the training code."""
        with np.load(path, allow_pickle=False) as z:
            return cls(
                labels=tuple(str(x) for x in z["labels"]),
                scales=z["scales"].astype(np.float32),
                w_word=z["w_word"].astype(np.float32),
                w_char=z["w_char"].astype(np.float32),
                w_emb=z["w_emb"].astype(np.float32),
                bias=z["bias"].astype(np.float32),
                calib_a=z["calib_a"].astype(np.float32),
                calib_b=z["calib_b"].astype(np.float32),
                thresholds=z["thresholds"].astype(np.float32),
            )

    def logits(self, f: TextFeatures) -> FloatArray:
        """Raw decision values (before calibration) for one text."""
        scales = self.scales
        z = self.bias.copy()
        if f.words.idx.size:
            z += scales[0] * (f.words.val @ self.w_word[f.words.idx])
        if f.chars.idx.size:
            z += scales[1] * (f.chars.val @ self.w_char[f.chars.idx])
        z += scales[2] * (f.emb @ self.w_emb)
        return z.astype(np.float32)

    def save(self, path: Path) -> None:
        """Write the head (weights as float16, the rest float32)."""
        np.savez_compressed(
            path,
            labels=np.asarray(self.labels),
            scales=self.scales.astype(np.float32),
            w_word=self.w_word.astype(np.float16),
            w_char=self.w_char.astype(np.float16),
            w_emb=self.w_emb.astype(np.float32),
            bias=self.bias.astype(np.float32),
            calib_a=self.calib_a.astype(np.float32),
            calib_b=self.calib_b.astype(np.float32),
            thresholds=self.thresholds.astype(np.float32),
        )

    def calibrate(self, z: FloatArray) -> FloatArray:
        """Platt-scaled probabilities from decision values."""
        out: FloatArray = (1.0 / (1.0 + np.exp(-(self.calib_a * z + self.calib_b)))).astype(np.float32)
        return out
