"""Search past (and running) calls for review and QA: by date, queue, agent, risk tier and protocol.

Reads the ``calls``, ``alerts`` and ``findings`` projections; the protocol filter and the protocols shown per
call come from the log's ``protocol.activated`` rows (there is no protocol projection yet). Each result
opens in the call page, which replays the call's timeline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from anyio import to_thread
from fastapi import APIRouter, Query
from sqlalchemy import Engine, func, select

from calmline.api.deps import Reviewer, ServiceDep
from calmline.events.findings import Tier
from calmline.practice import PRACTICE_PREFIX
from calmline.store.projections import utc
from calmline.store.schema import alerts, calls, events, findings

router = APIRouter(prefix="/api/history", tags=["history"])

TIERS: tuple[str, ...] = ("low", "moderate", "high", "imminent")
_PRESENT = ("present", "uncertain")
_SEVERITIES = ("info", "warning", "high", "critical")


@dataclass(frozen=True, slots=True)
class CallQuery:
    """What to look for; every field is optional and they combine with AND."""

    date_from: date | None = None
    date_to: date | None = None
    queue: str | None = None
    agent: str | None = None
    risk: str | None = None
    protocol: str | None = None
    status: str | None = None
    limit: int = 100


@router.get("/calls")
async def search_calls(
    _user: Reviewer,
    service: ServiceDep,
    date_from: date | None = Query(default=None, alias="from", description="Started on or after (UTC day)."),
    date_to: date | None = Query(default=None, alias="to", description="Started on or before (UTC day)."),
    queue: str | None = Query(default=None, max_length=64),
    agent: str | None = Query(default=None, max_length=64),
    risk: Tier | None = Query(default=None, description="A caller finding of this tier or above."),
    protocol: str | None = Query(default=None, max_length=64, pattern=r"^[a-z][a-z0-9_]*$"),
    status: Literal["active", "ended"] | None = None,
    limit: int = Query(default=100, ge=1, le=500),
) -> dict[str, Any]:
    """Calls matching every filter given, newest first (roles: supervisor, qa, admin, auditor).

    Each result: the call summary plus ``top_tier``, ``alerts`` (count), ``max_alert_severity`` (ever raised)
    and ``protocols`` (``[{"id", "title"}]``).
    """
    query = CallQuery(date_from, date_to, queue or None, agent or None, risk, protocol, status, limit)
    results = await to_thread.run_sync(find_calls, service.db, query)
    return {"calls": results, "count": len(results), "limit": limit}


def find_calls(db: Engine, q: CallQuery) -> list[dict[str, Any]]:
    """The calls matching ``q`` with their review summary (blocking)."""
    # Practice calls (issue 11) are training: they have their own views, never the operational history.
    stmt = select(calls).where(~calls.c.call_id.startswith(PRACTICE_PREFIX, autoescape=True))
    if q.date_from is not None:
        stmt = stmt.where(calls.c.started_at >= datetime.combine(q.date_from, time.min, UTC))
    if q.date_to is not None:
        stmt = stmt.where(calls.c.started_at < datetime.combine(q.date_to + timedelta(days=1), time.min, UTC))
    if q.queue:
        stmt = stmt.where(calls.c.queue == q.queue)
    if q.agent:
        stmt = stmt.where(calls.c.agent_id == q.agent)
    if q.status:
        stmt = stmt.where(calls.c.status == q.status)
    if q.risk:
        wanted = TIERS[TIERS.index(q.risk) :]
        stmt = stmt.where(
            calls.c.call_id.in_(
                select(findings.c.call_id).where(
                    findings.c.tier.in_(wanted),
                    findings.c.assertion.in_(_PRESENT),
                    findings.c.experiencer == "caller",
                )
            )
        )
    with db.connect() as conn:
        if q.protocol:
            streams = _streams_with_protocol(conn, q.protocol)
            if not streams:
                return []
            stmt = stmt.where(calls.c.call_id.in_(streams))
        stmt = stmt.order_by(calls.c.started_at.desc(), calls.c.call_id).limit(q.limit)
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
        ids = [r["call_id"] for r in rows]
        if not ids:
            return []
        alert_stats = {
            r.call_id: (r.n, r.rank)
            for r in conn.execute(
                select(
                    alerts.c.call_id, func.count().label("n"), func.max(alerts.c.severity_rank).label("rank")
                )
                .where(alerts.c.call_id.in_(ids))
                .group_by(alerts.c.call_id)
            )
        }
        top_tier: dict[str, str] = {}
        for r in conn.execute(
            select(findings.c.call_id, findings.c.tier).where(
                findings.c.call_id.in_(ids),
                findings.c.tier.is_not(None),
                findings.c.assertion.in_(_PRESENT),
                findings.c.experiencer == "caller",
            )
        ):
            current = top_tier.get(r.call_id)
            if r.tier in TIERS and (current is None or TIERS.index(r.tier) > TIERS.index(current)):
                top_tier[r.call_id] = r.tier
        protocols: dict[str, list[dict[str, Any]]] = {}
        for r in conn.execute(
            select(events.c.stream, events.c.payload)
            .where(events.c.stream.in_(ids), events.c.type == "protocol.activated")
            .order_by(events.c.id)
        ):
            p = json.loads(r.payload)
            protocols.setdefault(r.stream, []).append({"id": p.get("protocol_id"), "title": p.get("title")})
    out = []
    for row in rows:
        for key in ("started_at", "ended_at", "last_event_at"):
            row[key] = utc(row[key])
        n, rank = alert_stats.get(row["call_id"], (0, -1))
        out.append(
            {
                **row,
                "top_tier": top_tier.get(row["call_id"]),
                "alerts": n,
                "max_alert_severity": _SEVERITIES[rank] if 0 <= rank < len(_SEVERITIES) else None,
                "protocols": protocols.get(row["call_id"], []),
            }
        )
    return out


def _streams_with_protocol(conn: Any, protocol_id: str) -> list[str]:
    """Calls on which ``protocol_id`` was activated (the payload is JSON; the LIKE only narrows the scan)."""
    needle = f'"protocol_id":"{protocol_id}"'
    found: list[str] = []
    for r in conn.execute(
        select(events.c.stream, events.c.payload).where(
            events.c.type == "protocol.activated", events.c.payload.contains(needle, autoescape=True)
        )
    ):
        if json.loads(r.payload).get("protocol_id") == protocol_id and r.stream not in found:
            found.append(r.stream)
    return found
