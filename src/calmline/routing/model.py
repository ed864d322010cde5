"""Agents, queues and the routing and wellbeing policies: what ``resources/routing/*.yaml`` may say.

Pydantic at the edge (STYLE.md principle 1): these models validate the YAML (and the assignment endpoint's
inline agents); the pure core in ``core.py`` only reads them. All are frozen and refuse unknown keys.

Example (abridged)::

    version: "2026-11-25.2"
    queues:
      - {id: crisis, skills_required: [crisis], service_level: {answer_pct: 90, within_s: 10}}
    wellbeing:
      max_consecutive_high: 2
      break_after_critical_s: 120
      cooldown_after_critical_s: 1200
      exposure_budget_minutes: 540
      intensity_weights: {routine: 0.0, distressed: 1.0, high: 2.0, crisis: 4.0}
    policy:
      ageing_s_per_step: 30
      hold_for_crisis_trained_s: 15
"""

from __future__ import annotations

from datetime import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Tier = Literal["junior", "experienced", "senior"]
Intensity = Literal["routine", "distressed", "high", "crisis"]
RiskTier = Literal["none", "low", "moderate", "high", "imminent"]

#: Higher is more experienced.
TIER_RANK: dict[str, int] = {"junior": 0, "experienced": 1, "senior": 2}
INTENSITIES: tuple[Intensity, ...] = ("routine", "distressed", "high", "crisis")

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]*$"


def _default_weights() -> dict[Intensity, float]:
    return {"routine": 0.0, "distressed": 1.0, "high": 2.0, "crisis": 4.0}


def _default_allowance() -> dict[Intensity, float]:
    return {"routine": 10.0, "distressed": 17.5, "high": 25.0, "crisis": 45.0}


def _default_risk_steps() -> dict[Literal["none", "low", "moderate"], float]:
    return {"none": 0.0, "low": 2.0, "moderate": 4.0}


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Agent(_Model):
    """Someone who answers calls: what they can handle and when they work."""

    id: str = Field(min_length=1, max_length=64, pattern=_ID)
    name: str = Field(default="", max_length=128)
    skills: frozenset[str] = Field(default=frozenset(), description="E.g. general, nurse, crisis, billing.")
    languages: frozenset[str] = Field(default=frozenset({"en"}), min_length=1)
    tier: Tier = "junior"
    crisis_trained: bool = False
    shift_start: time | None = Field(default=None, description="Time of day (UTC) the shift starts.")
    shift_end: time | None = Field(
        default=None, description="Time of day (UTC) it ends; may be past midnight."
    )

    @model_validator(mode="after")
    def _shift_both_or_neither(self) -> Agent:
        if (self.shift_start is None) != (self.shift_end is None):
            raise ValueError("give both shift_start and shift_end, or neither")
        return self


class ServiceLevel(_Model):
    """Answer ``answer_pct`` percent of calls within ``within_s`` seconds (e.g. 80/20)."""

    answer_pct: float = Field(default=80.0, gt=0, le=100)
    within_s: int = Field(default=20, gt=0)


class Queue(_Model):
    """Where calls wait; every call in it needs ``skills_required``."""

    id: str = Field(min_length=1, max_length=64, pattern=_ID)
    skills_required: frozenset[str] = frozenset()
    languages: frozenset[str] = Field(default=frozenset({"en"}), min_length=1)
    service_level: ServiceLevel = ServiceLevel()


class WellbeingPolicy(_Model):
    """Limits that protect agents from crisis after crisis."""

    max_consecutive_high: int = Field(
        default=2, ge=1, description="High or crisis calls in a row before a routine one (or a break)."
    )
    break_after_critical_s: int = Field(
        default=120, ge=0, description="No calls at all this long after a critical call (decompression)."
    )
    cooldown_after_critical_s: int = Field(
        default=1200, ge=0, description="Routine calls only this long after a critical call."
    )
    exposure_budget_minutes: float = Field(
        default=540.0, gt=0, description="Intensity-weighted minutes per shift; past it, routine calls only."
    )
    intensity_weights: dict[Intensity, float] = Field(default_factory=_default_weights)
    critical: frozenset[Intensity] = Field(
        default=frozenset({"crisis"}), description="Intensities that start a cool-down and need a debrief."
    )
    debrief_within_s: int = Field(default=86_400, gt=0, description="When a debrief task falls due.")
    debrief_assign_to: str | None = Field(
        default=None,
        max_length=64,
        description="The supervisor (username) new debrief tasks are assigned to; unassigned when unset.",
    )
    allowance_minutes: dict[Intensity, float] = Field(
        default_factory=_default_allowance,
        description="A call goes only to an agent whose budget has room for this many minutes of it (about "
        "twice the usual length, so that long calls rarely run past the budget).",
    )
    keep_crisis_room_for: frozenset[Intensity] = Field(
        default=frozenset(),
        description="A crisis-trained agent takes calls of these intensities only while its budget keeps "
        "room for one crisis call after it (their budget is kept for the calls only they should take).",
    )
    rotation_margin_minutes: float = Field(
        default=45.0,
        ge=0,
        description="An agent this far above the floor's mean exposure takes lighter calls until the others "
        "catch up (crisis calls excepted).",
    )

    @model_validator(mode="after")
    def _every_intensity_weighted(self) -> WellbeingPolicy:
        for name, table in (
            ("intensity_weights", self.intensity_weights),
            ("allowance_minutes", self.allowance_minutes),
        ):
            missing = [i for i in INTENSITIES if i not in table]
            if missing:
                raise ValueError(f"{name} misses: {', '.join(missing)}")
        if any(w < 0 for w in self.intensity_weights.values()):
            raise ValueError("intensity_weights must not be negative")
        return self


class RoutingPolicy(_Model):
    """How calls are ordered and how agents are preferred."""

    ageing_s_per_step: float = Field(
        default=30.0, gt=0, description="Seconds of waiting worth one priority step (nobody starves)."
    )
    risk_steps: dict[Literal["none", "low", "moderate"], float] = Field(
        default_factory=_default_risk_steps,
        description="Priority steps of the risk tiers below high (high and imminent always go first).",
    )
    distress_steps: float = Field(default=4.0, ge=0, description="Steps a distress of 1.0 is worth.")
    distressed_at: float = Field(
        default=0.5, ge=0, le=1, description="Distress from which a call counts as distressed."
    )
    prefer_senior_at: float = Field(
        default=0.6, ge=0, le=1, description="Distress from which more experienced agents are preferred."
    )
    crisis_trained_for: frozenset[RiskTier] = Field(
        default=frozenset({"imminent"}),
        description="Risk tiers that go to a crisis-trained agent first.",
    )
    experience_minutes: float = Field(
        default=5.0,
        ge=0,
        description="High-emotion calls: one experience tier is worth this many minutes of exposure.",
    )
    reserve_max_wait_s: float = Field(
        default=10.0,
        ge=0,
        description="A call below the crisis tier waits up to this long rather than take one of the last "
        "crisis-trained agents kept free (0: they only rank last).",
    )
    callback_after_s: float = Field(
        default=20.0,
        gt=0,
        description="A routine call (no risk, calm) that has waited this long is offered a callback.",
    )
    hold_for_crisis_trained_s: float = Field(
        default=15.0,
        ge=0,
        description="An imminent-risk call waits this long for a crisis-trained agent before any will do.",
    )
    keep_crisis_trained_free: int = Field(
        default=3,
        ge=0,
        description="While this many crisis-trained agents or fewer are free, calls below the crisis tier go "
        "to other agents first.",
    )


class RoutingConfig(_Model):
    """One versioned bundle: the queues (and optionally a roster), the wellbeing and routing policies."""

    version: str = Field(min_length=1, max_length=64)
    queues: tuple[Queue, ...] = ()
    agents: tuple[Agent, ...] = ()
    wellbeing: WellbeingPolicy = WellbeingPolicy()
    policy: RoutingPolicy = RoutingPolicy()

    @model_validator(mode="after")
    def _unique_ids(self) -> RoutingConfig:
        for what, ids in (("queue", [q.id for q in self.queues]), ("agent", [a.id for a in self.agents])):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"duplicate {what} id(s): {', '.join(dupes)}")
        return self

    def queue(self, queue_id: str) -> Queue | None:
        """The queue with this id, if configured."""
        return next((q for q in self.queues if q.id == queue_id), None)
