"""Caring contacts: follow-up tasks after calls with suicide risk or a medical emergency.

Tasks come from the ``followup.scheduled`` outputs the protocols write when a call ends. ``FollowupDesk.sync``
reads the new ones from the log (a cursor on the log id, so each pass reads only what is new) and opens one
task per call and reason, due by the policy (``followup_policy.py``). Practice calls never get a task.

``FollowupDesk.tick(now)`` is the periodic check: sync, then every open task whose due time has passed is
marked overdue once (``overdue_at``), logged (ids only) and announced by a signed ``followup.overdue``
webhook. Opening a task sends ``followup.due``. Both webhooks are queued in the same transaction as the
change, through the webhook outbox, and carry no transcript words.

Staff assign tasks to a user or a team and record contact attempts with outcome codes; an outcome whose
``closes`` is false (``no_answer``, ``voicemail``) counts an attempt and keeps the task open. Every change is
a hash-chained audit entry (ids and codes, never the note).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Connection, Engine, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from calmline.aftercall.common import TIER_RANK, as_utc, is_practice, iso
from calmline.aftercall.followup_policy import FollowupPolicy, default_policy
from calmline.store.audit import AuditLog
from calmline.store.schema import calls, events, findings, followups
from calmline.webhooks.config import WebhooksConfig
from calmline.webhooks.outbox import queue_event

log = structlog.get_logger("calmline.aftercall")

OPEN = "open"
DONE = "done"
MAX_NOTE = 4000
#: Log ids are handed out before commit, so on PostgreSQL a row may become visible after a higher id was
#: read. Each pass re-reads this many ids behind its cursor; opening a task is idempotent.
RESCAN = 1000


class FollowupError(ValueError):
    """A request the task cannot take; ``code``: ``not_found``, ``closed`` or ``bad_outcome``."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What one periodic pass did."""

    opened: tuple[str, ...]
    overdue: tuple[str, ...]


def task_dict(row: Any, now: datetime | None = None) -> dict[str, Any]:
    """A ``followups`` row as JSON (``overdue`` is computed against ``now`` when given)."""
    due = as_utc(row.due_at)
    overdue = row.overdue_at is not None or (
        now is not None and row.status == OPEN and due is not None and due <= now
    )
    return {
        "followup_id": row.followup_id,
        "call_id": row.call_id,
        "reason": row.reason,
        "tier": row.tier,
        "protocol": row.protocol,
        "kind": row.kind,
        "created_at": iso(row.created_at),
        "due_at": iso(row.due_at),
        "status": row.status,
        "overdue": bool(overdue),
        "overdue_at": iso(row.overdue_at),
        "assignee": row.assignee,
        "team": row.team,
        "attempts": row.attempts,
        "outcome": row.outcome,
        "outcome_note": row.outcome_note,
        "completed_at": iso(row.completed_at),
        "completed_by": row.completed_by,
    }


class FollowupDesk:
    """Opens, lists, assigns and closes follow-up tasks; the periodic overdue check."""

    def __init__(
        self, db: Engine, policy: FollowupPolicy | None = None, webhooks: WebhooksConfig | None = None
    ) -> None:
        self.db = db
        self.policy = policy or default_policy()
        self.webhooks = webhooks
        self.audit = AuditLog(db)
        self._cursor: int | None = None
        self._lock = threading.Lock()

    # -- the periodic part -----------------------------------------------------------------------------------

    def tick(self, now: datetime) -> CheckResult:
        """Open tasks for new ``followup.scheduled`` outputs, then flag overdue ones (run periodically)."""
        opened = self.sync(now)
        return CheckResult(tuple(opened), tuple(self.check_overdue(now)))

    def sync(self, now: datetime) -> list[str]:
        """Open a task for each new scheduled follow-up the policy covers; returns the new task ids.

        Another process (or desk) may open the same task at the same moment: the loser's pass rolls back and
        the next one finds the task there.
        """
        try:
            return self._sync(now)
        except IntegrityError:
            log.info("followup.sync_raced")
            return []

    def _sync(self, now: datetime) -> list[str]:
        with self._lock, self.db.begin() as conn:
            if self._cursor is None:
                self._cursor = int(conn.execute(select(func.max(followups.c.source_event_id))).scalar() or 0)
            rows = conn.execute(
                select(events.c.id, events.c.stream, events.c.payload)
                .where(events.c.id > max(0, self._cursor - RESCAN), events.c.type == "followup.scheduled")
                .order_by(events.c.id)
            ).all()
            opened: list[str] = []
            for row in rows:
                task = self._open(conn, int(row.id), row.stream, _payload(row.payload), now)
                if task is not None:
                    opened.append(task)
            if rows:
                self._cursor = int(rows[-1].id)
        return opened

    def _open(
        self, conn: Connection, event_id: int, call_id: str, payload: dict[str, Any], now: datetime
    ) -> str | None:
        rule = self.policy.protocols.get(str(payload.get("protocol_id")))
        if rule is None:
            return None
        call = conn.execute(select(calls).where(calls.c.call_id == call_id)).mappings().first()
        if is_practice(call_id, call):
            return None
        scheduled = as_utc(datetime.fromisoformat(str(payload["at"]))) or now
        protocol_due = as_utc(datetime.fromisoformat(str(payload["due_by"]))) or scheduled
        tier = self._tier(conn, call_id, self.policy.reasons.get(rule.reason, ()))
        due = self.policy.due_at(protocol_due, scheduled, tier)
        task_id = f"{call_id}:{rule.reason}"
        existing = conn.execute(select(followups).where(followups.c.followup_id == task_id)).first()
        if existing is not None:  # another protocol of the same call and reason: keep the earlier due time
            if as_utc(existing.due_at) and due < (as_utc(existing.due_at) or due) and existing.status == OPEN:
                conn.execute(
                    update(followups)
                    .where(followups.c.followup_id == task_id)
                    .values(due_at=due, protocol=str(payload["protocol_id"]), updated_at=now)
                )
            return None
        self._insert(
            conn,
            now,
            followup_id=task_id,
            call_id=call_id,
            reason=rule.reason,
            tier=tier,
            protocol=str(payload["protocol_id"]),
            kind=str(payload.get("kind") or "followup")[:64],
            source_event_id=event_id,
            due_at=due,
            team=rule.team,
        )
        log.info("followup.opened", followup_id=task_id, reason=rule.reason, tier=tier)
        return task_id

    def open_from_feedback(self, call_id: str, feedback_id: int, now: datetime) -> str | None:
        """Open a caring contact for feedback that shows risk (policy ``feedback``); its id, or None.

        One task per call for feedback: a second worrying answer for the same call keeps the first task.
        """
        rule = self.policy.feedback
        if rule is None:
            return None
        task_id = f"{call_id}:{rule.reason}"
        with self._lock, self.db.begin() as conn:
            call = conn.execute(select(calls).where(calls.c.call_id == call_id)).mappings().first()
            if call is None or is_practice(call_id, call):
                return None
            if conn.execute(
                select(followups.c.followup_id).where(followups.c.followup_id == task_id)
            ).first():
                return None
            self._insert(
                conn,
                now,
                followup_id=task_id,
                call_id=call_id,
                reason=rule.reason,
                tier=None,
                protocol=None,
                kind="feedback_callback",
                source_event_id=None,
                due_at=now + timedelta(hours=rule.within_h),
                team=rule.team,
            )
        log.info("followup.opened", followup_id=task_id, reason=rule.reason, feedback_id=feedback_id)
        return task_id

    @staticmethod
    def _tier(conn: Connection, call_id: str, types: tuple[str, ...]) -> str | None:
        if not types:
            return None
        tiers = conn.execute(
            select(findings.c.tier).where(
                findings.c.call_id == call_id,
                findings.c.type.in_(types),
                findings.c.assertion == "present",
                findings.c.experiencer == "caller",
                findings.c.tier.is_not(None),
            )
        ).scalars()
        ranked = sorted((t for t in tiers if t in TIER_RANK), key=TIER_RANK.__getitem__)
        return ranked[-1] if ranked else None

    def check_overdue(self, now: datetime) -> list[str]:
        """Mark open tasks past their due time as overdue (once each) and announce them; their ids."""
        with self._lock, self.db.begin() as conn:
            late = conn.execute(
                select(followups.c.followup_id, followups.c.call_id, followups.c.reason)
                .where(
                    followups.c.status == OPEN, followups.c.overdue_at.is_(None), followups.c.due_at <= now
                )
                .order_by(followups.c.due_at, followups.c.followup_id)
            ).all()
            for row in late:
                conn.execute(
                    update(followups)
                    .where(followups.c.followup_id == row.followup_id)
                    .values(overdue_at=now, updated_at=now)
                )
                self._announce(conn, "followup.overdue", row.followup_id, now)
                log.warning("followup.overdue", followup_id=row.followup_id, reason=row.reason)
        return [r.followup_id for r in late]

    def _insert(self, conn: Connection, now: datetime, **task: Any) -> None:
        """A new open task (unassigned, no attempts yet), announced as ``followup.due``."""
        conn.execute(
            insert(followups).values(
                **task,
                created_at=now,
                status=OPEN,
                assignee=None,
                attempts=0,
                updated_at=now,
                due_notified_at=now if self.webhooks else None,
            )
        )
        self._announce(conn, "followup.due", task["followup_id"], now)

    def _announce(self, conn: Connection, event_type: str, task_id: str, now: datetime) -> None:
        if self.webhooks is None:
            return
        row = conn.execute(select(followups).where(followups.c.followup_id == task_id)).one()
        data = task_dict(row)
        data.pop("outcome_note", None)
        data["type"] = event_type
        queue_event(
            conn,
            self.webhooks,
            key=f"{event_type}:{task_id}",
            event_type=event_type,
            call_id=row.call_id,
            data=data,
            at=now,
        )

    # -- staff actions ---------------------------------------------------------------------------------------

    def list(
        self,
        now: datetime,
        *,
        status: str | None = None,
        overdue: bool | None = None,
        assignee: str | None = None,
        call_id: str | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """Tasks, soonest due first (``status``: open or done; ``overdue``: past due and open)."""
        query = select(followups).order_by(followups.c.due_at, followups.c.followup_id).limit(limit)
        if status:
            query = query.where(followups.c.status == status)
        if overdue is True:
            query = query.where(and_(followups.c.status == OPEN, followups.c.due_at <= now))
        if assignee:
            query = query.where(followups.c.assignee == assignee)
        if call_id:
            query = query.where(followups.c.call_id == call_id)
        with self.db.connect() as conn:
            return [task_dict(r, now) for r in conn.execute(query)]

    def get(self, task_id: str, now: datetime) -> dict[str, Any] | None:
        """One task, or None."""
        with self.db.connect() as conn:
            row = conn.execute(select(followups).where(followups.c.followup_id == task_id)).first()
        return task_dict(row, now) if row is not None else None

    def assign(
        self, task_id: str, *, assignee: str | None, team: str | None, actor: str, now: datetime
    ) -> dict[str, Any]:
        """Give the task to a user and/or a team."""
        with self.db.begin() as conn:
            row = self._row(conn, task_id)
            if row.status != OPEN:
                raise FollowupError("closed", "the follow-up is already closed")
            conn.execute(
                update(followups)
                .where(followups.c.followup_id == task_id)
                .values(assignee=assignee, team=team if team is not None else row.team, updated_at=now)
            )
            self.audit.append(
                conn,
                at=now,
                actor=actor,
                action="followup.assign",
                subject=f"followup:{task_id}",
                detail={"assignee": assignee, "team": team},
            )
            return task_dict(self._row(conn, task_id), now)

    def record_outcome(
        self, task_id: str, *, outcome: str, note: str | None, actor: str, now: datetime
    ) -> dict[str, Any]:
        """Record a contact attempt; an outcome that closes the task completes it."""
        code = self.policy.outcomes.get(outcome)
        if code is None:
            choices = ", ".join(sorted(self.policy.outcomes))
            raise FollowupError("bad_outcome", f"unknown outcome; choose from {choices}")
        if note is not None and len(note) > MAX_NOTE:
            raise FollowupError("bad_outcome", f"the note is longer than {MAX_NOTE} characters")
        with self.db.begin() as conn:
            row = self._row(conn, task_id)
            if row.status != OPEN:
                raise FollowupError("closed", "the follow-up is already closed")
            values: dict[str, Any] = {
                "attempts": row.attempts + 1,
                "outcome": outcome,
                "outcome_note": note,
                "updated_at": now,
            }
            if code.closes:
                values.update(status=DONE, completed_at=now, completed_by=actor)
            conn.execute(update(followups).where(followups.c.followup_id == task_id).values(**values))
            self.audit.append(
                conn,
                at=now,
                actor=actor,
                action="followup.outcome",
                subject=f"followup:{task_id}",
                detail={"outcome": outcome, "closes": code.closes, "attempt": row.attempts + 1},
            )
            return task_dict(self._row(conn, task_id), now)

    @staticmethod
    def _row(conn: Connection, task_id: str) -> Any:
        row = conn.execute(select(followups).where(followups.c.followup_id == task_id)).first()
        if row is None:
            raise FollowupError("not_found", "no such follow-up")
        return row


def _payload(raw: Any) -> dict[str, Any]:
    import json

    value = json.loads(raw) if isinstance(raw, str) else raw
    return value if isinstance(value, dict) else {}
