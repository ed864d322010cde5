"""Security at rest and at the door: keys and encryption, retention, login throttling (docs/SECURITY.md).

``install_security(db, settings)`` is what the composition root calls once the store is migrated: it loads
(or, for the embedded store, creates) the key ring, installs the PHI field cipher on the event log of ``db``
and registers the retention policy for the server's tick.
"""

from __future__ import annotations

from pathlib import Path

import structlog
from sqlalchemy import Engine

from calmline.security.crypto import DataKeys, FieldCipher
from calmline.security.keys import Keyring, KeyringError, init_key_file, parse_master_key, read_key_file
from calmline.settings import Settings
from calmline.store.log import PayloadCipher, set_cipher

log = structlog.get_logger("calmline.security")

__all__ = ["KeyringError", "cipher_from_environment", "install_security", "key_file_path", "load_keyring"]


def key_file_path(settings: Settings) -> Path:
    """``CALMLINE_KEYS_FILE``, or ``keys.json`` in the data directory."""
    return settings.keys_file or settings.data_dir.resolve() / "keys.json"


def load_keyring(settings: Settings, *, create: bool = False) -> Keyring:
    """The KEKs named by the settings: ``CALMLINE_MASTER_KEY`` first, else the key file.

    With ``create``, a missing key file is created (0600) when that is safe: the embedded store, or any
    store outside prod (a store shared by several hosts needs one key source for all of them).

    Raises:
        KeyringError: no usable key source.
    """
    if settings.master_key is not None:
        return parse_master_key(settings.master_key.get_secret_value())
    path = key_file_path(settings)
    if path.exists() or not create:
        return read_key_file(path)
    if settings.database_url is not None and settings.env == "prod":
        raise KeyringError(
            f"{path}: no key file; with CALMLINE_DATABASE_URL in prod, set CALMLINE_KEYS_FILE (shared by "
            "every host) or CALMLINE_MASTER_KEY, or run `calmline keys init` first"
        )
    ring = init_key_file(path)
    log.info("keys.created", path=str(path))
    return ring


def make_cipher(db: Engine, keyring: Keyring) -> FieldCipher:
    """The field cipher for the event log of ``db``."""
    return FieldCipher(DataKeys(db, keyring))


def install_security(db: Engine, settings: Settings) -> FieldCipher | None:
    """Install encryption at rest (and the retention policy) for ``db``; returns the cipher, if any.

    Raises:
        KeyringError: encryption is on and no key source can be read or created.
    """
    from calmline.security.retention import load_policy, register_policy

    register_policy(db, load_policy(settings.retention_file), settings.retention_interval_s)
    if not settings.encrypt_at_rest:
        set_cipher(db, None)
        log.warning("encryption.disabled")
        return None
    cipher = make_cipher(db, load_keyring(settings, create=True))
    set_cipher(db, cipher)
    return cipher


def cipher_from_environment(db: Engine) -> PayloadCipher:
    """A cipher from ``CALMLINE_*`` for a process that reads sealed rows without having installed one.

    Raises:
        KeyringError: the environment names no readable key source.
    """
    cipher = make_cipher(db, load_keyring(Settings()))
    set_cipher(db, cipher)
    return cipher


def seal_plaintext_rows(db: Engine, batch: int = 500) -> int:
    """Seal the PHI fields of rows stored in clear (before encryption was on); returns how many changed.

    Needs the cipher installed for ``db``. Each batch is one transaction, so readers never wait long, and a
    second run finds nothing left to do.
    """
    import json

    from sqlalchemy import select

    from calmline.security.crypto import ENVELOPE, PHI_FIELDS
    from calmline.store.log import SqlEventLog, cipher_for
    from calmline.store.schema import events

    if cipher_for(db) is None:
        raise KeyringError("no cipher installed: encryption is off or no keys were loaded")
    log = SqlEventLog(db)
    changed, after = 0, 0
    while True:
        with db.connect() as conn:
            rows = conn.execute(
                select(events.c.id, events.c.payload)
                .where(events.c.id > after, events.c.type.in_(list(PHI_FIELDS)))
                .order_by(events.c.id)
                .limit(batch)
            ).all()
        if not rows:
            return changed
        after = rows[-1].id
        todo = [r.id for r in rows if ENVELOPE not in json.loads(r.payload)]
        if not todo:
            continue
        stored = {r.id: r for r in log.read_since(todo[0] - 1, limit=after - todo[0] + 1)}
        with db.begin() as conn:
            for row_id in todo:
                row = stored[row_id]
                if any(row.payload.get(name) is not None for name in PHI_FIELDS[row.type]):
                    log.rewrite(conn, row, row.payload)
                    changed += 1
