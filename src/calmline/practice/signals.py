"""What calmline's detectors saw in one agent answer, and the branch conditions read from it (pure).

The signals come from the engine's own outputs for the agent's utterance (present guardrail findings and the
``agent.scored`` empathy) plus the agent intents of the engine's intent matcher, so the practice caller
reacts to exactly what would be judged on a real call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from calmline.practice.schema import Condition

#: Guardrail levels that dismiss or judge what the caller feels: an answer with one acknowledges nothing.
DISMISSIVE = frozenset({"false_reassurance", "judgmental"})
#: Agent intents that acknowledge what the caller feels (``rules/en/intents.yaml``).
ACKNOWLEDGING_INTENTS = frozenset({"acknowledged_feelings", "expressed_condolence"})
_MECHANISMS = ("emotional_reaction", "interpretation", "exploration")
_PRESENT = ("present", "uncertain")


@dataclass(frozen=True, slots=True)
class AgentSignals:
    """calmline's reading of one agent answer."""

    turn: int
    intents: tuple[str, ...] = ()
    #: Present guardrail warnings: ``{"level", "severity", "alternative", "evidence"}``.
    guardrails: tuple[dict[str, Any], ...] = ()
    empathy: Mapping[str, Any] = field(default_factory=dict)

    @property
    def guardrail_levels(self) -> frozenset[str]:
        """The levels of the present guardrail warnings."""
        return frozenset(str(g["level"]) for g in self.guardrails)


def acknowledged(signals: AgentSignals) -> bool:
    """Whether the answer acknowledged the caller.

    A reflection, validation, summary, sympathy, a specific question or an acknowledging intent counts,
    unless the same answer has a dismissive guardrail warning ("calm down", "you should have ...").
    """
    if signals.guardrail_levels & DISMISSIVE:
        return False
    if set(signals.intents) & ACKNOWLEDGING_INTENTS:
        return True
    e = signals.empathy
    return bool(
        int(e.get("emotional_reaction", 0)) >= 1
        or int(e.get("interpretation", 0)) >= 1
        or int(e.get("exploration", 0)) >= 2
        or e.get("validation")
        or e.get("summarising")
    )


def holds(cond: Condition, signals: AgentSignals) -> bool:
    """Whether ``cond`` holds for the answer read as ``signals``."""
    if cond.min_turn is not None and signals.turn < cond.min_turn:
        return False
    if cond.intent and not set(cond.intent) & set(signals.intents):
        return False
    if cond.no_intent and set(cond.no_intent) & set(signals.intents):
        return False
    levels = signals.guardrail_levels
    if cond.guardrail and not (("any" in cond.guardrail and levels) or set(cond.guardrail) & levels):
        return False
    if cond.no_guardrail and levels:
        return False
    if cond.empathy and not any(_signal(signals.empathy, s, cond.empathy_level) for s in cond.empathy):
        return False
    return not (cond.no_empathy and acknowledged(signals))


def _signal(empathy: Mapping[str, Any], name: str, level: int) -> bool:
    value = empathy.get(name, 0)
    if name in _MECHANISMS:
        return int(value or 0) >= level
    return bool(value)


def signals_from_outputs(
    turn: int, utterance_seq: int, intents: Iterable[str], outputs: Iterable[Mapping[str, Any]]
) -> AgentSignals:
    """Read the engine's outputs for the agent utterance ``utterance_seq`` (payload dicts, as stored)."""
    guardrails: list[dict[str, Any]] = []
    empathy: Mapping[str, Any] = {}
    for out in outputs:
        kind = out.get("type")
        if kind == "finding":
            f = out.get("finding") or {}
            if (
                f.get("type") == "guardrail"
                and f.get("speaker") == "agent"
                and f.get("assertion", "present") in _PRESENT
                and f.get("utterance_seq", utterance_seq) == utterance_seq
                and f.get("category") != "info"
            ):
                guardrails.append(
                    {
                        "level": f.get("level"),
                        "severity": f.get("category"),
                        "alternative": f.get("alternative"),
                        "evidence": [list(s) for s in f.get("evidence") or ()],
                        "rule": f.get("rule_id"),
                    }
                )
        elif kind == "agent.scored" and out.get("utterance_seq") == utterance_seq:
            empathy = dict(out.get("empathy") or {})
    return AgentSignals(turn=turn, intents=tuple(intents), guardrails=tuple(guardrails), empathy=empathy)
