"""The Redis Streams bus against real Redis and PostgreSQL: crash, re-delivery, reorder, poison, priority.

Every fault test compares the event log and the alerts with an undisturbed run of the same input (the
in-process bus on SQLite): a worker dying, a duplicate or a reordering changes nothing.
"""

from __future__ import annotations

import random
import time
from typing import Any

import pytest
from sqlalchemy import Engine

from calmline import observability as obs
from calmline.analysis.base import AnalyzerRegistry
from calmline.bus import Backpressure, partition_of
from calmline.bus.redis_streams import EngineWorker
from calmline.events import CallStarted, UtteranceReceived
from calmline.store.db import make_engine, migrate
from tests.scale.harness import T0, MakeBus, drain, make_service, script, snapshot


def test_partition_is_a_stable_hash_of_the_call_id() -> None:
    assert partition_of("c-1001", 8) == partition_of("c-1001", 8)
    assert {partition_of(f"c-{i}", 8) for i in range(200)} == set(range(8))


@pytest.mark.postgres
def test_undisturbed_run_on_redis_and_postgres_equals_the_in_process_run(
    pg: Engine, registry: AnalyzerRegistry, make_bus: MakeBus, baseline: dict[str, Any]
) -> None:
    bus = make_bus()
    service = make_service(pg, registry)
    for event in script():
        bus.publish(event)
    drain([EngineWorker(bus, service, "w1", block_ms=20)], bus)
    assert snapshot(service) == baseline


class Killed(Exception):
    """The worker's process dies (here: its thread stops) between committing an event and acknowledging it."""


@pytest.mark.postgres
def test_worker_killed_mid_stream_loses_nothing_and_duplicates_nothing(
    pg: Engine, registry: AnalyzerRegistry, make_bus: MakeBus, baseline: dict[str, Any]
) -> None:
    bus = make_bus()
    events = script()
    half = len(events) // 2
    for event in events[:half]:
        bus.publish(event)
    doomed = EngineWorker(bus, make_service(pg, registry), "doomed", block_ms=20)
    acked = 0
    real_ack = doomed._ack

    def ack_then_die(stream: str, entry_id: str) -> None:
        nonlocal acked
        if acked == 7:
            raise Killed  # committed to the log, never acknowledged
        acked += 1
        real_ack(stream, entry_id)

    doomed._ack = ack_then_die  # type: ignore[method-assign]
    with pytest.raises(Killed):
        for _ in range(100):
            doomed.run_once()
    # The worker is gone: no release of its leases, its entries stay pending in Redis.
    assert bus.depth() > 0
    for event in events[half:]:
        bus.publish(event)
    redelivered = obs.REDELIVERED._value.get()
    # A new process: a fresh service (empty cache: it rebuilds each call's state from the log).
    successor = EngineWorker(bus, make_service(pg, registry), "successor", block_ms=20)
    time.sleep(0.35)  # the dead worker's leases and heartbeat expire (lease_ms=300)
    drain([successor], bus)
    assert obs.REDELIVERED._value.get() > redelivered  # its pending entries were reclaimed
    assert snapshot(make_service(pg, registry)) == baseline
    assert bus.dead_letters() == []


@pytest.mark.postgres
def test_duplicated_and_reordered_deliveries_change_nothing(
    pg: Engine, registry: AnalyzerRegistry, make_bus: MakeBus, baseline: dict[str, Any]
) -> None:
    bus = make_bus()
    events = script()
    deliveries = events + random.Random(9).sample(events, len(events) // 2)  # half of them twice
    random.Random(4).shuffle(deliveries)
    for event in deliveries:
        bus.publish(event, check=False)
    service = make_service(pg, registry)
    drain([EngineWorker(bus, service, "w1", block_ms=20)], bus)
    assert service.log.held() == []
    assert snapshot(service) == baseline
    assert all(service.replay(f"scale-{c}").ok for c in range(4))


@pytest.mark.postgres
def test_two_workers_split_the_partitions_and_equal_the_undisturbed_run(
    pg: Engine, registry: AnalyzerRegistry, make_bus: MakeBus, baseline: dict[str, Any]
) -> None:
    bus = make_bus()
    first = EngineWorker(bus, make_service(pg, registry), "w1", block_ms=20)
    second = EngineWorker(bus, make_service(pg, registry), "w2", block_ms=20)
    first.balance()
    assert first.owned == {0, 1, 2, 3}
    second.balance()
    first.balance()  # sees two workers alive: keeps its fair share, frees the rest
    second.balance()
    assert len(first.owned) == len(second.owned) == 2
    assert first.owned.isdisjoint(second.owned)
    for event in script():
        bus.publish(event)
    drain([first, second], bus)
    assert first.processed > 0 and second.processed > 0
    assert snapshot(make_service(pg, registry)) == baseline


@pytest.mark.postgres
def test_poison_event_goes_to_the_dead_letter_stream_and_the_rest_go_on(
    pg: Engine, registry: AnalyzerRegistry, make_bus: MakeBus, baseline: dict[str, Any]
) -> None:
    bus = make_bus()
    bus.client.xadd(bus.stream(0), {"m": "{not json"})
    for event in script():
        bus.publish(event)
    dead_before = obs.DEAD_LETTERS._value.get()
    service = make_service(pg, registry)
    drain([EngineWorker(bus, service, "w1", block_ms=20)], bus)
    dead = bus.dead_letters()
    assert len(dead) == 1
    assert dead[0]["error"] == "JSONDecodeError" and int(dead[0]["failures"]) >= 1
    assert obs.DEAD_LETTERS._value.get() == dead_before + 1
    assert snapshot(service) == baseline


def test_priority_lane_is_stepped_first(registry: AnalyzerRegistry, make_bus: MakeBus) -> None:
    db = make_engine("sqlite://")
    migrate(db)
    bus = make_bus(partitions=1)
    bus.publish(CallStarted(call_id="calm", seq=0, started_at=T0))
    bus.publish(CallStarted(call_id="crisis", seq=0, started_at=T0), priority=True)
    service = make_service(db, registry)
    EngineWorker(bus, service, "w1", block_ms=20).run_once()
    first = service.log.read_since(0, 10)[0]
    assert first.stream == "crisis"
    db.dispose()


def test_back_pressure_refuses_calm_calls_first(make_bus: MakeBus) -> None:
    bus = make_bus(max_depth=3)
    for seq in range(3):
        bus.publish(
            UtteranceReceived(call_id="calm", seq=seq, speaker="caller", text="hi", start_ms=0, end_ms=1)
        )
    with pytest.raises(Backpressure) as refused:
        bus._depth_cache = (0.0, 0)  # forget the depth cached by the publishes above (100 ms)
        bus.publish(
            UtteranceReceived(call_id="calm", seq=3, speaker="caller", text="hi", start_ms=0, end_ms=1)
        )
    assert refused.value.retry_after == 2
    bus.publish(
        UtteranceReceived(call_id="hot", seq=0, speaker="caller", text="hi", start_ms=0, end_ms=1),
        priority=True,
    )
    assert bus.depth() == 4  # nothing dropped: the refused event was never queued, the hot one was


@pytest.mark.postgres
def test_worker_process_killed_with_sigkill_mid_stream(
    pg: Engine, registry: AnalyzerRegistry, make_bus: MakeBus, baseline: dict[str, Any]
) -> None:
    import os
    import signal
    import subprocess
    import sys

    bus = make_bus()
    url = pg.url.render_as_string(hide_password=False)
    events = script()
    for event in events:
        bus.publish(event)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.scale.worker_proc", url, bus.config.prefix, "victim"],
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    try:
        service = make_service(pg, registry)
        deadline = time.monotonic() + 60
        while len(service.log.read_since(0, 1000)) < 12:  # mid-stream: a few events stepped
            assert proc.poll() is None and time.monotonic() < deadline, "the worker did not start"
            time.sleep(0.005)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    stepped = len(service.log.read_since(0, 1000))
    assert bus.depth() > 0, "killed too late: nothing left to take over"
    time.sleep(0.35)  # its leases and heartbeat expire
    drain([EngineWorker(bus, make_service(pg, registry), "successor", block_ms=20)], bus)
    assert stepped < len(service.log.read_since(0, 1000))
    assert snapshot(make_service(pg, registry)) == baseline
    assert bus.dead_letters() == []
