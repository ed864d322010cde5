from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from calmline.api import auth, create_app
from calmline.api.auth import create_api_key, create_session, create_user, verify_password
from calmline.clock import FakeClock
from calmline.practice.runner import default_engine
from calmline.service import CallService
from calmline.settings import Settings
from calmline.store.db import make_engine, migrate, sqlite_url

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    monkeypatch.setattr(auth, "_DUMMY_HASH", None)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[CallService]:
    db = make_engine(sqlite_url(tmp_path))
    migrate(db)
    # The shipped engine (analyzers, protocols, suggestions), built once per test process.
    yield CallService(db, default_engine(), FakeClock(datetime(2026, 2, 2, 9, 0, tzinfo=UTC)))
    db.dispose()


@pytest.fixture
def keys(service: CallService) -> dict[str, dict[str, str]]:
    """Bearer headers per person: two trainees, a supervisor (trainer), a QA trainer and an ingest key."""
    out = {"feed": {"Authorization": f"Bearer {create_api_key(service.db, 'feed', ['ingest'])}"}}
    now = service.clock.now()
    for name, roles in (("ann", ["agent"]), ("bob", ["agent"]), ("sue", ["supervisor"]), ("quinn", ["qa"])):
        create_user(service.db, name, "practice-pass-1", roles)
        user = verify_password(service.db, name, "practice-pass-1")
        assert user is not None
        token = create_session(service.db, user, now, timedelta(hours=8)).token
        out[name] = {"Authorization": f"Bearer {token}"}
    return out


@pytest.fixture
def client(service: CallService, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(env="test", data_dir=tmp_path)
    app = create_app(settings, service=service, tick_interval_s=3600)
    with TestClient(app) as c:
        yield c
