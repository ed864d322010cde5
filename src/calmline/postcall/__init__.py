"""After the call: the extractive post-call summary (``summary.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from calmline.postcall.models import REDACTED, CallSummary
from calmline.postcall.summary import summarize

if TYPE_CHECKING:
    from calmline.events import AnyEvent
    from calmline.store.log import SqlEventLog


def call_events(log: SqlEventLog, call_id: str) -> list[AnyEvent]:
    """Every event of the call's log (inputs and outputs), typed, in log order."""
    return [row.event() for row in log.read(call_id)]


def summary_from_log(log: SqlEventLog, call_id: str) -> CallSummary | None:
    """The summary of a stored call, or None when the log has no such call."""
    events = call_events(log, call_id)
    return summarize(call_id, events) if events else None


__all__ = ["REDACTED", "CallSummary", "call_events", "summarize", "summary_from_log"]
