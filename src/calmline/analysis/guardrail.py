"""Agent guardrails: each finding has evidence spans, a severity and a compliant alternative.

Reads AGENT utterances only. Eight categories (the finding's ``level``): ``false_reassurance`` ("you'll be
fine", "calm down"), ``unkeepable_promise`` ("I promise the doctor will call you today"), ``judgmental`` ("you
should have come in sooner"), ``legal_advice`` ("you should sue"), ``medical_advice`` (dosing, "it's probably
just a migraine", "you don't need to go to the ER"), ``unverified_disclosure`` (a patient's information told
to a caller who is not verified: "her results came back positive"), ``other_patient_disclosure`` ("the lady
before you had the same thing") and ``unsafe_messaging`` about suicide ("committed suicide", methods, "you
wouldn't actually do it").

Context matters here as much as for callers: "I can't tell you it's nothing" is negated, and quoting ("the
nurse said it's probably nothing, but ...", "you were told it's nothing") is reported speech, not the agent's
own reassurance. Quoted findings are kept as ``uncertain`` with a halved score and a note, for QA review.
Only the agent's own words (assertion ``present``) carry the rule's severity (``warning`` or ``high``); every
other finding is ``info``. The severity is the finding's ``category``; the compliant phrase is its
``alternative``. Both are data in ``rules/<lang>/guardrail.yaml``, looked up by rule id first, then by level.

A disclosure is no breach once the caller is verified (``AnalysisContext.verified``): those findings are
dropped.

Examples::

    "don't worry, you'll be fine"                -> false_reassurance, present, warning
    "I can't tell you it's nothing"              -> false_reassurance, negated, info
    "her results came back positive" (unverified) -> unverified_disclosure, present, high
    "her results came back positive" (verified)   -> nothing
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from calmline.analysis.base import AnalysisContext
from calmline.analysis.context import ContextResult
from calmline.analysis.lexicon import Hit, Lexicon, LexiconAnalyzer
from calmline.analysis.text import compile_pattern, normalize
from calmline.events import Finding, Speaker
from calmline.events.findings import GUARDRAIL_TYPE, Modifier

Severity = Literal["info", "warning", "high"]
QUOTED_NOTE = "quoted or reported speech, not the agent's own words"
QUOTING_RULE_ID = "guardrail-quoting"
_SENTENCE_END = re.compile(r"[.!?;]")
_ANSWER_WORDS = frozenset({"no", "nope", "nah"})


class GuardrailLexicon(Lexicon):
    """The guardrail rule file: the lexicon schema plus severities, alternatives and agent-side quoting."""

    #: Severity of a present finding, by rule id or level (a rule id wins).
    severity: dict[str, Severity] = Field(min_length=1)
    #: A compliant phrase the agent could have said instead, by rule id or level (a rule id wins).
    alternatives: dict[str, str] = Field(min_length=1)
    #: Levels that are no breach once the caller is verified.
    fine_when_verified: tuple[str, ...] = ()
    #: Reported-speech cues (regexes over normalised text) that the shared ConText rules do not hold.
    quoting: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _complete(self) -> GuardrailLexicon:
        names = set(self.levels) | {r.id for r in self.rules}
        for field_name, table in (("severity", self.severity), ("alternatives", self.alternatives)):
            unknown = sorted(set(table) - names)
            if unknown:
                raise ValueError(f"{field_name}: {unknown} name no level or rule")
            missing = [level for level in self.levels if level not in table]
            if missing:
                raise ValueError(f"{field_name}: no entry for levels {missing}")
        stray = sorted(set(self.fine_when_verified) - set(self.levels))
        if stray:
            raise ValueError(f"fine_when_verified: {stray} are not levels")
        for pattern in self.quoting:
            try:
                compile_pattern(pattern)
            except re.error as exc:
                raise ValueError(f"quoting pattern {pattern!r} does not compile: {exc}") from exc
        return self

    def severity_of(self, rule_id: str | None, level: str) -> Severity:
        """Severity of a present finding of ``rule_id`` at ``level``."""
        return self.severity.get(rule_id or "", self.severity[level])

    def alternative_of(self, rule_id: str | None, level: str) -> str:
        """The compliant alternative for ``rule_id`` at ``level``."""
        return self.alternatives.get(rule_id or "", self.alternatives[level])


class GuardrailAnalyzer(LexiconAnalyzer):
    """Checks agent utterances against the guardrail lexicon."""

    name = "guardrail"
    finding_type = GUARDRAIL_TYPE
    lexicon_file = "guardrail.yaml"
    lexicon_model: ClassVar[type[Lexicon]] = GuardrailLexicon
    code_version = "2"
    speakers: frozenset[Speaker] = frozenset({"agent"})

    @property
    def rules(self) -> GuardrailLexicon:
        """The loaded guardrail lexicon."""
        lexicon = self.lexicon
        assert isinstance(lexicon, GuardrailLexicon)
        return lexicon

    def build(self, ctx: AnalysisContext, hits: list[Hit]) -> Sequence[Finding]:
        """One finding per level and assertion, with severity (``category``) and ``alternative``."""
        rules = self.rules
        if ctx.verified:
            hits = [h for h in hits if h.rule.level not in rules.fine_when_verified]
        hits = [_said_now(h) for h in hits]
        spans = [h.span for h in hits if h.assertion == "present"]
        hits = [self._mark_quoted(ctx.text, self._not_negated(ctx.text, h, spans)) for h in hits]
        out: list[Finding] = []
        for finding in super().build(ctx, hits):
            quoted = any(m.category == "REPORTED_SPEECH" for m in finding.modifiers)
            update: dict[str, object] = {}
            if quoted and finding.assertion == "present":
                update = {
                    "assertion": "uncertain",
                    "score": round(finding.score * 0.5, 4),
                    "notes": (*finding.notes, QUOTED_NOTE),
                }
            own_words = not update and finding.assertion == "present"
            update["category"] = rules.severity_of(finding.rule_id, finding.level) if own_words else "info"
            update["alternative"] = rules.alternative_of(finding.rule_id, finding.level)
            out.append(finding.model_copy(update=update))
        return out

    def _not_negated(self, text: str, hit: Hit, spans: Sequence[tuple[int, int]]) -> Hit:
        """Undo negations that are not the agent negating the phrase.

        An answering "no" that opens the sentence ("no, you don't need A&E") and a negation inside another
        guardrail phrase ("don't worry you'll be fine": the "don't" belongs to "don't worry") leave the
        phrase asserted, unless another context trigger (hypothetical, historical...) also applies.
        """
        if hit.assertion != "negated":
            return hit
        assertions = self._context.rules.assertions if self._context is not None else {}
        answers = [
            m
            for m in hit.context.modifiers
            if m.category == "NEGATED_EXISTENCE"
            and (_opens(text, m.span) or any(s <= m.span[0] and m.span[1] <= e for s, e in spans))
        ]
        rest = tuple(m for m in hit.context.modifiers if m not in answers)
        if not answers or any(m.category in assertions for m in rest):
            return hit
        context = ContextResult(assertion="present", experiencer=hit.context.experiencer, modifiers=rest)
        return replace(hit, context=context)

    def _mark_quoted(self, text: str, hit: Hit) -> Hit:
        """Add a REPORTED_SPEECH modifier when an agent-side quoting cue opens the hit's sentence."""
        if not self.rules.quoting or any(m.category == "REPORTED_SPEECH" for m in hit.context.modifiers):
            return hit
        head = text[: hit.span[0]]
        ends = [m.end() for m in _SENTENCE_END.finditer(head)]
        offset = ends[-1] if ends else 0
        doc = normalize(head[offset:])
        for pattern in self.rules.quoting:
            m = compile_pattern(pattern).search(doc.norm)
            if m is None:
                continue
            start, end = doc.char_span(*doc.token_range(m.start(), m.end()))
            mod = Modifier(
                category="REPORTED_SPEECH", rule_id=QUOTING_RULE_ID, span=(start + offset, end + offset)
            )
            context = ContextResult(
                assertion=hit.context.assertion,
                experiencer=hit.context.experiencer,
                modifiers=(*hit.context.modifiers, mod),
            )
            return replace(hit, context=context)
        return hit


def _said_now(hit: Hit) -> Hit:
    """A guardrail judges the agent's words, said now: "he committed suicide last year" is unsafe today.

    A past event (HISTORICAL) leaves the words asserted; negation, quoting and hypotheticals still apply.
    """
    if hit.assertion != "historical":
        return hit
    return replace(hit, context=replace(hit.context, assertion="present"))


def _opens(text: str, span: tuple[int, int]) -> bool:
    """Whether ``span`` is an answering "no" (or "nope", "nah") with only other answer words before it."""
    ends = [m.end() for m in _SENTENCE_END.finditer(text, 0, span[0])]
    head = normalize(text[ends[-1] if ends else 0 : span[1]])
    words = [t.norm for t in head.tokens if t.norm != ","]
    return (
        bool(words)
        and words[-1] in _ANSWER_WORDS
        and all(w in _ANSWER_WORDS | {"oh", "well", "ok"} for w in words)
    )


def guardrail_dict(finding: Finding) -> dict[str, object]:
    """A guardrail finding as the batch contract prints it: ``type`` is the category (the finding's level).

    ``{"type", "severity", "evidence", "alternative"}`` first, then the audit detail (``level``, ``score``,
    ``assertion``, ``experiencer``, ``analyzer``, ``rule``). Severity ``info`` means not the agent's own words
    (negated, quoted, hypothetical): reported for QA, not a breach.
    """
    detail = finding.contract_dict()
    return {
        "type": finding.level,
        "severity": finding.category or "info",
        "evidence": detail.pop("evidence"),
        "alternative": finding.alternative,
        **{k: v for k, v in detail.items() if k not in ("type", "category", "alternative")},
    }
