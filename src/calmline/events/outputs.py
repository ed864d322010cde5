"""Output events: what the call engine derives from the inputs."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from calmline.events.base import CallId, Event, Timestamp
from calmline.events.findings import Finding

Severity = Literal["info", "warning", "high", "critical"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "high": 2, "critical": 3}


class FindingEmitted(Event):
    """An analyzer's finding on one utterance."""

    type: Literal["finding"] = "finding"
    call_id: CallId
    finding: Finding
    at: Timestamp


class UtteranceScored(Event):
    """Emotion and distress of one caller utterance, and the call's smoothed trajectory."""

    type: Literal["utterance.scored"] = "utterance.scored"
    call_id: CallId
    utterance_seq: int
    emotions: dict[str, float]
    distress: float = Field(ge=0.0, le=1.0)
    distress_smoothed: float = Field(ge=0.0, le=1.0)
    escalating: bool
    at: Timestamp


class AgentTurnScored(Event):
    """How one agent turn listened: EPITOME mechanisms (0/1/2), further signals, and its timing."""

    type: Literal["agent.scored"] = "agent.scored"
    call_id: CallId
    utterance_seq: int
    empathy: dict[str, int | float | bool]
    talk_over: bool = Field(description="The agent started before the caller's previous turn ended.")
    silence_before_s: float | None = Field(
        default=None, ge=0.0, description="Seconds of silence before the turn (None: no earlier turn)."
    )
    at: Timestamp


class AlertRaised(Event):
    """Someone must look at this call now. ``reason`` and ``evidence`` say why."""

    type: Literal["alert.raised"] = "alert.raised"
    alert_id: str
    call_id: CallId
    severity: Severity
    kind: str
    title: str
    reason: str
    evidence: tuple[Finding, ...]
    policy_rule: str
    policy_version: str
    protocol_id: str | None = Field(default=None, description="The protocol whose escalation chain runs.")
    notify: str | None = Field(default=None, description="Who must acknowledge now (escalation level).")
    escalation_level: int | None = None
    ack_deadline: Timestamp | None = Field(
        default=None, description="Unacknowledged by then, the alert escalates to the next level."
    )
    at: Timestamp


class AlertAcknowledged(Event):
    """A person took responsibility for an alert."""

    type: Literal["alert.acknowledged"] = "alert.acknowledged"
    alert_id: str
    call_id: CallId
    by: str
    at: Timestamp


class AlertEscalated(Event):
    """An alert moved up: a higher severity, or a deadline passed unacknowledged."""

    type: Literal["alert.escalated"] = "alert.escalated"
    alert_id: str
    call_id: CallId
    severity: Severity
    reason: str
    evidence: tuple[Finding, ...] = ()
    protocol_id: str | None = None
    notify: str | None = None
    escalation_level: int | None = None
    ack_deadline: Timestamp | None = None
    at: Timestamp


class AlertResolved(Event):
    """An alert is closed, with its outcome."""

    type: Literal["alert.resolved"] = "alert.resolved"
    alert_id: str
    call_id: CallId
    by: str
    outcome: str
    at: Timestamp


class SuggestionOffered(Event):
    """Phrasing offered to the agent; never sent on their behalf."""

    type: Literal["suggestion"] = "suggestion"
    call_id: CallId
    text: str
    reason: str
    source: str
    at: Timestamp


class ChecklistStepChanged(Event):
    """A protocol checklist step became due, was completed or was skipped."""

    type: Literal["checklist.step"] = "checklist.step"
    call_id: CallId
    protocol_id: str
    step_id: str
    status: Literal["due", "done", "skipped"]
    by: str | None = None
    prompt: str | None = None
    script: tuple[str, ...] = ()
    required: bool = True
    at: Timestamp


class ProtocolActivated(Event):
    """A crisis protocol started on the call (``version`` is the one the call keeps)."""

    type: Literal["protocol.activated"] = "protocol.activated"
    call_id: CallId
    protocol_id: str
    version: str
    title: str
    severity: Severity
    reason: str
    alert_id: str | None = None
    at: Timestamp


class ProtocolExited(Event):
    """A protocol ended before the call did (an exit condition, or a protocol that supersedes it)."""

    type: Literal["protocol.exited"] = "protocol.exited"
    call_id: CallId
    protocol_id: str
    reason: str
    at: Timestamp


class CallerVerified(Event):
    """The caller's identity and authority were checked: who they are to the patient, and how."""

    type: Literal["caller.verified"] = "caller.verified"
    call_id: CallId
    relation: str | None
    method: str
    by: str
    at: Timestamp


class CallerFlagged(Event):
    """A known caller starts this call at heightened attention (a continuity rule read their history)."""

    type: Literal["caller.flagged"] = "caller.flagged"
    call_id: CallId
    attention: Literal["heightened"] = "heightened"
    rule: str = Field(description="The continuity rule (resources/continuity.yaml) that flagged the caller.")
    rules_version: str
    reason: str
    at: Timestamp


class FollowUpScheduled(Event):
    """Something that must happen after the call, by ``due_by`` (from the protocols the call ran)."""

    type: Literal["followup.scheduled"] = "followup.scheduled"
    call_id: CallId
    protocol_id: str
    kind: str
    due_by: Timestamp
    at: Timestamp


class RoutingDecided(Event):
    """Where a call goes, and why."""

    type: Literal["routing.decision"] = "routing.decision"
    call_id: CallId
    queue: str
    agent_id: str | None = None
    priority: int
    reason: str
    at: Timestamp


OutputEvent = (
    FindingEmitted
    | UtteranceScored
    | AgentTurnScored
    | AlertRaised
    | AlertAcknowledged
    | AlertEscalated
    | AlertResolved
    | SuggestionOffered
    | ChecklistStepChanged
    | RoutingDecided
    | ProtocolActivated
    | ProtocolExited
    | FollowUpScheduled
    | CallerVerified
    | CallerFlagged
)
