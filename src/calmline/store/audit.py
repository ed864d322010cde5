"""The audit log: who changed what, in a hash chain that shows tampering.

Each row's ``hash`` is SHA-256 over the previous row's hash and this row's content, so editing or deleting a
row breaks every hash after it; :meth:`AuditLog.verify` walks the chain. Rows hold identifiers and
summaries (protocol ids and versions, usernames), never transcript text.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from calmline.store.projections import utc
from calmline.store.schema import audit_log

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audited change."""

    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


def _digest(prev: str, at: datetime, actor: str, action: str, subject: str, detail: dict[str, Any]) -> str:
    body = json.dumps(
        [prev, at.astimezone(UTC).isoformat(), actor, action, subject, detail],
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


class AuditLog:
    """Append-only, hash-chained record of administrative changes."""

    def __init__(self, db: Engine) -> None:
        self.db = db

    def append(
        self,
        conn: Connection,
        *,
        at: datetime,
        actor: str,
        action: str,
        subject: str,
        detail: dict[str, Any],
    ) -> AuditEntry:
        """Add one entry inside the caller's transaction."""
        at = utc(at) or at
        last = conn.execute(select(audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1)).scalar()
        prev = last or GENESIS
        digest = _digest(prev, at, actor, action, subject, detail)
        new_id = conn.execute(
            insert(audit_log).values(
                at=at, actor=actor, action=action, subject=subject, detail=detail, prev_hash=prev, hash=digest
            )
        ).inserted_primary_key
        return AuditEntry(int(new_id[0]) if new_id else 0, at, actor, action, subject, detail, prev, digest)

    def entries(self, subject_prefix: str | None = None, limit: int = 500) -> list[AuditEntry]:
        """The newest ``limit`` entries, oldest first (optionally only subjects starting with a prefix)."""
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if subject_prefix:
            query = query.where(audit_log.c.subject.startswith(subject_prefix))
        with self.db.connect() as conn:
            rows = conn.execute(query).all()
        return [
            AuditEntry(r.id, utc(r.at) or r.at, r.actor, r.action, r.subject, r.detail, r.prev_hash, r.hash)
            for r in reversed(rows)
        ]

    def verify(self) -> list[int]:
        """The ids of entries whose hash does not match the chain (empty: the log is intact)."""
        broken: list[int] = []
        prev = GENESIS
        with self.db.connect() as conn:
            for r in conn.execute(select(audit_log).order_by(audit_log.c.id)):
                at = utc(r.at) or r.at
                if r.prev_hash != prev or _digest(prev, at, r.actor, r.action, r.subject, r.detail) != r.hash:
                    broken.append(r.id)
                prev = r.hash
        return broken
