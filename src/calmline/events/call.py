"""Input events: what the telephony side, people and the clock tell calmline."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from calmline.events.base import CallId, Event, Timestamp

Speaker = Literal["caller", "agent", "other"]


class CallStarted(Event):
    """A call reached the center. ``caller_ref`` is a pseudonymous reference, never a phone number."""

    type: Literal["call.started"] = "call.started"
    call_id: CallId
    seq: int = Field(default=0, ge=0)
    queue: str = Field(default="general", min_length=1, max_length=64)
    language: str = Field(default="en", min_length=2, max_length=16)
    caller_ref: str | None = Field(default=None, max_length=128)
    reason: str | None = Field(default=None, max_length=256)
    agent_id: str | None = Field(default=None, max_length=64)
    site: str | None = Field(
        default=None, max_length=64, description="Which center took the call, for a network of sites."
    )
    started_at: Timestamp


class UtteranceReceived(Event):
    """One speech-to-text segment of the call. ``start_ms``/``end_ms`` are relative to the call start."""

    type: Literal["utterance"] = "utterance"
    call_id: CallId
    seq: int = Field(ge=0)
    speaker: Speaker
    text: str = Field(max_length=20_000)
    start_ms: int = Field(ge=0)
    end_ms: int = Field(ge=0)
    is_final: bool = True
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered_times(self) -> UtteranceReceived:
        if self.end_ms < self.start_ms:
            raise ValueError("end_ms must not be before start_ms")
        return self


class CallTransferred(Event):
    """The call moved to another queue, agent or external service."""

    type: Literal["call.transferred"] = "call.transferred"
    call_id: CallId
    seq: int | None = Field(
        default=None, ge=0, description="From telephony; none when calmline's own routing moves the call."
    )
    to_queue: str | None = Field(default=None, max_length=64)
    to_agent: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, max_length=256)
    at: Timestamp


class CallEnded(Event):
    """The call is over."""

    type: Literal["call.ended"] = "call.ended"
    call_id: CallId
    seq: int = Field(ge=0)
    disposition: str | None = Field(default=None, max_length=64)
    at: Timestamp


class AgentStatusChanged(Event):
    """An agent became available, busy, took a break, etc. Not part of any call's stream."""

    type: Literal["agent.status"] = "agent.status"
    agent_id: str = Field(min_length=1, max_length=64)
    status: Literal["available", "busy", "wrap_up", "break", "offline"]
    reason: str | None = Field(default=None, max_length=256)
    at: Timestamp


SupervisorActionKind = Literal[
    "listen",
    "whisper",
    "barge",
    "take_over",
    "request_transfer",
    "note",
    "acknowledge_alert",
    "resolve_alert",
    "protocol_action",
    "verify_caller",
    "request_help",
]

#: Who the caller is relative to the patient the call is about.
CallerRelation = Literal["self", "parent_of_minor", "authorised_representative", "other"]


class SupervisorAction(Event):
    """A supervisor (or the agent) acted on a call. Ordered by arrival, so it carries no ``seq``."""

    type: Literal["supervisor.action"] = "supervisor.action"
    call_id: CallId
    action: SupervisorActionKind
    actor: str = Field(min_length=1, max_length=64)
    alert_id: str | None = Field(default=None, max_length=160)
    note: str | None = Field(default=None, max_length=2_000)
    outcome: str | None = Field(default=None, max_length=256)
    name: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9_]*$",
        max_length=64,
        description="protocol_action: what was done, e.g. emergency_services_dispatched.",
    )
    step_id: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9_]*$",
        max_length=64,
        description="protocol_action: check this protocol step off by hand.",
    )
    protocol_id: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9_]*$",
        max_length=64,
        description="protocol_action: only in this protocol (default: every active one with that step).",
    )
    relation: CallerRelation | None = Field(
        default=None, description="verify_caller: who the caller is relative to the patient."
    )
    method: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9_]*$",
        max_length=64,
        description="verify_caller: how, e.g. dob_and_address, consent_on_record, power_of_attorney.",
    )
    at: Timestamp

    @model_validator(mode="after")
    def _alert_needed(self) -> SupervisorAction:
        if self.action in ("acknowledge_alert", "resolve_alert") and not self.alert_id:
            raise ValueError(f"alert_id is required for {self.action}")
        if self.action == "protocol_action" and not (self.name or self.step_id):
            raise ValueError("name or step_id is required for protocol_action")
        if self.action == "verify_caller" and not (self.relation and self.method):
            raise ValueError("relation and method are required for verify_caller")
        return self


class Tick(Event):
    """Time passing for one call: the only way the clock enters the engine."""

    type: Literal["tick"] = "tick"
    call_id: CallId
    at: Timestamp


class SequenceGap(Event):
    """Written by the sequencer when missing ``seq`` numbers were waited for too long."""

    type: Literal["sequence.gap"] = "sequence.gap"
    call_id: CallId
    missing_from: int = Field(ge=0)
    missing_to: int = Field(ge=0)
    at: Timestamp


class ProtocolsPinned(Event):
    """Written by calmline (never accepted at ingest) before a call's first event: the protocol set in force.

    A call keeps the protocol versions it started with; replay reads them from here.
    """

    type: Literal["protocols.pinned"] = "protocols.pinned"
    call_id: CallId
    protocol_set: str = Field(min_length=1, max_length=64)
    at: Timestamp


#: A suicide-risk tier as the history summary carries it (``none``: the call reached no tier).
HistoryTier = Literal["none", "low", "moderate", "high", "imminent"]


class PriorCall(BaseModel):
    """One earlier call of the same caller, as the history summary carries it: no words, no identifiers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    started_at: Timestamp
    highest_tier: HistoryTier = "none"
    peak_distress: float | None = Field(default=None, ge=0.0, le=1.0)


class CallerHistory(Event):
    """Written by calmline (never accepted at ingest) right after a known caller's ``call.started``.

    The caller's recent history as the engine sees it: the earlier calls in the look-back window (oldest
    first), open follow-ups and whether a safety plan exists. It is an *input* in the call's own log, so a
    replay applies the continuity rules to exactly the history the call started with (docs/CONTINUITY.md).
    """

    type: Literal["caller.history"] = "caller.history"
    call_id: CallId
    window_days: int = Field(ge=1, le=3650)
    previous_calls: int = Field(ge=0, description="Every earlier linked call, inside the window or not.")
    recent: tuple[PriorCall, ...] = Field(
        default=(), max_length=50, description="In the window, oldest first."
    )
    open_followups: int = Field(default=0, ge=0)
    has_safety_plan: bool = False
    at: Timestamp


#: Call events that may arrive at ingest.
ExternalCallInput = (
    CallStarted | UtteranceReceived | CallTransferred | CallEnded | SupervisorAction | Tick | SequenceGap
)
#: Events that belong to one call's stream and are stepped by the call engine.
CallInput = ExternalCallInput | ProtocolsPinned | CallerHistory
#: Everything that may arrive at ingest.
InputEvent = ExternalCallInput | AgentStatusChanged
