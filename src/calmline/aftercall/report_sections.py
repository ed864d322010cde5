"""The sections of the operations report, each from rows already read (pure: no database, no clock)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from calmline.aftercall.common import as_utc, percentile
from calmline.aftercall.report_model import NO_ROUTING_DATA, ROUTING_TABLES, Chart, Section
from calmline.events import GUARDRAIL_TYPE, RISK_TYPES

_TIERS = ("low", "moderate", "high", "imminent")


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"


def overview_section(rows: Sequence[Any], alert_rows: Sequence[Any], followup_rows: Sequence[Any]) -> Section:
    """Headline counts: calls, ended, with risk, alerts raised and escalated, mean distress, follow-ups."""
    distress = [float(r["distress"]) for r in rows if r["distress"] is not None]
    risky = sum(1 for r in rows if r["risk_types"])
    table = (
        ("Calls", len(rows)),
        ("Ended calls", sum(1 for r in rows if r["status"] == "ended")),
        ("Calls with a risk finding", risky),
        ("Alerts raised", len(alert_rows)),
        ("Alerts escalated", sum(1 for a in alert_rows if (a["escalation_level"] or 0) > 0)),
        ("Mean distress (0-1)", _fmt(_mean(distress))),
        ("Follow-ups opened", len(followup_rows)),
    )
    return Section("overview", "Overview", ("Measure", "Value"), table)


def volume_sections(rows: Sequence[Any]) -> tuple[Section, ...]:
    """Calls, mean distress and distressed calls by hour of day (UTC), by day and by queue."""
    by_hour: dict[int, list[Any]] = defaultdict(list)
    by_day: dict[str, list[Any]] = defaultdict(list)
    by_queue: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        start = as_utc(r["started_at"])
        if start is not None:
            by_hour[start.hour].append(r)
            by_day[start.date().isoformat()].append(r)
        by_queue[str(r["queue"])].append(r)

    def line(group: Sequence[Any]) -> tuple[int, str, int]:
        d = [float(x["distress"]) for x in group if x["distress"] is not None]
        return len(group), _fmt(_mean(d)), sum(1 for x in group if (x["distress"] or 0) >= 0.6)

    hours = tuple(range(24))
    hour_rows = tuple((f"{h:02d}:00", *line(by_hour.get(h, []))) for h in hours)
    day_rows = tuple((d, *line(by_day[d])) for d in sorted(by_day))
    queue_rows = tuple((q, *line(by_queue[q])) for q in sorted(by_queue))
    cols = ("Calls", "Mean distress", "Distressed calls (≥0.6)")

    def chart(kind: str, table: tuple[tuple[Any, ...], ...]) -> Chart:
        return Chart(
            kind,
            tuple(str(r[0]) for r in table),
            (("Calls", tuple(float(r[1]) for r in table)), ("Distressed", tuple(float(r[3]) for r in table))),
            "calls",
        )

    return (
        Section(
            "by_hour",
            "Calls and distress by hour of day (UTC)",
            ("Hour", *cols),
            hour_rows,
            chart=chart("bar", hour_rows),
        ),
        Section(
            "by_day",
            "Calls and distress by day",
            ("Day", *cols),
            day_rows,
            chart=chart("line", day_rows) if day_rows else None,
        ),
        Section(
            "by_queue",
            "Calls and distress by queue",
            ("Queue", *cols),
            queue_rows,
            chart=chart("bar", queue_rows) if queue_rows else None,
        ),
    )


def risk_section(finding_rows: Sequence[Any]) -> Section:
    """The caller's own present risk findings by type and tier."""
    counts: Counter[tuple[str, str]] = Counter()
    for f in finding_rows:
        if f["type"] in RISK_TYPES and f["assertion"] == "present" and f["experiencer"] == "caller":
            counts[(f["type"], f["tier"] or "no tier")] += 1
    types = sorted({t for t, _ in counts})
    tiers = [*_TIERS, "no tier"]
    table = tuple(
        (t, *(counts.get((t, tier), 0) for tier in tiers), sum(counts.get((t, x), 0) for x in tiers))
        for t in types
    )
    chart = (
        Chart(
            "stacked",
            tuple(types),
            tuple((tier, tuple(float(counts.get((t, tier), 0)) for t in types)) for tier in tiers),
            "findings",
        )
        if types
        else None
    )
    return Section(
        "risk",
        "Risk findings (the caller's own, present)",
        ("Type", *tiers[:-1], "no tier", "Total"),
        table,
        note="Negated, historical, hypothetical and third-person mentions are not counted.",
        chart=chart,
    )


def alerts_section(alert_rows: Sequence[Any], summaries: Sequence[Any]) -> Section:
    """Alerts raised and escalated, by kind and severity."""
    escalated = {e.alert_id for s in summaries for e in s.escalations if e.escalations}
    counts: Counter[tuple[str, str]] = Counter()
    esc: Counter[tuple[str, str]] = Counter()
    for a in alert_rows:
        key = (a["kind"], a["severity"])
        counts[key] += 1
        if a["alert_id"] in escalated or (a["escalation_level"] or 0) > 0:
            esc[key] += 1
    table = tuple((k, s, counts[(k, s)], esc.get((k, s), 0)) for k, s in sorted(counts))
    return Section("alerts", "Alerts and escalations", ("Kind", "Severity", "Raised", "Escalated"), table)


def timing_section(summaries: Sequence[Any]) -> Section:
    """p50/p95 of disclosure → alert → acknowledgement, from the post-call summaries."""
    metrics = (
        ("Disclosure → alert", "disclosure_to_alert_s"),
        ("Alert → acknowledgement", "alert_to_ack_s"),
        ("Disclosure → acknowledgement", "disclosure_to_ack_s"),
    )
    table = []
    for label, attr in metrics:
        values = [
            float(getattr(e, attr)) for s in summaries for e in s.escalations if getattr(e, attr) is not None
        ]
        table.append((label, len(values), _fmt(percentile(values, 50)), _fmt(percentile(values, 95))))
    unacked = sum(1 for s in summaries for e in s.escalations if e.acknowledged_at is None)
    chart = Chart(
        "bar",
        tuple(r[0] for r in table),
        (
            ("p50", tuple(float(r[2]) if r[2] != "–" else 0.0 for r in table)),
            ("p95", tuple(float(r[3]) if r[3] != "–" else 0.0 for r in table)),
        ),
        "seconds",
    )
    return Section(
        "timing",
        "Time from disclosure to alert to acknowledgement (seconds)",
        ("Interval", "Alerts", "p50", "p95"),
        tuple(table),
        note=f"{unacked} alert(s) were never acknowledged.",
        chart=chart,
    )


def adherence_section(summaries: Sequence[Any]) -> Section:
    """Per protocol: runs, mean completion of required steps, fully completed runs."""
    runs: dict[str, list[Any]] = defaultdict(list)
    for s in summaries:
        for p in s.protocols:
            runs[p.protocol_id].append(p)
    table = []
    for pid in sorted(runs):
        completions = [p.completion for p in runs[pid] if p.completion is not None]
        complete = sum(1 for c in completions if c >= 1.0)
        table.append((pid, len(runs[pid]), _fmt(_mean(completions)), complete))
    chart = (
        Chart(
            "bar",
            tuple(r[0] for r in table),
            (("Mean completion", tuple(float(r[2]) if r[2] != "–" else 0.0 for r in table)),),
            "share",
        )
        if table
        else None
    )
    return Section(
        "adherence",
        "Protocol adherence (required steps done)",
        ("Protocol", "Runs", "Mean completion", "Fully completed"),
        tuple(table),
        chart=chart,
    )


def guardrails_section(finding_rows: Sequence[Any], rows: Sequence[Any]) -> Section:
    """The agents' own warning/high guardrail findings by day and category."""
    day_of = {r["call_id"]: as_utc(r["started_at"]) for r in rows}
    counts: Counter[tuple[str, str]] = Counter()
    for f in finding_rows:
        if (
            f["type"] == GUARDRAIL_TYPE
            and f["assertion"] == "present"
            and f["category"] in ("warning", "high")
        ):
            start = day_of.get(f["call_id"])
            day = start.date().isoformat() if start else "unknown"
            counts[(day, f["level"])] += 1
    days = sorted({d for d, _ in counts})
    levels = sorted({lvl for _, lvl in counts})
    table = tuple(
        (d, *(counts.get((d, lvl), 0) for lvl in levels), sum(counts.get((d, x), 0) for x in levels))
        for d in days
    )
    chart = (
        Chart(
            "stacked",
            tuple(days),
            tuple((lvl, tuple(float(counts.get((d, lvl), 0)) for d in days)) for lvl in levels),
            "violations",
        )
        if days
        else None
    )
    return Section(
        "guardrails",
        "Guardrail violations by day (agents' own words, warning or high)",
        ("Day", *levels, "Total"),
        table,
        chart=chart,
    )


def agents_section(rows: Sequence[Any], named: bool, routing: dict[str, list[dict[str, Any]]]) -> Section:
    """Per agent: calls, high-risk calls, minutes; shift exposure and debriefs from the routing desk."""
    ids = {r["call_id"] for r in rows}
    agents = sorted({str(r["agent_id"]) for r in rows if r["agent_id"]})
    label = {a: (a if named else f"Agent {k}") for k, a in enumerate(agents, start=1)}
    debriefs: dict[str, Counter[str]] = defaultdict(Counter)
    for d in routing.get("debrief_tasks", []):
        if d.get("call_id") not in ids:
            continue
        done = d.get("done_at") is not None or str(d.get("status") or "") in ("done", "completed")
        debriefs[str(d.get("agent_id") or "")]["done" if done else "open"] += 1
    ledger = {str(r.get("agent_id")): r for r in routing.get("agent_ledger", [])}
    have_routing = all(t in routing for t in ROUTING_TABLES)
    table = []
    for a in agents:
        mine = [r for r in rows if r["agent_id"] == a]
        minutes = 0.0
        for r in mine:
            s, e = as_utc(r["started_at"]), as_utc(r["ended_at"])
            if s and e:
                minutes += (e - s).total_seconds() / 60
        high = sum(1 for r in mine if (r["max_severity_rank"] or -1) >= 2)
        deb = debriefs.get(a)
        shift = ledger.get(a, {}).get("exposure_minutes")
        table.append(
            (
                label[a],
                len(mine),
                high,
                round(minutes, 1),
                "–" if shift is None else round(float(shift), 1),
                f"{deb['done']}/{deb['done'] + deb['open']}" if deb else ("0/0" if have_routing else "–"),
            )
        )
    note = "Exposure from the calls handled (high or critical alerts). " + (
        "Shift exposure and debriefs from the routing ledger."
        if have_routing
        else f"Shift exposure and debriefs: {NO_ROUTING_DATA}."
    )
    if not named:
        note += " Agents are not named (supervisors only)."
    columns = (
        "Agent",
        "Calls",
        "High-risk calls",
        "Minutes on calls",
        "Shift exposure (min)",
        "Debriefs done",
    )
    return Section("agents", "Agent exposure and debrief completion", columns, tuple(table), note=note)


def _on_time(completed: datetime | None, due: datetime | None) -> bool:
    done_at, due_at = as_utc(completed), as_utc(due)
    return done_at is not None and due_at is not None and done_at <= due_at


def followups_section(rows: Sequence[Any]) -> Section:
    """Caring contacts: opened, completed (on time), open, overdue, outcome codes."""
    done = [r for r in rows if r["status"] == "done"]
    on_time = sum(1 for r in done if _on_time(r["completed_at"], r["due_at"]))
    overdue = sum(1 for r in rows if r["overdue_at"] is not None)
    outcomes = Counter(str(r["outcome"]) for r in rows if r["outcome"])
    table: list[tuple[Any, ...]] = [
        ("Opened", len(rows)),
        ("Completed", len(done)),
        ("Completed on time", on_time),
        ("Still open", sum(1 for r in rows if r["status"] == "open")),
        ("Went overdue", overdue),
        ("Completion rate", _fmt(round(len(done) / len(rows), 3) if rows else None)),
    ]
    table.extend((f"Last outcome: {k}", outcomes[k]) for k in sorted(outcomes))
    chart = (
        Chart(
            "bar",
            tuple(sorted(outcomes)),
            (("Tasks", tuple(float(outcomes[k]) for k in sorted(outcomes))),),
            "tasks",
        )
        if outcomes
        else None
    )
    return Section(
        "followups", "Follow-up (caring contact) completion", ("Measure", "Value"), tuple(table), chart=chart
    )


def feedback_section(items: Sequence[dict[str, Any]]) -> Section:
    """Patient feedback: answers, mean CSAT and its distribution, comments flagged for risk."""
    scores = [int(i["csat"]) for i in items if i["csat"] is not None]
    dist = Counter(scores)
    table: list[tuple[Any, ...]] = [
        ("Survey answers", len(items)),
        ("Mean CSAT (1-5)", _fmt(_mean([float(s) for s in scores]))),
        ("Comments flagged for risk", sum(1 for i in items if i["risk"])),
    ]
    table.extend((f"CSAT {k}", dist.get(k, 0)) for k in range(1, 6))
    chart = (
        Chart(
            "bar",
            tuple(str(k) for k in range(1, 6)),
            (("Answers", tuple(float(dist.get(k, 0)) for k in range(1, 6))),),
            "answers",
        )
        if scores
        else None
    )
    return Section(
        "feedback",
        "Patient feedback",
        ("Measure", "Value"),
        tuple(table),
        note="Comments are not reproduced in reports.",
        chart=chart,
    )
