"""Encryption at rest of the PHI fields of the event log: AES-256-GCM with envelope keys.

Only the fields that can hold what a person said or typed are sealed (``PHI_FIELDS``: utterance text, the
caller reference and call reason, supervisor notes and outcomes); identifiers, types, times, scores and spans
stay readable, so projections, history filters and ``seq`` idempotency work on the stored JSON unchanged. A
sealed payload keeps its other fields and gains one::

    {"type": "utterance", "call_id": "c1", "seq": 3, ..., "$enc": {"k": "dk-20260301", "d": "<base64>"}}

``d`` is a 12-byte random nonce followed by the AES-GCM ciphertext of the JSON object of the sealed fields;
the additional data binds it to the stream, the event type and the data key id, so a ciphertext copied to
another call or another row type does not open. Data keys (one per UTC day, ``dk-YYYYMMDD``) are random
256-bit keys stored in ``data_keys`` only *wrapped* (AES-GCM) by a key-encryption key from
:mod:`calmline.security.keys`; the table says which KEK wrapped each one. Rotation re-wraps data keys; the
records never change, so they stay readable throughout.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from calmline.security.keys import Keyring, KeyringError, new_key
from calmline.store.schema import data_keys

#: The envelope's field in a stored payload.
ENVELOPE = "$enc"
#: Event type -> the fields sealed in the log. Everything else stays in clear.
PHI_FIELDS: Mapping[str, tuple[str, ...]] = {
    "utterance": ("text",),
    "call.started": ("caller_ref", "reason"),
    "call.transferred": ("reason",),
    "supervisor.action": ("note", "outcome"),
    "alert.resolved": ("outcome",),
}
_NONCE = 12
_DEK_AAD = b"calmline/dek/v1\x1f"


class CipherError(Exception):
    """A sealed record could not be opened: wrong key, missing key, or the bytes were changed."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def _aad(stream: str, type_: str, key_id: str) -> bytes:
    return f"calmline/v1\x1f{stream}\x1f{type_}\x1f{key_id}".encode()


def wrap(kek: bytes, key_id: str, dek: bytes) -> str:
    """A data key sealed by a KEK, bound to its id."""
    nonce = os.urandom(_NONCE)
    return _b64(nonce + AESGCM(kek).encrypt(nonce, dek, _DEK_AAD + key_id.encode()))


def unwrap(kek: bytes, key_id: str, wrapped: str) -> bytes:
    """The data key inside ``wrapped``.

    Raises:
        CipherError: the KEK is not the one that wrapped it, or the row was changed.
    """
    raw = _unb64(wrapped)
    try:
        return AESGCM(kek).decrypt(raw[:_NONCE], raw[_NONCE:], _DEK_AAD + key_id.encode())
    except InvalidTag:
        raise CipherError(f"data key {key_id}: does not open with its key-encryption key") from None


@dataclass(frozen=True, slots=True)
class RewrapReport:
    """What a rotation did: how many data keys moved to ``active``, and how many were already there."""

    active: str
    rewrapped: int
    already: int


class DataKeys:
    """The wrapped data keys in the store, unwrapped on first use and cached for the process's life."""

    def __init__(self, db: Engine, keyring: Keyring) -> None:
        self.db = db
        self.keyring = keyring
        self._cache: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def for_time(self, at: datetime) -> tuple[str, bytes]:
        """The data key for records written at ``at`` (one per UTC day), created on first use."""
        key_id = "dk-" + (at.astimezone(UTC) if at.tzinfo else at).strftime("%Y%m%d")
        cached = self._cache.get(key_id)
        if cached is not None:
            return key_id, cached
        with self._lock:
            try:
                return key_id, self.get(key_id)
            except KeyringError:
                pass
            self.keyring.refresh()  # a rotation elsewhere may have changed the active KEK
            dek = new_key()
            kek_id = self.keyring.active
            try:
                with self.db.begin() as conn:
                    conn.execute(
                        insert(data_keys).values(
                            key_id=key_id,
                            kek_id=kek_id,
                            wrapped=wrap(self.keyring.get(kek_id), key_id, dek),
                            created_at=datetime.now(UTC),
                        )
                    )
            except IntegrityError:  # another process created it first: use theirs
                return key_id, self.get(key_id)
            self._cache[key_id] = dek
            return key_id, dek

    def get(self, key_id: str) -> bytes:
        """The data key ``key_id``.

        Raises:
            KeyringError: the store has no such data key.
            CipherError: it does not unwrap with the KEK it names.
        """
        cached = self._cache.get(key_id)
        if cached is not None:
            return cached
        with self.db.connect() as conn:
            row = conn.execute(
                select(data_keys.c.kek_id, data_keys.c.wrapped).where(data_keys.c.key_id == key_id)
            ).first()
        if row is None:
            raise KeyringError(f"data key {key_id!r} is not in the store")
        dek = unwrap(self.keyring.get(row.kek_id), key_id, row.wrapped)
        self._cache[key_id] = dek
        return dek

    def usage(self) -> dict[str, int]:
        """KEK id -> how many data keys it wraps."""
        query = select(data_keys.c.kek_id, func.count()).group_by(data_keys.c.kek_id)
        with self.db.connect() as conn:
            return {r[0]: int(r[1]) for r in conn.execute(query)}

    def rewrap(self) -> RewrapReport:
        """Re-wrap every data key not wrapped by the active KEK, one row per transaction.

        Records are untouched and readers keep working: a row is either wrapped by the old KEK or the new one,
        and the key file holds both until ``prune``. Running it again finishes an interrupted rotation.
        """
        self.keyring.refresh()
        active = self.keyring.active
        new_kek = self.keyring.get(active)
        with self.db.connect() as conn:
            rows = conn.execute(select(data_keys.c.key_id, data_keys.c.kek_id, data_keys.c.wrapped)).all()
        moved = already = 0
        for row in rows:
            if row.kek_id == active:
                already += 1
                continue
            dek = unwrap(self.keyring.get(row.kek_id), row.key_id, row.wrapped)
            with self.db.begin() as conn:
                done = conn.execute(
                    update(data_keys)
                    .where(data_keys.c.key_id == row.key_id, data_keys.c.kek_id == row.kek_id)
                    .values(
                        kek_id=active,
                        wrapped=wrap(new_kek, row.key_id, dek),
                        rewrapped_at=datetime.now(UTC),
                    )
                )
            moved += done.rowcount
        return RewrapReport(active, moved, already)


class FieldCipher:
    """Seals and opens the PHI fields of stored payloads (the ``PayloadCipher`` of ``calmline.store.log``)."""

    def __init__(self, keys: DataKeys) -> None:
        self.keys = keys

    def seal(self, stream: str, type_: str, payload: dict[str, Any], at: datetime) -> dict[str, Any]:
        """``payload`` with its PHI fields replaced by one envelope (unchanged when it has none)."""
        names = PHI_FIELDS.get(type_)
        if not names or ENVELOPE in payload:
            return payload
        secret = {n: payload[n] for n in names if payload.get(n) is not None}
        if not secret:
            return payload
        key_id, dek = self.keys.for_time(at)
        nonce = os.urandom(_NONCE)
        plain = json.dumps(secret, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        sealed = AESGCM(dek).encrypt(nonce, plain, _aad(stream, type_, key_id))
        rest = {k: v for k, v in payload.items() if k not in secret}
        rest[ENVELOPE] = {"k": key_id, "d": _b64(nonce + sealed)}
        return rest

    def open(self, stream: str, type_: str, payload: dict[str, Any]) -> dict[str, Any]:
        """``payload`` with its sealed fields back in place (unchanged when it was stored in clear).

        Raises:
            CipherError: the envelope does not open (changed, moved, or its key is gone).
        """
        env = payload.get(ENVELOPE)
        if env is None:
            return payload
        try:
            key_id, data = str(env["k"]), _unb64(str(env["d"]))
            dek = self.keys.get(key_id)
            plain = AESGCM(dek).decrypt(data[:_NONCE], data[_NONCE:], _aad(stream, type_, key_id))
        except (InvalidTag, KeyError, TypeError, ValueError) as exc:
            raise CipherError(
                f"a sealed {type_} record of {stream} does not open ({type(exc).__name__})"
            ) from None
        except KeyringError as exc:
            raise CipherError(str(exc)) from None
        rest = {k: v for k, v in payload.items() if k != ENVELOPE}
        return {**rest, **json.loads(plain)}


def is_sealed(payload: Mapping[str, Any]) -> bool:
    """Whether a stored payload carries an envelope."""
    return ENVELOPE in payload
