"""Text normalisation and tokenisation shared by training and inference (pure Python).

Live transcripts arrive lower case, without punctuation and with fillers; training data (Reddit) does not.
Every text therefore goes through :func:`normalize` before any feature is computed, at training time and at
run time alike, so the models only ever see the transcript-like form.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from itertools import pairwise

_APOSTROPHES = re.compile(r"[’'`´]")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
#: Hesitation fillers produced by speech-to-text; they carry no signal for these heads.
FILLERS: frozenset[str] = frozenset(
    {"um", "umm", "uh", "uhh", "uhm", "erm", "er", "hmm", "hm", "mm", "mhm", "ah"}
)


def normalize(text: str) -> str:
    """Lower-case, strip accents and apostrophes, turn punctuation into spaces and drop fillers.

    ``"I don't  know... UM, it's—fine"`` becomes ``"i dont know its fine"``.
    """
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = _APOSTROPHES.sub("", text)
    words = [w for w in _NON_ALNUM.sub(" ", text).split() if w not in FILLERS]
    return " ".join(words)


def word_features(words: list[str]) -> list[str]:
    """Word unigrams and bigrams (bigrams joined by a space)."""
    feats = list(words)
    feats.extend(f"{a} {b}" for a, b in pairwise(words))
    return feats


def char_features(words: Iterable[str], n_min: int = 3, n_max: int = 5) -> list[str]:
    """Character n-grams inside space-padded words (like scikit-learn's ``char_wb``)."""
    feats: list[str] = []
    for w in words:
        padded = f" {w} "
        length = len(padded)
        for n in range(n_min, n_max + 1):
            if n > length:
                break
            feats.extend(padded[i : i + n] for i in range(length - n + 1))
    return feats


def wordpiece(words: Iterable[str], vocab: Mapping[str, int], unk_id: int, max_chars: int = 100) -> list[int]:
    """Greedy longest-match-first WordPiece (BERT's algorithm) over already-normalised words.

    Text from :func:`normalize` contains only ``[a-z0-9]`` words, so BERT's basic tokenizer (punctuation
    splitting, accent stripping) has nothing left to do and this gives the same pieces as the reference.
    """
    ids: list[int] = []
    for word in words:
        if len(word) > max_chars:
            ids.append(unk_id)
            continue
        start = 0
        pieces: list[int] = []
        while start < len(word):
            end = len(word)
            found = -1
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                idx = vocab.get(piece)
                if idx is not None:
                    found = idx
                    break
                end -= 1
            if found < 0:
                pieces = [unk_id]
                break
            pieces.append(found)
            start = end
        ids.extend(pieces)
    return ids
