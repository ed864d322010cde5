"""Continuity rules: what a known caller's history changes at the start of a call (pure, data-driven).

``resources/continuity.yaml`` is the table; :func:`evaluate` reads one ``caller.history`` event against it
and says whether the caller starts at heightened attention and whether distress is rising across calls.
The engine (``engine/core.py``) turns that into outputs. Nothing here reads a clock: every time comparison
is against the history event's own ``at``.

Example::

    rules = load_continuity()
    decision = evaluate(rules, history)
    decision.flag_reason   # "last call reached high risk 3 days ago" or None
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field

from calmline.events import CallerHistory, Finding, Severity

#: Suicide-risk tiers, lowest first (``none``: the call reached no tier).
TIER_ORDER: tuple[str, ...] = ("none", "low", "moderate", "high", "imminent")


def tier_rank(tier: str | None) -> int:
    """0 for no tier, then low=1 … imminent=4."""
    return TIER_ORDER.index(tier) if tier in TIER_ORDER else 0


class _Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FlagRule(_Rule):
    """An earlier call reached one of ``tiers`` within ``within_days``: start at heightened attention."""

    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    tiers: tuple[str, ...] = ("high", "imminent")
    within_days: int = Field(ge=1, le=365)


class HeightenedRule(_Rule):
    """Lower alert thresholds while a call is at heightened attention."""

    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    findings: tuple[str, ...]
    min_severity: Severity
    title: str = Field(min_length=1, max_length=200)

    def applies(self, finding: Finding) -> bool:
        """Whether ``finding`` is one whose alert is lifted (present or uncertain, about the caller)."""
        return finding.type in self.findings and finding.is_present and finding.experiencer == "caller"


class RisingDistressRule(_Rule):
    """Peak distress of the last ``min_calls`` calls never falls and rises by ``min_rise``."""

    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    min_calls: int = Field(ge=2, le=20)
    within_days: int = Field(ge=1, le=365)
    min_rise: float = Field(gt=0.0, le=1.0)
    severity: Severity
    title: str = Field(min_length=1, max_length=200)


class ContinuityRules(_Rule):
    """The whole table, with its version."""

    version: str = Field(min_length=1, max_length=40)
    window_days: int = Field(ge=1, le=3650)
    flag: FlagRule
    heightened: HeightenedRule
    rising_distress: RisingDistressRule


@dataclass(frozen=True, slots=True)
class Decision:
    """What the history means for the new call."""

    flag_reason: str | None = None
    rising_reason: str | None = None


def load_continuity(text: str | None = None) -> ContinuityRules:
    """Load the rules from YAML text, or the ones shipped with calmline."""
    if text is None:
        text = resources.files("calmline.resources").joinpath("continuity.yaml").read_text("utf-8")
    return ContinuityRules.model_validate(yaml.safe_load(text))


def _days(delta: timedelta) -> str:
    days = max(0, delta.days)
    return "today" if days == 0 else ("1 day ago" if days == 1 else f"{days} days ago")


def evaluate(rules: ContinuityRules, history: CallerHistory) -> Decision:
    """Apply the flag and rising-distress rules to one history summary."""
    flag_reason = None
    since = history.at - timedelta(days=rules.flag.within_days)
    risky = [c for c in history.recent if c.highest_tier in rules.flag.tiers and c.started_at >= since]
    if risky:
        last = risky[-1]
        flag_reason = (
            f"an earlier call reached {last.highest_tier} risk {_days(history.at - last.started_at)}"
        )
    rule = rules.rising_distress
    since = history.at - timedelta(days=rule.within_days)
    peaks = [c.peak_distress for c in history.recent if c.started_at >= since and c.peak_distress is not None]
    window = peaks[-rule.min_calls :]
    rising_reason = None
    if (
        len(window) == rule.min_calls
        and all(b >= a for a, b in itertools.pairwise(window))
        and window[-1] - window[0] >= rule.min_rise
    ):
        shown = " → ".join(f"{p:.2f}" for p in window)
        rising_reason = f"peak distress over the last {rule.min_calls} calls: {shown}"
    return Decision(flag_reason=flag_reason, rising_reason=rising_reason)
