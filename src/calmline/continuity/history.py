"""What the shell knows of a known caller when their call starts, and the call's past as a timeline row.

``history_at_start`` is called by ``CallService._step`` right after a ``call.started`` that carries a
``caller_ref``: it links the call to the caller and, when the caller has called before (or has a safety
plan), returns the ``caller.history`` input to write into the new call's own log. Everything it reads is a
projection or the log: the earlier calls' highest suicide-risk tier (``findings``), their peak smoothed
distress (``utterance.scored`` outputs), open follow-ups and whether a plan exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select

from calmline.continuity.identity import CallerBook
from calmline.continuity.rules import TIER_ORDER, load_continuity, tier_rank
from calmline.continuity.safety_plan import SafetyPlans
from calmline.events import CallerHistory, CallInput, CallStarted, PriorCall
from calmline.store.log import SqlEventLog
from calmline.store.projections import utc
from calmline.store.schema import caller_links, calls, findings, followups

if TYPE_CHECKING:
    from calmline.service import CallService

#: How many earlier calls in the window the history event carries at most (newest kept).
MAX_RECENT = 20
OPEN_FOLLOWUP = "open"
_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class PastCall:
    """One earlier call as the timeline shows it: no words."""

    call_id: str
    started_at: datetime | None
    reason: str | None
    status: str
    highest_tier: str
    max_severity: str | None
    peak_distress: float | None
    protocols: tuple[str, ...]
    outcome: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "call_id": self.call_id,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "reason": self.reason,
            "status": self.status,
            "highest_tier": self.highest_tier,
            "max_severity": self.max_severity,
            "peak_distress": self.peak_distress,
            "protocols": list(self.protocols),
            "outcome": self.outcome,
        }


def past_calls(db: Engine, refs: list[str], *, exclude: str | None = None) -> list[PastCall]:
    """The calls linked to any of ``refs`` (a caller and its merged records), oldest first."""
    log = SqlEventLog(db)
    with db.connect() as conn:
        rows = conn.execute(
            select(calls)
            .join(caller_links, caller_links.c.call_id == calls.c.call_id)
            .where(caller_links.c.caller_ref.in_(refs))
        ).all()
        tiers: dict[str, str] = {}
        ids = [r.call_id for r in rows]
        if ids:
            for f in conn.execute(
                select(findings.c.call_id, findings.c.tier).where(
                    findings.c.call_id.in_(ids),
                    findings.c.type == "suicide_risk",
                    findings.c.experiencer == "caller",
                    findings.c.assertion.in_(("present", "uncertain")),
                )
            ):
                if tier_rank(f.tier) > tier_rank(tiers.get(f.call_id)):
                    tiers[f.call_id] = str(f.tier)
    out: list[PastCall] = []
    for r in rows:
        if r.call_id == exclude:
            continue
        peak: float | None = None
        protocols: list[str] = []
        outcome: str | None = None
        for row in log.read(r.call_id, kind="output"):
            p = row.payload
            if row.type == "utterance.scored":
                value = float(p.get("distress_smoothed", 0.0))
                peak = value if peak is None else max(peak, value)
            elif row.type == "protocol.activated" and p.get("protocol_id") not in protocols:
                protocols.append(str(p.get("protocol_id")))
        for row in log.read(r.call_id, kind="input"):
            if row.type == "call.ended":
                outcome = row.payload.get("disposition") or "ended"
        out.append(
            PastCall(
                call_id=r.call_id,
                started_at=utc(r.started_at),
                reason=r.reason,
                status=r.status,
                highest_tier=tiers.get(r.call_id, "none"),
                max_severity=r.max_severity,
                peak_distress=round(peak, 4) if peak is not None else None,
                protocols=tuple(protocols),
                outcome=outcome,
            )
        )
    out.sort(key=lambda c: (c.started_at or _NEVER, c.call_id))
    return out


def open_followups(db: Engine, call_ids: list[str]) -> list[dict[str, Any]]:
    """Open follow-up tasks of these calls, soonest due first (kind and due date only)."""
    if not call_ids:
        return []
    with db.connect() as conn:
        rows = conn.execute(
            select(followups)
            .where(followups.c.call_id.in_(call_ids), followups.c.status == OPEN_FOLLOWUP)
            .order_by(followups.c.due_at)
        ).all()
    return [
        {
            "followup_id": r.followup_id,
            "call_id": r.call_id,
            "kind": r.kind,
            "reason": r.reason,
            "tier": r.tier,
            "due_at": (utc(r.due_at) or r.due_at).isoformat(),
            "assignee": r.assignee,
        }
        for r in rows
    ]


def build_history(
    db: Engine, call_id: str, caller_ref: str, at: datetime, window_days: int
) -> CallerHistory | None:
    """The history summary for a new call of ``caller_ref`` (None: nothing known about the caller)."""
    book = CallerBook(db)
    refs = book.aliases(caller_ref)
    earlier = [c for c in past_calls(db, refs, exclude=call_id) if c.started_at is None or c.started_at < at]
    has_plan = SafetyPlans(db).exists(refs)
    if not earlier and not has_plan:
        return None
    since = at - timedelta(days=window_days)
    recent = [
        PriorCall(
            started_at=c.started_at,
            highest_tier=c.highest_tier if c.highest_tier in TIER_ORDER else "none",
            peak_distress=c.peak_distress,
        )
        for c in earlier
        if c.started_at is not None and c.started_at >= since
    ][-MAX_RECENT:]
    return CallerHistory(
        call_id=call_id,
        window_days=window_days,
        previous_calls=len(earlier),
        recent=tuple(recent),
        open_followups=len(open_followups(db, [c.call_id for c in earlier])),
        has_safety_plan=has_plan,
        at=at,
    )


def history_at_start(service: CallService, event: CallInput) -> CallerHistory | None:
    """Link a starting call to its caller and build its ``caller.history`` input (None: first contact)."""
    if not isinstance(event, CallStarted) or not event.caller_ref:
        return None
    db = service.db
    CallerBook(db).link(event.call_id, event.caller_ref, utc(event.started_at) or event.started_at)
    window = getattr(service.engine, "continuity", None)
    days = window.window_days if window is not None else load_continuity().window_days
    return build_history(db, event.call_id, event.caller_ref, event.started_at, days)
