"""Agent intents: what the call-center AGENT said, for completing protocol checklist steps.

The rules are data (``resources/rules/<language>/intents.yaml``, versioned); this module validates them with a
frozen pydantic model and matches them over the ASR-tolerant normalised text of
:func:`calmline.analysis.text.normalize`. A match is dropped when the ConText engine
(:func:`calmline.analysis.context.default_engine`) reads it as negated or hypothetical ("I'm not going to ask
if you're safe", "if you were thinking about killing yourself you would tell me"), or when a ``blockers``
pattern occurs earlier in the same clause ("I can't ask you whether ...").

Example::

    >>> [m.intent for m in match_intents("um are you safe right now")]
    ['asked_if_safe_now']

:func:`evaluate_intents` measures the rules (and a keyword baseline) on a JSONL set such as
``eval/sets/agent_intents.jsonl``, split into ``dev`` and ``test`` halves by a hash of each row's id.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from calmline.analysis.context import default_engine
from calmline.analysis.text import NormText, compile_pattern, normalize
from calmline.metrics import prf
from calmline.protocols.loader import ProtocolError, line_of, parse_yaml

RULES_PACKAGE = "calmline.resources"
INTENTS_FILE = "intents.yaml"
_MACRO = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")
#: Tokens that end a clause, for the ``blockers`` look-back.
_CLAUSE_END = re.compile(r"(?:^|\s)[.?!;](?=\s|$)")

_ID = r"^[a-z0-9][a-z0-9_.-]*$"


class IntentDef(BaseModel):
    """One intent the rules may emit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str


class IntentRule(BaseModel):
    """Patterns (with ``{MACRO}`` references) that signal one intent, and patterns that veto it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_ID)
    intent: str
    patterns: tuple[str, ...] = Field(min_length=1)
    #: If any of these matches anywhere in the utterance, the rule does not fire.
    unless: tuple[str, ...] = ()
    #: Keep matches the context engine reads as hypothetical (offers: "if you like I can connect you").
    allow_hypothetical: bool = False


class IntentRules(BaseModel):
    """The whole intent rule file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    language: str = "en"
    intents: tuple[IntentDef, ...] = Field(min_length=1)
    macros: dict[str, str] = Field(default_factory=dict)
    #: Patterns that, earlier in the same clause, cancel a match ("i cant ask you whether ...").
    blockers: tuple[str, ...] = ()
    rules: tuple[IntentRule, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> IntentRules:
        intent_ids = [i.id for i in self.intents]
        if len(set(intent_ids)) != len(intent_ids):
            raise ValueError("an intent id is declared twice")
        rule_ids = [r.id for r in self.rules]
        if len(set(rule_ids)) != len(rule_ids):
            raise ValueError("a rule id is used twice")
        for name, body in self.macros.items():
            if not re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
                raise ValueError(f"macro name {name!r} must be UPPER_SNAKE")
            if _MACRO.search(body):
                raise ValueError(f"macro {name!r} refers to another macro")
        for rule in self.rules:
            if rule.intent not in intent_ids:
                raise ValueError(f"rule {rule.id!r} names unknown intent {rule.intent!r}")
            for pattern in (*rule.patterns, *rule.unless):
                self._compile(pattern, rule.id)
        for pattern in self.blockers:
            self._compile(pattern, "blockers")
        return self

    def expand(self, pattern: str) -> str:
        """``pattern`` with its ``{MACRO}`` references replaced."""

        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in self.macros:
                raise ValueError(f"unknown macro {{{name}}}")
            return self.macros[name].strip()

        return _MACRO.sub(sub, pattern)

    def _compile(self, pattern: str, where: str) -> None:
        try:
            compile_pattern(self.expand(pattern))
        except (re.error, ValueError) as exc:
            raise ValueError(f"{where}: pattern {pattern!r} does not compile: {exc}") from exc

    @property
    def intent_ids(self) -> tuple[str, ...]:
        """Declared intent ids, in file order."""
        return tuple(i.id for i in self.intents)


@dataclass(frozen=True, slots=True)
class IntentMatch:
    """One agent intent found in an utterance, with the evidence and the rule that found it."""

    intent: str
    #: Character span of the evidence in the original text.
    span: tuple[int, int]
    evidence: str
    rule_id: str
    version: str


def load_intent_rules(language: str = "en") -> IntentRules:
    """Read and validate the packaged ``rules/<language>/intents.yaml``.

    Parsed with the protocol loader's safe YAML (``on``/``off``/``yes``/``no`` stay strings, duplicate keys
    are refused); an error is a :class:`~calmline.protocols.loader.ProtocolError`: ``FILE:LINE: reason``.
    """
    file = f"rules/{language}/{INTENTS_FILE}"
    path = resources.files(RULES_PACKAGE).joinpath("rules", language, INTENTS_FILE)
    return parse_intent_rules(path.read_text("utf-8"), file)


def parse_intent_rules(text: str, file: str) -> IntentRules:
    """Validate one intent rule document; ``file`` names it in errors."""
    data, node = parse_yaml(text, file)
    try:
        return IntentRules.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"]) or "rules"
        raise ProtocolError(file, line_of(node, err["loc"]), f"{where}: {err['msg']}") from exc


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    rule: IntentRule
    patterns: tuple[re.Pattern[str], ...]
    unless: tuple[re.Pattern[str], ...]


class IntentMatcher:
    """Compiled intent rules. Build once (see :func:`default_matcher`); :meth:`match` is pure."""

    def __init__(self, rules: IntentRules) -> None:
        self.rules = rules
        self._rules = tuple(
            _CompiledRule(
                rule=r,
                patterns=tuple(compile_pattern(rules.expand(p)) for p in r.patterns),
                unless=tuple(compile_pattern(rules.expand(p)) for p in r.unless),
            )
            for r in rules.rules
        )
        self._blockers = tuple(compile_pattern(rules.expand(p)) for p in rules.blockers)

    @property
    def version(self) -> str:
        """Version of the rule file."""
        return self.rules.version

    def match(self, text: str) -> tuple[IntentMatch, ...]:
        """Intents asserted in ``text``: at most one match per intent, the earliest, in text order."""
        doc = normalize(text)
        if not doc.tokens:
            return ()
        found: dict[str, IntentMatch] = {}
        for compiled in self._rules:
            intent = compiled.rule.intent
            if any(u.search(doc.norm) for u in compiled.unless):
                continue
            for regex in compiled.patterns:
                for m in regex.finditer(doc.norm):
                    if m.end() <= m.start() or self._blocked(doc, m.start()):
                        continue
                    first, stop = doc.token_range(m.start(), m.end())
                    span = doc.char_span(first, stop)
                    assertion = default_engine().assess(text, span).assertion
                    if assertion == "negated" or (
                        assertion == "hypothetical" and not compiled.rule.allow_hypothetical
                    ):
                        continue
                    prior = found.get(intent)
                    if prior is None or span[0] < prior.span[0]:
                        found[intent] = IntentMatch(
                            intent=intent,
                            span=span,
                            evidence=text[span[0] : span[1]],
                            rule_id=compiled.rule.id,
                            version=self.rules.version,
                        )
                    break
        return tuple(sorted(found.values(), key=lambda im: (im.span[0], im.intent)))

    def _blocked(self, doc: NormText, start: int) -> bool:
        """Whether a blocker occurs between the start of the clause and ``start`` (normalised offsets)."""
        before = doc.norm[:start]
        ends = list(_CLAUSE_END.finditer(before))
        clause = before[ends[-1].end() :] if ends else before
        return any(b.search(clause) for b in self._blockers)


@lru_cache(maxsize=4)
def default_matcher(language: str = "en") -> IntentMatcher:
    """The packaged matcher for ``language``, loaded once per process."""
    return IntentMatcher(load_intent_rules(language))


def match_intents(text: str) -> tuple[IntentMatch, ...]:
    """Agent intents in ``text`` according to the packaged English rules."""
    return default_matcher().match(text)


# ---- evaluation -------------------------------------------------------------------------------------------

#: A deliberately naive baseline: an intent fires when any of its keywords is a substring of the lower-cased
#: text. It shows what the rules add over keyword spotting.
KEYWORD_BASELINE: dict[str, tuple[str, ...]] = {
    "asked_directly_about_suicide": ("suicid", "kill yourself", "end your life", "hurt yourself", "harm"),
    "asked_about_means": ("gun", "weapon", "pills", "tablets", "knife", "access to", "medication"),
    "asked_about_plan": ("plan",),
    "asked_if_safe_now": ("safe", "with you", "alone"),
    "asked_location": ("address", "where are you", "postcode", "location"),
    "offered_transfer": ("transfer", "connect", "put you through"),
    "advised_emergency_services": ("911", "999", "112", "ambulance", "emergency"),
    "asked_time_last_known_well": ("last normal", "last seen", "what time", "when did", "start"),
    "verified_identity": ("name", "date of birth", "dob"),
}


def keyword_baseline(text: str) -> frozenset[str]:
    """Intents the keyword baseline finds in ``text``."""
    low = text.lower()
    return frozenset(i for i, words in KEYWORD_BASELINE.items() if any(w in low for w in words))


def split_of(row_id: str) -> str:
    """``"dev"`` or ``"test"``: a stable half of the set, by the SHA-256 of the row id."""
    return "dev" if hashlib.sha256(row_id.encode("utf-8")).digest()[0] % 2 == 0 else "test"


def read_intent_set(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a JSONL intent set: ``{"id", "text", "intents"}`` per non-blank line."""
    rows: list[dict[str, Any]] = []
    for line in Path(path).read_text("utf-8").splitlines():
        if line.strip():
            rows.append(json.loads(line))
    return rows


def score(
    gold: list[frozenset[str]], predicted: list[frozenset[str]], intents: tuple[str, ...]
) -> dict[str, Any]:
    """Per-intent precision/recall/F1 (with tp/fp/fn/support), micro and macro averages."""
    per: dict[str, dict[str, float]] = {}
    totals = [0, 0, 0]
    for intent in intents:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if intent in g and intent in p)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if intent not in g and intent in p)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if intent in g and intent not in p)
        per[intent] = {**prf(tp, fp, fn), "tp": tp, "fp": fp, "fn": fn, "support": tp + fn}
        totals = [totals[0] + tp, totals[1] + fp, totals[2] + fn]
    macro = {
        k: round(sum(per[i][k] for i in intents) / len(intents), 4) if intents else 0.0
        for k in ("precision", "recall", "f1")
    }
    return {"per_intent": per, "micro": prf(*totals), "macro": macro}


def evaluate_intents(path: str | Path) -> dict[str, Any]:
    """Measure :func:`match_intents` and the keyword baseline on the JSONL set at ``path``.

    Returns ``{"version", "intents", "splits": {"dev"|"test"|"all": {"n", "rules", "baseline", "errors"}}}``
    where ``rules`` and ``baseline`` are :func:`score` results and ``errors`` lists the rule mistakes
    (``id``, ``text``, ``missed``, ``extra``). Tune on ``dev`` only; ``test`` is the held-out estimate.
    """
    matcher = default_matcher()
    intents = matcher.rules.intent_ids
    rows = read_intent_set(path)
    out: dict[str, Any] = {"version": matcher.version, "intents": list(intents), "splits": {}}
    for split in ("dev", "test", "all"):
        chosen = [r for r in rows if split == "all" or split_of(str(r["id"])) == split]
        gold = [frozenset(r["intents"]) for r in chosen]
        pred = [frozenset(m.intent for m in matcher.match(r["text"])) for r in chosen]
        base = [keyword_baseline(r["text"]) for r in chosen]
        errors = [
            {"id": r["id"], "text": r["text"], "missed": sorted(g - p), "extra": sorted(p - g)}
            for r, g, p in zip(chosen, gold, pred, strict=True)
            if g != p
        ]
        out["splits"][split] = {
            "n": len(chosen),
            "rules": score(gold, pred, intents),
            "baseline": score(gold, base, intents),
            "errors": errors,
        }
    return out


if __name__ == "__main__":  # pragma: no cover - a developer's report
    import sys

    report = evaluate_intents(sys.argv[1] if len(sys.argv) > 1 else "eval/sets/agent_intents.jsonl")
    for name, res in report["splits"].items():
        print(name, res["n"], "rules micro", res["rules"]["micro"], "macro", res["rules"]["macro"])
        print(name, res["n"], "baseline micro", res["baseline"]["micro"], "macro", res["baseline"]["macro"])
    for err in report["splits"]["dev"]["errors"]:
        print("DEV", err)
