"""Practice calls: agents rehearse hard calls with a simulated caller, scored by the same engine.

This package root stays light (no engine imports): operational views import :func:`is_practice_call` to keep
practice calls out of the wall, the history search and reports.
"""

from __future__ import annotations

#: Every practice call's id starts with this; reports and QA of real calls exclude it.
PRACTICE_PREFIX = "practice-"
#: The queue every practice call is recorded on.
PRACTICE_QUEUE = "practice"


def is_practice_call(call_id: str | None) -> bool:
    """Whether ``call_id`` names a practice call."""
    return bool(call_id) and str(call_id).startswith(PRACTICE_PREFIX)


__all__ = ["PRACTICE_PREFIX", "PRACTICE_QUEUE", "is_practice_call"]
