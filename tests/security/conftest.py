"""Fixtures: the API fixtures of tests/api (one user per role, a FakeClock, a file SQLite store) and keys."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from calmline.security import make_cipher
from calmline.security.crypto import FieldCipher
from calmline.security.keys import Keyring
from calmline.store.log import set_cipher
from tests.api.conftest import (  # noqa: F401  (fixtures)
    _fast_hashing,
    app,
    client,
    clock,
    ingest_key,
    service,
    settings,
    tokens,
    users,
)


def keyring(*ids: str) -> Keyring:
    """A key ring with fixed keys (the first active), for tests only."""
    ids = ids or ("kek-a",)
    return Keyring({i: hashlib.sha256(i.encode()).digest() for i in ids}, ids[0])


def master_key_value(key_id: str = "kek-a", byte: int = 1) -> str:
    return f"{key_id}:{base64.b64encode(bytes([byte]) * 32).decode()}"


@pytest.fixture
def sealed_db(db: Engine) -> Iterator[Engine]:
    """A store of every kind (tests/conftest.py ``db``) with the PHI cipher installed."""
    set_cipher(db, make_cipher(db, keyring()))
    yield db
    set_cipher(db, None)


@pytest.fixture
def cipher(sealed_db: Engine) -> FieldCipher:
    from calmline.store.log import cipher_for

    found = cipher_for(sealed_db)
    assert isinstance(found, FieldCipher)
    return found
