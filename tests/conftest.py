"""Shared fixtures: database backends for the contract suite and a small real analyzer for engine tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from sqlalchemy import Engine, create_engine, text

from calmline.analysis.base import AnalyzerRegistry
from calmline.store.db import make_engine, migrate
from calmline.testing.keywords import KeywordRule, keyword_registry

POSTGRES_URL = os.environ.get(
    "CALMLINE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


#: Fixed phrases for engine and store tests (the shipped analyzers are tested in tests/clinical).
ENGINE_RULES = (
    KeywordRule("take all my pills tonight", "suicide_risk", "plan", tier="imminent", score=0.95),
    KeywordRule("want to die", "suicide_risk", "wish_to_be_dead", tier="low", score=0.7),
    KeywordRule("chest pain", "medical_emergency", "emergency", score=0.9),
    KeywordRule("not feeling", "emotion", "sadness", score=0.6),
    KeywordRule("upset", "distress", "distress", score=0.8),
)


@pytest.fixture(autouse=True)
def _restore_logging_config() -> Iterator[None]:
    """Commands under test call ``configure_logging``; keep that global change inside the test."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest.fixture
def registry() -> AnalyzerRegistry:
    return keyword_registry(ENGINE_RULES)


def _postgres_available() -> bool:
    try:
        engine = create_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(params=["sqlite-memory", "sqlite-file", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database of each supported kind."""
    if request.param == "sqlite-memory":
        engine = make_engine("sqlite://")
        migrate(engine)
        yield engine
        engine.dispose()
    elif request.param == "sqlite-file":
        engine = make_engine(f"sqlite+pysqlite:///{tmp_path / 'calmline.db'}")
        migrate(engine)
        yield engine
        engine.dispose()
    else:
        yield from _postgres_schema()


def _postgres_schema() -> Iterator[Engine]:
    if not _postgres_available():
        if IN_CI:
            pytest.fail(f"PostgreSQL is required when CI=true and is not reachable at {POSTGRES_URL}")
        pytest.skip("PostgreSQL not reachable (set CALMLINE_TEST_POSTGRES_URL)")
    schema = f"calmline_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
