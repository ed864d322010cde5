"""Audited access: logins, lockouts and break-glass reads of raw transcript text, and their review.

Every entry goes to the hash-chained ``audit_log`` (``calmline.store.audit``). A break-glass entry records
who (name, roles), which call, why and when; it stays *pending* until someone with a reviewer role other than
the person who broke the glass records an outcome (``justified`` / ``unjustified``), itself an audit entry
pointing back at it. No entry holds transcript text.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Engine, select

from calmline.store.audit import AuditEntry, AuditLog
from calmline.store.projections import utc
from calmline.store.schema import audit_log

BREAK_GLASS = "phi.break_glass"
BREAK_GLASS_REVIEWED = "phi.break_glass.reviewed"
Outcome = Literal["justified", "unjustified"]


class ReviewError(ValueError):
    """A review was refused: ``code`` is ``not_found``, ``own_access`` or ``already_reviewed``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def record(
    db: Engine, *, at: datetime, actor: str, action: str, subject: str, detail: dict[str, Any]
) -> AuditEntry:
    """Append one audit entry in its own transaction."""
    with db.begin() as conn:
        return AuditLog(db).append(conn, at=at, actor=actor, action=action, subject=subject, detail=detail)


def break_glass(
    db: Engine, *, at: datetime, actor: str, roles: Iterable[str], call_id: str, reason: str
) -> int:
    """Record a break-glass read of one call's words; returns the audit entry id (the review handle)."""
    entry = record(
        db,
        at=at,
        actor=actor,
        action=BREAK_GLASS,
        subject=f"call:{call_id}",
        detail={"roles": sorted(roles), "reason": reason, "review": "pending"},
    )
    return entry.id


def _view(row: Any, review: Any | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": utc(row.at),
        "actor": row.actor,
        "call_id": row.subject.removeprefix("call:"),
        "roles": row.detail.get("roles", []),
        "reason": row.detail.get("reason", ""),
        "status": "pending" if review is None else review.detail.get("outcome", "reviewed"),
        "reviewed_by": None if review is None else review.actor,
        "reviewed_at": None if review is None else utc(review.at),
        "review_note": None if review is None else review.detail.get("note"),
    }


def break_glass_entries(db: Engine, status: str = "pending", limit: int = 500) -> list[dict[str, Any]]:
    """Break-glass accesses, newest first: ``pending``, ``reviewed`` or ``all``."""
    with db.connect() as conn:
        rows = conn.execute(
            select(audit_log).where(audit_log.c.action == BREAK_GLASS).order_by(audit_log.c.id.desc())
        ).all()
        reviews = conn.execute(select(audit_log).where(audit_log.c.action == BREAK_GLASS_REVIEWED)).all()
    by_target = {r.subject: r for r in reviews}
    out = []
    for row in rows:
        review = by_target.get(f"audit:{row.id}")
        if (status == "pending" and review is not None) or (status == "reviewed" and review is None):
            continue
        out.append(_view(row, review))
        if len(out) >= limit:
            break
    return out


def review_break_glass(
    db: Engine, *, entry_id: int, reviewer: str, outcome: Outcome, note: str, at: datetime
) -> dict[str, Any]:
    """Record the review of one break-glass access.

    Raises:
        ReviewError: no such break-glass entry, it is the reviewer's own, or it was reviewed already.
    """
    with db.connect() as conn:
        row = conn.execute(
            select(audit_log).where(audit_log.c.id == entry_id, audit_log.c.action == BREAK_GLASS)
        ).first()
        done = conn.execute(
            select(audit_log.c.id).where(
                audit_log.c.action == BREAK_GLASS_REVIEWED, audit_log.c.subject == f"audit:{entry_id}"
            )
        ).first()
    if row is None:
        raise ReviewError("not_found", "break-glass entry not found")
    if row.actor == reviewer:
        raise ReviewError("own_access", "nobody reviews their own break-glass access")
    if done is not None:
        raise ReviewError("already_reviewed", "this access was already reviewed")
    entry = record(
        db,
        at=at,
        actor=reviewer,
        action=BREAK_GLASS_REVIEWED,
        subject=f"audit:{entry_id}",
        detail={"outcome": outcome, "note": note, "call_id": row.subject.removeprefix("call:")},
    )
    return _view(row, entry)
