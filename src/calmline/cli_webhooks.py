"""``calmline webhooks``: list the configured endpoints, send a signed test ping, re-queue dead letters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from calmline.settings import Settings

if TYPE_CHECKING:
    from calmline.webhooks import WebhooksConfig

webhooks_app = typer.Typer(
    help="Signed webhooks for paging systems (endpoints in CALMLINE_WEBHOOKS_FILE).", no_args_is_help=True
)
err = Console(stderr=True)


def _config(settings: Settings) -> WebhooksConfig:
    from calmline.webhooks import WebhooksConfigError, load_webhooks

    if settings.webhooks_file is None:
        err.print("[red]error:[/red] CALMLINE_WEBHOOKS_FILE is not set")
        raise typer.Exit(2)
    try:
        return load_webhooks(settings.webhooks_file)
    except WebhooksConfigError as exc:
        err.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
        raise typer.Exit(2) from exc


@webhooks_app.command("list")
def list_cmd() -> None:
    """The configured endpoints (secrets and URL queries hidden) and their delivery counts."""
    from calmline.store.db import make_engine, migrate
    from calmline.webhooks import WebhookDispatcher

    settings = Settings()
    config = _config(settings)
    settings.ensure_data_dir()
    db = make_engine(settings.db_url)
    try:
        migrate(db)
        counts = WebhookDispatcher(db, config).summary()
    finally:
        db.dispose()
    table = Table("name", "url", "events", "evidence text", "pending", "delivered", "dead")
    for name, c in counts.items():
        endpoint = config.endpoint(name)
        table.add_row(
            name if endpoint else f"{name} (not configured)",
            endpoint.safe_url() if endpoint else "",
            ", ".join(endpoint.events) if endpoint else "",
            ("yes" if endpoint.include_evidence_text else "no") if endpoint else "",
            str(c["pending"]),
            str(c["delivered"]),
            str(c["dead"]),
        )
    Console().print(table)


@webhooks_app.command("test")
def test_cmd(name: Annotated[str, typer.Argument(help="The endpoint's name in the webhooks file.")]) -> None:
    """Send a signed ``webhook.test`` ping to one endpoint now; exits 1 when it is not accepted."""
    from calmline.webhooks import send_test

    config = _config(Settings())
    try:
        result = send_test(config, name, datetime.now(UTC))
    except KeyError as exc:
        err.print(f"[red]error:[/red] no endpoint called {name!r}")
        raise typer.Exit(2) from exc
    if not result.ok:
        err.print(f"[red]failed:[/red] {name}: {result.error}")
        raise typer.Exit(1)
    typer.echo(f"{name}: HTTP {result.status}")


@webhooks_app.command("requeue")
def requeue_cmd(
    name: Annotated[str, typer.Argument(help="The endpoint whose dead letters to retry.")],
) -> None:
    """Give an endpoint's dead-lettered deliveries a fresh set of attempts (after fixing the receiver)."""
    from calmline.store.db import make_engine, migrate
    from calmline.webhooks import WebhookDispatcher

    settings = Settings()
    config = _config(settings)
    settings.ensure_data_dir()
    db = make_engine(settings.db_url)
    try:
        migrate(db)
        count = WebhookDispatcher(db, config).requeue_dead(name, datetime.now(UTC))
    finally:
        db.dispose()
    typer.echo(f"{name}: {count} dead deliveries queued again")
