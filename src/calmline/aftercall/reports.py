"""Operational reports: what the center handled and how well, over a date range, a site and a queue.

``build_report(db, flt, named_agents=...)`` reads the projections, the log (post-call summaries for the calls
that had alerts or protocols) and the after-call tables, and returns a :class:`Report`: a list of sections,
each a table and, where it helps, a chart. ``report_render`` turns it into a self-contained HTML file or a
PDF. There is no transcript text in a report, only counts, times, ids and codes; agents are named only when
``named_agents`` (supervisors), otherwise they are "Agent 1", "Agent 2", ... in a stable order. Practice calls
are never counted. The same data always gives the same report: nothing reads a clock.
"""

from typing import Any

from sqlalchemy import Engine, MetaData, Table, inspect, select

from calmline.aftercall.common import CallFilter, as_utc, iso
from calmline.aftercall.feedback import FeedbackBook
from calmline.aftercall.report_model import NO_ROUTING_DATA, ROUTING_TABLES, Chart, Report, Section
from calmline.aftercall.report_sections import (
    adherence_section,
    agents_section,
    alerts_section,
    feedback_section,
    followups_section,
    guardrails_section,
    overview_section,
    risk_section,
    timing_section,
    volume_sections,
)
from calmline.postcall import summarize
from calmline.store.log import SqlEventLog
from calmline.store.schema import alerts, calls, events, findings, followups

__all__ = ["NO_ROUTING_DATA", "ROUTING_TABLES", "Chart", "Report", "Section", "build_report"]


def build_report(db: Engine, flt: CallFilter | None = None, *, named_agents: bool = False) -> Report:
    """Gather every section of the report for the real calls matching ``flt``."""
    flt = flt or CallFilter()
    with db.connect() as conn:
        rows = conn.execute(flt.apply(select(calls)).order_by(calls.c.call_id)).mappings().all()
        ids = [r["call_id"] for r in rows]
        id_set = set(ids)
        finding_rows = [
            f
            for f in conn.execute(select(findings).order_by(findings.c.call_id, findings.c.pos)).mappings()
            if f["call_id"] in id_set
        ]
        alert_rows = [
            a
            for a in conn.execute(select(alerts).order_by(alerts.c.alert_id)).mappings()
            if a["call_id"] in id_set
        ]
        protocol_calls = {
            str(s)
            for s in conn.execute(
                select(events.c.stream).where(events.c.type == "protocol.activated").distinct()
            ).scalars()
        }
        followup_rows = [
            f
            for f in conn.execute(select(followups).order_by(followups.c.followup_id)).mappings()
            if f["call_id"] in id_set
        ]
        routing = _routing_tables(conn)
    summarized = sorted({a["call_id"] for a in alert_rows} | (protocol_calls & id_set))
    log = SqlEventLog(db)
    summaries = [summarize(cid, [r.event() for r in log.read(cid)]) for cid in summarized]
    stamps = [
        as_utc(r["last_event_at"]) or r["last_event_at"] for r in rows if r["last_event_at"] is not None
    ]
    last = max(stamps, default=None)
    sections = (
        overview_section(rows, alert_rows, followup_rows),
        *volume_sections(rows),
        risk_section(finding_rows),
        alerts_section(alert_rows, summaries),
        timing_section(summaries),
        adherence_section(summaries),
        guardrails_section(finding_rows, rows),
        agents_section(rows, named_agents, routing),
        followups_section(followup_rows),
        feedback_section(FeedbackBook(db).list(flt, limit=100_000)),
    )
    return Report("calmline operations report", flt.describe(), iso(last), named_agents, sections)


def _routing_tables(conn: Any) -> dict[str, list[dict[str, Any]]]:
    insp = inspect(conn)
    out: dict[str, list[dict[str, Any]]] = {}
    for name in ROUTING_TABLES:
        if insp.has_table(name):
            table = Table(name, MetaData(), autoload_with=conn)
            out[name] = [dict(r) for r in conn.execute(select(table)).mappings()]
    return out
