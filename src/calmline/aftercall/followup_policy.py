"""The caring-contact policy (``resources/qa/followups.yaml``): which follow-ups become tasks, due when."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from calmline.aftercall.common import TIER_ORDER
from calmline.configfile import load_config, parse_config, shipped_config

DEFAULT_FILE = "followups.yaml"
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_\-]{0,63}$")]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProtocolRule(_Model):
    """A protocol whose follow-up becomes a caring-contact task."""

    reason: Name
    team: Name | None = None


class Outcome(_Model):
    """An outcome code of a contact attempt."""

    closes: bool = True


class FeedbackRule(_Model):
    """Patient feedback whose comment shows risk opens a caring contact, due within ``within_h``."""

    reason: Name = "feedback_risk"
    within_h: float = Field(default=24, gt=0)
    team: Name | None = None


class FollowupPolicy(_Model):
    """Which protocols' follow-ups become tasks, the due-time caps by tier, and the outcome codes."""

    version: str = Field(min_length=1, max_length=40)
    protocols: dict[Name, ProtocolRule] = Field(min_length=1)
    reasons: dict[Name, tuple[str, ...]] = Field(default_factory=dict)
    feedback: FeedbackRule | None = None
    max_due_h: dict[str, float] = Field(default_factory=dict)
    outcomes: dict[Name, Outcome] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> FollowupPolicy:
        unknown = sorted(t for t in self.max_due_h if t not in TIER_ORDER)
        if unknown:
            raise ValueError(f"max_due_h: unknown tier(s) {', '.join(unknown)}; use {', '.join(TIER_ORDER)}")
        if any(h <= 0 for h in self.max_due_h.values()):
            raise ValueError("max_due_h: hours must be positive")
        missing = sorted({r.reason for r in self.protocols.values()} - set(self.reasons))
        if missing:
            raise ValueError(f"reasons: no finding types for {', '.join(missing)}")
        return self

    def due_at(self, protocol_due: datetime, scheduled_at: datetime, tier: str | None) -> datetime:
        """The earlier of the protocol's due time and the tier's cap from when it was scheduled."""
        cap = self.max_due_h.get(tier) if tier else None
        if cap is None:
            return protocol_due
        return min(protocol_due, scheduled_at + timedelta(hours=cap))


def parse_policy(text: str, file: str) -> FollowupPolicy:
    """Validate one policy document; errors are ``ConfigError`` with ``FILE:LINE: reason``."""
    return parse_config(FollowupPolicy, text, file)


def load_policy(path: str | Path | None = None) -> FollowupPolicy:
    """Load ``path``, or the shipped ``resources/qa/followups.yaml``."""
    if path is not None:
        return load_config(FollowupPolicy, path)
    return default_policy()


def default_policy() -> FollowupPolicy:
    """The shipped policy (read once)."""
    return shipped_config(FollowupPolicy, "qa", DEFAULT_FILE)
