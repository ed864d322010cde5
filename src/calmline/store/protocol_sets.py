"""Where protocol sets are kept: every version ever in force, newest last, each change audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select

from calmline.protocols.catalog import ProtocolCatalog, ProtocolSet, diff_sets
from calmline.store.audit import AuditLog
from calmline.store.projections import utc
from calmline.store.schema import protocol_sets


@dataclass(frozen=True, slots=True)
class SetRecord:
    """One row of the protocol history: which set came into force, when, by whom and why."""

    id: int
    set_id: str
    actor: str
    action: str
    detail: str
    created_at: datetime
    versions: dict[str, str]
    disabled: tuple[str, ...]


class ProtocolStore:
    """Reads and publishes protocol sets; every publication is also an audit-log entry."""

    def __init__(self, db: Engine) -> None:
        self.db = db
        self.audit = AuditLog(db)

    def _rows(self) -> list[Any]:
        with self.db.connect() as conn:
            return list(conn.execute(select(protocol_sets).order_by(protocol_sets.c.id)))

    def load_catalog(self) -> ProtocolCatalog:
        """Every stored set; the newest is current."""
        rows = self._rows()
        sets = [ProtocolSet.from_documents(r.documents) for r in rows]
        return ProtocolCatalog(sets, current=rows[-1].set_id if rows else None)

    def latest(self) -> ProtocolSet | None:
        """The set in force now, if any was ever published."""
        with self.db.connect() as conn:
            row = conn.execute(
                select(protocol_sets.c.documents).order_by(protocol_sets.c.id.desc()).limit(1)
            ).first()
        return ProtocolSet.from_documents(row.documents) if row else None

    def latest_id(self) -> str | None:
        """The id of the set in force now (cheap: for polling by other processes' changes)."""
        with self.db.connect() as conn:
            return conn.execute(
                select(protocol_sets.c.set_id).order_by(protocol_sets.c.id.desc()).limit(1)
            ).scalar()

    def publish(self, pset: ProtocolSet, *, actor: str, action: str, detail: str, at: datetime) -> bool:
        """Put ``pset`` in force for new calls; False (and nothing written) when it already is."""
        with self.db.begin() as conn:
            last = conn.execute(
                select(protocol_sets.c.documents).order_by(protocol_sets.c.id.desc()).limit(1)
            ).first()
            old = ProtocolSet.from_documents(last.documents) if last else None
            if old is not None and old.set_id == pset.set_id:
                return False
            conn.execute(
                insert(protocol_sets).values(
                    set_id=pset.set_id,
                    documents=pset.documents(),
                    actor=actor,
                    action=action,
                    detail=detail,
                    created_at=at,
                )
            )
            self.audit.append(
                conn,
                at=at,
                actor=actor,
                action=f"protocols.{action}",
                subject=f"protocol_set:{pset.set_id}",
                detail={
                    "previous": old.set_id if old else None,
                    "changes": diff_sets(old, pset),
                    "versions": pset.versions(),
                    "why": detail,
                },
            )
        return True

    def history(self) -> list[SetRecord]:
        """Every publication, oldest first."""
        out: list[SetRecord] = []
        for r in self._rows():
            docs = r.documents
            out.append(
                SetRecord(
                    id=r.id,
                    set_id=r.set_id,
                    actor=r.actor,
                    action=r.action,
                    detail=r.detail,
                    created_at=utc(r.created_at) or r.created_at,
                    versions={d["id"]: d["version"] for d in docs["protocols"]},
                    disabled=tuple(docs.get("disabled", ())),
                )
            )
        return out
