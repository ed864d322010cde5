"""An engine worker in its own process, for the kill -9 test (``python -m tests.scale.worker_proc``)."""

from __future__ import annotations

import sys
import threading

from calmline.bus.redis_streams import EngineWorker, RedisStreamsBus, StreamsConfig
from calmline.clock import FakeClock
from calmline.engine import CallEngine, load_alert_policy
from calmline.service import CallService
from calmline.store.db import make_engine
from calmline.testing.keywords import keyword_registry
from tests.conftest import ENGINE_RULES
from tests.scale.conftest import REDIS_URL
from tests.scale.harness import T0


def main(db_url: str, prefix: str, name: str) -> None:
    db = make_engine(db_url)
    service = CallService(db, CallEngine(keyword_registry(ENGINE_RULES), load_alert_policy()), FakeClock(T0))
    config = StreamsConfig(url=REDIS_URL, prefix=prefix, partitions=4, claim_idle_ms=300, lease_ms=300)
    worker = EngineWorker(RedisStreamsBus(config), service, name, block_ms=20)
    print("ready", flush=True)
    worker.run(threading.Event())


if __name__ == "__main__":
    main(*sys.argv[1:4])
