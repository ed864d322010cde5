"""Calls played into a real store (every backend) with the shipped analyzers and protocols."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from calmline.clock import FakeClock
from calmline.engine import CallEngine
from calmline.events import CallEnded, CallStarted, UtteranceReceived
from calmline.service import CallService
from tests.postcall.conftest import IMMINENT, START, play

__all__ = ["IMMINENT", "START", "play", "quiet_call"]


@pytest.fixture(scope="session")
def call_engine() -> CallEngine:
    from calmline.runtime import build_engine

    return build_engine()


@pytest.fixture
def played(db: Engine, call_engine: CallEngine) -> tuple[CallService, FakeClock]:
    """A service over the parametrized ``db`` (SQLite memory/file, PostgreSQL)."""
    clock = FakeClock(START)
    return CallService(db, call_engine, clock), clock


def quiet_call(
    service: CallService,
    call_id: str,
    *,
    at: datetime,
    queue: str = "general",
    agent: str | None = "ana",
    site: str | None = None,
) -> None:
    """A short calm call (no risk), for counts and agent exposure."""
    service.ingest(CallStarted(call_id=call_id, queue=queue, agent_id=agent, site=site, started_at=at))
    service.ingest(
        UtteranceReceived(
            call_id=call_id,
            seq=1,
            speaker="caller",
            text="i need to move my appointment",
            start_ms=0,
            end_ms=900,
        )
    )
    service.ingest(CallEnded(call_id=call_id, seq=2, at=at + timedelta(minutes=3)))


T_DAY2 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
