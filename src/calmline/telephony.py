"""The telephony adapter: where a supervisor's intervention (listen, whisper, barge, take over...) goes.

calmline does not carry audio. When a supervisor asks to listen in or take a call over, the request is first
recorded as a ``supervisor.action`` event (the log is the truth), then handed to a ``TelephonyAdapter`` that
asks the site's telephony platform to do it. A site writes its own adapter (a SIP/CTI bridge, a contact-centre
API) against the one-method protocol below and passes it to ``create_app(settings, telephony=...)``.

What an adapter receives is a ``TelephonyAction``: the call id, the action, who asked and when, nothing else.
Notes and transcript text never leave calmline this way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, get_args

import structlog

InterventionKind = Literal["listen", "whisper", "barge", "take_over", "request_transfer"]
#: The ``supervisor.action`` kinds that are delivered to the telephony adapter.
INTERVENTIONS: frozenset[str] = frozenset(get_args(InterventionKind))

log = structlog.get_logger("calmline.telephony")


@dataclass(frozen=True, slots=True)
class TelephonyAction:
    """One intervention for the telephony platform to carry out.

    Attributes:
        call_id: the call, as the telephony platform knows it (calmline's ``call_id``).
        kind: listen (silent monitor), whisper (talk to the agent only), barge (join the call), take_over
            (the supervisor replaces the agent), request_transfer (hand the call on).
        actor: the signed-in user who asked.
        at: when calmline recorded the request.
    """

    call_id: str
    kind: InterventionKind
    actor: str
    at: datetime


class TelephonyAdapter(Protocol):
    """Carries out interventions on the telephony platform.

    ``deliver`` is called from a worker thread after the action is in the log; it should return quickly
    (queue the request if the platform is slow) and raise on failure: calmline logs the failure and tells the
    supervisor, and the recorded action stays in the log.
    """

    def deliver(self, action: TelephonyAction) -> None:
        """Ask the telephony platform to carry out ``action``."""
        ...


class LoggingTelephonyAdapter:
    """The default: no telephony platform is connected, so each intervention is only logged (no PHI)."""

    def deliver(self, action: TelephonyAction) -> None:
        """Log the intervention: call id, kind, actor, time."""
        log.info(
            "telephony.intervention",
            call_id=action.call_id,
            kind=action.kind,
            actor=action.actor,
            at=action.at.isoformat(),
            delivered=False,
        )


class RecordingTelephonyAdapter:
    """Keeps every intervention in ``actions``, in order (tests, demos)."""

    def __init__(self) -> None:
        self.actions: list[TelephonyAction] = []

    def deliver(self, action: TelephonyAction) -> None:
        """Remember ``action``."""
        self.actions.append(action)
