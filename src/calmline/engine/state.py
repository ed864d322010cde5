"""The state of one call: a fold of its input events. Frozen; every step returns a new one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from calmline.analysis.base import Turn
from calmline.events import Finding, Severity
from calmline.protocols.interpreter import ProtocolState

_NO_PROTOCOLS = ProtocolState()

#: How many earlier turns analyzers see as context.
HISTORY_WINDOW = 12


@dataclass(frozen=True, slots=True)
class AlertView:
    """What the engine remembers of one alert of the call."""

    alert_id: str
    kind: str
    severity: Severity
    status: Literal["raised", "acknowledged", "escalated", "resolved"]
    #: Protocols whose escalation chain runs on this alert (their deadlines live in the protocol state).
    protocol_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CallState:
    """Everything the engine knows about one call."""

    call_id: str
    status: Literal["new", "active", "ended"] = "new"
    queue: str = "general"
    language: str = "en"
    agent_id: str | None = None
    started_at: datetime | None = None
    now: datetime | None = None
    last_seq: int = -1
    inputs: int = 0
    utterances: int = 0
    history: tuple[Turn, ...] = ()
    findings: tuple[Finding, ...] = ()
    alerts: tuple[AlertView, ...] = ()
    distress: tuple[float, ...] = ()
    distress_smoothed: tuple[float, ...] = ()
    gaps: tuple[tuple[int, int], ...] = ()
    transfers: int = 0
    notes: int = 0
    disposition: str | None = None
    #: The protocol set this call is pinned to (``None``: the engine's current set).
    protocol_set: str | None = None
    protocols: ProtocolState = _NO_PROTOCOLS
    #: Verification: who the caller is to the patient, whether identity and authority were checked, and how.
    caller_relation: str | None = None
    verified: bool = False
    verification_method: str | None = None
    #: Suggestions already offered to the agent (ids), and when the last one was.
    suggested: tuple[str, ...] = ()
    last_suggestion_at: datetime | None = None
    #: When the last final utterance (and the caller's last) ended, in ms from the call start: talk-over
    #: and silences are read from these.
    last_end_ms: int | None = None
    caller_end_ms: int | None = None
    follow_ups_scheduled: bool = False
    #: A continuity rule flagged the caller at call start (``caller.history``): lower alert thresholds.
    heightened: bool = False

    def alert(self, alert_id: str) -> AlertView | None:
        """The alert with that id, if this call raised it."""
        return next((a for a in self.alerts if a.alert_id == alert_id), None)

    def open_alert(self, kind: str) -> AlertView | None:
        """The unresolved alert of that kind, if any."""
        return next((a for a in self.alerts if a.kind == kind and a.status != "resolved"), None)
