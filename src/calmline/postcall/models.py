"""The post-call summary's data model: frozen pydantic models, JSON via ``CallSummary.to_dict()``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: What replaces quoted words for readers who may not see the transcript.
REDACTED = "[redacted]"
#: How many of the caller's first utterances are quoted as the stated reason for calling.
REASON_UTTERANCES = 2
#: Supervisor actions that changed who handled the call (notes are free text and never summarised).
INTERVENTIONS = frozenset({"listen", "whisper", "barge", "take_over", "request_transfer"})


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Quote(_Model):
    """Words from one utterance, verbatim: ``text == utterance.text[start:end]``."""

    utterance_seq: int
    speaker: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str
    at_s: float | None = Field(default=None, description="Seconds from the call start when it was said.")


class Reason(_Model):
    """Why the person called: the reason the telephony side gave, and the caller's own first words."""

    stated: str | None = None
    caller_words: tuple[Quote, ...] = ()


class RiskFinding(_Model):
    """One risk finding with the caller's words it rests on."""

    type: str
    level: str
    tier: str | None = None
    score: float
    assertion: str
    experiencer: str
    analyzer: str
    rule_id: str | None = None
    utterance_seq: int | None = None
    at: datetime
    evidence: tuple[Quote, ...] = ()


class StepRun(_Model):
    """A checklist step of a protocol and where it ended up."""

    step_id: str
    required: bool
    status: Literal["due", "done", "skipped"]
    by: str | None = None
    due_at: datetime | None = None
    done_at: datetime | None = None


class ProtocolRun(_Model):
    """A protocol that ran on the call, with its checklist."""

    protocol_id: str
    version: str
    title: str
    severity: str
    reason: str
    alert_id: str | None = None
    activated_at: datetime
    exited_at: datetime | None = None
    exit_reason: str | None = None
    steps: tuple[StepRun, ...] = ()
    required_done: int = 0
    required_total: int = 0

    @property
    def completion(self) -> float | None:
        """Share of required steps done (None when the protocol has none)."""
        return round(self.required_done / self.required_total, 3) if self.required_total else None


class EscalationStep(_Model):
    """The alert moved up: higher severity, or an acknowledgement deadline passed."""

    at: datetime
    severity: str
    reason: str
    notify: str | None = None
    escalation_level: int | None = None


class Escalation(_Model):
    """An alert and its timing: disclosure → raised → acknowledged (→ escalated) → resolved."""

    alert_id: str
    kind: str
    title: str
    severity: str = Field(description="The highest severity it reached.")
    protocol_id: str | None = None
    disclosure_at: datetime | None = Field(
        default=None, description="When the caller finished saying the words behind the alert."
    )
    raised_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    escalations: tuple[EscalationStep, ...] = ()
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    outcome: str | None = None
    disclosure_to_alert_s: float | None = None
    alert_to_ack_s: float | None = None
    disclosure_to_ack_s: float | None = None


class Transfer(_Model):
    """The call moved to another queue, agent or service."""

    at: datetime
    to_queue: str | None = None
    to_agent: str | None = None
    reason: str | None = None


class Intervention(_Model):
    """A supervisor listened, whispered, barged in, took over or asked for a transfer."""

    at: datetime
    action: str
    actor: str


class Disposition(_Model):
    """How the call ended."""

    status: Literal["active", "ended"]
    ended_at: datetime | None = None
    disposition: str | None = None
    duration_s: float | None = None
    transfers: tuple[Transfer, ...] = ()
    interventions: tuple[Intervention, ...] = ()
    caller_verified: bool = False
    verification_method: str | None = None


class FollowUp(_Model):
    """Something that must happen after the call."""

    protocol_id: str
    kind: str
    due_by: datetime
    scheduled_at: datetime


class CallSummary(_Model):
    """Everything a reader needs about one call, extracted from its log."""

    call_id: str
    queue: str | None = None
    language: str | None = None
    caller_ref: str | None = None
    agent_id: str | None = None
    started_at: datetime | None = None
    utterances: int = 0
    gaps: int = Field(default=0, description="Missing transcript stretches (sequence gaps).")
    reason: Reason = Reason()
    risk_findings: tuple[RiskFinding, ...] = ()
    protocols: tuple[ProtocolRun, ...] = ()
    escalations: tuple[Escalation, ...] = ()
    disposition: Disposition
    followups: tuple[FollowUp, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible, keys sorted at every level, with each protocol's ``completion``."""
        data = self.model_dump(mode="json")
        for run, model in zip(data["protocols"], self.protocols, strict=True):
            run["completion"] = model.completion
        loaded: dict[str, Any] = json.loads(json.dumps(data, sort_keys=True))
        return loaded

    def without_text(self) -> CallSummary:
        """The same summary with every quoted word replaced by ``[redacted]`` (spans and times stay)."""

        def hide(quotes: tuple[Quote, ...]) -> tuple[Quote, ...]:
            return tuple(q.model_copy(update={"text": REDACTED}) for q in quotes)

        return self.model_copy(
            update={
                "reason": self.reason.model_copy(update={"caller_words": hide(self.reason.caller_words)}),
                "risk_findings": tuple(
                    f.model_copy(update={"evidence": hide(f.evidence)}) for f in self.risk_findings
                ),
            }
        )
