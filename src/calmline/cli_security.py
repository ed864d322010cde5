"""``calmline keys`` (encryption keys) and ``calmline retention`` (purge, legal hold): docs/SECURITY.md."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from calmline.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

keys_app = typer.Typer(
    help="Encryption keys of the event log: create, rotate, inspect.", no_args_is_help=True
)
retention_app = typer.Typer(help="Retention policy: purge expired data, legal holds.", no_args_is_help=True)
err = Console(stderr=True)


def register(app: typer.Typer) -> None:
    """Add ``keys`` and ``retention`` to the ``calmline`` command."""
    app.add_typer(keys_app, name="keys")
    app.add_typer(retention_app, name="retention")


def _store(settings: Settings) -> Engine:
    from calmline.store.db import make_engine, migrate

    settings.ensure_data_dir()
    db = make_engine(settings.db_url)
    migrate(db)
    return db


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(2)


# -- keys ---------------------------------------------------------------------------------------------------


@keys_app.command("init")
def keys_init() -> None:
    """Create the key file (CALMLINE_KEYS_FILE, default CALMLINE_DATA_DIR/keys.json) with mode 0600."""
    from calmline.security import KeyringError, key_file_path
    from calmline.security.keys import init_key_file

    settings = Settings()
    if settings.master_key is not None:
        raise _fail("CALMLINE_MASTER_KEY is set: keys come from the environment, no file is needed")
    path = key_file_path(settings)
    try:
        ring = init_key_file(path)
    except KeyringError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"created {path} (mode 0600) with key {ring.active}; back it up: without it nothing opens")


@keys_app.command("rotate")
def keys_rotate(
    new_key: Annotated[
        bool,
        typer.Option("--new-key/--rewrap-only", help="Add a new key-encryption key first (key file only)."),
    ] = True,
) -> None:
    """Make a new key-encryption key active and re-wrap every data key with it, online.

    Records are never rewritten, so readers and writers keep working during the rotation; a server that has
    not seen the new key re-reads the key file when it meets it. With CALMLINE_MASTER_KEY, put the new key
    first in the list on every host, then run this with --rewrap-only.
    """
    from calmline.security import KeyringError, key_file_path, load_keyring
    from calmline.security.crypto import CipherError, DataKeys
    from calmline.security.keys import add_kek

    settings = Settings()
    try:
        if new_key and settings.master_key is None:
            kid = add_kek(key_file_path(settings))
            err.print(f"new key-encryption key {kid} is active")
        report = DataKeys(_store(settings), load_keyring(settings)).rewrap()
    except (KeyringError, CipherError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(
        f"re-wrapped {report.rewrapped} data keys with {report.active} ({report.already} already were)"
    )


@keys_app.command("status")
def keys_status() -> None:
    """Where the keys come from, the active one, and how many data keys each one wraps."""
    from calmline.security import KeyringError, load_keyring
    from calmline.security.crypto import DataKeys
    from calmline.security.keys import file_mode

    settings = Settings()
    try:
        ring = load_keyring(settings)
    except KeyringError as exc:
        raise _fail(str(exc)) from None
    usage = DataKeys(_store(settings), ring).usage()
    body = {
        "source": ring.source,
        "mode": oct(file_mode(ring.path)) if ring.path is not None else None,
        "active": ring.active,
        "keys": {k: usage.get(k, 0) for k in sorted(ring.keys)},
        "missing": sorted(k for k in usage if k not in ring.keys),
        "encrypt_at_rest": settings.encrypt_at_rest,
    }
    typer.echo(json.dumps(body, indent=2))
    if body["missing"]:
        raise typer.Exit(1)


@keys_app.command("prune")
def keys_prune() -> None:
    """Drop key-encryption keys from the key file that no data key is wrapped by any more."""
    from calmline.security import KeyringError, key_file_path, load_keyring
    from calmline.security.crypto import DataKeys
    from calmline.security.keys import remove_keks

    settings = Settings()
    if settings.master_key is not None:
        raise _fail("keys come from CALMLINE_MASTER_KEY: remove retired keys from it by hand")
    try:
        ring = load_keyring(settings)
    except KeyringError as exc:
        raise _fail(str(exc)) from None
    used = DataKeys(_store(settings), ring).usage()
    unused = {k for k in ring.keys if k != ring.active and not used.get(k)}
    if unused:
        remove_keks(key_file_path(settings), unused)
    typer.echo(f"removed {len(unused)} unused key(s): {', '.join(sorted(unused)) or '-'}")


@keys_app.command("seal-existing")
def keys_seal_existing() -> None:
    """Encrypt the PHI fields of rows written in clear (before encryption was on)."""
    from calmline.security import KeyringError, install_security, seal_plaintext_rows

    settings = Settings()
    db = _store(settings)
    try:
        install_security(db, settings)
        count = seal_plaintext_rows(db)
    except KeyringError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"sealed {count} row(s)")


# -- retention ----------------------------------------------------------------------------------------------


@retention_app.command("purge")
def retention_purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be purged.")] = False,
) -> None:
    """Apply the retention policy now (CALMLINE_RETENTION_FILE or the shipped one); audited."""
    from calmline.security import KeyringError, install_security
    from calmline.security.retention import load_policy, purge

    settings = Settings()
    db = _store(settings)
    try:
        install_security(db, settings)
    except KeyringError as exc:
        raise _fail(str(exc)) from None
    report = purge(db, load_policy(settings.retention_file), datetime.now(UTC), dry_run=dry_run, actor="cli")
    typer.echo(json.dumps(report.to_dict(), indent=2, default=str))


@retention_app.command("hold")
def retention_hold(
    call_id: str,
    reason: Annotated[str, typer.Option("--reason", help="Why (case, request); audited.")],
    actor: Annotated[str, typer.Option("--actor", help="Who asked for it.")] = "cli",
) -> None:
    """Put a call under legal hold: the purge never touches it until it is released."""
    from calmline.security.retention import HoldError, hold

    try:
        hold(_store(Settings()), call_id, reason, actor, datetime.now(UTC))
    except HoldError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"call {call_id} is on legal hold")


@retention_app.command("release")
def retention_release(
    call_id: str,
    reason: Annotated[str, typer.Option("--reason", help="Why the hold ends; audited.")] = "",
    actor: Annotated[str, typer.Option("--actor", help="Who released it.")] = "cli",
) -> None:
    """Release a legal hold."""
    from calmline.security.retention import HoldError, release

    try:
        release(_store(Settings()), call_id, reason, actor, datetime.now(UTC))
    except HoldError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"call {call_id} is no longer on hold")


@retention_app.command("holds")
def retention_holds() -> None:
    """List the calls on legal hold."""
    from calmline.security.retention import holds

    typer.echo(json.dumps(holds(_store(Settings())), indent=2, default=str))
