"""``calmline report`` (HTML or PDF, for scheduled delivery), ``calmline followups`` and ``calmline qa``."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from calmline.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

followups_app = typer.Typer(
    help="Caring-contact follow-up tasks after high-risk calls.", no_args_is_help=True
)
qa_app = typer.Typer(help="The QA scorecard form.", no_args_is_help=True)
err = Console(stderr=True)
out = Console()


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _db() -> Engine:
    from calmline.runtime import configure_logging
    from calmline.store.db import make_engine, migrate

    configure_logging("warning")
    settings = Settings()
    settings.ensure_data_dir()
    engine = make_engine(settings.db_url)
    migrate(engine)
    return engine


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise _fail(f"{name}: expected a day as YYYY-MM-DD") from exc


def report(
    out_file: Annotated[Path, typer.Option("--out", "-o", help="report.html or report.pdf (by extension).")],
    date_from: Annotated[str | None, typer.Option("--from", help="First day (UTC, YYYY-MM-DD).")] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="Last day (UTC, YYYY-MM-DD), inclusive.")
    ] = None,
    site: Annotated[str | None, typer.Option(help="Only this site.")] = None,
    queue: Annotated[str | None, typer.Option(help="Only this queue.")] = None,
    agent_names: Annotated[
        bool, typer.Option("--agent-names", help="Name agents (for supervisors' eyes only).")
    ] = False,
) -> None:
    """Write the operations report with charts: every real call when no dates are given."""
    from calmline.aftercall.common import CallFilter
    from calmline.aftercall.report_render import render_html, render_pdf
    from calmline.aftercall.reports import build_report

    suffix = out_file.suffix.lower()
    if suffix not in (".html", ".htm", ".pdf"):
        raise _fail("--out must end in .html or .pdf")
    flt = CallFilter(_day(date_from, "--from"), _day(date_to, "--to"), site, queue)
    if flt.start and flt.end and flt.end < flt.start:
        raise _fail("--to is before --from")
    db = _db()
    try:
        rep = build_report(db, flt, named_agents=agent_names)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    finally:
        db.dispose()
    data = render_pdf(rep) if suffix == ".pdf" else render_html(rep).encode("utf-8")
    out_file.write_bytes(data)
    err.print(f"wrote {out_file} ({len(data)} bytes; calls: {rep.scope})", highlight=False)


@followups_app.command("check")
def followups_check() -> None:
    """Open tasks for new follow-ups and flag overdue ones now (what the server does periodically)."""
    from calmline.aftercall.followups import FollowupDesk

    settings = Settings()
    webhooks = None
    if settings.webhooks_file is not None:
        from calmline.webhooks import load_webhooks

        webhooks = load_webhooks(settings.webhooks_file)
    db = _db()
    try:
        result = FollowupDesk(db, webhooks=webhooks).tick(datetime.now().astimezone())
    finally:
        db.dispose()
    out.print(f"opened {len(result.opened)}, newly overdue {len(result.overdue)}", highlight=False)


@followups_app.command("list")
def followups_list(
    status: Annotated[str | None, typer.Option(help="open or done")] = None,
) -> None:
    """Follow-up tasks, soonest due first (ids, reason, tier, due time, status, assignee)."""
    from calmline.aftercall.followups import FollowupDesk

    db = _db()
    try:
        items = FollowupDesk(db).list(datetime.now().astimezone(), status=status)
    finally:
        db.dispose()
    for t in items:
        late = " OVERDUE" if t["overdue"] and t["status"] == "open" else ""
        out.print(
            f"{t['followup_id']}\t{t['tier'] or '-'}\tdue {t['due_at']}\t{t['status']}{late}\t"
            f"{t['assignee'] or t['team'] or '-'}\t{t['outcome'] or ''}",
            highlight=False,
        )


@qa_app.command("validate")
def qa_validate(path: Annotated[Path, typer.Argument(help="A scorecard form YAML file.")]) -> None:
    """Check a QA form file; errors say FILE:LINE."""
    from calmline.aftercall.qa_form import load_form
    from calmline.configfile import ConfigError

    try:
        form = load_form(path)
    except ConfigError as exc:
        raise _fail(str(exc), 1) from exc
    out.print(f"{form.form_id} {form.version}: {len(form.items)} items", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``report``, ``followups`` and ``qa`` to the ``calmline`` command."""
    app.command("report")(report)
    app.add_typer(followups_app, name="followups")
    app.add_typer(qa_app, name="qa")
