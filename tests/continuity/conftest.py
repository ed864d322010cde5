"""A service with the shipped analyzers and protocols over a fresh SQLite file, and an app around it."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI

from calmline.api import auth, create_app
from calmline.clock import FakeClock
from calmline.engine import CallEngine
from calmline.service import CallService
from calmline.settings import Settings
from calmline.store.db import make_engine, migrate, sqlite_url

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ROLES = ("agent", "supervisor", "qa", "admin", "auditor")


@pytest.fixture(scope="session")
def call_engine() -> CallEngine:
    from calmline.runtime import build_engine

    return build_engine()


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    monkeypatch.setattr(auth, "_DUMMY_HASH", None)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def service(call_engine: CallEngine, clock: FakeClock, tmp_path: Path) -> Iterator[CallService]:
    db = make_engine(sqlite_url(tmp_path))
    migrate(db)
    yield CallService(db, call_engine, clock)
    db.dispose()


@pytest.fixture
def app(tmp_path: Path, service: CallService) -> FastAPI:
    return create_app(Settings(env="test", data_dir=tmp_path), service=service, tick_interval_s=3600)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def tokens(service: CallService, clock: FakeClock) -> dict[str, str]:
    """role -> bearer header value for a user holding that role."""
    out: dict[str, str] = {}
    for role in ROLES:
        auth.create_user(service.db, role, "correct horse battery", [role], display_name=role.title())
        user = auth.Principal(role, frozenset({role}), "user")
        out[role] = auth.create_session(service.db, user, clock.now(), timedelta(days=30)).token
    return out


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
