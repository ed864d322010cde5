"""Key-encryption keys (KEKs): where they come from, how they are created and rotated.

A KEK never goes into the database. It comes from one of two places:

- ``CALMLINE_MASTER_KEY``: base64 of 32 random bytes, or ``id:base64,id:base64`` (the first is active);
- a JSON key file (``CALMLINE_KEYS_FILE``, default ``<data_dir>/keys.json``), written with mode 0600::

      {"version": 1, "active": "kek-20260301-1a2b3c", "keys": {"kek-20260301-1a2b3c": "<base64>"}}

A file holds every KEK that may still wrap a data key: rotation adds a new one and makes it active, and the
old ones stay until ``calmline keys prune`` finds no data key wrapped by them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

KEY_BYTES = 32


class KeyringError(Exception):
    """A key source is missing, malformed or lacks a key that a record needs."""


def _decode(value: str, where: str) -> bytes:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError(f"{where}: not base64") from None
    if len(raw) != KEY_BYTES:
        raise KeyringError(f"{where}: a key must be {KEY_BYTES} bytes (base64 of 32 random bytes)")
    return raw


def new_key() -> bytes:
    """32 random bytes from the operating system."""
    return secrets.token_bytes(KEY_BYTES)


def new_kek_id(now: datetime | None = None) -> str:
    """``kek-YYYYMMDD-<6 hex>``: sortable, unique enough, says nothing about the key."""
    day = (now or datetime.now(UTC)).strftime("%Y%m%d")
    return f"kek-{day}-{secrets.token_hex(3)}"


def env_kek_id(key: bytes) -> str:
    """The id of a key given without one: a fingerprint (never the key)."""
    return "env-" + hashlib.sha256(b"calmline-kek-id" + key).hexdigest()[:12]


@dataclass
class Keyring:
    """The KEKs this process can use; ``active`` wraps new data keys."""

    keys: dict[str, bytes]
    active: str
    path: Path | None = None
    _mtime: float | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            raise KeyringError(f"the active key {self.active!r} is not in the key ring")

    def __repr__(self) -> str:  # never print key material
        return f"Keyring(active={self.active!r}, ids={sorted(self.keys)!r}, path={self.path!s})"

    @property
    def source(self) -> str:
        """Where the keys come from, for people (never the keys)."""
        return str(self.path) if self.path is not None else "CALMLINE_MASTER_KEY"

    def get(self, kek_id: str) -> bytes:
        """The KEK named ``kek_id``, re-reading the key file once when it is unknown (a rotation elsewhere).

        Raises:
            KeyringError: no such key here.
        """
        key = self.keys.get(kek_id)
        if key is None and self.refresh():
            key = self.keys.get(kek_id)
        if key is None:
            raise KeyringError(f"key-encryption key {kek_id!r} is not in {self.source}")
        return key

    def refresh(self) -> bool:
        """Re-read the key file when it changed on disk; True when it did."""
        if self.path is None:
            return False
        with self._lock:
            try:
                mtime = self.path.stat().st_mtime
            except OSError:
                return False
            if mtime == self._mtime:
                return False
            fresh = read_key_file(self.path)
            self.keys, self.active, self._mtime = fresh.keys, fresh.active, fresh._mtime
            return True


def parse_master_key(value: str) -> Keyring:
    """A key ring from ``CALMLINE_MASTER_KEY`` (``base64`` or ``id:base64,id:base64``).

    Raises:
        KeyringError: malformed.
    """
    keys: dict[str, bytes] = {}
    order: list[str] = []
    for i, part in enumerate(p.strip() for p in value.split(",")):
        if not part:
            continue
        kid, sep, b64 = part.partition(":")
        if not sep:
            key = _decode(kid, f"CALMLINE_MASTER_KEY entry {i + 1}")
            kid = env_kek_id(key)
        else:
            kid = kid.strip()
            if not kid or len(kid) > 64:
                raise KeyringError(f"CALMLINE_MASTER_KEY entry {i + 1}: the id must be 1-64 characters")
            key = _decode(b64, f"CALMLINE_MASTER_KEY entry {i + 1} ({kid})")
        keys[kid] = key
        order.append(kid)
    if not order:
        raise KeyringError("CALMLINE_MASTER_KEY is empty")
    return Keyring(keys, order[0])


def read_key_file(path: Path) -> Keyring:
    """Load a key file.

    Raises:
        KeyringError: missing, unreadable or malformed (the message names the file, never a key).
    """
    try:
        stat = path.stat()
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KeyringError(f"{path}: no key file (run `calmline keys init`)") from None
    except (OSError, ValueError) as exc:
        raise KeyringError(f"{path}: unreadable key file ({type(exc).__name__})") from None
    if not isinstance(raw, Mapping) or not isinstance(raw.get("keys"), Mapping) or "active" not in raw:
        raise KeyringError(f"{path}: expected {{'version', 'active', 'keys'}}")
    keys = {str(k): _decode(str(v), f"{path}: key {k}") for k, v in raw["keys"].items()}
    ring = Keyring(keys, str(raw["active"]), path)
    ring._mtime = stat.st_mtime
    return ring


def write_key_file(path: Path, keys: Mapping[str, bytes], active: str) -> None:
    """Write a key file atomically with mode 0600 (readers never see half a file)."""
    body = {
        "version": 1,
        "active": active,
        "keys": {k: base64.b64encode(v).decode("ascii") for k, v in sorted(keys.items())},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".keys-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(body, fh, indent=2, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    os.chmod(path, 0o600)


def init_key_file(path: Path, now: datetime | None = None) -> Keyring:
    """Create a key file with one fresh KEK.

    Raises:
        KeyringError: the file already exists (a second init would orphan every wrapped data key).
    """
    if path.exists():
        raise KeyringError(f"{path}: a key file is already there; use `calmline keys rotate`")
    kid = new_kek_id(now)
    write_key_file(path, {kid: new_key()}, kid)
    return read_key_file(path)


def add_kek(path: Path, now: datetime | None = None) -> str:
    """Add a fresh KEK to the file and make it active; returns its id (the old ones stay)."""
    ring = read_key_file(path)
    kid = new_kek_id(now)
    while kid in ring.keys:
        kid = new_kek_id(now)
    write_key_file(path, {**ring.keys, kid: new_key()}, kid)
    return kid


def remove_keks(path: Path, kek_ids: set[str]) -> None:
    """Drop KEKs from the file (never the active one)."""
    ring = read_key_file(path)
    keep = {k: v for k, v in ring.keys.items() if k not in kek_ids or k == ring.active}
    write_key_file(path, keep, ring.active)


def file_mode(path: Path) -> int:
    """The permission bits of ``path`` (0o600 expected)."""
    return path.stat().st_mode & 0o777
