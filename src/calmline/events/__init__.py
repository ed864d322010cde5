"""The vocabulary of calmline: input events, findings and output events."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, TypeAdapter

from calmline.events.base import Event
from calmline.events.call import (
    AgentStatusChanged,
    CallEnded,
    CallerHistory,
    CallInput,
    CallStarted,
    CallTransferred,
    ExternalCallInput,
    InputEvent,
    PriorCall,
    ProtocolsPinned,
    SequenceGap,
    Speaker,
    SupervisorAction,
    Tick,
    UtteranceReceived,
)
from calmline.events.findings import GUARDRAIL_TYPE, RISK_TYPES, SIGNAL_TYPES, Finding, Modifier
from calmline.events.outputs import (
    SEVERITY_RANK,
    AgentTurnScored,
    AlertAcknowledged,
    AlertEscalated,
    AlertRaised,
    AlertResolved,
    CallerFlagged,
    CallerVerified,
    ChecklistStepChanged,
    FindingEmitted,
    FollowUpScheduled,
    OutputEvent,
    ProtocolActivated,
    ProtocolExited,
    RoutingDecided,
    Severity,
    SuggestionOffered,
    UtteranceScored,
)

AnyEvent = InputEvent | ProtocolsPinned | CallerHistory | OutputEvent

INPUT_ADAPTER: TypeAdapter[InputEvent] = TypeAdapter(Annotated[InputEvent, Field(discriminator="type")])
ANY_ADAPTER: TypeAdapter[AnyEvent] = TypeAdapter(Annotated[AnyEvent, Field(discriminator="type")])

INPUT_TYPES: tuple[type[Event], ...] = (
    CallStarted,
    UtteranceReceived,
    CallTransferred,
    CallEnded,
    AgentStatusChanged,
    SupervisorAction,
    Tick,
    SequenceGap,
    ProtocolsPinned,
    CallerHistory,
)
OUTPUT_TYPES: tuple[type[Event], ...] = (
    FindingEmitted,
    UtteranceScored,
    AgentTurnScored,
    AlertRaised,
    AlertAcknowledged,
    AlertEscalated,
    AlertResolved,
    SuggestionOffered,
    ChecklistStepChanged,
    RoutingDecided,
    ProtocolActivated,
    ProtocolExited,
    FollowUpScheduled,
    CallerVerified,
    CallerFlagged,
)


def parse_input(data: Any) -> InputEvent:
    """Validate one ingest payload (a dict) into its input event; raises ``pydantic.ValidationError``."""
    return INPUT_ADAPTER.validate_python(data)


def parse_event(data: Any) -> AnyEvent:
    """Validate any stored event (input or output) from its JSON-compatible dict."""
    return ANY_ADAPTER.validate_python(data)


def event_type(model: type[BaseModel]) -> str:
    """The wire ``type`` of an event class."""
    default = model.model_fields["type"].default
    assert isinstance(default, str)
    return default


__all__ = [
    "GUARDRAIL_TYPE",
    "INPUT_TYPES",
    "OUTPUT_TYPES",
    "RISK_TYPES",
    "SEVERITY_RANK",
    "SIGNAL_TYPES",
    "AgentStatusChanged",
    "AgentTurnScored",
    "AlertAcknowledged",
    "AlertEscalated",
    "AlertRaised",
    "AlertResolved",
    "AnyEvent",
    "CallEnded",
    "CallInput",
    "CallStarted",
    "CallTransferred",
    "CallerFlagged",
    "CallerHistory",
    "CallerVerified",
    "ChecklistStepChanged",
    "Event",
    "ExternalCallInput",
    "Finding",
    "FindingEmitted",
    "FollowUpScheduled",
    "InputEvent",
    "Modifier",
    "OutputEvent",
    "PriorCall",
    "ProtocolActivated",
    "ProtocolExited",
    "ProtocolsPinned",
    "RoutingDecided",
    "SequenceGap",
    "Severity",
    "Speaker",
    "SuggestionOffered",
    "SupervisorAction",
    "Tick",
    "UtteranceReceived",
    "UtteranceScored",
    "event_type",
    "parse_event",
    "parse_input",
]
