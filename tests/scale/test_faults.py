"""PostgreSQL restarting under a running worker, and the network between a worker and Redis failing.

The worker runs as in production (``EngineWorker.run`` in its own thread, errors logged and retried). The
fault hits mid-stream: half the script is stepped or in flight, and the other half is published while the
fault lasts, so the worker must meet it. Afterwards the event log and the alerts equal the undisturbed run's,
and nothing was dead-lettered (an outage of the infrastructure is never the event's fault).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

import pytest
from sqlalchemy import Engine, text

from calmline.analysis.base import AnalyzerRegistry
from calmline.bus.redis_streams import EngineWorker
from calmline.store.db import make_engine, migrate
from tests.scale.conftest import REDIS_URL
from tests.scale.harness import MakeBus, make_service, script, snapshot
from tests.scale.servers import FaultyLink, PrivatePostgres, wait_for


@contextmanager
def running(worker: EngineWorker) -> Iterator[None]:
    """``worker.run`` in a thread, stopped (and its leases released) on the way out."""
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), name=f"test-{worker.name}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive(), "the worker did not stop"


def _rows(db: Engine) -> int:
    with db.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM events")).scalar_one())


@pytest.mark.postgres
def test_postgres_restart_mid_stream_loses_nothing(
    private_postgres: PrivatePostgres,
    registry: AnalyzerRegistry,
    make_bus: MakeBus,
    baseline: dict[str, Any],
) -> None:
    db = make_engine(private_postgres.create_database())
    migrate(db)
    bus = make_bus()
    events = script()
    half = len(events) // 2
    for event in events[:half]:
        bus.publish(event)
    worker = EngineWorker(bus, make_service(db, registry), "w1", block_ms=20)
    worker.retry_pause_s = 0.05
    try:
        with running(worker):
            wait_for(lambda: _rows(db) >= 12, "a few events stepped")
            private_postgres.stop("immediate")  # a crash: open connections die, recovery on the next start
            for event in events[half:]:
                bus.publish(event)
            wait_for(lambda: worker.store_failures > 0, "the worker to find the database down")
            assert bus.depth() > 0  # the fault hit mid-stream: events wait for the database
            private_postgres.start()
            wait_for(lambda: bus.depth() == 0, "the bus drained after the restart")
        assert snapshot(make_service(db, registry)) == baseline
        assert bus.dead_letters() == []
    finally:
        db.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("mode", ["reset", "blackhole"])
def test_network_blip_between_worker_and_redis_loses_nothing(
    mode: str,
    pg: Engine,
    registry: AnalyzerRegistry,
    make_bus: MakeBus,
    baseline: dict[str, Any],
) -> None:
    bus = make_bus()  # the publisher's own, direct connection: only the worker's link fails
    target = urlparse(REDIS_URL)
    link = FaultyLink((target.hostname or "127.0.0.1", target.port or 6379))
    try:
        # A short socket timeout so that the blackhole (packets dropped, no reset) is noticed within the test.
        worker_url = f"redis://127.0.0.1:{link.port}{target.path}"
        worker = EngineWorker(
            make_bus(url=worker_url, socket_timeout_s=0.5), make_service(pg, registry), "w1"
        )
        worker.block_ms = 20
        events = script()
        half = len(events) // 2
        for event in events[:half]:
            bus.publish(event)
        with running(worker):
            wait_for(lambda: _rows(pg) >= 12, "a few events stepped")
            link.cut(mode)
            for event in events[half:]:
                bus.publish(event)
            wait_for(lambda: link.attempts_while_cut > 0, "the worker to notice and reconnect")
            threading.Event().wait(1.0)  # the blip lasts about a second (a pause, not a timed assertion)
            assert bus.depth() > 0  # nothing could be stepped while the link was down
            link.restore()
            wait_for(lambda: bus.depth() == 0, "the bus drained after the blip")
        assert snapshot(make_service(pg, registry)) == baseline
        assert bus.dead_letters() == []
    finally:
        link.close()
