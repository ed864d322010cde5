"""Emotion and distress of caller utterances: learned emotion heads fused with the emotion lexicon.

For every caller utterance the analyzer returns one ``emotion`` finding for each of :data:`EMOTIONS`
(``level`` is the emotion, ``score`` 0..1, 0.5 or more means present, evidence where cue words matched) and
exactly one ``distress`` finding (``level`` "distress"). Emotions are polarity; distress is intensity, built
from negative emotions, intensifiers ("so", "really"), exclamation, repeated words ("please please"), crying
words, and a floor set by risk findings already in ``ctx.prior`` (hence this analyzer runs last).

Fusion: the lexicon scores (noisy-or of context-weighted cues) and the raw decision values of the learned
TF-IDF, NB-LR and static-embedding heads go into a per-class logistic stacker fitted on out-of-fold values
(``calmline.training``), so its probability is calibrated; the class's cross-validated threshold is then
mapped monotonically to 0.5. The learned part dominates on general text; lexicon cues still count for
call-specific phrasing. A cue that the context engine finds negated or hypothetical ("I'm not angry")
caps the emotion below 0.5 (historical: below 0.5 but above 0), whatever the learned part says. Neutral is
held below 0.5 when another emotion is present and scores higher than neutral.
Each finding has ``rule_id`` "learned+lexicon" and notes with both parts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from itertools import pairwise
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from calmline.analysis.base import AnalysisContext
from calmline.analysis.context import ContextEngine, default_engine
from calmline.analysis.learned import LearnedModels, load_models
from calmline.analysis.learned.model import threshold_to_half
from calmline.analysis.rules import load_rules
from calmline.analysis.text import FILLERS, compile_pattern, normalize
from calmline.events import Finding, Speaker

EmotionName = Literal["anger", "frustration", "fear", "sadness", "confusion", "relief"]
#: The emotions reported for every caller utterance, in contract order.
EMOTIONS: tuple[str, ...] = ("anger", "frustration", "fear", "sadness", "confusion", "relief", "neutral")
#: How much of a cue counts under each assertion.
_CUE_WEIGHT = {"present": 1.0, "uncertain": 0.8, "historical": 0.5, "hypothetical": 0.0, "negated": 0.0}
_WORD = re.compile(r"[^\W_]+")
#: Caps on an emotion's fused score when all of its lexicon cues were context-suppressed.
_SUPPRESSED_CAP = {"negated": 0.2, "hypothetical": 0.2, "historical": 0.45}


class Cue(BaseModel):
    """Words that signal an emotion, with a weight."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    weight: float = Field(gt=0.0, lt=1.0)
    patterns: tuple[str, ...] = Field(min_length=1)


class EmotionLexicon(BaseModel):
    """The emotion rule file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    language: str = "en"
    emotions: dict[EmotionName, tuple[Cue, ...]]
    intensifiers: tuple[str, ...]
    crying: tuple[str, ...]
    distress_weights: dict[EmotionName, float]
    risk_floor: dict[str, float]

    @model_validator(mode="after")
    def _compiles(self) -> EmotionLexicon:
        patterns = [p for cues in self.emotions.values() for c in cues for p in c.patterns]
        for pattern in (*patterns, *self.intensifiers, *self.crying):
            try:
                compile_pattern(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} does not compile: {exc}") from exc
        return self


class EmotionAnalyzer:
    """Lexicon emotions and distress for caller utterances."""

    name = "emotion"
    code_version = "2"
    speakers: frozenset[Speaker] = frozenset({"caller"})

    def __init__(self, language: str = "en") -> None:
        self.language = language
        self._lexicon: EmotionLexicon | None = None
        self._context: ContextEngine | None = None
        self._cues: list[tuple[str, Cue, list[re.Pattern[str]]]] = []
        self._intensifier: re.Pattern[str] | None = None
        self._crying: re.Pattern[str] | None = None
        self._models: LearnedModels | None = None

    @property
    def version(self) -> str:
        """``<code version>+<lexicon version>+<learned artifact version>``."""
        self.setup()
        assert self._lexicon is not None and self._models is not None
        return f"{self.code_version}+{self._lexicon.version}+{self._models.version}"

    def setup(self) -> None:
        """Load and compile the lexicon and load the learned heads, once."""
        self._setup_lexicon()
        if self._models is None:
            self._models = load_models()

    def _setup_lexicon(self) -> None:
        if self._lexicon is not None:
            return
        lex = load_rules("emotion.yaml", EmotionLexicon, self.language)
        self._cues = [
            (emotion, cue, [compile_pattern(p) for p in cue.patterns])
            for emotion, cues in lex.emotions.items()
            for cue in cues
        ]
        self._intensifier = compile_pattern("|".join(f"(?:{p})" for p in lex.intensifiers))
        self._crying = compile_pattern("|".join(f"(?:{p})" for p in lex.crying))
        self._context = default_engine(self.language)
        self._lexicon = lex

    def analyze(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """Seven emotion findings and one distress finding."""
        self.setup()
        assert self._lexicon is not None and self._context is not None and self._models is not None
        lex, spans, suppressed, n_intens = self._lexicon_scores(ctx)
        models = self._models
        lex_vec = [lex[e] for e in EMOTIONS]
        learned_p, fused_p = models.emotion_learned_and_fused(ctx.text, lex_vec)
        fused_thr = models.emotion_fusion.thresholds
        learned_thr = models.emotion_stack.thresholds
        scores: dict[str, float] = {}
        out: list[Finding] = []
        for j, e in enumerate(EMOTIONS):
            score = threshold_to_half(float(fused_p[j]), float(fused_thr[j]))
            learned = threshold_to_half(float(learned_p[j]), float(learned_thr[j]))
            notes = [f"learned={learned:.3f}", f"lexicon={lex[e]:.3f}", f"fused_p={float(fused_p[j]):.3f}"]
            if e in suppressed:
                score = min(score, _SUPPRESSED_CAP[suppressed[e]])
                notes.append(f"lexicon cue {suppressed[e]}: capped")
            if e == "neutral" and any(scores[o] >= 0.5 and scores[o] > score for o in scores):
                # Neutral is not shown as present when an emotion outranks it. (Capping it whenever any
                # emotion is >= 0.5 cost 0.08 neutral F1 in cross-validation: weak co-predictions of
                # frustration on plain comments then hid the right answer.)
                score = min(score, 0.49)
            if e == "neutral" and self._risk_floor(ctx) >= 0.5:
                # An utterance that discloses a present risk (an overdose taken, a plan, chest pain) is not
                # emotionally neutral, however flat its words: never show it as calm.
                score = min(score, 0.2)
                notes.append("present risk finding: not neutral")
            driver = {(True, True): "both", (True, False): "learned", (False, True): "lexicon"}.get(
                (learned >= 0.5, lex[e] >= 0.5), "none"
            )
            notes.append(f"driver={driver}")
            scores[e] = round(min(1.0, max(0.0, score)), 4)
            out.append(self._finding("emotion", e, scores[e], spans[e], "learned+lexicon", tuple(notes)))
        # Distress is intensity: lexicon polarity, or the above-threshold part of the fused score.
        negative = {e: max(lex[e], max(0.0, 2.0 * scores[e] - 1.0)) for e in EMOTIONS}
        distress, distress_spans = self._distress(ctx, negative, n_intens)
        out.append(self._finding("distress", "distress", distress, distress_spans, "distress-lexicon", ()))
        return out

    def lexicon_scores(self, text: str) -> dict[str, float]:
        """The lexicon part alone (seven scores, ``neutral`` = 1 - max of the others)."""
        self._setup_lexicon()
        return self._lexicon_scores(AnalysisContext(text=text))[0]

    def _lexicon_scores(
        self, ctx: AnalysisContext
    ) -> tuple[dict[str, float], dict[str, set[tuple[int, int]]], dict[str, str], int]:
        assert self._lexicon is not None and self._context is not None
        assert self._intensifier is not None
        doc = normalize(ctx.text)
        triggers = self._context.triggers(doc)
        intens = [doc.token_range(*m.span()) for m in self._intensifier.finditer(doc.norm)]
        found: dict[str, list[float]] = {e: [] for e in EMOTIONS}
        spans: dict[str, set[tuple[int, int]]] = {e: set() for e in EMOTIONS}
        muted: dict[str, list[str]] = {e: [] for e in EMOTIONS}
        asserted: set[str] = set()
        for emotion, cue, regexes in self._cues:
            for regex in regexes:
                for m in regex.finditer(doc.norm):
                    first, stop = doc.token_range(*m.span())
                    result = self._context.assess_tokens(doc, first, stop, triggers)
                    weight = cue.weight * _CUE_WEIGHT[result.assertion]
                    if result.assertion in _SUPPRESSED_CAP:
                        muted[emotion].append(result.assertion)
                    else:
                        asserted.add(emotion)
                    if weight <= 0:
                        continue
                    if any(0 < first - e <= 1 or (s <= first < e) for s, e in intens):
                        weight = min(0.95, weight * 1.3)  # "so scared", "really angry"
                    found[emotion].append(weight)
                    spans[emotion].add(doc.char_span(first, stop))
        scores = {e: _noisy_or(found[e]) for e in EMOTIONS if e != "neutral"}
        scores["neutral"] = round(max(0.0, 1.0 - max(scores.values(), default=0.0)), 4)
        # an emotion whose every cue was negated/hypothetical/historical (and none counted fully)
        suppressed = {
            e: min(muted[e], key=lambda a: _SUPPRESSED_CAP[a])
            for e in EMOTIONS
            if muted[e] and e not in asserted
        }
        return scores, spans, suppressed, len(intens)

    def _distress(
        self, ctx: AnalysisContext, scores: dict[str, float], intensifiers: int
    ) -> tuple[float, set[tuple[int, int]]]:
        assert self._lexicon is not None and self._crying is not None
        lex = self._lexicon
        doc = normalize(ctx.text)
        negative = _noisy_or([scores[e] * w for e, w in lex.distress_weights.items()])
        crying = [doc.char_span(*doc.token_range(*m.span())) for m in self._crying.finditer(doc.norm)]
        words = [w.lower() for w in _WORD.findall(ctx.text) if w.lower() not in FILLERS]
        repeats = sum(1 for a, b in pairwise(words) if a == b and len(a) > 1)
        arousal = _noisy_or(
            [
                min(0.24, 0.08 * intensifiers),
                min(0.21, 0.07 * ctx.text.count("!")),
                min(0.2, 0.1 * repeats),
                0.45 if crying else 0.0,
            ]
        )
        raw = 1.0 - (1.0 - negative) * (1.0 - arousal)
        raw *= 1.0 - 0.5 * scores["relief"]
        return max(raw, self._risk_floor(ctx)), set(crying)

    def _risk_floor(self, ctx: AnalysisContext) -> float:
        assert self._lexicon is not None
        floors = self._lexicon.risk_floor
        best = 0.0
        for f in ctx.prior:
            if not f.is_present:
                continue
            for key in (f"{f.type}:{f.tier}", f"{f.type}:{f.level}", f.type):
                if key in floors:
                    best = max(best, floors[key])
                    break
        return best

    def _finding(
        self,
        type_: str,
        level: str,
        score: float,
        spans: set[tuple[int, int]],
        rule_id: str,
        notes: tuple[str, ...],
    ) -> Finding:
        return Finding(
            type=type_,
            level=level,
            score=round(min(1.0, max(0.0, score)), 4),
            evidence=tuple(sorted(spans)),
            analyzer=self.name,
            analyzer_version=self.version,
            rule_id=rule_id,
            notes=notes,
        )


def _noisy_or(weights: Sequence[float]) -> float:
    """Combine independent evidence: 1 - Π(1 - w)."""
    return round(1.0 - math.prod(1.0 - min(0.999, max(0.0, w)) for w in weights), 4)
