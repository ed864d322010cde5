"""Reports: every section from played calls; no practice calls, no transcript words; determinism."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from calmline.aftercall.common import CallFilter, percentile
from calmline.aftercall.feedback import FeedbackBook
from calmline.aftercall.followups import FollowupDesk
from calmline.aftercall.report_render import render_html, render_pdf
from calmline.aftercall.reports import NO_ROUTING_DATA, build_report
from calmline.cli import app
from tests.aftercall.conftest import IMMINENT, START, T_DAY2, play, quiet_call


@pytest.fixture
def center(played):  # type: ignore[no-untyped-def]
    service, clock = played
    imminent = play(service, clock, IMMINENT)
    play(service, clock, IMMINENT, prefix="practice-drill")
    quiet_call(service, "calm-1", at=START + timedelta(hours=2), agent="ana")
    quiet_call(service, "calm-2", at=T_DAY2, queue="pharmacy", agent="ben")
    FollowupDesk(service.db).sync(clock.now())
    book = FeedbackBook(service.db)
    book.record(
        call_id="calm-1", csat=5, comment=None, source="s", external_id=None, received_by="k", at=T_DAY2
    )
    book.record(
        call_id="practice-drill-active_ideation_plan_means-1",
        csat=1,
        comment=None,
        source="s",
        external_id=None,
        received_by="k",
        at=T_DAY2,
    )
    return service.db, imminent


def _value(report, key: str, label: str):  # type: ignore[no-untyped-def]
    return dict(report.section(key).rows)[label]


def test_report_counts_real_calls_only(center) -> None:  # type: ignore[no-untyped-def]
    db, _ = center
    report = build_report(db)
    assert _value(report, "overview", "Calls") == 3
    assert _value(report, "overview", "Alerts raised") >= 1
    assert _value(report, "followups", "Opened") == 1
    assert _value(report, "feedback", "Survey answers") == 1
    assert _value(report, "feedback", "CSAT 1") == 0
    assert dict((r[0], r[1]) for r in report.section("by_queue").rows) == {"general": 2, "pharmacy": 1}
    assert "practice" not in repr(report.to_dict())


def test_report_filters_by_day_and_queue(center) -> None:  # type: ignore[no-untyped-def]
    db, _ = center
    assert _value(build_report(db, CallFilter(start=date(2026, 3, 2))), "overview", "Calls") == 1
    assert _value(build_report(db, CallFilter(end=date(2026, 3, 1))), "overview", "Calls") == 2
    assert _value(build_report(db, CallFilter(queue="pharmacy")), "overview", "Calls") == 1


def test_timing_adherence_and_risk_sections_come_from_the_summaries(center) -> None:  # type: ignore[no-untyped-def]
    db, _ = center
    report = build_report(db)
    timing = {r[0]: r for r in report.section("timing").rows}
    assert timing["Disclosure → alert"][1] >= 1
    assert [r[0] for r in report.section("adherence").rows] == ["suicide_imminent"]
    assert "suicide_risk" in [r[0] for r in report.section("risk").rows]


def test_agents_are_named_only_when_asked_with_debriefs_from_the_routing_desk(center) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import MetaData, Table, insert

    db, _ = center
    debriefs = Table("debrief_tasks", MetaData(), autoload_with=db)
    row = {
        "agent_id": "ana",
        "intensity": "crisis",
        "created_at": START,
        "due_at": START,
        "assigned_to": None,
    }
    with db.begin() as conn:
        conn.execute(
            insert(debriefs).values(task_id="d1", call_id="calm-1", status="done", done_at=START, **row)
        )
        conn.execute(
            insert(debriefs).values(task_id="d2", call_id="calm-1", status="open", done_at=None, **row)
        )
        conn.execute(
            insert(debriefs).values(task_id="d3", call_id="practice-x", status="open", done_at=None, **row)
        )
    anonymous = build_report(db).section("agents")
    assert [(r[0], r[-1]) for r in anonymous.rows] == [("Agent 1", "1/2"), ("Agent 2", "0/0")]
    assert "routing ledger" in anonymous.note and "not named" in anonymous.note
    named = build_report(db, named_agents=True).section("agents")
    assert [r[0] for r in named.rows] == ["ana", "ben"]


def test_without_routing_tables_the_debriefs_say_no_routing_data() -> None:
    from calmline.aftercall.report_sections import agents_section

    rows = [
        {"call_id": "c", "agent_id": "ana", "started_at": START, "ended_at": None, "max_severity_rank": 3}
    ]
    section = agents_section(rows, True, {})
    assert NO_ROUTING_DATA in section.note and section.rows[0][-1] == "–"


def test_html_is_self_contained_with_charts_and_no_caller_words(center) -> None:  # type: ignore[no-untyped-def]
    db, _ = center
    html = render_html(build_report(db))
    assert html.count('src="data:image/png;base64,') >= 5
    assert "http://" not in html and "https://" not in html and "<script" not in html
    for word in ("pills", "bottle", "appointment"):
        assert word not in html


def test_output_is_identical_for_the_same_data(center) -> None:  # type: ignore[no-untyped-def]
    db, _ = center
    assert render_html(build_report(db)) == render_html(build_report(db))
    pdf = render_pdf(build_report(db))
    assert pdf.startswith(b"%PDF") and pdf == render_pdf(build_report(db))
    assert b"CreationDate" not in pdf


def test_site_filter(played) -> None:  # type: ignore[no-untyped-def]
    service, _ = played
    quiet_call(service, "north-1", at=START, site="north")
    quiet_call(service, "south-1", at=START, site="south")
    quiet_call(service, "south-2", at=START + timedelta(hours=1), site="south")
    assert _value(build_report(service.db, CallFilter(site="north")), "overview", "Calls") == 1
    assert _value(build_report(service.db, CallFilter(site="south")), "overview", "Calls") == 2
    assert _value(build_report(service.db), "overview", "Calls") == 3


def test_percentile_interpolates() -> None:
    assert percentile([], 50) is None
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10.0], 95) == 10.0
    assert percentile(list(range(1, 101)), 95) == pytest.approx(95.05)


def test_cli_writes_html_and_pdf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call_engine) -> None:  # type: ignore[no-untyped-def]
    from calmline.clock import FakeClock
    from calmline.service import CallService
    from calmline.store.db import make_engine, migrate, sqlite_url

    monkeypatch.setenv("CALMLINE_DATA_DIR", str(tmp_path))
    db = make_engine(sqlite_url(tmp_path))
    migrate(db)
    quiet_call(CallService(db, call_engine, FakeClock(START)), "calm-1", at=START)
    db.dispose()
    runner = CliRunner()
    for name in ("r.html", "r.pdf"):
        result = runner.invoke(
            app, ["report", "--from", "2026-03-01", "--to", "2026-03-01", "--out", str(tmp_path / name)]
        )
        assert result.exit_code == 0, result.output
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    assert "2026-03-01 to 2026-03-01" in (tmp_path / "r.html").read_text("utf-8")
    bad = runner.invoke(app, ["report", "--out", str(tmp_path / "r.txt")])
    assert bad.exit_code == 2


def test_calls_in_the_practice_queue_are_left_out_too(played) -> None:  # type: ignore[no-untyped-def]
    service, _clock = played
    quiet_call(service, "drill-7", at=START, queue="practice")
    quiet_call(service, "real-7", at=START)
    assert dict(build_report(service.db).section("overview").rows)["Calls"] == 1
