"""A known caller's timeline: what the agent and the supervisor see when the caller rings again.

Minimum necessary: earlier calls (date, reason, highest suicide-risk tier, protocols run, outcome), open
follow-ups, the newest safety plan and C-SSRS screenings. Never transcripts: the words of an earlier call
stay on that call's own page, behind its own access rules (and break-glass for roles without the words).
Every lookup is written to the audit log by the caller of these functions (``CallerBook.audit_lookup``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from calmline.continuity.cssrs import Screenings
from calmline.continuity.history import open_followups, past_calls
from calmline.continuity.identity import CallerBook
from calmline.continuity.rules import tier_rank
from calmline.continuity.safety_plan import SafetyPlans


def caller_timeline(db: Engine, caller_ref: str, *, exclude_call: str | None = None) -> dict[str, Any]:
    """The timeline of ``caller_ref`` (resolved through merges); ``exclude_call``: the call in hand."""
    book = CallerBook(db)
    root = book.resolve(caller_ref)
    refs = book.aliases(root)
    earlier = past_calls(db, refs, exclude=exclude_call)
    top = max(earlier, key=lambda c: (tier_rank(c.highest_tier), c.started_at is not None), default=None)
    last = earlier[-1] if earlier else None
    return {
        "caller_ref": root,
        "merged": [r for r in refs if r != root],
        "calls": [c.as_dict() for c in reversed(earlier)],  # newest first
        "summary": {
            "previous_calls": len(earlier),
            "last_call_at": last.started_at.isoformat() if last and last.started_at else None,
            "last_call_tier": last.highest_tier if last else None,
            "highest_tier": top.highest_tier if top and tier_rank(top.highest_tier) > 0 else None,
        },
        "open_followups": open_followups(db, [c.call_id for c in earlier]),
        "safety_plan": SafetyPlans(db).latest(refs),
        "screenings": Screenings(db).of(refs),
    }
