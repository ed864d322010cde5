"""Redis Streams bus: partitioned by call id, consumer groups, leases, reclaim and dead letters.

Layout (``prefix`` defaults to ``calmline``):

- ``{prefix}:p{i}`` and ``{prefix}:p{i}:hi`` for each partition ``i`` (``crc32(call_id) % partitions``):
  the ordinary lane and the priority lane (calls with an open high or critical alert, and deadline ticks).
  Both lanes of a partition are read by one consumer group, ``engine``.
- ``{prefix}:lease:p{i}``: which worker owns partition ``i`` (``SET NX PX``, renewed while it lives). Only the
  owner reads the partition, so one call's events are stepped by one worker at a time, in stream order.
- ``{prefix}:dead``: the dead-letter stream. An entry that fails ``max_deliveries`` times is moved there, with
  its partition, entry id and error class, acknowledged, and reported (log ``bus.dead_letter`` at error level
  and the ``calmline_bus_dead_letters_total`` counter).
- ``{prefix}:committed``: a pub/sub channel on which workers announce the log ids they committed, so API
  processes feed their live hubs (the ids only: the rows are read from the log).

Entries hold the input event as JSON and are deleted once acknowledged (``XACK`` + ``XDEL``), so transcript
text stays in Redis only while it waits, and ``XLEN`` summed over the streams is the exact queue depth.

Exactly-once effects come from the log, not the bus: a worker appends an event, then acknowledges it. Dying in
between means the event is delivered again and the service answers ``duplicate`` (the log is unique on
(call_id, seq)), so nothing is written twice. Re-deliveries out of order are put back in order by the
service's sequencer (early events are held until the missing ``seq`` arrives).
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import redis
import structlog
from sqlalchemy.exc import InterfaceError, OperationalError

from calmline import observability as obs
from calmline import tracing
from calmline.bus.base import Backpressure, partition_of
from calmline.bus.dead_letters import describe
from calmline.events import Tick, parse_input
from calmline.store.log import dump

if TYPE_CHECKING:
    from calmline.events import InputEvent
    from calmline.service import CallService

log = structlog.get_logger("calmline.bus")

_RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
)
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


@dataclass(frozen=True, slots=True)
class StreamsConfig:
    """Names and limits of the Redis Streams bus."""

    url: str = "redis://127.0.0.1:6379/0"
    prefix: str = "calmline"
    partitions: int = 8
    group: str = "engine"
    max_depth: int = 10_000
    max_deliveries: int = 5
    claim_idle_ms: int = 3_000
    lease_ms: int = 3_000
    retry_after_s: int = 2
    #: A reply not back within this time is a lost connection (a network blip that drops packets, not only one
    #: that resets the connection): redis-py reconnects and retries instead of waiting forever.
    socket_timeout_s: float = 5.0


class RedisStreamsBus:
    """Publishes input events to partitioned streams; read by ``EngineWorker``."""

    name = "redis"

    def __init__(self, config: StreamsConfig, client: redis.Redis | None = None) -> None:
        self.config = config
        self.client: redis.Redis = client or redis.Redis.from_url(
            config.url,
            decode_responses=True,
            socket_connect_timeout=2,
            socket_timeout=config.socket_timeout_s,
            socket_keepalive=True,
            health_check_interval=30,
        )
        self._depth_cache: tuple[float, int] = (0.0, 0)
        self._setup_done = False

    # -- names ------------------------------------------------------------------------------------------

    def stream(self, partition: int, *, priority: bool = False) -> str:
        """The stream of one partition's lane."""
        return f"{self.config.prefix}:p{partition}{':hi' if priority else ''}"

    def streams(self) -> list[str]:
        """Every partition stream, both lanes."""
        return [self.stream(p, priority=hi) for p in range(self.config.partitions) for hi in (True, False)]

    @property
    def dead_stream(self) -> str:
        """Where poison events go."""
        return f"{self.config.prefix}:dead"

    @property
    def channel(self) -> str:
        """The pub/sub channel announcing committed log ids."""
        return f"{self.config.prefix}:committed"

    def setup(self) -> None:
        """Create the consumer group on every stream (idempotent)."""
        if self._setup_done:
            return
        for name in self.streams():
            try:
                self.client.xgroup_create(name, self.config.group, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        self._setup_done = True

    # -- publishing -------------------------------------------------------------------------------------

    def publish(self, event: InputEvent, *, priority: bool = False, check: bool = True) -> str:
        """Append the event to its call's partition; refuse with ``Backpressure`` when over the limit.

        Priority events (calls with an active high-risk alert) are refused only past ten times the limit:
        back-pressure slows calm calls first.
        """
        if check:
            depth = self.depth(cached=True)
            limit = self.config.max_depth * (10 if priority else 1)
            if depth >= limit:
                raise Backpressure(depth, limit, self.config.retry_after_s)
        call_id = getattr(event, "call_id", None) or getattr(event, "agent_id", "")
        message: dict[str, Any] = {"e": dump(event), "t": time.time()}
        attributes = tracing.event_attributes(event, lane="priority" if priority else "normal")
        with tracing.span("calmline.bus.publish", attributes):
            tracing.inject(message)  # the engine step's span joins this trace (no-op without tracing)
            return self._add(partition_of(str(call_id), self.config.partitions), message, priority)

    def publish_control(self, kind: str, call_id: str, at: datetime) -> str:
        """Ask the owner of a call's partition to check its deadlines (``tick``) or its gaps (``gaps``)."""
        message = {"c": kind, "call_id": call_id, "at": at.isoformat(), "t": time.time()}
        return self._add(partition_of(call_id, self.config.partitions), message, True)

    def _add(self, partition: int, message: dict[str, Any], priority: bool) -> str:
        self.setup()
        body = json.dumps(message, separators=(",", ":"))
        return str(self.client.xadd(self.stream(partition, priority=priority), {"m": body}))

    # -- health -----------------------------------------------------------------------------------------

    def depth(self, *, cached: bool = False) -> int:
        """Entries waiting or in flight on every partition (cached for 100 ms when ``cached``)."""
        now = time.monotonic()
        if cached and now - self._depth_cache[0] < 0.1:
            return self._depth_cache[1]
        pipe = self.client.pipeline(transaction=False)
        for name in self.streams():
            pipe.xlen(name)
        total = sum(int(n) for n in pipe.execute())
        self._depth_cache = (now, total)
        return total

    def ping(self) -> bool:
        """Whether Redis answers."""
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False

    def dead_letters(self) -> list[dict[str, Any]]:
        """The dead-letter entries (oldest first), each with its id in the dead-letter stream as ``id``."""
        entries: Any = self.client.xrange(self.dead_stream)
        return [{**fields, "id": str(entry_id)} for entry_id, fields in entries]

    def dead_letter_count(self) -> int:
        """Dead letters waiting for an operator (``calmline bus dead-letters list|redrive|drop``)."""
        return int(self.client.xlen(self.dead_stream))


#: Failures of the infrastructure rather than of the event: retried without limit, never dead-lettered.
_INFRASTRUCTURE: tuple[type[Exception], ...] = (OperationalError, InterfaceError, redis.RedisError)


def _field(stream: str, entry_id: str) -> str:
    """The key of an entry in the failure and claim counts: entry ids are unique per stream only."""
    return f"{stream}/{entry_id}"


class _Unavailable(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class EngineWorker:
    """Consumes the partitions this worker holds leases on and steps their events through the service."""

    def __init__(
        self, bus: RedisStreamsBus, service: CallService, name: str | None = None, *, block_ms: int = 200
    ) -> None:
        self.bus = bus
        self.service = service
        self.name = name or f"engine-{uuid.uuid4().hex[:8]}"
        self.block_ms = block_ms
        self.owned: set[int] = set()
        self._balanced_at = 0.0
        self._ticked_at = 0.0
        self.processed = 0
        #: Pause after the store failed (the entries stay pending and are tried again).
        self.retry_pause_s = 0.5
        self._recheck_pending = True
        #: Rounds that found the store down, and the bus (Redis) unreachable; for tests and debugging.
        self.store_failures = 0
        self.bus_failures = 0

    # -- leases -----------------------------------------------------------------------------------------

    def _lease(self, key: str) -> str:
        return f"{self.bus.config.prefix}:lease:{key}"

    def _hold(self, key: str) -> bool:
        """Acquire or renew the lease ``key``; True while this worker holds it."""
        client, ttl = self.bus.client, self.bus.config.lease_ms
        if client.set(self._lease(key), self.name, nx=True, px=ttl):
            return True
        return bool(client.eval(_RENEW, 1, self._lease(key), self.name, ttl))

    def balance(self) -> None:
        """Heartbeat, renew this worker's leases, take free partitions up to a fair share, free extras."""
        cfg, client = self.bus.config, self.bus.client
        client.set(f"{cfg.prefix}:worker:{self.name}", "1", px=cfg.lease_ms)
        alive = sum(1 for _ in client.scan_iter(f"{cfg.prefix}:worker:*", count=200)) or 1
        share = math.ceil(cfg.partitions / alive)
        for p in sorted(self.owned):
            if not self._hold(f"p{p}"):
                self.owned.discard(p)  # lost it (we stalled past the lease): someone else steps these calls
                self.service.evict()
        while len(self.owned) > share:
            p = max(self.owned)
            client.eval(_RELEASE, 1, self._lease(f"p{p}"), self.name)
            self.owned.discard(p)
        for p in range(cfg.partitions):
            if len(self.owned) >= share:
                break
            if p not in self.owned and client.set(self._lease(f"p{p}"), self.name, nx=True, px=cfg.lease_ms):
                self.owned.add(p)
                self._recheck_pending = True
                self.service.evict()  # cached states may be stale: rebuild this call's state from the log
                log.info("bus.partition.taken", worker=self.name, partition=p)
        for p in self.owned:
            self._reclaim(p)
        # Re-read this worker's own pending entries each heartbeat: a reply lost to a network blip (entries
        # delivered, the answer never arrived, redis-py's retry read new ones) is picked up within lease/3
        # rather than waiting to be reclaimed as if this worker had died.
        self._recheck_pending = True
        obs.DEAD_LETTERS_WAITING.set(self.bus.dead_letter_count())
        self._balanced_at = time.monotonic()

    def _reclaim(self, partition: int) -> None:
        """Take over entries another (dead) worker left pending for longer than ``claim_idle_ms``."""
        cfg = self.bus.config
        for hi in (True, False):
            name, start = self.bus.stream(partition, priority=hi), "0-0"
            while True:
                reply: Any = self.bus.client.xautoclaim(
                    name, cfg.group, self.name, cfg.claim_idle_ms, start_id=start, count=100
                )
                start, claimed = str(reply[0]), reply[1]
                if claimed:
                    obs.REDELIVERED.inc(len(claimed))
                    log.warning("bus.reclaimed", worker=self.name, partition=partition, entries=len(claimed))
                    self._count_claims(name, claimed)
                    self._recheck_pending = True
                if start == "0-0" or not claimed:
                    break

    def _count_claims(self, stream: str, claimed: list[tuple[str, dict[str, str]]]) -> None:
        """An entry taken over ``max_deliveries`` times has killed that many workers: dead-letter it."""
        key = f"{self.bus.config.prefix}:claims"
        for entry_id, fields in claimed:
            count = int(self.bus.client.hincrby(key, _field(stream, entry_id), 1))
            if count >= self.bus.config.max_deliveries and fields:
                self._dead_letter(stream, entry_id, fields, "WorkerDied", self.bus.config.max_deliveries)

    def release(self) -> None:
        """Give back every lease (clean shutdown) so another worker takes over at once."""
        for p in list(self.owned):
            self.bus.client.eval(_RELEASE, 1, self._lease(f"p{p}"), self.name)
        self.bus.client.delete(f"{self.bus.config.prefix}:worker:{self.name}")
        self.owned.clear()

    # -- consuming --------------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set; Redis errors are logged and retried, never fatal."""
        self.bus.setup()
        try:
            while not stop.is_set():
                try:
                    self.run_once()
                except redis.RedisError as exc:
                    self.bus_failures += 1
                    self._recheck_pending = True  # a read or an XACK may have been lost with the connection
                    obs.ERRORS.labels("bus", type(exc).__name__).inc()
                    log.error("bus.unreachable", worker=self.name, error=type(exc).__name__)
                    time.sleep(0.5)
                except Exception as exc:  # e.g. the store down during the tick: never let the worker die
                    self._recheck_pending = True
                    obs.ERRORS.labels("engine", type(exc).__name__).inc()
                    log.error("engine.round_failed", worker=self.name, error=type(exc).__name__)
                    time.sleep(0.5)
        finally:
            with contextlib.suppress(redis.RedisError):
                self.release()

    def run_once(self) -> int:
        """One round: leases, the leader's tick, own pending entries, then new ones (priority lane first)."""
        self.bus.setup()
        if time.monotonic() - self._balanced_at > self.bus.config.lease_ms / 3000:
            self.balance()
        if time.monotonic() - self._ticked_at >= 1.0:
            self._tick()
        if not self.owned:
            time.sleep(self.block_ms / 1000)
            return 0
        group, client = self.bus.config.group, self.bus.client
        hi = [self.bus.stream(p, priority=True) for p in sorted(self.owned)]
        lo = [self.bus.stream(p) for p in sorted(self.owned)]
        done = 0
        if self._recheck_pending:  # retries, reclaimed entries, or what this name left before a restart
            self._recheck_pending = False
            done = self._consume(client.xreadgroup(group, self.name, dict.fromkeys(hi + lo, "0"), count=100))
        done += self._consume(client.xreadgroup(group, self.name, dict.fromkeys(hi, ">"), count=100))
        if done == 0:
            done += self._consume(
                client.xreadgroup(group, self.name, dict.fromkeys(lo, ">"), count=100, block=self.block_ms)
            )
        return done

    def _consume(self, reply: Any) -> int:
        count = 0
        try:
            for stream, entries in reply or ():
                for entry_id, fields in entries:
                    if fields:  # an entry deleted while pending comes back without fields: acknowledge it
                        self._handle(stream, entry_id, fields)
                    else:
                        self._ack(stream, entry_id)
                    count += 1
        except _Unavailable as exc:  # the store is down: leave everything pending, retry after a pause
            self.store_failures += 1
            obs.ERRORS.labels("engine", exc.error).inc()
            log.warning("store.unavailable", worker=self.name, error=exc.error)
            self._recheck_pending = True
            # A commit whose answer was lost may have happened or not: the cached states cannot be trusted, so
            # each call is re-folded from the log (a retried event already stored is then a ``duplicate``).
            self.service.evict()
            time.sleep(self.retry_pause_s)
        return count

    def _handle(self, stream: str, entry_id: str, fields: dict[str, str]) -> None:
        try:
            message = json.loads(fields["m"])
            lane = "priority" if stream.endswith(":hi") else "normal"
            obs.QUEUE_SECONDS.labels(lane).observe(
                max(0.0, time.time() - float(message.get("t", time.time())))
            )
            if "c" in message:
                self._control(message)
            else:
                self._step(message, lane)
        except _INFRASTRUCTURE as exc:  # not the event's fault: never counted towards a dead letter
            raise _Unavailable(type(exc).__name__) from exc
        except Exception as exc:
            self._failed(stream, entry_id, fields, exc)
            return
        self._ack(stream, entry_id)
        self.processed += 1

    def _step(self, message: dict[str, Any], lane: str) -> None:
        event = parse_input(message["e"])
        started = time.perf_counter()
        attributes = tracing.event_attributes(event, lane=lane)
        with tracing.span("calmline.bus.consume", attributes, parent=message) as span:
            result = self.service.ingest(event)
            span.set_attribute("calmline.ingest.status", result.status)
        obs.observe_step(event.type, result.status, started)
        if event.type == "utterance":
            obs.observe_alerts(result.outputs, float(message.get("t", time.time())))

    def _control(self, message: dict[str, Any]) -> None:
        from calmline.engine.protocols import next_deadline

        call_id, at = str(message["call_id"]), datetime.fromisoformat(message["at"])
        if message["c"] == "tick":
            due = next_deadline(self.service.state(call_id))
            if due is not None and due <= at:
                self.service.ingest(Tick(call_id=call_id, at=at))
        elif message["c"] == "gaps":
            self.service.declare_gaps(call_id)

    def _ack(self, stream: str, entry_id: str) -> None:
        pipe = self.bus.client.pipeline(transaction=False)
        pipe.xack(stream, self.bus.config.group, entry_id)
        pipe.xdel(stream, entry_id)
        pipe.hdel(f"{self.bus.config.prefix}:failures", _field(stream, entry_id))
        pipe.hdel(f"{self.bus.config.prefix}:claims", _field(stream, entry_id))
        pipe.execute()

    def _failed(self, stream: str, entry_id: str, fields: dict[str, str], exc: Exception) -> None:
        """Count a failed delivery; past ``max_deliveries`` move the entry to the dead-letter stream."""
        cfg, client = self.bus.config, self.bus.client
        obs.ERRORS.labels("engine", type(exc).__name__).inc()
        failures = int(client.hincrby(f"{cfg.prefix}:failures", _field(stream, entry_id), 1))
        if failures < cfg.max_deliveries:
            self._recheck_pending = True
            log.warning(
                "bus.retry", worker=self.name, stream=stream, entry=entry_id, error=type(exc).__name__
            )
            return
        self._dead_letter(stream, entry_id, fields, type(exc).__name__, failures)

    def _dead_letter(
        self, stream: str, entry_id: str, fields: dict[str, str], error: str, failures: int
    ) -> None:
        dead: Any = {**fields, "stream": stream, "entry": entry_id, "error": error, "failures": failures}
        dead_id = self.bus.client.xadd(self.bus.dead_stream, dead)
        self._ack(stream, entry_id)
        obs.DEAD_LETTERS.inc()
        # The operator alert: this line at error level, the dead-letter counter and gauge, /readyz's count.
        # ``describe`` keeps the call id, seq and event type, never the text.
        about = describe(dead)
        log.error(
            "bus.dead_letter",
            worker=self.name,
            dead_letter=str(dead_id),
            call_id=about.get("call_id"),
            seq=about.get("seq"),
            type=about.get("type"),
            stream=stream,
            entry=entry_id,
            reason=error,
            failures=failures,
            action="calmline bus dead-letters list, fix the cause, then redrive",
        )

    # -- time -------------------------------------------------------------------------------------------

    def _tick(self) -> None:
        """The worker holding the ``ticker`` lease asks partition owners to check deadlines and gaps."""
        self._ticked_at = time.monotonic()
        self.service.refresh_protocols()
        if not self._hold("ticker"):
            return
        service = self.service
        now = service.clock.now()
        for call_id in service.projections.calls_with_due_deadlines(now):
            self.bus.publish_control("tick", call_id, now)
        for call_id in sorted({h.stream for h in service.log.held()}):
            self.bus.publish_control("gaps", call_id, now)
        from calmline.security import retention

        retention.run_scheduled(service.db, now)
        for hook in service.tick_hooks:
            hook(now)
