"""Numpy-only inference for the learned heads.

Features (TF-IDF word/char n-grams + static embedding) and linear heads with Platt calibration, all loaded
from committed artifacts under ``resources/models``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import math
import zipfile
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
MANIFEST_FILE = "manifest.json"


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


def save_npz(path: Path, **arrays: npt.NDArray[np.generic]) -> None:
    """Like ``np.savez_compressed`` but byte-for-byte reproducible (fixed zip timestamps, sorted names)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)


def artifact_digest(model_dir: Path) -> str:
    """sha256 over the names and bytes of every artifact file (not cards, not the manifest)."""
    h = hashlib.sha256()
    for p in sorted(model_dir.iterdir()):
        if p.is_file() and p.name != MANIFEST_FILE and not p.name.endswith(".yaml"):
            h.update(p.name.encode("utf-8") + b"\0" + p.read_bytes())
    return h.hexdigest()


def write_manifest(model_dir: Path, extra: dict[str, object]) -> None:
    """Write ``manifest.json``: ``version`` (``learned-`` + 12 hex of the artifact digest) and ``extra``."""
    body = {"version": f"learned-{artifact_digest(model_dir)[:12]}", **extra}
    text = json.dumps(body, indent=1, sort_keys=True) + "\n"
    (model_dir / MANIFEST_FILE).write_text(text, encoding="utf-8")


def read_manifest(model_dir: Path) -> dict[str, object]:
    """The manifest written by :func:`write_manifest`."""
    out: dict[str, object] = json.loads((model_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    return out


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
        v: FloatArray = self.emb_matrix[np.asarray(ids, dtype=np.int64)].mean(axis=0).astype(np.float32)
        n = float(np.sqrt(np.dot(v, v)))
        if n > 0.0:
            v = (v / np.float32(n)).astype(np.float32)
        return v

    def features(self, text: str) -> TextFeatures:
        """Features of one raw text (normalised here)."""
        words = normalize(text).split()
        return TextFeatures(
            words=_tfidf(word_features(words), self.word_vocab, self.word_idf),
            chars=_tfidf(
                char_features(words, self.char_n_min, self.char_n_max), self.char_vocab, self.char_idf
            ),
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
        save_npz(
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


@dataclass(frozen=True, slots=True)
class Stacker:
    """Per-class logistic combination of named input columns: ``p[j] = sigmoid(weights[j] @ x + bias[j])``.

    Used to fuse the emotion heads' raw decision values (and, in the analyzer, the lexicon scores); fitted on
    out-of-fold values, so its output is already calibrated. ``thresholds`` are per-class decision points.
    """

    labels: tuple[str, ...]
    inputs: tuple[str, ...]
    weights: FloatArray  # (k, len(inputs))
    bias: FloatArray
    thresholds: FloatArray

    @classmethod
    def load(cls, path: Path) -> Stacker:
        """Load a stacker saved by :meth:`save`."""
        with np.load(path, allow_pickle=False) as z:
            return cls(
                labels=tuple(str(x) for x in z["labels"]),
                inputs=tuple(str(x) for x in z["inputs"]),
                weights=z["weights"].astype(np.float32),
                bias=z["bias"].astype(np.float32),
                thresholds=z["thresholds"].astype(np.float32),
            )

    def save(self, path: Path) -> None:
        """Write the stacker (float32)."""
        save_npz(
            path,
            labels=np.asarray(self.labels),
            inputs=np.asarray(self.inputs),
            weights=self.weights.astype(np.float32),
            bias=self.bias.astype(np.float32),
            thresholds=self.thresholds.astype(np.float32),
        )

    def predict(self, x: FloatArray) -> FloatArray:
        """Probabilities ``(k,)`` from one input vector ordered like :attr:`inputs`."""
        z = self.weights @ x.astype(np.float32) + self.bias
        out: FloatArray = (1.0 / (1.0 + np.exp(-z))).astype(np.float32)
        return out


def threshold_to_half(p: float, threshold: float) -> float:
    """Monotone piecewise-linear map of a probability so that ``threshold`` lands on 0.5 (0 -> 0, 1 -> 1)."""
    t = min(max(threshold, 1e-6), 1.0 - 1e-6)
    p = min(max(p, 0.0), 1.0)
    return 0.5 * p / t if p < t else 0.5 + 0.5 * (p - t) / (1.0 - t)
