"""Alert policy: a table, loaded from YAML, that maps findings to alert severities."""

from __future__ import annotations

from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from calmline.events import Finding, Severity


class AlertRule(BaseModel):
    """One row of the table. Empty filters match everything."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    finding: str
    tiers: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    experiencer: Literal["caller", "other"] | None = None
    #: findings from these analyzer rules (``Finding.rule_id``) never match this row
    exclude_rule_ids: tuple[str, ...] = ()
    min_score: float = Field(default=0.0, ge=0.0, le=1.0)
    severity: Severity
    title: str

    def matches(self, finding: Finding) -> bool:
        """Whether this rule applies to ``finding``."""
        return (
            finding.type == self.finding
            and finding.is_present
            and (not self.tiers or finding.tier in self.tiers)
            and (not self.levels or finding.level in self.levels)
            and (self.experiencer is None or finding.experiencer == self.experiencer)
            and finding.rule_id not in self.exclude_rule_ids
            and finding.score >= self.min_score
        )


class AlertPolicy(BaseModel):
    """The ordered table of alert rules, with its version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    rules: tuple[AlertRule, ...]

    def match(self, finding: Finding) -> AlertRule | None:
        """The first rule that applies to ``finding``, or ``None``."""
        return next((rule for rule in self.rules if rule.matches(finding)), None)


def load_alert_policy(text: str | None = None) -> AlertPolicy:
    """Load the policy from YAML text, or the one shipped with calmline."""
    if text is None:
        text = resources.files("calmline.resources").joinpath("alert_policy.yaml").read_text("utf-8")
    return AlertPolicy.model_validate(yaml.safe_load(text))
