"""Lexicon-driven detectors: YAML pattern rules, ConText assertions, one hook per detector.

A lexicon file (``rules/en/<detector>.yaml``) holds rules. A rule has an id, a level, one or more regexes over
the normalised text (see :mod:`calmline.analysis.text`) and a score. A regex may mark the words context rules
should judge with a named group ``core``: in ``my husband (?P<core>hits me)`` a "never" between the two parts
negates the finding. ``support`` rules (``role: support``) never produce a finding alone; detectors combine
them (a means "right here", a timeframe "tonight", a symptom that raises urgency). ``suppress`` patterns are
hard negatives ("dying to know", "this wait is killing me"): a rule match overlapping one is dropped.

:class:`LexiconAnalyzer` owns the lifecycle (``setup`` loads and compiles once; ``analyze`` normalises,
matches, applies context) and calls one hook, :meth:`LexiconAnalyzer.build`, which turns hits into findings.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from calmline.analysis.base import AnalysisContext
from calmline.analysis.context import ContextEngine, ContextResult, default_engine
from calmline.analysis.rules import load_rules
from calmline.analysis.text import NormText, compile_pattern, normalize
from calmline.events import Finding, Speaker
from calmline.events.findings import Assertion, Experiencer, Modifier, Tier

_NAMED_GROUP = re.compile(r"\(\?P<\w+>")
_HIT_CACHE_SIZE = 2048

#: How much of a rule's score survives each assertion (a negated mention is evidence, not a risk).
ASSERTION_WEIGHT: dict[str, float] = {
    "present": 1.0,
    "uncertain": 0.8,
    "hypothetical": 0.4,
    "historical": 0.4,
    "negated": 0.1,
}
_RULE_ID = r"^[a-z0-9][a-z0-9_.-]*$"


class LexiconRule(BaseModel):
    """One detection rule."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_RULE_ID)
    level: str
    patterns: tuple[str, ...] = Field(min_length=1)
    score: float = Field(ge=0.0, le=1.0)
    #: Finding type, for analyzers that emit several (the request analyzer); defaults to the lexicon's.
    type: str | None = None
    category: str | None = None
    tags: tuple[str, ...] = ()
    role: Literal["signal", "support"] = "signal"
    #: ``context``: from ConText; ``caller``/``other``: fixed by the rule ("hits me" is about the caller).
    experiencer: Literal["context", "caller", "other"] = "context"
    notes: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _compiles(self) -> LexiconRule:
        for pattern in self.patterns:
            try:
                compile_pattern(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} does not compile: {exc}") from exc
        return self


class Combination(BaseModel):
    """Tags that together raise a finding: every ``all_of`` entry (``a|b`` = either) must be present."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_RULE_ID)
    all_of: tuple[str, ...] = Field(min_length=2)
    level: str
    category: str | None = None
    score: float = Field(ge=0.0, le=1.0)

    def satisfied(self, tags: set[str]) -> bool:
        """Whether ``tags`` satisfy every entry."""
        return all(any(alt in tags for alt in entry.split("|")) for entry in self.all_of)


class Lexicon(BaseModel):
    """A detector's rule file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    language: str = "en"
    description: str = ""
    #: Allowed levels, lowest first.
    levels: tuple[str, ...] = Field(min_length=1)
    rules: tuple[LexiconRule, ...]
    suppress: tuple[str, ...] = ()
    combinations: tuple[Combination, ...] = ()
    #: Questions for the agent per category (or level) when urgency is unclear.
    follow_up: dict[str, tuple[str, ...]] = {}
    #: Guidance attached to findings, per level.
    notes: dict[str, tuple[str, ...]] = {}

    @model_validator(mode="after")
    def _consistent(self) -> Lexicon:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule {rule.id!r}: id is used twice")
            seen.add(rule.id)
            if rule.level not in self.levels:
                raise ValueError(f"rule {rule.id!r}: level {rule.level!r} is not one of {list(self.levels)}")
        for combo in self.combinations:
            if combo.level not in self.levels:
                raise ValueError(f"combination {combo.id!r}: level {combo.level!r} is not one of the levels")
        for pattern in self.suppress:
            try:
                compile_pattern(pattern)
            except re.error as exc:
                raise ValueError(f"suppress pattern {pattern!r} does not compile: {exc}") from exc
        return self

    def rank(self, level: str) -> int:
        """Position of ``level`` in ``levels`` (higher is more severe)."""
        return self.levels.index(level)


@dataclass(frozen=True, slots=True)
class Hit:
    """One rule match, with its context."""

    rule: LexiconRule
    span: tuple[int, int]
    context: ContextResult

    @property
    def assertion(self) -> Assertion:
        """Assertion of the match."""
        return self.context.assertion

    @property
    def experiencer(self) -> Experiencer:
        """Experiencer: fixed by the rule, else from context."""
        fixed = self.rule.experiencer
        return self.context.experiencer if fixed == "context" else fixed

    @property
    def present(self) -> bool:
        """Asserted as happening (present or uncertain)."""
        return self.context.assertion in ("present", "uncertain")

    @property
    def tags(self) -> set[str]:
        """Tags for combinations: the rule's tags, id and category."""
        out = {self.rule.id, *self.rule.tags}
        if self.rule.category:
            out.add(self.rule.category)
        return out


class LexiconAnalyzer:
    """Base of the lexicon detectors. Subclasses set the class attributes and implement :meth:`build`."""

    name: ClassVar[str]
    finding_type: ClassVar[str]
    lexicon_file: ClassVar[str]
    #: Version of the detector's code; the reported version adds the lexicon file's version.
    code_version: ClassVar[str] = "1"
    speakers: frozenset[Speaker] = frozenset({"caller", "other"})
    #: One finding per level (abuse: child and sexual are both reported) or per type (requests).
    group_by_level: ClassVar[bool] = True
    #: The rule file's schema: :class:`Lexicon`, or a subclass that adds detector-specific data.
    lexicon_model: ClassVar[type[Lexicon]] = Lexicon

    def __init__(self, language: str = "en") -> None:
        self.language = language
        self._lexicon: Lexicon | None = None
        self._context: ContextEngine | None = None
        self._compiled: list[tuple[LexiconRule, re.Pattern[str], list[re.Pattern[str]]]] = []
        self._suppress: list[re.Pattern[str]] = []
        self._any: re.Pattern[str] | None = None
        self._hit_cache: OrderedDict[str, tuple[Hit, ...]] = OrderedDict()

    @property
    def version(self) -> str:
        """``<code version>+<lexicon version>`` (loads the lexicon if needed)."""
        return f"{self.code_version}+{self.lexicon.version}"

    @property
    def lexicon(self) -> Lexicon:
        """The loaded lexicon."""
        self.setup()
        assert self._lexicon is not None
        return self._lexicon

    def setup(self) -> None:
        """Load and compile the lexicon and the context rules, once."""
        if self._lexicon is not None:
            return
        lexicon = load_rules(self.lexicon_file, self.lexicon_model, self.language)
        # Per rule, one alternation of its patterns too: a rule whose alternation finds nothing is skipped
        # without running each of its patterns (most rules match nothing in an utterance that matched one).
        self._compiled = [
            (
                r,
                compile_pattern("|".join(f"(?:{_NAMED_GROUP.sub('(?:', p)})" for p in r.patterns)),
                [compile_pattern(p) for p in r.patterns],
            )
            for r in lexicon.rules
            if r.patterns
        ]
        # One alternation of every pattern (named groups made anonymous) answers "does anything match?"
        # in a single scan; most utterances match nothing in most lexicons, so the per-rule loop is skipped.
        alternatives = [_NAMED_GROUP.sub("(?:", p) for r in lexicon.rules for p in r.patterns]
        self._any = compile_pattern("|".join(f"(?:{p})" for p in alternatives)) if alternatives else None
        self._suppress = [compile_pattern(p) for p in lexicon.suppress]
        self._context = default_engine(self.language)
        self._lexicon = lexicon

    def analyze(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """Match the lexicon against ``ctx.text`` and let :meth:`build` turn the hits into findings."""
        return self.build(ctx, self.hits(ctx.text))

    def hits(self, text: str) -> list[Hit]:
        """All rule matches in ``text`` with their context (pure; also used on earlier turns).

        Results are memoised per text (bounded): detectors that read the call's history rescan the same
        earlier turns on every new utterance, and the answer depends on nothing but the text.
        """
        cached = self._hit_cache.get(text)
        if cached is not None:
            self._hit_cache.move_to_end(text)
            return list(cached)
        found = self._hits(text)
        self._hit_cache[text] = tuple(found)
        if len(self._hit_cache) > _HIT_CACHE_SIZE:
            self._hit_cache.popitem(last=False)
        return found

    def _hits(self, text: str) -> list[Hit]:
        self.setup()
        context = self._context
        assert context is not None
        doc = self.document(text)
        if not doc.tokens or (self._any is not None and self._any.search(doc.norm) is None):
            return []
        blocked = [m.span() for rx in self._suppress for m in rx.finditer(doc.norm)]
        triggers: tuple[Any, ...] | None = None  # computed on the first hit only
        out: list[Hit] = []
        seen: set[tuple[str, tuple[int, int]]] = set()
        for rule, any_of_rule, regexes in self._compiled:
            if any_of_rule.search(doc.norm) is None:
                continue
            for regex in regexes:
                for m in regex.finditer(doc.norm):
                    if m.end() == m.start() or any(m.start() < e and m.end() > s for s, e in blocked):
                        continue
                    span = doc.char_span(*doc.token_range(m.start(), m.end()))
                    if (rule.id, span) in seen:
                        continue
                    seen.add((rule.id, span))
                    core = m.span("core") if "core" in regex.groupindex and m.group("core") else m.span()
                    first, stop = doc.token_range(*core)
                    if triggers is None:
                        triggers = context.triggers(doc, self.finding_type)
                    result = context.assess_tokens(doc, first, stop, triggers)
                    out.append(Hit(rule=rule, span=span, context=result))
        return out

    def document(self, text: str) -> NormText:
        """The normalised view the rules match (a hook: a detector may normalise further)."""
        return normalize(text)

    def build(self, ctx: AnalysisContext, hits: list[Hit]) -> Sequence[Finding]:
        """Turn hits into findings.

        The default: one finding per (type, category, assertion, experiencer), and per level too when
        ``group_by_level``; the strongest hit of a group names its level.
        """
        groups: dict[tuple[str, str | None, str, str, str], list[Hit]] = {}
        for hit in hits:
            if hit.rule.role == "signal":
                level = hit.rule.level if self.group_by_level else ""
                key = (
                    hit.rule.type or self.finding_type,
                    hit.rule.category,
                    level,
                    hit.assertion,
                    hit.experiencer,
                )
                groups.setdefault(key, []).append(hit)
        return [self.finding(group, type_=key[0]) for key, group in groups.items()]

    # -- helpers for subclasses ----------------------------------------------------------------------

    def finding(
        self,
        hits: Iterable[Hit],
        *,
        type_: str | None = None,
        level: str | None = None,
        score: float | None = None,
        category: str | None = None,
        rule_id: str | None = None,
        extra_notes: Sequence[str] = (),
        tier: Tier | None = None,
        follow_up: Sequence[str] = (),
        experiencer: Experiencer | None = None,
    ) -> Finding:
        """A finding from ``hits`` (the strongest hit supplies defaults), with the context-adjusted score."""
        group = sorted(hits, key=lambda h: h.rule.score, reverse=True)
        top = group[0]
        level = level or top.rule.level
        before = max(score if score is not None else 0.0, top.rule.score)
        after = before * ASSERTION_WEIGHT[top.assertion]
        notes = [*self.lexicon.notes.get(level, ()), *(n for h in group for n in h.rule.notes), *extra_notes]
        return Finding(
            type=type_ or top.rule.type or self.finding_type,
            level=level,
            score=round(min(1.0, after), 4),
            evidence=_outer_spans(h.span for h in group),
            assertion=top.assertion,
            experiencer=experiencer or top.experiencer,
            category=category if category is not None else top.rule.category,
            analyzer=self.name,
            analyzer_version=self.version,
            rule_id=rule_id or top.rule.id,
            score_before_context=round(min(1.0, before), 4),
            modifiers=_merge_modifiers(group),
            notes=tuple(dict.fromkeys(notes)),
            tier=tier,
            follow_up=tuple(follow_up),
        )


def _outer_spans(spans: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Distinct spans, dropping any span inside another."""
    unique = sorted(set(spans), key=lambda s: (s[0], -s[1]))
    out: list[tuple[int, int]] = []
    for span in unique:
        if not any(o[0] <= span[0] and span[1] <= o[1] for o in out):
            out.append(span)
    return tuple(out)


def _merge_modifiers(hits: Iterable[Hit]) -> tuple[Modifier, ...]:
    merged: dict[tuple[str, str, tuple[int, int]], Modifier] = {}
    for hit in hits:
        for mod in hit.context.modifiers:
            merged.setdefault((mod.category, mod.rule_id, mod.span), mod)
    return tuple(sorted(merged.values(), key=lambda m: m.span))
