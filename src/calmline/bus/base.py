"""The bus port: how an accepted input event reaches the engine.

Two adapters: ``InProcessBus`` (the embedded default: the event is stepped at once, in the ingesting
thread, exactly as ``CallService.ingest`` always did) and ``RedisStreamsBus`` (``calmline.bus.redis_streams``:
streams partitioned by call id, consumed by engine workers). The engine never knows which one is in use.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from calmline.events import InputEvent
    from calmline.service import CallService, IngestResult


class Backpressure(Exception):
    """The bus is over its depth limit: the client should retry after ``retry_after`` seconds."""

    def __init__(self, depth: int, limit: int, retry_after: int) -> None:
        super().__init__(f"bus depth {depth} is over the limit {limit}")
        self.depth = depth
        self.limit = limit
        self.retry_after = retry_after


class BusUnavailable(Exception):
    """The bus cannot be reached: nothing was queued, the client should retry shortly."""

    retry_after = 1


class Bus(Protocol):
    """Carries input events from ingest to the engine."""

    name: str

    def depth(self) -> int:
        """Events accepted but not yet stepped (0 for the in-process bus)."""
        ...

    def ping(self) -> bool:
        """Whether the bus answers (for ``/readyz``)."""
        ...


def partition_of(call_id: str, partitions: int) -> int:
    """The partition of a call: a stable hash (CRC-32) of its id, so every process agrees."""
    return zlib.crc32(call_id.encode("utf-8")) % partitions


class InProcessBus:
    """The embedded default: ``publish`` steps the event now, in this process (no queue, depth 0)."""

    name = "inprocess"

    def __init__(self, service: CallService) -> None:
        self.service = service

    def publish(self, event: InputEvent) -> IngestResult:
        """Sequence, step, append and publish the event; returns what happened."""
        return self.service.ingest(event)

    def depth(self) -> int:
        """Nothing ever waits."""
        return 0

    def ping(self) -> bool:
        """Always up while the process is."""
        return True
