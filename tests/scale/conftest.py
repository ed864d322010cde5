"""Real Redis and PostgreSQL for the scale-out tests (skipped locally when absent, a failure when CI=true)."""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from sqlalchemy import Engine

from calmline.analysis.base import AnalyzerRegistry
from calmline.bus.redis_streams import RedisStreamsBus, StreamsConfig
from tests.conftest import IN_CI, _postgres_schema
from tests.scale.harness import undisturbed_run

REDIS_URL = os.environ.get("CALMLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        if IN_CI:
            pytest.fail(f"Redis is required when CI=true and is not reachable at {REDIS_URL}")
        pytest.skip("Redis not reachable (set CALMLINE_TEST_REDIS_URL)")
    return client


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = _redis()
    yield client
    client.close()


@pytest.fixture
def make_bus(redis_client: redis.Redis) -> Iterator[object]:
    """Build buses on a prefix of their own (every key is deleted afterwards)."""
    prefix = f"calmline-test-{uuid.uuid4().hex[:10]}"

    def make(**overrides: Any) -> RedisStreamsBus:
        config = StreamsConfig(
            url=REDIS_URL,
            prefix=prefix,
            partitions=4,
            claim_idle_ms=300,
            lease_ms=300,
            max_deliveries=3,
            retry_after_s=2,
        )
        bus = RedisStreamsBus(dataclasses.replace(config, **overrides))
        bus.setup()
        return bus

    yield make
    for key in redis_client.scan_iter(f"{prefix}:*", count=500):
        redis_client.delete(key)


@pytest.fixture
def baseline(registry: AnalyzerRegistry) -> dict[str, Any]:
    """The log and alerts of the scripted calls run undisturbed (in-process bus, SQLite)."""
    return undisturbed_run(registry)


@pytest.fixture
def pg() -> Iterator[Engine]:
    """A migrated, empty PostgreSQL schema."""
    yield from _postgres_schema()


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[object]:
    """A PostgreSQL cluster of the test session's own, which a test may stop and start (initdb once)."""
    from tests.scale.servers import PrivatePostgres, postgres_bin

    bindir = postgres_bin()
    if bindir is None:
        if IN_CI:
            pytest.fail("initdb and pg_ctl are required when CI=true (the PostgreSQL server package)")
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not installed")
    cluster = PrivatePostgres(bindir)
    try:
        cluster.init()
        yield cluster
    finally:
        cluster.destroy()
