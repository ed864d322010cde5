"""Retention: how long each class of data is kept, the purge that enforces it, and legal holds.

Data classes (``RetentionPolicy``; days after the call ended, ``null`` = keep):

- ``raw_transcript``: what was said and typed as it was (utterance text, caller reference, call reason,
  supervisor notes and outcomes). When it expires each of those is replaced *in the log* by its PHI-redacted
  form (``calmline.privacy``, one pseudonym map per call), so the call stays reviewable without identifiers.
- ``redacted_transcript``: the redacted text left by the step above; when it expires it is blanked.
- ``findings``: the call's rows of the ``findings`` read model (risk types, spans, scores).
- ``audit``: the audit chain. Rows are never deleted by the purge (the chain and its anchors must verify);
  the purge reports how many are older than the policy so they can be archived with ``calmline audit anchor``.

A call under legal hold (``legal_holds``) is never purged. Each purge that changed anything writes one audit
entry (``retention.purge``) with the counts, and holds and releases are audited too, so ``calmline audit
verify`` still passes afterwards and shows what was removed when. A purged call can no longer be replayed to
an identical result (its inputs changed): replay reports the differences.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from weakref import WeakKeyDictionary

import yaml
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from calmline.privacy import CallRedactor
from calmline.security.crypto import PHI_FIELDS
from calmline.store.audit import AuditLog
from calmline.store.log import SqlEventLog, StoredEvent
from calmline.store.projections import utc
from calmline.store.schema import (
    alerts,
    audit_log,
    calls,
    findings,
    held_events,
    legal_holds,
    retention_marks,
)

DataClass = Literal["raw_transcript", "redacted_transcript", "findings", "audit"]
#: Event type -> free-text fields a purge rewrites: the same fields encryption seals.
TEXT_FIELDS = PHI_FIELDS
#: Fields that must stay strings when blanked (the event models require them).
_REQUIRED = {("utterance", "text"), ("alert.resolved", "outcome")}
_NEVER_REDACT = {"caller_ref"}  # an identifier, not words: dropped instead of redacted


class RetentionPolicy(BaseModel):
    """Days each data class is kept after the call ended; ``None`` keeps it for ever."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    raw_transcript: int | None = Field(default=30, ge=0)
    redacted_transcript: int | None = Field(default=365, ge=0)
    findings: int | None = Field(default=None, ge=0)
    audit: int | None = Field(default=2190, ge=0, description="Reported, never deleted (six years).")


def load_policy(path: Path | None = None) -> RetentionPolicy:
    """The policy in ``path`` (YAML), or the shipped default (``resources/retention.yaml``).

    Raises:
        ValueError: the file is not a valid policy (pydantic's message names the field).
    """
    if path is None:
        text = resources.files("calmline.resources").joinpath("retention.yaml").read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    return RetentionPolicy.model_validate(yaml.safe_load(text) or {})


@dataclass
class PurgeReport:
    """What a purge changed (or, for a dry run, would change)."""

    at: datetime
    dry_run: bool
    calls: dict[str, list[str]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    held: list[str] = field(default_factory=list)
    audit_expired: int = 0
    audit_id: int | None = None

    @property
    def changed(self) -> bool:
        """Whether anything was (or would be) purged."""
        return any(self.calls.values())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: call ids, counts, held calls skipped."""
        return {
            "at": self.at.isoformat(),
            "dry_run": self.dry_run,
            "calls": {k: sorted(v) for k, v in self.calls.items()},
            "rows": dict(self.rows),
            "held_skipped": sorted(self.held),
            "audit_rows_past_policy": self.audit_expired,
            "audit_id": self.audit_id,
        }


# -- legal hold ------------------------------------------------------------------------------------------


class HoldError(ValueError):
    """A hold or release was refused (already held, not held, no reason)."""


def hold(db: Engine, call_id: str, reason: str, actor: str, at: datetime) -> None:
    """Put a call under legal hold (audited): no purge touches it until it is released.

    Raises:
        HoldError: no reason given, or the call is already held.
    """
    reason = reason.strip()
    if len(reason) < 3:
        raise HoldError("a legal hold needs a reason")
    try:
        with db.begin() as conn:
            conn.execute(
                insert(legal_holds).values(call_id=call_id, reason=reason[:500], actor=actor, created_at=at)
            )
            AuditLog(db).append(
                conn,
                at=at,
                actor=actor,
                action="retention.hold",
                subject=f"call:{call_id}",
                detail={"reason": reason},
            )
    except IntegrityError:
        raise HoldError(f"call {call_id!r} is already on hold") from None


def release(db: Engine, call_id: str, reason: str, actor: str, at: datetime) -> None:
    """Lift a legal hold (audited).

    Raises:
        HoldError: the call is not on hold.
    """
    with db.begin() as conn:
        done = conn.execute(delete(legal_holds).where(legal_holds.c.call_id == call_id))
        if done.rowcount == 0:
            raise HoldError(f"call {call_id!r} is not on hold")
        AuditLog(db).append(
            conn,
            at=at,
            actor=actor,
            action="retention.release",
            subject=f"call:{call_id}",
            detail={"reason": reason},
        )


def holds(db: Engine) -> list[dict[str, Any]]:
    """Every call on hold, with who put it there, when and why."""
    with db.connect() as conn:
        rows = conn.execute(select(legal_holds).order_by(legal_holds.c.created_at)).all()
    return [{**r._mapping, "created_at": utc(r.created_at)} for r in rows]


# -- the purge -------------------------------------------------------------------------------------------


def _due_calls(db: Engine, cls: str, days: int, now: datetime) -> tuple[list[str], list[str]]:
    """Calls whose ``cls`` data expired and is not purged yet: (to purge, held and skipped)."""
    cutoff = now - timedelta(days=days)
    ended = func.coalesce(calls.c.ended_at, calls.c.last_event_at)
    done = select(retention_marks.c.call_id).where(retention_marks.c.data_class == cls)
    query = (
        select(calls.c.call_id)
        .where(calls.c.status == "ended", ended < cutoff, calls.c.call_id.not_in(done))
        .order_by(calls.c.call_id)
    )
    with db.connect() as conn:
        due = [r.call_id for r in conn.execute(query)]
        held = {r.call_id for r in conn.execute(select(legal_holds.c.call_id))}
    return [c for c in due if c not in held], [c for c in due if c in held]


def _rewritten(rows: Iterable[StoredEvent], blank: bool) -> list[tuple[StoredEvent, dict[str, Any]]]:
    redactor = CallRedactor()
    out = []
    for row in rows:
        names = TEXT_FIELDS.get(row.type)
        if not names:
            continue
        payload = dict(row.payload)
        changed = False
        for name in names:
            value = payload.get(name)
            if value is None or value == "":
                continue
            if blank:
                new: str | None = "" if (row.type, name) in _REQUIRED else None
            elif name in _NEVER_REDACT:
                new = None
            else:
                new = redactor.redact(str(value)).text
            if new != value:
                payload[name], changed = new, True
        if changed:
            out.append((row, payload))
    return out


def _purge_text(db: Engine, call_id: str, blank: bool) -> int:
    log = SqlEventLog(db)
    changes = _rewritten(log.read(call_id), blank)
    with db.begin() as conn:
        for row, payload in changes:
            log.rewrite(conn, row, payload)
        conn.execute(delete(held_events).where(held_events.c.stream == call_id))
        # The read models copy two free-text fields: keep them in step with the log.
        started = next((p for r, p in changes if r.type == "call.started"), None)
        if started is not None:
            conn.execute(update(calls).where(calls.c.call_id == call_id).values(reason=started.get("reason")))
        if blank:
            conn.execute(update(alerts).where(alerts.c.call_id == call_id).values(outcome=None))
        else:
            redactor = CallRedactor()
            for a in conn.execute(
                select(alerts.c.alert_id, alerts.c.outcome).where(alerts.c.call_id == call_id)
            ):
                if a.outcome:
                    conn.execute(
                        update(alerts)
                        .where(alerts.c.alert_id == a.alert_id)
                        .values(outcome=redactor.redact(a.outcome).text)
                    )
    return len(changes)


def _purge_findings(db: Engine, call_id: str) -> int:
    with db.begin() as conn:
        return int(conn.execute(delete(findings).where(findings.c.call_id == call_id)).rowcount or 0)


def _mark(db: Engine, call_id: str, cls: str, at: datetime) -> None:
    with db.begin() as conn:
        conn.execute(insert(retention_marks).values(call_id=call_id, data_class=cls, purged_at=at))


def purge(
    db: Engine,
    policy: RetentionPolicy,
    now: datetime,
    *,
    dry_run: bool = False,
    actor: str = "system",
) -> PurgeReport:
    """Apply ``policy`` at ``now``; with ``dry_run`` only say what would be purged.

    Each call is purged in its own transaction, so an interrupted purge resumes where it stopped.
    """
    report = PurgeReport(now, dry_run)
    plan: list[tuple[str, int | None]] = [
        ("raw_transcript", policy.raw_transcript),
        ("redacted_transcript", policy.redacted_transcript),
        ("findings", policy.findings),
    ]
    for cls, days in plan:
        if days is None:
            continue
        due, held = _due_calls(db, cls, days, now)
        report.calls[cls] = due
        report.held.extend(c for c in held if c not in report.held)
        report.rows[cls] = 0
        if dry_run:
            continue
        for call_id in due:
            if cls == "findings":
                report.rows[cls] += _purge_findings(db, call_id)
            else:
                report.rows[cls] += _purge_text(db, call_id, blank=cls == "redacted_transcript")
            _mark(db, call_id, cls, now)
    if policy.audit is not None:
        cutoff = now - timedelta(days=policy.audit)
        with db.connect() as conn:
            report.audit_expired = int(
                conn.execute(
                    select(func.count()).select_from(audit_log).where(audit_log.c.at < cutoff)
                ).scalar()
                or 0
            )
    if report.changed and not dry_run:
        with db.begin() as conn:
            entry = AuditLog(db).append(
                conn,
                at=now,
                actor=actor,
                action="retention.purge",
                subject="retention",
                detail={
                    "policy": policy.model_dump(),
                    "calls": {k: len(v) for k, v in report.calls.items()},
                    "call_ids": {k: sorted(v)[:200] for k, v in report.calls.items() if v},
                    "rows": report.rows,
                    "held_skipped": len(report.held),
                },
            )
        report.audit_id = entry.id
    return report


# -- the server's schedule ----------------------------------------------------------------------------------


@dataclass
class _Schedule:
    policy: RetentionPolicy
    interval: timedelta
    next_at: datetime | None = None


_SCHEDULES: WeakKeyDictionary[Engine, _Schedule] = WeakKeyDictionary()
_SCHEDULE_LOCK = threading.Lock()


def register_policy(db: Engine, policy: RetentionPolicy, interval_s: float = 3600.0) -> None:
    """Make ``run_scheduled(db, now)`` purge by ``policy`` at most once per ``interval_s``."""
    with _SCHEDULE_LOCK:
        _SCHEDULES[db] = _Schedule(policy, timedelta(seconds=interval_s))


def run_scheduled(db: Engine, now: datetime) -> PurgeReport | None:
    """The server tick's hook: purge when a policy is registered for ``db`` and the interval has passed."""
    with _SCHEDULE_LOCK:
        schedule = _SCHEDULES.get(db)
        if schedule is None or (schedule.next_at is not None and now < schedule.next_at):
            return None
        schedule.next_at = now + schedule.interval
    return purge(db, schedule.policy, now)
