"""Redis restarting under a worker, and the database failing for a moment: nothing lost, nothing doubled.

Redis runs here as a private server (its own port and append-only file in a temporary folder) so restarting it
disturbs nobody. A restart keeps the streams because the bus needs Redis with ``appendonly yes``
(docs/SCALING.md).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from calmline.analysis.base import AnalyzerRegistry
from calmline.bus.redis_streams import EngineWorker, RedisStreamsBus, StreamsConfig
from tests.conftest import IN_CI
from tests.scale.harness import MakeBus, drain, make_service, published, script, snapshot


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[str, Callable[[], None]]]:
    exe = shutil.which("redis-server")
    if exe is None:
        if IN_CI:
            pytest.fail("redis-server is required when CI=true")
        pytest.skip("redis-server not installed")
    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    args = [exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path), "--save", ""]
    args += ["--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no"]
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        procs.append(subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.RedisError:
                assert time.monotonic() < deadline, "private redis-server did not start"
                time.sleep(0.05)
        client.close()

    def restart() -> None:
        proc = procs[-1]
        proc.terminate()  # SIGTERM: Redis flushes its append-only file and exits
        proc.wait(10)
        start()

    start()
    yield url, restart
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


@pytest.mark.postgres
def test_redis_restart_mid_stream_loses_nothing(
    pg: Engine,
    registry: AnalyzerRegistry,
    private_redis: tuple[str, Callable[[], None]],
    baseline: dict[str, Any],
) -> None:
    url, restart = private_redis
    config = StreamsConfig(url=url, prefix="restart", partitions=4, claim_idle_ms=300, lease_ms=300)
    bus = RedisStreamsBus(config)
    bus.setup()
    for event in script():
        bus.publish(event)
    service = make_service(pg, registry)
    worker = EngineWorker(bus, service, "w1", block_ms=20)
    while len(service.log.read_since(0, 1000)) < 12:
        worker.run_once()
    restart()
    errors = 0
    deadline = time.monotonic() + 30
    while True:  # what ``EngineWorker.run`` does: a Redis error is logged and retried
        assert time.monotonic() < deadline
        try:
            if bus.depth() == 0:
                break
            worker.run_once()
        except redis.RedisError:
            errors += 1
            time.sleep(0.05)
    assert snapshot(make_service(pg, registry)) == baseline
    assert bus.dead_letters() == []


@pytest.mark.postgres
def test_database_blip_is_retried_not_lost(
    pg: Engine,
    registry: AnalyzerRegistry,
    make_bus: MakeBus,
    baseline: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bus = published(make_bus)
    service = make_service(pg, registry)
    append = service.log.append
    failures = {"left": 6}  # more than max_deliveries (3): a store outage never dead-letters an event

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if failures["left"] > 0 and service.log.read_since(0, 1000):  # after the first commit
            failures["left"] -= 1
            raise OperationalError("INSERT", {}, ConnectionError("server closed the connection"))
        return append(*args, **kwargs)

    monkeypatch.setattr(service.log, "append", flaky)
    worker = EngineWorker(bus, service, "w1", block_ms=20)
    worker.retry_pause_s = 0.01
    drain([worker], bus)
    assert failures["left"] == 0
    service.evict()
    assert snapshot(service) == baseline
    assert bus.dead_letters() == []


@pytest.mark.postgres
def test_commit_whose_answer_is_lost_is_not_stepped_twice(
    pg: Engine,
    registry: AnalyzerRegistry,
    make_bus: MakeBus,
    baseline: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The connection drops after COMMIT reached the server: the event is stored, the worker got an error.

    The retry finds the event in the log (``duplicate``) and the worker re-folds the call from the log, so the
    next event is stepped, not held as if the stored one were still missing.
    """
    bus = published(make_bus)
    service = make_service(pg, registry)
    append = service.log.append
    lost = {"left": 2}

    def commit_then_fail(*args: Any, **kwargs: Any) -> Any:
        rows = append(*args, **kwargs)
        if lost["left"] > 0 and len(service.log.read_since(0, 1000)) > 12:
            lost["left"] -= 1
            raise OperationalError("COMMIT", {}, ConnectionError("server closed the connection"))
        return rows

    monkeypatch.setattr(service.log, "append", commit_then_fail)
    worker = EngineWorker(bus, service, "w1", block_ms=20)
    worker.retry_pause_s = 0.01
    drain([worker], bus)
    assert lost["left"] == 0
    assert service.log.held() == []
    assert snapshot(make_service(pg, registry)) == baseline
    assert bus.dead_letters() == []


@pytest.mark.postgres
def test_store_failing_while_releasing_held_events_leaves_no_call_stuck(
    pg: Engine,
    registry: AnalyzerRegistry,
    make_bus: MakeBus,
    baseline: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each call's seq 2 arrives before seq 1 (held); the store fails after seq 1 is stepped, mid-release.

    The retry of seq 1 is a ``duplicate``; the held seq 2 must still be stepped then, or every later event of
    the call would be held behind it until the gap timeout.
    """
    bus = make_bus()
    events = script()
    for c in range(4):
        calls = [e for e in events if getattr(e, "call_id", None) == f"scale-{c}"]
        for event in [calls[0], calls[2], calls[1], *calls[3:]]:
            bus.publish(event)
    service = make_service(pg, registry)
    append = service.log.append
    failed: set[str] = set()

    def flaky(stream: str, event: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(event, "seq", None) == 2 and stream not in failed:  # the held event, as it is released
            failed.add(stream)
            raise OperationalError("INSERT", {}, ConnectionError("server closed the connection"))
        return append(stream, event, *args, **kwargs)

    monkeypatch.setattr(service.log, "append", flaky)
    worker = EngineWorker(bus, service, "w1", block_ms=20)
    worker.retry_pause_s = 0.01
    drain([worker], bus)
    assert len(failed) == 4
    assert service.log.held() == []
    assert snapshot(make_service(pg, registry)) == baseline
