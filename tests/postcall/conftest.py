"""Calls played into a real (in-memory) store with the shipped analyzers and protocols."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from calmline.clock import FakeClock
from calmline.engine import CallEngine
from calmline.runtime import build_engine
from calmline.service import CallService
from calmline.sim.player import play_inprocess
from calmline.sim.scenario import load_builtin
from calmline.store.db import make_engine, migrate

START = datetime(2026, 3, 1, 14, 30, tzinfo=UTC)
IMMINENT = "active_ideation_plan_means"


@pytest.fixture(scope="session")
def call_engine() -> CallEngine:
    return build_engine()


def new_service(call_engine: CallEngine, url: str = "sqlite://") -> tuple[CallService, FakeClock]:
    db: Engine = make_engine(url)
    migrate(db)
    clock = FakeClock(START)
    return CallService(db, call_engine, clock), clock


def play(service: CallService, clock: FakeClock, scenario_id: str, prefix: str = "t") -> str:
    """Play one shipped scenario into ``service``; returns its call id."""
    report = play_inprocess(
        service, [load_builtin(scenario_id)], speed=math.inf, clock=clock, call_id_prefix=prefix
    )
    (call_id,) = report.calls
    return call_id


@pytest.fixture
def service(call_engine: CallEngine) -> Iterator[tuple[CallService, FakeClock]]:
    svc, clock = new_service(call_engine)
    yield svc, clock
    svc.db.dispose()
