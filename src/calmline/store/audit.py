"""The audit log: who changed what, in a hash chain that shows tampering.

Each row's ``hash`` is SHA-256 over the previous row's hash and this row's content, so editing or deleting a
row breaks every hash after it; :meth:`AuditLog.check` walks the chain and says what is wrong where (a row
edited, rows deleted, rows reordered). Deleting the *newest* rows leaves a valid, shorter chain, and so does
rewriting every hash after an edit; an :class:`Anchor` (row count, last id and head hash, written by
``calmline audit anchor`` to a file kept away from the database) catches both. Rows hold identifiers and
summaries (protocol ids and versions, usernames), never transcript text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select

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


@dataclass(frozen=True, slots=True)
class AuditProblem:
    """One place where the chain is broken: ``position`` is 1-based in id order (0: the whole log)."""

    position: int
    id: int | None
    kind: str  # edited | deleted | reordered | truncated | rewritten
    detail: str

    def describe(self) -> str:
        """One line for people: where and what."""
        where = f"row id {self.id} (position {self.position})" if self.id is not None else "the log"
        return f"{where}: {self.kind}: {self.detail}"


@dataclass(frozen=True, slots=True)
class Anchor:
    """The chain's head at one moment: how many rows, the newest id and its hash."""

    at: str
    count: int
    last_id: int
    head_hash: str

    def to_json(self) -> str:
        """One JSON line."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> Anchor:
        """Parse a line written by :meth:`to_json`."""
        raw = json.loads(line)
        return cls(str(raw["at"]), int(raw["count"]), int(raw["last_id"]), str(raw["head_hash"]))


@dataclass(frozen=True, slots=True)
class AuditReport:
    """The outcome of :meth:`AuditLog.check`."""

    rows: int
    head_hash: str
    anchors_checked: int
    problems: tuple[AuditProblem, ...]

    @property
    def ok(self) -> bool:
        """True when the chain and every anchor hold."""
        return not self.problems


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
        """The ids of entries where the chain breaks (empty: the log is intact). See :meth:`check`."""
        return [p.id for p in self.check().problems if p.id is not None]

    def anchor(self, at: datetime) -> Anchor:
        """The current head of the chain, to be stored away from the database."""
        with self.db.connect() as conn:
            count = int(conn.execute(select(func.count()).select_from(audit_log)).scalar() or 0)
            last = conn.execute(
                select(audit_log.c.id, audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1)
            ).first()
        return Anchor(
            (utc(at) or at).isoformat(),
            count,
            int(last.id) if last else 0,
            str(last.hash) if last else GENESIS,
        )

    def check(self, anchors: Sequence[Anchor] = ()) -> AuditReport:
        """Walk the chain in id order and compare it with ``anchors``; every problem, first one first.

        * **edited**: a row's content no longer gives its hash, or its hash was recomputed (the next row still
          points at the old one);
        * **deleted**: a row points at a hash no row has, across a gap in the ids (or before the first row);
        * **reordered**: a row points at a row that comes after it;
        * **truncated** / **rewritten** (anchors only): the anchored head row is gone, or its hash changed.
        """
        with self.db.connect() as conn:
            rows = conn.execute(select(audit_log).order_by(audit_log.c.id)).all()
        position_of = {r.hash: k for k, r in enumerate(rows, start=1)}
        problems: list[AuditProblem] = []
        prev_hash, prev_id, prev_sound = GENESIS, 0, True
        for pos, r in enumerate(rows, start=1):
            at = utc(r.at) or r.at
            sound = _digest(r.prev_hash, at, r.actor, r.action, r.subject, r.detail) == r.hash
            if not sound:
                problems.append(AuditProblem(pos, r.id, "edited", "its content does not match its hash"))
            elif r.prev_hash != prev_hash:
                target = position_of.get(r.prev_hash)
                if target is not None and target > pos:
                    problems.append(
                        AuditProblem(pos, r.id, "reordered", f"it follows the row at position {target}")
                    )
                elif target is not None:
                    problems.append(
                        AuditProblem(
                            pos, r.id, "reordered", f"it follows the row at position {target}, not {pos - 1}"
                        )
                    )
                elif r.id - prev_id > 1 or (pos == 1 and r.prev_hash != GENESIS):
                    missing = f"ids {prev_id + 1}..{r.id - 1}" if r.id - prev_id > 1 else "rows before it"
                    problems.append(AuditProblem(pos, r.id, "deleted", f"{missing} are missing before it"))
                elif prev_sound and pos > 1:
                    problems.append(
                        AuditProblem(
                            pos - 1, prev_id, "edited", "its hash was recomputed; the next row disagrees"
                        )
                    )
                else:
                    problems.append(AuditProblem(pos, r.id, "edited", "it does not follow the previous row"))
            prev_hash, prev_id, prev_sound = r.hash, r.id, sound
        problems.extend(_check_anchors(rows, anchors))
        head = rows[-1].hash if rows else GENESIS
        return AuditReport(len(rows), head, len(anchors), tuple(problems))


def _check_anchors(rows: Sequence[Any], anchors: Sequence[Anchor]) -> list[AuditProblem]:
    by_id = {r.id: (k, r) for k, r in enumerate(rows, start=1)}
    last_id = rows[-1].id if rows else 0
    problems: list[AuditProblem] = []
    for a in anchors:
        if a.count == 0:
            continue
        found = by_id.get(a.last_id)
        if found is None:
            kind = "truncated" if a.last_id > last_id else "deleted"
            detail = f"the row anchored at {a.at} (id {a.last_id}, {a.count} rows) is gone"
            problems.append(AuditProblem(0, None, kind, detail))
            continue
        pos, row = found
        if row.hash != a.head_hash:
            detail = f"its hash differs from the anchor of {a.at}: the chain up to it was rewritten"
            problems.append(AuditProblem(pos, row.id, "rewritten", detail))
        elif pos != a.count:
            detail = f"{a.count - pos} rows before it are missing since the anchor of {a.at}"
            problems.append(AuditProblem(pos, row.id, "deleted", detail))
    return problems
