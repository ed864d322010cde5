"""Who a caller is, privately: a keyed hash of their number, and the links from calls to callers.

A ``caller_ref`` is ``cr_`` + HMAC-SHA256 (hex) of the normalised identifier under a key derived from the
deployment's secret (``CALLER_KEY_CONTEXT`` separates it from every other use of that secret). The raw
number is never stored: the integration asks ``POST /api/callers/ref`` for the reference (or computes it
with the same key) and puts only the reference on ``call.started``.

Links (``caller_links``: call → caller) are written when a call with a ``caller_ref`` starts. People may
*merge* two caller records (the same person seen under two numbers) and *unlink* one call (a shared phone, a
wrong match): both are audited in the hash-chained audit log, as is every lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, Engine, delete, insert, select, update

from calmline.store.audit import AuditLog
from calmline.store.schema import caller_links, callers

#: Domain separation: the caller key is derived from the secret, never the secret itself.
CALLER_KEY_CONTEXT = b"calmline/caller-ref/v1"
PREFIX = "cr_"
IdentifierKind = Literal["phone", "patient_id"]
#: How deep a chain of merges may go before it is treated as corrupt.
_MAX_MERGE_DEPTH = 16


class CallerError(ValueError):
    """A caller operation that cannot be done: ``code`` is the API error code."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def caller_key(secret: str | bytes) -> bytes:
    """The HMAC key for caller references, derived from the deployment secret (``CALMLINE_SECRET_KEY``)."""
    raw = secret.encode("utf-8") if isinstance(secret, str) else secret
    return hmac.new(raw, CALLER_KEY_CONTEXT, hashlib.sha256).digest()


def normalise(identifier: str, kind: IdentifierKind) -> str:
    """A phone number as ``+`` and digits (spaces, dashes, brackets dropped); a patient id trimmed, upper.

    Raises:
        CallerError: nothing left to hash.
    """
    if kind == "phone":
        digits = re.sub(r"\D", "", identifier)
        value = ("+" if identifier.strip().startswith("+") else "") + digits
        if len(digits) < 3:
            raise CallerError("invalid_identifier", "a phone number needs at least 3 digits")
    else:
        value = identifier.strip().upper()
        if not value:
            raise CallerError("invalid_identifier", "the patient identifier is empty")
    return f"{kind}:{value}"


def caller_ref_for(key: bytes, identifier: str, kind: IdentifierKind = "phone") -> str:
    """The pseudonymous ``caller_ref`` of an identifier: the same input and key always give the same ref."""
    digest = hmac.new(key, normalise(identifier, kind).encode("utf-8"), hashlib.sha256).hexdigest()
    return PREFIX + digest


class CallerBook:
    """Links, merges and unlinks; resolves a merged caller to the record it was merged into."""

    def __init__(self, db: Engine) -> None:
        self.db = db
        self.audit = AuditLog(db)

    # -- links -------------------------------------------------------------------------------------------

    def link(self, call_id: str, caller_ref: str, at: datetime, source: str = "call_start") -> str:
        """Link a call to its caller (creating the record); returns the caller the call now counts for."""
        with self.db.begin() as conn:
            target = self._resolve(conn, caller_ref)
            self._touch(conn, caller_ref, at)
            existing = conn.execute(
                select(caller_links.c.caller_ref).where(caller_links.c.call_id == call_id)
            )
            if existing.first() is None:
                conn.execute(
                    insert(caller_links).values(
                        call_id=call_id, caller_ref=caller_ref, linked_at=at, source=source
                    )
                )
        return target

    def caller_of(self, call_id: str) -> str | None:
        """The (resolved) caller a call is linked to, or None."""
        with self.db.connect() as conn:
            ref = conn.execute(
                select(caller_links.c.caller_ref).where(caller_links.c.call_id == call_id)
            ).scalar()
            return self._resolve(conn, ref) if ref else None

    def resolve(self, caller_ref: str) -> str:
        """The record ``caller_ref`` counts as (itself, or the one it was merged into)."""
        with self.db.connect() as conn:
            return self._resolve(conn, caller_ref)

    def aliases(self, caller_ref: str) -> list[str]:
        """``caller_ref`` (resolved) and every record merged into it, directly or not."""
        with self.db.connect() as conn:
            return self._aliases(conn, self._resolve(conn, caller_ref))

    def known(self, caller_ref: str) -> bool:
        """Whether a caller record exists."""
        with self.db.connect() as conn:
            return (
                conn.execute(select(callers.c.caller_ref).where(callers.c.caller_ref == caller_ref)).first()
                is not None
            )

    def calls(self, caller_ref: str) -> list[str]:
        """Every call linked to the caller (or to a record merged into it)."""
        with self.db.connect() as conn:
            refs = self._aliases(conn, self._resolve(conn, caller_ref))
            rows = conn.execute(select(caller_links.c.call_id).where(caller_links.c.caller_ref.in_(refs)))
            return sorted(r.call_id for r in rows)

    # -- changes people make (audited) ---------------------------------------------------------------

    def unlink(self, call_id: str, *, actor: str, reason: str, at: datetime) -> str:
        """Remove a call's link to its caller (from every view: timelines, history, the call's caller)."""
        with self.db.begin() as conn:
            ref = conn.execute(
                select(caller_links.c.caller_ref).where(caller_links.c.call_id == call_id)
            ).scalar()
            if ref is None:
                raise CallerError("not_linked", f"call {call_id} is not linked to a caller")
            conn.execute(delete(caller_links).where(caller_links.c.call_id == call_id))
            self.audit.append(
                conn,
                at=at,
                actor=actor,
                action="caller.unlinked",
                subject=f"call:{call_id}",
                detail={"caller_ref": ref, "reason": reason[:200]},
            )
        return str(ref)

    def merge(self, source: str, into: str, *, actor: str, reason: str, at: datetime) -> str:
        """Merge caller ``source`` into ``into``: its calls, plans and screenings count for ``into`` now."""
        with self.db.begin() as conn:
            for ref in (source, into):
                if (
                    conn.execute(select(callers.c.caller_ref).where(callers.c.caller_ref == ref)).first()
                    is None
                ):
                    raise CallerError("not_found", f"no caller {ref}")
            src, dst = self._resolve(conn, source), self._resolve(conn, into)
            if src == dst:
                raise CallerError("already_merged", "these records are already the same caller")
            conn.execute(
                update(callers).where(callers.c.caller_ref == src).values(merged_into=dst, merged_at=at)
            )
            self.audit.append(
                conn,
                at=at,
                actor=actor,
                action="caller.merged",
                subject=f"caller:{dst}",
                detail={"merged": src, "reason": reason[:200]},
            )
        return dst

    def audit_lookup(
        self, *, actor: str, roles: list[str], caller_ref: str, at: datetime, **detail: Any
    ) -> None:
        """Record that ``actor`` looked a caller up (every timeline and call→caller lookup)."""
        with self.db.begin() as conn:
            self.audit.append(
                conn,
                at=at,
                actor=actor,
                action="caller.lookup",
                subject=f"caller:{caller_ref}",
                detail={"roles": sorted(roles), **detail},
            )

    # -- internals -------------------------------------------------------------------------------------

    @staticmethod
    def _touch(conn: Connection, caller_ref: str, at: datetime) -> None:
        found = conn.execute(select(callers.c.caller_ref).where(callers.c.caller_ref == caller_ref)).first()
        if found is None:
            conn.execute(insert(callers).values(caller_ref=caller_ref, created_at=at, last_seen_at=at))
        else:
            conn.execute(update(callers).where(callers.c.caller_ref == caller_ref).values(last_seen_at=at))

    @staticmethod
    def _resolve(conn: Connection, caller_ref: str) -> str:
        ref = caller_ref
        for _ in range(_MAX_MERGE_DEPTH):
            nxt = conn.execute(select(callers.c.merged_into).where(callers.c.caller_ref == ref)).scalar()
            if not nxt:
                return ref
            ref = str(nxt)
        raise CallerError("merge_loop", f"merge chain of {caller_ref} is too deep")

    @staticmethod
    def _aliases(conn: Connection, root: str) -> list[str]:
        found, frontier = [root], [root]
        while frontier and len(found) < 1000:
            rows = conn.execute(select(callers.c.caller_ref).where(callers.c.merged_into.in_(frontier))).all()
            frontier = [r.caller_ref for r in rows if r.caller_ref not in found]
            found.extend(frontier)
        return found
