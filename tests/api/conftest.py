from __future__ import annotations

import re
import warnings
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI

from calmline.analysis.base import AnalysisContext, AnalyzerRegistry
from calmline.api import auth, create_app
from calmline.clock import FakeClock
from calmline.engine import CallEngine, load_alert_policy
from calmline.events import Finding
from calmline.service import CallService
from calmline.settings import Settings
from calmline.store.db import make_engine, migrate, sqlite_url
from tests.api.helpers import PASSWORD, ROLES

# Starlette's test client warns when it runs on httpx rather than httpx2 (pyproject turns warnings into
# errors): the warning is about the test client's transport, not about calmline.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient


class DieWordAnalyzer:
    """Flags the word "die" as low-tier suicide risk: enough to raise a warning alert."""

    name = "die_word"
    version = "1"
    speakers = frozenset({"caller"})

    def setup(self) -> None:
        pass

    def analyze(self, ctx: AnalysisContext) -> Sequence[Finding]:
        match = re.search(r"\bdie\b", ctx.text, re.IGNORECASE)
        if match is None:
            return ()
        return (
            Finding(
                type="suicide_risk",
                level="passive_ideation",
                score=0.6,
                evidence=((match.start(), match.end()),),
                tier="low",
                analyzer=self.name,
                analyzer_version=self.version,
            ),
        )


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    # argon2's defaults cost ~50 ms and 64 MiB per hash; the tests hash dozens of passwords.
    monkeypatch.setattr(auth, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    monkeypatch.setattr(auth, "_DUMMY_HASH", None)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def service(clock: FakeClock, tmp_path: Path) -> Iterator[CallService]:
    # A file, not "sqlite://": the in-memory engine shares one connection (StaticPool) between threads,
    # and the app uses the service from several (request worker threads, the ticker, WebSockets).
    db = make_engine(sqlite_url(tmp_path))
    migrate(db)
    engine = CallEngine(AnalyzerRegistry([DieWordAnalyzer()]), load_alert_policy())
    yield CallService(db, engine, clock, gap_timeout_s=5.0)
    db.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(env="test", data_dir=tmp_path, max_body_bytes=1_000_000)


@pytest.fixture
def app(settings: Settings, service: CallService) -> FastAPI:
    return create_app(settings, service=service, tick_interval_s=3600)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def users(service: CallService) -> dict[str, str]:
    """One user per role, named after it; returns role -> username."""
    for role in ROLES:
        auth.create_user(service.db, role, PASSWORD, [role], display_name=role.title())
    return {role: role for role in ROLES}


@pytest.fixture
def tokens(service: CallService, users: dict[str, str], clock: FakeClock) -> dict[str, str]:
    """role -> session token (created directly, without a password round trip)."""
    out: dict[str, str] = {}
    for role, name in users.items():
        user = auth.Principal(name, frozenset({role}), "user")
        out[role] = auth.create_session(service.db, user, clock.now(), timedelta(hours=1)).token
    return out


@pytest.fixture
def ingest_key(service: CallService) -> str:
    return auth.create_api_key(service.db, "speech-to-text", ["ingest"])
