"""Findings: what an analyzer noticed in one utterance, with the evidence for it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from calmline.events.call import Speaker

#: Finding types of the batch contract. More may be added; none is ever renamed.
RISK_TYPES: tuple[str, ...] = (
    "suicide_risk",
    "self_harm",
    "medical_emergency",
    "violence_threat",
    "abuse_disclosure",
    "phi_request_third_party",
    "medical_advice_request",
    "legal_advice_request",
)
#: Per-utterance signals: reported as ``emotions``/``distress``, not as findings, in the batch contract.
SIGNAL_TYPES: tuple[str, ...] = ("emotion", "distress", "empathy")
#: Checks of what the agent said.
GUARDRAIL_TYPE = "guardrail"

Assertion = Literal["present", "negated", "historical", "hypothetical", "uncertain"]
Experiencer = Literal["caller", "other"]
Tier = Literal["low", "moderate", "high", "imminent"]


class Modifier(BaseModel):
    """A context rule that changed how a finding is read (e.g. negated by "not")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    category: str = Field(description="UPPER_SNAKE context category, e.g. NEGATED_EXISTENCE.")
    rule_id: str
    span: tuple[int, int]


class Finding(BaseModel):
    """One thing an analyzer found in an utterance.

    ``evidence`` holds character spans into the utterance text; the text itself is not copied so that
    findings can be shown and exported without carrying the raw transcript.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    level: str
    score: float = Field(ge=0.0, le=1.0)
    evidence: tuple[tuple[int, int], ...] = ()
    assertion: Assertion = "present"
    experiencer: Experiencer = "caller"
    tier: Tier | None = None
    category: str | None = None
    analyzer: str
    analyzer_version: str
    rule_id: str | None = None
    score_before_context: float | None = Field(default=None, ge=0.0, le=1.0)
    modifiers: tuple[Modifier, ...] = ()
    notes: tuple[str, ...] = ()
    follow_up: tuple[str, ...] = ()
    alternative: str | None = Field(
        default=None, description="Guardrail findings: a compliant way to say it instead."
    )
    speaker: Speaker = "caller"
    utterance_seq: int | None = None

    @property
    def is_present(self) -> bool:
        """Whether the finding is asserted as happening now (not negated, past or hypothetical)."""
        return self.assertion in ("present", "uncertain")

    def contract_dict(self) -> dict[str, object]:
        """The finding as the batch contract prints it (stable field set, extra detail appended)."""
        out: dict[str, object] = {
            "type": self.type,
            "level": self.level,
            "score": round(self.score, 4),
            "evidence": [list(span) for span in self.evidence],
            "assertion": self.assertion,
            "experiencer": self.experiencer,
        }
        if self.tier is not None:
            out["tier"] = self.tier
        if self.category is not None:
            out["category"] = self.category
        if self.follow_up:
            out["follow_up"] = list(self.follow_up)
        if self.alternative is not None:
            out["alternative"] = self.alternative
        out["analyzer"] = f"{self.analyzer}@{self.analyzer_version}"
        if self.rule_id:
            out["rule"] = self.rule_id
        return out
