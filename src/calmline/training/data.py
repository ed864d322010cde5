"""Loading the shared dev data sets and turning them into training examples.

Nothing here copies data into the repository; every function reads ``data_dir`` (``/work/shared/data``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The seven caller-emotion classes, in output column order.
EMOTION_CLASSES: tuple[str, ...] = (
    "anger", "frustration", "fear", "sadness", "confusion", "relief", "neutral"
)

#: GoEmotions (28 labels) -> calmline emotion class. Labels not listed (admiration, amusement,
#: approval,
#: caring, curiosity, desire, embarrassment, excitement, gratitude, joy, love, optimism, pride,
#: realization, surprise) are out of scope: an example carrying only such labels is not used for the
#: emotion head. Rationale (docs/MODELS.md):
#: - anger <- anger, disgust: disgust has no class of its own and its GoEmotions examples are mostly
#:   hostile/contemptuous ("that's disgusting, you people ...").
#: - frustration <- annoyance, disapproval: GoEmotions defines annoyance as "mild anger, irritation";
#:   disapproval ("having or expressing an unfavourable opinion") is the complaining register of a
#:   frustrated caller; the GoEmotions paper's Ekman grouping puts both next to anger.
#: - fear <- fear, nervousness (Ekman grouping).
#: - sadness <- sadness, grief, disappointment, remorse (Ekman grouping minus embarrassment, which is
#:   about social awkwardness rather than low mood).
#: - confusion <- confusion; relief <- relief; neutral <- neutral.
GOEMOTIONS_MAP: dict[str, str] = {
    "anger": "anger",
    "disgust": "anger",
    "annoyance": "frustration",
    "disapproval": "frustration",
    "fear": "fear",
    "nervousness": "fear",
    "sadness": "sadness",
    "grief": "sadness",
    "disappointment": "sadness",
    "remorse": "sadness",
    "confusion": "confusion",
    "relief": "relief",
    "neutral": "neutral",
}

CSSRS_LABELS: tuple[str, ...] = ("Supportive", "Indicator", "Ideation", "Behavior", "Attempt")
#: C-SSRS levels counted as positive ("ideation or worse").
CSSRS_POSITIVE: frozenset[str] = frozenset({"Ideation", "Behavior", "Attempt"})

# The Reddit C-SSRS authors replaced lay words with medical-lexicon concepts (README caveat); the
# capitalised concept tokens are mapped back to their most common lay source so that they do not act as
# spurious cues and so that the text looks like ordinary speech.
_CSSRS_LEXICON_UNDO: dict[str, str] = {
    "Pain": "hurt",
    "Tired": "very",
    "Asthenia": "week",
    "Illness": "sick",
    "Stress": "stress",
    "Exhaustion": "exhausted",
}
_CSSRS_RE = re.compile(r"\b(" + "|".join(_CSSRS_LEXICON_UNDO) + r")\b")


def undo_cssrs_lexicon(text: str) -> str:
    """Map the data set's medical-concept substitutions back to lay words (capitalised forms only)."""
    return _CSSRS_RE.sub(lambda m: _CSSRS_LEXICON_UNDO[m.group(1)], text)


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


@dataclass(frozen=True)
class EmotionData:
    """GoEmotions examples with at least one in-scope label, as a multi-label indicator matrix."""

    texts: list[str]
    labels: list[list[int]]  # one 0/1 row of len(EMOTION_CLASSES) per text


def load_emotions(data_dir: Path) -> EmotionData:
    """In-scope GoEmotions dev examples mapped to :data:`EMOTION_CLASSES`."""
    texts: list[str] = []
    labels: list[list[int]] = []
    for row in _read_jsonl(data_dir / "goemotions" / "dev.jsonl"):
        mapped = {GOEMOTIONS_MAP[lab] for lab in row["labels"] if lab in GOEMOTIONS_MAP}
        if not mapped:
            continue
        texts.append(row["text"])
        labels.append([int(c in mapped) for c in EMOTION_CLASSES])
    return EmotionData(texts, labels)


def load_goemotions_texts(data_dir: Path) -> list[str]:
    """All GoEmotions dev texts (used as generic non-suicidal Reddit negatives)."""
    return [row["text"] for row in _read_jsonl(data_dir / "goemotions" / "dev.jsonl")]


@dataclass(frozen=True)
class CssrsUser:
    """One Reddit user (one "call") with C-SSRS label."""

    user_id: str
    label: str
    posts: list[str]

    @property
    def positive(self) -> bool:
        """Ideation or worse."""
        return self.label in CSSRS_POSITIVE


def load_cssrs(data_dir: Path) -> list[CssrsUser]:
    """Reddit C-SSRS users with the lexicon substitution undone."""
    return [
        CssrsUser(row["id"], row["label"], [undo_cssrs_lexicon(p) for p in row["posts"] if p.strip()])
        for row in _read_jsonl(data_dir / "cssrs_reddit" / "dev.jsonl")
    ]


@dataclass(frozen=True)
class ViolenceData:
    """ETHOS comments; ``labels[i]`` is 1 when raters found that the comment incites violence."""

    texts: list[str]
    labels: list[int]
    strata: list[str]


def load_violence(data_dir: Path) -> ViolenceData:
    """ETHOS dev comments labelled violent (violence score >= 0.5) or not."""
    rows = list(_read_jsonl(data_dir / "ethos_violence" / "dev.jsonl"))
    return ViolenceData(
        [r["text"] for r in rows], [int(bool(r["violence"])) for r in rows], [r["class"] for r in rows]
    )
