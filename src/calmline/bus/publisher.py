"""The API side of the Redis Streams bus: publishing ingested events, and relaying committed rows back.

``BusPublisher`` is ``CallService.publisher`` for ``calmline serve --role api``; ``CommitRelay`` announces the
log ids an engine worker committed (ids only, never PHI) and feeds them to the API's live hub.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

import redis
from sqlalchemy import select

from calmline import observability as obs
from calmline.bus.base import BusUnavailable
from calmline.bus.redis_streams import RedisStreamsBus

if TYPE_CHECKING:
    from calmline.events import InputEvent
    from calmline.service import CallService, IngestResult
    from calmline.store.log import StoredEvent


class BusPublisher:
    """``CallService.publisher`` for ``--role api``: put events on the bus instead of stepping them."""

    def __init__(self, bus: RedisStreamsBus, service: CallService, refresh_s: float = 1.0) -> None:
        self.bus = bus
        self.service = service
        self.refresh_s = refresh_s
        self._hot: frozenset[str] = frozenset()
        self._hot_at = 0.0
        self._guard = threading.Lock()

    def __call__(self, event: InputEvent) -> IngestResult:
        """Publish the event (priority lane for hot calls); raises ``Backpressure`` when over the limit."""
        from calmline.service import IngestResult

        call_id = getattr(event, "call_id", None)
        try:
            self.bus.publish(event, priority=call_id is not None and call_id in self.hot_calls())
        except redis.RedisError as exc:
            obs.ERRORS.labels("bus", type(exc).__name__).inc()
            raise BusUnavailable(type(exc).__name__) from exc
        return IngestResult("queued", call_id, getattr(event, "seq", None), detail="queued for the engine")

    def hot_calls(self) -> frozenset[str]:
        """Active calls with an open high or critical alert (re-read from the projection each second)."""
        if time.monotonic() - self._hot_at < self.refresh_s:
            return self._hot
        with self._guard:
            from calmline.store.schema import calls

            query = select(calls.c.call_id).where(
                calls.c.status == "active",
                calls.c.open_alerts > 0,
                calls.c.max_severity.in_(("high", "critical")),
            )
            with self.service.db.connect() as conn:
                self._hot = frozenset(str(r[0]) for r in conn.execute(query))
            self._hot_at = time.monotonic()
        return self._hot


class CommitRelay:
    """Announces committed log ids (engine side) and feeds them to the local listeners (API side)."""

    def __init__(self, bus: RedisStreamsBus, service: CallService) -> None:
        self.bus = bus
        self.service = service
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def announce(self, rows: Iterable[StoredEvent]) -> None:
        """Engine listener: publish the ids of the rows just committed."""
        ids = [r.id for r in rows]
        if ids:
            try:
                self.bus.client.publish(self.bus.channel, json.dumps(ids))
            except redis.RedisError as exc:  # the live view catches up with ?after=; never block a step
                obs.ERRORS.labels("relay", type(exc).__name__).inc()

    def start(self) -> None:
        """API side: a thread reading announcements and handing the rows to the service's listeners."""
        self._thread = threading.Thread(target=self._listen, name="calmline-relay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the listening thread."""
        self._stop.set()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                pubsub = self.bus.client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
                pubsub.subscribe(self.bus.channel)
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message and message.get("type") == "message":
                        self._deliver([int(i) for i in json.loads(message["data"])])
            except redis.RedisError as exc:
                obs.ERRORS.labels("relay", type(exc).__name__).inc()
                time.sleep(0.5)

    def _deliver(self, ids: list[int]) -> None:
        wanted = set(ids)
        lo, hi = min(ids), max(ids)
        rows = [r for r in self.service.log.read_since(lo - 1, hi - lo + 1) if r.id in wanted]
        if rows:
            self.service.relay(rows)
