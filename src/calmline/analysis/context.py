"""ConText-style assertion and experiencer detection for a target span of an utterance.

Triggers (``rules/en/context.yaml``) are phrases or patterns with a category, a direction and a scope in
tokens.
A trigger modifies a target when the target falls inside its scope; scopes stop at ``TERMINATE`` triggers
("but", "however", punctuation) and at the categories a rule lists in ``terminated_by``. Longer triggers win
over the shorter ones they contain, so ``PSEUDO`` triggers ("not only", "no doubt") switch off the negation
inside them. A trigger that overlaps the target is part of the target ("can't breathe") and does not modify
it, unless its rule says ``overlap: apply``: a pure time expression ("a seizure years ago") or a third-person
possessive ("pain in his chest") inside the target still applies. A rule's ``blocked_by_rules`` switch it off
where the caller is the subject of the target's clause ("I hurt her arm" is about the caller's act) or the
target is about the caller ("he would be better off without me").

Examples::

    "I'm not suicidal"                       -> negated
    "no chest pain but my arm is numb"       -> "chest pain" negated, "arm is numb" present
    "I tried to kill myself last year"       -> historical
    "what if I just took all the pills"      -> hypothetical
    "if this doesn't work I'll end it"       -> present, with a CONDITIONAL modifier (kept for safety)
    "my daughter said she wants to die"      -> experiencer other
    "there's no blood in his poo"            -> "blood" negated, experiencer other
    "I had a seizure years ago"              -> historical

The map from category to assertion or experiencer is data in the same file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from calmline.analysis.rules import load_rules
from calmline.analysis.text import NormText, compile_pattern, normalize
from calmline.events.findings import Assertion, Experiencer, Modifier

Category = Literal[
    "NEGATED_EXISTENCE",
    "HISTORICAL",
    "HYPOTHETICAL",
    "CONDITIONAL",
    "UNCERTAIN",
    "FAMILY",
    "OTHER_EXPERIENCER",
    "REPORTED_SPEECH",
    "FIRST_PERSON",
    "PSEUDO",
    "TERMINATE",
    "BOUNDARY",
    "GENERIC_PERSON",
    "GENERIC",
    "CURRENT",
]
Direction = Literal["forward", "backward", "bidirectional", "none"]
_NON_MODIFYING: frozenset[str] = frozenset({"PSEUDO", "TERMINATE", "BOUNDARY", "FIRST_PERSON", "CURRENT"})
#: What ends a scope: ``clause`` scopes stop at ``TERMINATE`` ("but", ",") and ``BOUNDARY`` (".", "?"),
#: ``sentence`` scopes only at ``BOUNDARY`` ("..., but that was years ago" reaches back over the comma).
_SCOPE_ENDS: dict[str, frozenset[str]] = {
    "clause": frozenset({"TERMINATE", "BOUNDARY"}),
    "sentence": frozenset({"BOUNDARY"}),
}


class ContextRule(BaseModel):
    """One trigger: a literal phrase or a regex over normalised tokens, and how far it reaches."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    category: Category
    literal: str | None = None
    pattern: str | None = None
    direction: Direction = "forward"
    max_scope: int = Field(default=6, ge=1, le=40)
    terminated_by: tuple[Category, ...] = ()
    #: Rule ids whose triggers also end the scope (finer than a category: "i", not "my").
    terminated_by_rules: tuple[str, ...] = ()
    #: ``clause``: the scope ends at any terminator; ``sentence``: only at the end of the sentence.
    scope: Literal["clause", "sentence"] = "clause"
    #: How far a backward scope reaches, where it differs from ``max_scope`` (``bidirectional`` rules).
    backward_scope: int | None = Field(default=None, ge=1, le=40)
    #: ``ignore``: a trigger overlapping the target is part of it; ``apply``: it still modifies the target.
    overlap: Literal["ignore", "apply"] = "ignore"
    #: Rule ids whose triggers, in the target's clause before the target or inside it, stop this trigger
    #: from applying inside or after the target: "I hurt her arm" (the caller is the subject), "he would be
    #: better off without me" (the target is about the caller). Triggers before the target are not blocked.
    blocked_by_rules: tuple[str, ...] = ()
    #: Finding types the trigger applies to; empty: every type. "you" is the listener in advice about
    #: suicide ("if you're feeling suicidal, call..."), but the agent in a records request ("I need you to
    #: confirm...").
    for_types: tuple[str, ...] = ()
    #: A first-person subject right after the trigger is the clause's own ("if I ever took..."): it does not
    #: end the scope; the next one (the consequent's "I'll ...") does.
    own_subject: bool = False
    #: Rule ids whose triggers inside the target stop this trigger from applying: "you won't have to worry
    #: about me much longer" is about the caller, not the listener.
    blocked_inside_target: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> ContextRule:
        if (self.literal is None) == (self.pattern is None):
            raise ValueError("give exactly one of 'literal' or 'pattern'")
        try:
            re.compile(self.regex())
        except re.error as exc:
            raise ValueError(f"pattern does not compile: {exc}") from exc
        return self

    def regex(self) -> str:
        """The trigger as a regex over normalised text (a literal is normalised like the text is)."""
        if self.pattern is not None:
            return self.pattern
        assert self.literal is not None
        return " ".join(re.escape(t.norm) for t in normalize(self.literal).tokens)


class ContextRules(BaseModel):
    """The whole context rule file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    language: str = "en"
    #: Category → assertion it sets (categories not listed set none, e.g. CONDITIONAL stays present).
    assertions: dict[Category, Assertion]
    #: Category → experiencer it sets.
    experiencers: dict[Category, Experiencer]
    #: When several assertion categories apply, the first in this list wins.
    assertion_priority: tuple[Assertion, ...]
    #: Experiencer categories ignored when the target is hypothetical: a generic "someone" in "say someone
    #: wanted to end it all" is read as a veiled self-reference (the caller).
    self_when_hypothetical: tuple[Category, ...] = ()
    rules: tuple[ContextRule, ...]

    @model_validator(mode="after")
    def _unique(self) -> ContextRules:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used twice")
            seen.add(rule.id)
        for rule in self.rules:
            named = rule.terminated_by_rules + rule.blocked_by_rules + rule.blocked_inside_target
            unknown = sorted(set(named) - seen)
            if unknown:
                raise ValueError(f"rule {rule.id!r} names unknown rule ids {unknown}")
        return self


@dataclass(frozen=True, slots=True)
class ContextResult:
    """How a target is asserted, who experiences it, and the triggers that said so."""

    assertion: Assertion
    experiencer: Experiencer
    modifiers: tuple[Modifier, ...]


@dataclass(frozen=True, slots=True)
class _Trigger:
    rule: ContextRule
    start: int  # token indices [start, end)
    end: int


class ContextEngine:
    """Applies context rules to target spans. Build once with :meth:`load`; ``assess`` is pure."""

    def __init__(self, rules: ContextRules) -> None:
        self.rules = rules
        self._compiled = [(rule, compile_pattern(rule.regex())) for rule in rules.rules]

    @classmethod
    def load(cls, language: str = "en") -> ContextEngine:
        """Load the packaged ``rules/<language>/context.yaml``."""
        return cls(load_rules("context.yaml", ContextRules, language))

    @property
    def version(self) -> str:
        """Version of the rule file."""
        return self.rules.version

    def triggers(self, doc: NormText, finding_type: str | None = None) -> tuple[_Trigger, ...]:
        """All triggers in ``doc``; where two overlap, the longer (then the earlier) wins.

        Rules with ``for_types`` apply only when ``finding_type`` is one of them.
        """
        found: list[_Trigger] = []
        for rule, regex in self._compiled:
            if rule.for_types and finding_type not in rule.for_types:
                continue
            for m in regex.finditer(doc.norm):
                if m.end() > m.start():
                    first, stop = doc.token_range(m.start(), m.end())
                    found.append(_Trigger(rule, first, stop))
        found.sort(key=lambda t: (-(t.end - t.start), t.start))
        kept: list[_Trigger] = []
        for trig in found:
            if all(trig.end <= k.start or trig.start >= k.end for k in kept):
                kept.append(trig)
        return tuple(sorted(kept, key=lambda t: t.start))

    def assess(self, text: str, span: tuple[int, int], finding_type: str | None = None) -> ContextResult:
        """Context of the target at character ``span`` of ``text`` (for ``finding_type``, if given)."""
        doc = normalize(text)
        first, stop = doc.token_span_of_chars(*span)
        return self.assess_tokens(doc, first, stop, self.triggers(doc, finding_type))

    def assess_tokens(
        self, doc: NormText, first: int, stop: int, triggers: tuple[_Trigger, ...]
    ) -> ContextResult:
        """Context of the target at token range ``[first, stop)`` given the triggers of ``doc``."""
        nearest: dict[Category, tuple[int, _Trigger]] = {}
        for trig in triggers:
            cat = trig.rule.category
            if cat in _NON_MODIFYING:
                continue
            distance: int | None
            if trig.end <= first or trig.start >= stop:
                distance = self._reach(trig, first, stop, triggers, len(doc.tokens))
            else:
                distance = 0 if trig.rule.overlap == "apply" else None
            if distance is None or (cat in nearest and distance >= nearest[cat][0]):
                continue
            if trig.rule.blocked_by_rules and trig.end > first and self._blocked(trig, first, stop, triggers):
                continue
            inside = trig.rule.blocked_inside_target
            if inside and any(o.rule.id in inside and first <= o.start < stop for o in triggers):
                continue
            nearest[cat] = (distance, trig)
        modifiers = tuple(
            Modifier(
                category=trig.rule.category, rule_id=trig.rule.id, span=doc.char_span(trig.start, trig.end)
            )
            for _, trig in sorted(nearest.values(), key=lambda pair: pair[1].start)
        )
        applied = {self.rules.assertions[c] for c in nearest if c in self.rules.assertions}
        assertion: Assertion = next((a for a in self.rules.assertion_priority if a in applied), "present")
        experiencer: Experiencer = "caller"
        veiled = self.rules.self_when_hypothetical if assertion == "hypothetical" else ()
        for cat in nearest:
            if experiencer == "caller" and cat not in veiled:
                experiencer = self.rules.experiencers.get(cat, experiencer)
        return ContextResult(assertion=assertion, experiencer=experiencer, modifiers=modifiers)

    def _reach(
        self, trig: _Trigger, first: int, stop: int, triggers: tuple[_Trigger, ...], n: int
    ) -> int | None:
        """Token distance from ``trig`` to the target if the target lies in its scope, else ``None``."""
        rule = trig.rule
        ends = _SCOPE_ENDS[rule.scope].union(rule.terminated_by)
        if rule.direction in ("forward", "bidirectional") and trig.end <= first:
            limit = min(n, trig.end + rule.max_scope)
            for other in triggers:
                if rule.own_subject and other.start == trig.end and other.rule.category == "FIRST_PERSON":
                    continue
                if other.start >= trig.end and (
                    other.rule.category in ends or other.rule.id in rule.terminated_by_rules
                ):
                    limit = min(limit, other.start)
                    break
            if first < limit:
                return first - trig.end
        if rule.direction in ("backward", "bidirectional") and trig.start >= stop:
            limit = max(0, trig.start - (rule.backward_scope or rule.max_scope))
            for other in reversed(triggers):
                if other.end <= trig.start and (
                    other.rule.category in ends or other.rule.id in rule.terminated_by_rules
                ):
                    limit = max(limit, other.end)
                    break
            if stop > limit:
                return trig.start - stop
        return None

    @staticmethod
    def _blocked(trig: _Trigger, first: int, stop: int, triggers: tuple[_Trigger, ...]) -> bool:
        """Whether a ``blocked_by_rules`` trigger lies in the target's clause, before or inside the target."""
        ends = _SCOPE_ENDS["clause"]
        clause_start = max((o.end for o in triggers if o.rule.category in ends and o.end <= first), default=0)
        blockers = trig.rule.blocked_by_rules
        return any(
            o is not trig and o.rule.id in blockers and o.start >= clause_start and o.start < stop
            for o in triggers
        )


_DEFAULT: dict[str, ContextEngine] = {}


def default_engine(language: str = "en") -> ContextEngine:
    """The packaged context engine for ``language``, loaded once per process."""
    if language not in _DEFAULT:
        _DEFAULT[language] = ContextEngine.load(language)
    return _DEFAULT[language]


def assess(text: str, span: tuple[int, int], language: str = "en") -> ContextResult:
    """Assertion, experiencer and modifiers of the target at ``span`` of ``text`` (packaged rules)."""
    return default_engine(language).assess(text, span)
