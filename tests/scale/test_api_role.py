"""``--role api``: ingest answers 202 queued or 429 with Retry-After; readiness, metrics, live relay."""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from fastapi import FastAPI

from calmline.analysis.base import AnalyzerRegistry
from calmline.api import auth, create_app
from calmline.bus.publisher import BusPublisher, CommitRelay
from calmline.bus.redis_streams import EngineWorker, RedisStreamsBus, StreamsConfig
from calmline.clock import FakeClock
from calmline.engine import CallEngine, load_alert_policy
from calmline.service import CallService
from calmline.settings import Settings
from calmline.store.db import make_engine, migrate, sqlite_url
from calmline.store.log import StoredEvent
from tests.api.helpers import bearer, started, utterance

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

MakeBus = Callable[..., RedisStreamsBus]


@pytest.fixture
def service(registry: AnalyzerRegistry, tmp_path: Path) -> Iterator[CallService]:
    db = make_engine(sqlite_url(tmp_path))
    migrate(db)
    yield CallService(db, CallEngine(registry, load_alert_policy()), FakeClock(), gap_timeout_s=5)
    db.dispose()


@pytest.fixture
def bus(make_bus: MakeBus) -> RedisStreamsBus:
    return make_bus(max_depth=2)


@pytest.fixture
def app(service: CallService, bus: RedisStreamsBus, tmp_path: Path) -> FastAPI:
    service.publisher = BusPublisher(bus, service)
    app = create_app(Settings(env="test", data_dir=tmp_path), service=service, tick_interval_s=3600)
    app.state.bus = bus
    return app


def test_api_role_queues_then_answers_429_with_retry_after(
    app: FastAPI, service: CallService, bus: RedisStreamsBus
) -> None:
    key = bearer(auth.create_api_key(service.db, "stt", ["ingest"]))
    with TestClient(app) as client:
        first = client.post("/api/events", json=started("c1"), headers=key)
        assert first.status_code == 202 and first.json()["status"] == "queued"
        client.post("/api/events", json=utterance("c1", 1, "hello"), headers=key)
        bus._depth_cache = (0.0, 0)
        refused = client.post("/api/events", json=utterance("c1", 2, "hello"), headers=key)
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "2"
        assert refused.json()["error"] == "overloaded"
        batch = client.post("/api/events/batch", json={"events": [utterance("c1", 2, "x")]}, headers=key)
        assert batch.json()["results"][0]["error"] == "overloaded"
        assert batch.json()["results"][0]["retry_after"] == 2
        assert service.log.read("c1") == []  # nothing stepped here: the engine workers do it
        assert bus.depth() == 2  # nothing dropped, nothing queued twice

        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "bus": "redis", "bus_depth": 2, "dead_letters": 0}
        bus.client.xadd(bus.dead_stream, {"m": "{}", "stream": bus.stream(0), "entry": "1-0", "error": "X"})
        assert client.get("/readyz").json()["dead_letters"] == 1  # operators see it; still ready
        metrics = client.get("/metrics")
        assert metrics.status_code == 200
        assert 'calmline_ingest_rejected_total{reason="overloaded"}' in metrics.text
        assert 'calmline_ingest_events_total{status="queued",type="utterance"}' in metrics.text
        assert "c1" not in metrics.text  # never a call id (or text) in a label


def test_readyz_fails_when_the_bus_is_down(app: FastAPI) -> None:
    app.state.bus = RedisStreamsBus(StreamsConfig(url="redis://127.0.0.1:1/0"))
    with TestClient(app) as client:
        answer = client.get("/readyz")
    assert answer.status_code == 503 and answer.json()["error"] == "not_ready"


def test_ingest_answers_503_when_the_bus_is_down(app: FastAPI, service: CallService) -> None:
    service.publisher = BusPublisher(RedisStreamsBus(StreamsConfig(url="redis://127.0.0.1:1/0")), service)
    key = bearer(auth.create_api_key(service.db, "stt", ["ingest"]))
    with TestClient(app) as client:
        answer = client.post("/api/events", json=started("c1"), headers=key)
    assert answer.status_code == 503
    assert answer.json()["error"] == "bus_unavailable" and answer.headers["Retry-After"] == "1"


def test_api_role_never_steps_ticks(service: CallService, bus: RedisStreamsBus) -> None:
    service.publisher = BusPublisher(bus, service)
    assert service.tick() == []


def test_rows_committed_by_an_engine_reach_the_api_listeners(
    registry: AnalyzerRegistry, tmp_path: Path, make_bus: MakeBus
) -> None:
    bus = make_bus()
    db = make_engine(sqlite_url(tmp_path))
    migrate(db)
    engine_side = CallService(db, CallEngine(registry, load_alert_policy()), FakeClock())
    api_side = CallService(db, CallEngine(registry, load_alert_policy()), FakeClock())
    engine_side.subscribe(CommitRelay(bus, engine_side).announce)
    got: list[StoredEvent] = []
    arrived = threading.Event()

    def listener(rows: Sequence[StoredEvent]) -> None:
        got.extend(rows)
        if any(r.type == "alert.raised" for r in got):
            arrived.set()

    api_side.subscribe(listener)
    relay = CommitRelay(bus, api_side)
    relay.start()
    time.sleep(0.3)  # subscribed
    api_side.publisher = BusPublisher(bus, api_side)
    from calmline.events import parse_input

    api_side.ingest(parse_input(started("c9")))
    api_side.ingest(parse_input(utterance("c9", 1, "I want to die")))
    worker = EngineWorker(bus, engine_side, "w1", block_ms=20)
    deadline = time.monotonic() + 10
    while not arrived.is_set() and time.monotonic() < deadline:
        worker.run_once()
        arrived.wait(0.05)
    relay.stop()
    assert arrived.is_set()
    assert [r.id for r in got] == [r.id for r in engine_side.log.read_since(0, 100)]
    db.dispose()
