"""Empathy of agent turns in the EPITOME scheme (Sharma et al., EMNLP 2020), read against the caller's words.

Three communication mechanisms, each 0 (no communication), 1 (weak, generic) or 2 (strong, specific):

- ``emotional_reaction``: warmth and sympathy. 1: "I'm sorry to hear that", "that sucks", "hang in there".
  2: the agent names what they feel, or an intensified sorry about something specific: "my heart goes out to
  you", "I'm so sorry you're going through this on your own, that sounds frightening".
- ``interpretation``: understanding. 1: "I understand", "I get it". 2: a reflection of the caller's feelings,
  experience or meaning ("it sounds like you're worried the pain means something serious", "that must be
  terrifying"), a summary, a validation naming the feeling, or a similar experience of the agent's own
  ("been there, when my dad died I couldn't sleep for months").
- ``exploration``: questions. 1: generic ("what happened?", "how are you feeling?"). 2: about the caller's
  particular experience ("what was going through your mind when you found the tablets?"). Procedural and
  triage questions (date of birth, "is he breathing?") are not exploration.

Cues are data (``rules/<lang>/empathy.yaml``). Specificity is measured against the caller's previous
turn(s) in ``ctx.history``: content words the agent reuses (mirroring) and feeling words. A cue the context
engine finds negated, hypothetical or inside reported speech does not count; ``suppress`` patterns remove
scripted lines ("thank you for your patience") and disclaimers ("I'm not going to say I understand").

Output, for every agent turn: three ``empathy`` findings, ``level`` the mechanism, ``category`` ``none`` /
``weak`` / ``strong`` and ``score`` 0.0 / 0.5 / 1.0 (the 0/1/2 level halved); then one ``empathy`` finding per
extra signal: ``validation``, ``summarising``, ``open_question``, ``closed_question`` (score 1.0 or 0.0) and
``mirroring`` (share of the caller's content words the agent reused, 0..1). :func:`empathy_dict` turns them
into the batch contract's ``empathy`` object.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from calmline.analysis.base import AnalysisContext, Turn
from calmline.analysis.context import ContextEngine, default_engine
from calmline.analysis.rules import load_rules
from calmline.analysis.text import NormText, compile_pattern, normalize
from calmline.events import Finding, Speaker

EMPATHY_TYPE = "empathy"
#: The EPITOME mechanisms, in contract order.
MECHANISMS: tuple[str, ...] = ("emotional_reaction", "interpretation", "exploration")
#: Extra per-turn signals, in contract order.
EXTRAS: tuple[str, ...] = ("validation", "summarising", "mirroring", "open_question", "closed_question")
CATEGORIES: tuple[str, ...] = ("none", "weak", "strong")
#: How many caller turns before the agent's turn are read for specificity.
CALLER_TURNS = 2

Signal = Literal[
    "er_strong",
    "er_sorry",
    "er_weak",
    "ip_weak",
    "ip_strong",
    "ip_sounds",
    "validation",
    "summary",
    "similarity",
    "narrative",
    "explore_specific",
    "explore_generic",
    "procedural",
]
_IGNORED_ASSERTIONS = frozenset({"negated", "hypothetical"})


class EmpathyCue(BaseModel):
    """Patterns that give one signal."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    signal: Signal
    patterns: tuple[str, ...] = Field(min_length=1)


class EmpathyRules(BaseModel):
    """The empathy rule file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    language: str = "en"
    description: str = ""
    cues: tuple[EmpathyCue, ...]
    suppress: tuple[str, ...] = ()
    feeling_words: str
    intensifiers: str
    time_markers: str
    question_openers: str
    open_openers: str
    stopwords: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _compiles(self) -> EmpathyRules:
        patterns = [p for c in self.cues for p in c.patterns]
        singles = (self.feeling_words, self.intensifiers, self.time_markers, self.question_openers)
        for pattern in (*patterns, *self.suppress, *singles, self.open_openers):
            try:
                compile_pattern(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} does not compile: {exc}") from exc
        ids = [c.id for c in self.cues]
        if len(ids) != len(set(ids)):
            raise ValueError("cue ids must be unique")
        return self


@dataclass(frozen=True, slots=True)
class _Cue:
    signal: str
    start: int  # character offsets into the normalised text
    end: int
    span: tuple[int, int]  # character span in the original text


@dataclass(frozen=True, slots=True)
class _Sentence:
    start: int  # normalised-text offsets: the question clause ("I understand, is it ...?": "is it ...")
    end: int
    body: int  # where the whole sentence starts
    question: bool
    open: bool


class EmpathyAnalyzer:
    """EPITOME-style empathy levels and active-listening signals for agent turns."""

    name = "empathy"
    code_version = "1"
    speakers: frozenset[Speaker] = frozenset({"agent"})

    def __init__(self, language: str = "en") -> None:
        self.language = language
        self._rules: EmpathyRules | None = None
        self._context: ContextEngine | None = None
        self._cues: list[tuple[EmpathyCue, list[re.Pattern[str]]]] = []
        self._suppress: list[re.Pattern[str]] = []
        self._feeling: re.Pattern[str] | None = None
        self._intens: re.Pattern[str] | None = None
        self._time: re.Pattern[str] | None = None
        self._opener: re.Pattern[str] | None = None
        self._open: re.Pattern[str] | None = None
        self._stop: frozenset[str] = frozenset()

    @property
    def version(self) -> str:
        """``<code version>+<rule file version>``."""
        self.setup()
        assert self._rules is not None
        return f"{self.code_version}+{self._rules.version}"

    def setup(self) -> None:
        """Load and compile the rule file once."""
        if self._rules is not None:
            return
        rules = load_rules("empathy.yaml", EmpathyRules, self.language)
        self._cues = [(c, [compile_pattern(p) for p in c.patterns]) for c in rules.cues]
        self._suppress = [compile_pattern(p) for p in rules.suppress]
        self._feeling = compile_pattern(rules.feeling_words)
        self._intens = compile_pattern(rules.intensifiers)
        self._time = compile_pattern(rules.time_markers)
        self._opener = re.compile(rf"^(?:{rules.question_openers})(?![^\W_])")
        self._open = re.compile(rf"^(?:{rules.open_openers})(?![^\W_])")
        self._stop = frozenset(rules.stopwords)
        self._context = default_engine(self.language)
        self._rules = rules

    def analyze(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """Three mechanism findings and five extra-signal findings for an agent turn."""
        self.setup()
        doc = normalize(ctx.text)
        caller = self.content_stems(caller_text(ctx.history))
        cues = self._find_cues(doc)
        sentences = _sentences(doc.norm, self._opener, self._open)
        overlap = self.content_stems(ctx.text) & caller
        levels = {
            "emotional_reaction": self._emotional_reaction(doc, cues, sentences, overlap),
            "interpretation": self._interpretation(doc, cues, sentences, caller),
            "exploration": self._exploration(doc, cues, sentences, caller),
        }
        out = [self._finding(m, levels[m][0] / 2, CATEGORIES[levels[m][0]], levels[m][1]) for m in MECHANISMS]
        validation = [c for c in cues if c.signal == "validation"]
        summary = [c for c in cues if c.signal == "summary"]
        asked = [s for s in sentences if s.question and not self._procedural(cues, s)]
        mirroring = round(len(overlap) / len(caller), 2) if caller else 0.0
        extras = {
            "validation": (1.0 if validation else 0.0, [c.span for c in validation]),
            "summarising": (1.0 if summary else 0.0, [c.span for c in summary]),
            "mirroring": (mirroring, []),
            "open_question": (1.0 if any(s.open for s in asked) else 0.0, []),
            "closed_question": (1.0 if any(not s.open for s in asked) else 0.0, []),
        }
        for name in EXTRAS:
            score, spans = extras[name]
            out.append(self._finding(name, score, None, spans))
        return out

    # -- pieces --------------------------------------------------------------------------------------

    def content_stems(self, text: str) -> set[str]:
        """Stems of the content words of ``text`` (stop words dropped, words cut to five letters)."""
        self.setup()
        words = (t.norm for t in normalize(text).tokens)
        return {w[:5] for w in words if len(w) > 2 and w.isalpha() and w not in self._stop}

    def _find_cues(self, doc: NormText) -> list[_Cue]:
        context = self._context
        assert context is not None
        if not doc.tokens:
            return []
        blocked = [m.span() for rx in self._suppress for m in rx.finditer(doc.norm)]
        triggers = context.triggers(doc, EMPATHY_TYPE)
        out: list[_Cue] = []
        for cue, regexes in self._cues:
            for regex in regexes:
                for m in regex.finditer(doc.norm):
                    if m.end() == m.start():
                        continue
                    if cue.signal != "procedural" and any(m.start() < e and m.end() > s for s, e in blocked):
                        continue  # suppress removes look-alike empathy, never a procedural question
                    first, stop = doc.token_range(m.start(), m.end())
                    result = context.assess_tokens(doc, first, stop, triggers)
                    reported = any(mod.category == "REPORTED_SPEECH" for mod in result.modifiers)
                    if result.assertion in _IGNORED_ASSERTIONS or reported:
                        continue
                    out.append(_Cue(cue.signal, m.start(), m.end(), doc.char_span(first, stop)))
        return out

    def _emotional_reaction(
        self, doc: NormText, cues: list[_Cue], sentences: list[_Sentence], overlap: set[str]
    ) -> tuple[int, list[tuple[int, int]]]:
        assert self._intens is not None and self._feeling is not None
        strong = [c for c in cues if c.signal == "er_strong"]
        sorry = [c for c in cues if c.signal == "er_sorry"]
        for c in sorry:
            # "so sorry you're going through this alone, that sounds frightening": intensified and specific
            before = doc.norm[max(0, c.start - 12) : c.start]
            # specific: a feeling word or two of the caller's words in the sorry's own sentence
            sentence = _sentence_of(sentences, c.start)
            text = doc.norm[sentence.body : sentence.end] if sentence else doc.norm
            specific = self._feeling.search(text) is not None or len(self.content_stems(text) & overlap) >= 2
            if self._intens.search(before) and specific:
                strong.append(c)
        if strong:
            return 2, [c.span for c in strong]
        weak = [c for c in cues if c.signal in ("er_weak", "er_sorry")]
        return (1, [c.span for c in weak]) if weak else (0, [])

    def _interpretation(
        self, doc: NormText, cues: list[_Cue], sentences: list[_Sentence], caller: set[str]
    ) -> tuple[int, list[tuple[int, int]]]:
        assert self._feeling is not None and self._time is not None
        strong = [c for c in cues if c.signal in ("ip_strong", "similarity")]
        weak: list[_Cue] = [c for c in cues if c.signal == "ip_weak"]
        narrative = [c for c in cues if c.signal == "narrative"]
        if narrative and self._time.search(doc.norm):
            strong.extend(narrative)  # the agent tells a similar experience of their own
        for c in cues:
            if c.signal not in ("ip_sounds", "validation", "summary"):
                continue
            if c.signal == "ip_sounds" and any(
                o.signal == "er_weak" and o.start < c.end and c.start < o.end for o in cues
            ):
                continue  # "that sounds hard": a generic reaction, not a reflection
            sentence = _sentence_of(sentences, c.start)
            if sentence is not None and sentence.question:
                continue  # "how many weeks pregnant are you?" is not a reflection
            text = doc.norm[c.start : sentence.end] if sentence else doc.norm[c.start :]
            feeling = self._feeling.search(text) is not None
            specific = feeling or (c.signal != "ip_sounds" and bool(self.content_stems(text) & caller))
            if specific:
                strong.append(c)
            elif c.signal != "ip_sounds":
                weak.append(c)
        if strong:
            return 2, [c.span for c in strong]
        return (1, [c.span for c in weak]) if weak else (0, [])

    def _exploration(
        self, doc: NormText, cues: list[_Cue], sentences: list[_Sentence], caller: set[str]
    ) -> tuple[int, list[tuple[int, int]]]:
        assert self._feeling is not None
        best, spans = 0, []
        for s in sentences:
            if not s.question or self._procedural(cues, s):
                continue
            inside = [c for c in cues if s.body <= c.start < s.end]
            text = doc.norm[s.body : s.end]
            specific = (
                any(c.signal == "explore_specific" for c in inside)
                or self._feeling.search(text) is not None
                or bool(self.content_stems(text) & caller)
            )
            level = 2 if specific else 1
            if level > best:
                best = level
            spans.append(doc.char_span(*doc.token_range(s.start, s.end)))
        return best, spans

    @staticmethod
    def _procedural(cues: Iterable[_Cue], s: _Sentence) -> bool:
        return any(c.signal == "procedural" and s.body <= c.start < s.end for c in cues)

    def _finding(
        self, level: str, score: float, category: str | None, spans: Iterable[tuple[int, int]]
    ) -> Finding:
        return Finding(
            type=EMPATHY_TYPE,
            level=level,
            score=round(min(1.0, max(0.0, score)), 4),
            evidence=tuple(sorted(set(spans))),
            category=category,
            analyzer=self.name,
            analyzer_version=self.version,
            rule_id=f"empathy-{level}",
        )


def caller_text(history: Sequence[Turn]) -> str:
    """The caller's last turns before the agent's reply (up to :data:`CALLER_TURNS`), joined."""
    picked: list[str] = []
    for turn in reversed(history):
        if turn.speaker == "caller":
            picked.append(turn.text)
            if len(picked) >= CALLER_TURNS:
                break
        elif picked:
            break  # an agent turn before the caller's run ends it
    return " ".join(reversed(picked))


def empathy_dict(findings: Iterable[Finding]) -> dict[str, int | float | bool]:
    """The batch contract's ``empathy`` object from an agent turn's findings (``{}`` when none)."""
    by_level = {f.level: f.score for f in findings if f.type == EMPATHY_TYPE}
    if not by_level:
        return {}
    out: dict[str, int | float | bool] = {m: round(by_level.get(m, 0.0) * 2) for m in MECHANISMS}
    for name in EXTRAS:
        score = by_level.get(name, 0.0)
        out[name] = round(score, 2) if name == "mirroring" else score >= 0.5
    return out


def _sentences(norm: str, opener: re.Pattern[str] | None, open_: re.Pattern[str] | None) -> list[_Sentence]:
    """Sentences of the normalised text; a question ends with "?" or, in ASR text, starts with an opener."""
    assert opener is not None and open_ is not None
    out: list[_Sentence] = []
    start = 0
    for m in re.finditer(r"[.?!]|$", norm):
        end = m.end()
        body = norm[start : m.start()].strip(" ,")
        if body:
            lead = norm.index(body, start)
            clause = body.rsplit(" , ", 1)[-1]  # "I understand, is it the job itself?"
            clause_start = lead + len(body) - len(clause)
            asked = m.group() == "?" or opener.search(body) is not None
            if m.group() != "?" and opener.search(body) is not None:
                clause, clause_start = body, lead
            out.append(
                _Sentence(
                    start=clause_start if asked else lead,
                    end=end,
                    body=lead,
                    question=asked,
                    open=asked and open_.search(clause) is not None,
                )
            )
        start = end
        if m.group() == "":
            break
    return out


def _sentence_of(sentences: Sequence[_Sentence], pos: int) -> _Sentence | None:
    return next((s for s in sentences if s.start <= pos < s.end), None)
