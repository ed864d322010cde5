"""Read models (live calls, alerts, findings) projected from the log, and their queries.

Every write here is keyed by the log so applying a row twice changes nothing, and ``rebuild`` can drop the
tables and recompute them from the log alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update

from calmline.events import SEVERITY_RANK
from calmline.practice import PRACTICE_PREFIX, PRACTICE_QUEUE
from calmline.store.log import SqlEventLog, StoredEvent
from calmline.store.schema import alerts, calls, findings

_OPEN = ("raised", "acknowledged", "escalated")


def utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: they were stored as UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# Built once (a statement object caches its compiled form): the projection of one append costs a read and a
# write of the call's summary row, plus the rows of its findings and alerts.
_CALL_ROW = select(calls.c.last_pos, calls.c.risk_types).where(calls.c.call_id == bindparam("call_id"))
_FINDING_EXISTS = select(findings.c.pos).where(
    findings.c.call_id == bindparam("call_id"), findings.c.pos == bindparam("pos")
)
_INSERT_FINDING = insert(findings)
_ALERT_EXISTS = select(alerts.c.alert_id).where(alerts.c.alert_id == bindparam("alert_id"))
_INSERT_ALERT = insert(alerts)
_CALL_ALERTS = select(alerts.c.severity, alerts.c.severity_rank, alerts.c.status).where(
    alerts.c.call_id == bindparam("call_id")
)
_INSERT_CALL = insert(calls)
#: A new call's summary row before any handler changed it.
_NEW_CALL: dict[str, Any] = {
    "status": "active",
    "queue": "general",
    "language": "en",
    "utterances": 0,
    "findings": 0,
    "open_alerts": 0,
    "max_severity_rank": -1,
    "escalating": False,
    "risk_types": [],
    "gaps": 0,
}
_UPDATES: dict[tuple[tuple[str, ...], tuple[str, ...]], Any] = {}


def _update_call(sets: tuple[str, ...], adds: tuple[str, ...]) -> Any:
    """``UPDATE calls SET a = :set_a, …, n = n + :add_n WHERE call_id = :key``, built once per column set."""
    statement = _UPDATES.get((sets, adds))
    if statement is None:
        values: dict[str, Any] = {name: bindparam("set_" + name) for name in sets}
        values.update({name: calls.c[name] + bindparam("add_" + name) for name in adds})
        statement = update(calls).where(calls.c.call_id == bindparam("key")).values(values)
        _UPDATES[(sets, adds)] = statement
    return statement


class _CallPatch:
    """The changes one run of rows makes to a call's summary row, written in one statement."""

    __slots__ = ("adds", "call_id", "new", "risk_types", "sets")

    def __init__(self, call_id: str, found: Any) -> None:
        self.call_id = call_id
        self.new = found is None
        self.risk_types: list[str] = [] if found is None else list(found.risk_types or [])
        self.sets: dict[str, Any] = {}
        self.adds: dict[str, int] = {}

    def set(self, **values: Any) -> None:
        """Columns set to a value (the last one wins, as with one UPDATE after another)."""
        self.sets.update(values)
        if "risk_types" in values:
            self.risk_types = list(values["risk_types"])

    def add(self, column: str, n: int = 1) -> None:
        """A counter column incremented in SQL (``n = n + 1``)."""
        self.adds[column] = self.adds.get(column, 0) + n

    def write(self, conn: Connection) -> None:
        """One INSERT (a new call) or UPDATE; nothing when every row was applied already."""
        if not self.sets and not self.adds:
            return
        if self.new:
            row = {**_NEW_CALL, **self.sets, "call_id": self.call_id}
            for column, n in self.adds.items():
                row[column] = row[column] + n
            conn.execute(_INSERT_CALL, row)
            return
        sets, adds = tuple(sorted(self.sets)), tuple(sorted(self.adds))
        params = {"key": self.call_id, **{"set_" + k: v for k, v in self.sets.items()}}
        params.update({"add_" + k: v for k, v in self.adds.items()})
        conn.execute(_update_call(sets, adds), params)


class Projections:
    """Applies log rows to the read-model tables and answers the API's queries."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- writing --------------------------------------------------------------------------------------

    def apply(self, conn: Connection, rows: Sequence[StoredEvent]) -> None:
        """Project log rows (inside the caller's transaction).

        Rows are taken in runs of one stream (an append is one run): the call's summary row is read once and
        written once per run, with every handler's changes to it folded into one statement.
        """
        start = 0
        while start < len(rows):
            stream = rows[start].stream
            end = start + 1
            while end < len(rows) and rows[end].stream == stream:
                end += 1
            if not stream.startswith("agent:"):
                self._apply_run(conn, stream, rows[start:end])
            start = end

    def rebuild(self, log: SqlEventLog, batch: int = 2000) -> int:
        """Drop every projection and recompute it from the log; returns the rows replayed."""
        with self.engine.begin() as conn:
            for table in (findings, alerts, calls):
                conn.execute(delete(table))
        done, after = 0, 0
        while True:
            rows = log.read_since(after, batch)
            if not rows:
                return done
            with self.engine.begin() as conn:
                self.apply(conn, rows)
            done += len(rows)
            after = rows[-1].id

    def _apply_run(self, conn: Connection, stream: str, rows: Sequence[StoredEvent]) -> None:
        found = conn.execute(_CALL_ROW, {"call_id": stream}).first()
        patch = _CallPatch(stream, found)
        last = found.last_pos if found is not None else None
        for row in rows:
            if last is not None and last >= row.pos:  # applied already: applying twice changes nothing
                continue
            last = row.pos
            patch.set(last_pos=row.pos)
            handler = getattr(self, "_on_" + row.type.replace(".", "_"), None)
            if handler is not None:
                handler(conn, row, patch)
        patch.write(conn)

    def _on_call_started(self, conn: Connection, row: StoredEvent, patch: _CallPatch) -> None:
        p = row.payload
        patch.set(
            queue=p["queue"],
            language=p["language"],
            agent_id=p.get("agent_id"),
            reason=p.get("reason"),
            site=p.get("site"),
            started_at=_ts(p["started_at"]),
            last_event_at=_ts(p["started_at"]),
        )

    def _on_utterance(self, conn: Connection, row: StoredEvent, patch: _CallPatch) -> None:
        patch.add("utterances")

    def _on_call_transferred(self, conn: Connection, row: StoredEvent, patch: _CallPatch) -> None:
        p = row.payload
        patch.set(last_event_at=_ts(p["at"]))
        if p.get("to_queue"):
            patch.set(queue=p["to_queue"])
        if p.get("to_agent"):
            patch.set(agent_id=p["to_agent"])

    def _on_call_ended(self, conn: Connection, row: StoredEvent, patch: _CallPatch) -> None:
        at = _ts(row.payload["at"])
        patch.set(status="ended", ended_at=at, last_event_at=at)

    def _on_sequence_gap(self, conn: Connection, row: StoredEvent, patch: _CallPatch) -> None:
        patch.add("gaps")

    def _on_finding(self, conn: Connection, row: StoredEvent, patch: _CallPatch) -> None:
        f = row.payload["finding"]
        if conn.execute(_FINDING_EXISTS, {"call_id": row.stream, "pos": row.pos}).first():
            return
        conn.execute(
            _INSERT_FINDING,
            {
                "call_id": row.stream,
                "pos": row.pos,
                "type": f["type"],
                "level": f["level"],
                "tier": f.get("tier"),
                "category": f.get("category"),
                "score": f["score"],
                "assertion": f["assertion"],
                "experiencer": f["experiencer"],
                "speaker": f["speaker"],
                "utterance_seq": f.get("utterance_seq"),
                "analyzer": f["analyzer"],
                "analyzer_version": f["analyzer_version"],
                "detail": f,
                "at": _ts(row.payload["at"]),
            },
        )
        kinds = list(patch.risk_types)
        if f["assertion"] in ("present", "uncertain") and f["type"] not in kinds:
            kinds.append(f["type"])
        patch.add("findings")
        patch.set(risk_types=sorted(kinds))

    def _on_utterance_scored(self, conn: Connection, row: StoredEvent, patch: _CallPatch) -> None:
        p = row.payload
        patch.set(distress=p["distress_smoothed"], escalating=p["escalating"], last_event_at=_ts(p["at"]))

    def _on_alert_raised(self, conn: Connection, row: StoredEvent, patch: _CallPatch) -> None:
        p = row.payload
        if conn.execute(_ALERT_EXISTS, {"alert_id": p["alert_id"]}).first():
            return
        at = _ts(p["at"])
        conn.execute(
            _INSERT_ALERT,
            {
                "alert_id": p["alert_id"],
                "call_id": row.stream,
                "severity": p["severity"],
                "severity_rank": SEVERITY_RANK[p["severity"]],
                "kind": p["kind"],
                "title": p["title"],
                "reason": p["reason"],
                "status": "raised",
                "raised_at": at,
                "updated_at": at,
                "policy_rule": p["policy_rule"],
                "policy_version": p["policy_version"],
                "evidence": p["evidence"],
                "notify": p.get("notify"),
                "escalation_level": p.get("escalation_level"),
                "ack_deadline": _ts(p.get("ack_deadline")),
            },
        )
        self._refresh_call_alerts(conn, row.stream, patch)

    def _on_alert_escalated(self, conn: Connection, row: StoredEvent, patch: _CallPatch) -> None:
        p = row.payload
        chain: dict[str, Any] = {}
        if p.get("protocol_id"):
            chain = {
                "notify": p.get("notify"),
                "escalation_level": p.get("escalation_level"),
                "ack_deadline": _ts(p.get("ack_deadline")),
            }
        conn.execute(
            update(alerts)
            .where(alerts.c.alert_id == p["alert_id"])
            .values(
                severity=p["severity"],
                severity_rank=SEVERITY_RANK[p["severity"]],
                status="escalated",
                updated_at=_ts(p["at"]),
                **chain,
            )
        )
        self._refresh_call_alerts(conn, row.stream, patch)

    def _on_alert_acknowledged(self, conn: Connection, row: StoredEvent, patch: _CallPatch) -> None:
        p = row.payload
        conn.execute(
            update(alerts)
            .where(alerts.c.alert_id == p["alert_id"])
            .values(
                status="acknowledged", acknowledged_by=p["by"], updated_at=_ts(p["at"]), ack_deadline=None
            )
        )
        self._refresh_call_alerts(conn, row.stream, patch)

    def _on_alert_resolved(self, conn: Connection, row: StoredEvent, patch: _CallPatch) -> None:
        p = row.payload
        conn.execute(
            update(alerts)
            .where(alerts.c.alert_id == p["alert_id"])
            .values(
                status="resolved",
                resolved_by=p["by"],
                outcome=p["outcome"],
                updated_at=_ts(p["at"]),
                ack_deadline=None,
            )
        )
        self._refresh_call_alerts(conn, row.stream, patch)

    @staticmethod
    def _refresh_call_alerts(conn: Connection, call_id: str, patch: _CallPatch) -> None:
        rows = conn.execute(_CALL_ALERTS, {"call_id": call_id}).all()
        open_rows = [r for r in rows if r.status in _OPEN]
        top = max(rows, key=lambda r: r.severity_rank, default=None)
        patch.set(
            open_alerts=len(open_rows),
            max_severity=top.severity if top else None,
            max_severity_rank=top.severity_rank if top else -1,
        )

    # -- reading --------------------------------------------------------------------------------------

    def list_calls(
        self, *, status: str | None = None, limit: int = 200, practice: bool = False
    ) -> list[dict[str, Any]]:
        """Calls, most urgent first (open alert severity, then distress, then newest).

        Practice calls (``calmline.practice``) only when ``practice`` is set: they are not operational.
        """
        query = select(calls)
        if status:
            query = query.where(calls.c.status == status)
        if not practice:
            query = query.where(
                ~calls.c.call_id.startswith(PRACTICE_PREFIX, autoescape=True), calls.c.queue != PRACTICE_QUEUE
            )
        query = query.order_by(
            calls.c.max_severity_rank.desc(), calls.c.open_alerts.desc(), calls.c.started_at.desc()
        ).limit(limit)
        with self.engine.connect() as conn:
            return [_with_utc(r, _CALL_TIMES) for r in conn.execute(query)]

    def get_call(self, call_id: str) -> dict[str, Any] | None:
        """One call's summary row, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(calls).where(calls.c.call_id == call_id)).first()
        return _with_utc(row, _CALL_TIMES) if row else None

    def list_alerts(
        self, *, call_id: str | None = None, status: str | None = None, limit: int = 500
    ) -> list[dict[str, Any]]:
        """Alerts, open and most severe first."""
        query = select(alerts)
        if call_id:
            query = query.where(alerts.c.call_id == call_id)
        if status == "open":
            query = query.where(alerts.c.status.in_(_OPEN))
        elif status:
            query = query.where(alerts.c.status == status)
        query = query.order_by(alerts.c.severity_rank.desc(), alerts.c.raised_at.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_with_utc(r, _ALERT_TIMES) for r in conn.execute(query)]

    def get_alert(self, alert_id: str) -> dict[str, Any] | None:
        """One alert, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(alerts).where(alerts.c.alert_id == alert_id)).first()
        return _with_utc(row, _ALERT_TIMES) if row else None

    def calls_with_due_deadlines(self, now: datetime) -> list[str]:
        """Calls with an open, unacknowledged alert whose acknowledgement deadline has passed."""
        query = (
            select(alerts.c.call_id)
            .where(alerts.c.status.in_(("raised", "escalated")), alerts.c.ack_deadline <= now)
            .distinct()
            .order_by(alerts.c.call_id)
        )
        with self.engine.connect() as conn:
            return [r.call_id for r in conn.execute(query)]

    def list_findings(self, call_id: str) -> list[dict[str, Any]]:
        """A call's findings in log order (spans only, never the transcript text)."""
        query = select(findings).where(findings.c.call_id == call_id).order_by(findings.c.pos)
        with self.engine.connect() as conn:
            return [{**r.detail, "pos": r.pos, "at": utc(r.at)} for r in conn.execute(query)]

    def snapshot(self) -> dict[str, Any]:
        """Every projection as plain data, for comparing a rebuild with the live tables."""
        with self.engine.connect() as conn:
            return {
                "calls": [dict(r._mapping) for r in conn.execute(select(calls).order_by(calls.c.call_id))],
                "alerts": [
                    dict(r._mapping) for r in conn.execute(select(alerts).order_by(alerts.c.alert_id))
                ],
                "findings": [
                    dict(r._mapping)
                    for r in conn.execute(select(findings).order_by(findings.c.call_id, findings.c.pos))
                ],
            }


_CALL_TIMES = ("started_at", "ended_at", "last_event_at")
_ALERT_TIMES = ("raised_at", "updated_at", "ack_deadline")


def _with_utc(r: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    """A row as a dict with its timestamp columns made timezone-aware."""
    d = dict(r._mapping)
    for key in keys:
        d[key] = utc(d[key])
    return d
