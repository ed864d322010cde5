"""Normalised token view of an utterance, tolerant of speech-to-text output.

Rules never match the raw transcript. They match ``NormText.norm``: lower-case tokens joined by single spaces,
with apostrophes removed (``i'm`` and ASR ``im`` are the same token), common spoken contractions expanded
(``gonna`` → ``going to``), fillers (``um``, ``uh``, ``you know``) dropped and stutters (``i i want``)
collapsed. Every normalised token keeps the character span of the original text it came from, so a match on
the normalised string maps back to evidence spans in the utterance.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|[.,!?;]")

#: Spoken forms expanded before matching, so a lexicon writes only the full form.
EXPANSIONS: dict[str, tuple[str, ...]] = {
    "gonna": ("going", "to"),
    "wanna": ("want", "to"),
    "gotta": ("got", "to"),
    "hafta": ("have", "to"),
    "imma": ("im", "going", "to"),
    "ima": ("im", "going", "to"),
    "cuz": ("because",),
    "cos": ("because",),
    "u": ("you",),
    "ur": ("your",),
    "mum": ("mom",),
    "mommy": ("mom",),
    "momma": ("mom",),
    "daddy": ("dad",),
    "okay": ("ok",),
    "alright": ("ok",),
}
#: Single-token fillers that carry no meaning in a transcript.
#: Not "er": in a medical call that is the emergency room.
FILLERS: frozenset[str] = frozenset({"um", "umm", "uh", "uhh", "uhm", "erm", "hmm", "mm", "ah"})
#: Two-token fillers.
FILLER_PAIRS: frozenset[tuple[str, str]] = frozenset({("you", "know"), ("i", "mean"), ("sort", "of")})
#: ``like`` is a filler unless it follows one of these (then it is a verb or a comparison).
_LIKE_KEEP_AFTER: frozenset[str] = frozenset(
    {
        "i",
        "id",
        "would",
        "you",
        "we",
        "they",
        "feel",
        "feels",
        "felt",
        "feeling",
        "look",
        "looks",
        "looked",
        "sound",
        "sounds",
        "seem",
        "seems",
        "dont",
        "didnt",
        "not",
        "just",
        "something",
        "anything",
        "more",
    }
)


@dataclass(frozen=True, slots=True)
class Token:
    """One normalised token and the character span of the original text it stands for."""

    norm: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class NormText:
    """An utterance as a normalised token sequence (see the module docstring)."""

    text: str
    tokens: tuple[Token, ...]
    norm: str
    #: For every character of ``norm``, the index of the token it belongs to (a space maps to the next token).
    token_at: tuple[int, ...]

    def token_range(self, start: int, end: int) -> tuple[int, int]:
        """Token indices ``[first, last + 1)`` covered by the ``norm`` character range ``[start, end)``."""
        first = self.token_at[start]
        last = self.token_at[max(start, end - 1)]
        return first, max(first, last) + 1

    def char_span(self, first: int, stop: int) -> tuple[int, int]:
        """Character span in the original text of tokens ``[first, stop)``."""
        return self.tokens[first].start, self.tokens[max(first, stop - 1)].end

    def token_span_of_chars(self, start: int, end: int) -> tuple[int, int]:
        """Token indices ``[first, stop)`` overlapping the original-text span ``[start, end)``."""
        idx = [i for i, t in enumerate(self.tokens) if t.start < end and t.end > start]
        if not idx:
            after = [i for i, t in enumerate(self.tokens) if t.start >= start]
            first = after[0] if after else len(self.tokens)
            return first, first
        return idx[0], idx[-1] + 1


def _raw_tokens(text: str) -> list[Token]:
    out: list[Token] = []
    for m in _TOKEN.finditer(text):
        word = m.group().lower().replace("'", "").replace("’", "")
        for part in EXPANSIONS.get(word, (word,)):
            out.append(Token(part, m.start(), m.end()))
    return out


def _drop_fillers(tokens: list[Token]) -> list[Token]:
    out: list[Token] = []
    i = 0
    dropped_at: set[int] = set()  # positions in ``out`` right after a dropped filler
    while i < len(tokens):
        tok = tokens[i]
        pair = (tok.norm, tokens[i + 1].norm) if i + 1 < len(tokens) else None
        if pair in FILLER_PAIRS and not _pair_is_meaningful(tokens, i):
            i += 2
            dropped_at.add(len(out))
            continue
        prev = out[-1].norm if out else ""
        if tok.norm in FILLERS or (tok.norm == "like" and prev not in _LIKE_KEEP_AFTER):
            i += 1
            dropped_at.add(len(out))
            continue
        out.append(tok)
        i += 1
    # "i'm not, um, suicidal": the commas around a dropped filler are not clause breaks.
    return [t for k, t in enumerate(out) if not (t.norm == "," and (k in dropped_at or k + 1 in dropped_at))]


def _pair_is_meaningful(tokens: list[Token], i: int) -> bool:
    # "do you know", "i mean it", "what i mean": keep the pair when it is the sentence's verb.
    prev = tokens[i - 1].norm if i > 0 else ""
    nxt = tokens[i + 2].norm if i + 2 < len(tokens) else ""
    if tokens[i].norm == "you":
        return prev in {"do", "did", "dont", "if", "would", "will", "ya", "as"}
    if tokens[i].norm == "i":
        return nxt in {"it", "that", "what", "to", "no", "business"} or prev in {"what", "if"}
    return prev in {"what", "that", "a", "some", "this", "any"}


def _collapse_repeats(tokens: list[Token]) -> list[Token]:
    out: list[Token] = []
    for tok in tokens:
        if out and out[-1].norm == tok.norm and tok.norm not in {",", "."}:
            continue  # "i i want" → "i want"
        if len(out) >= 3 and out[-1].norm == out[-3].norm and tok.norm == out[-2].norm:
            # "i want i want to" → "i want to": drop the second copy of a repeated pair
            out.pop()
            continue
        out.append(tok)
    return out


@lru_cache(maxsize=256)
def normalize(text: str) -> NormText:
    """Normalise ``text`` (cached: analyzers of one utterance share the work)."""
    return from_tokens(text, _collapse_repeats(_drop_fillers(_raw_tokens(text))))


def from_tokens(text: str, tokens: Sequence[Token]) -> NormText:
    """The normalised view of ``text`` made of ``tokens`` (joined by single spaces)."""
    parts: list[str] = []
    token_at: list[int] = []
    for i, tok in enumerate(tokens):
        if i:
            parts.append(" ")
            token_at.append(i)
        parts.append(tok.norm)
        token_at.extend([i] * len(tok.norm))
    return NormText(text=text, tokens=tuple(tokens), norm="".join(parts), token_at=tuple(token_at))


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a rule pattern so that it only matches whole normalised tokens."""
    return re.compile(rf"(?<![^\W_])(?:{pattern})(?![^\W_])")
