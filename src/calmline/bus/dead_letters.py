"""Dead letters of the Redis Streams bus: what operators see of them, and how they are re-driven.

An entry that failed ``max_deliveries`` times (or killed that many workers) is copied to ``{prefix}:dead``
with its stream, entry id, error class and failure count, then acknowledged (``EngineWorker._dead_letter``).
The call it belongs to then waits: its later events are held until the gap timeout records a ``sequence.gap``.
Once the cause is fixed, ``redrive`` puts the entry back on its own stream, so the call goes on exactly as if
the event had never failed (the log is unique on (call_id, seq): a re-driven event already stepped is a
``duplicate`` and writes nothing). CLI: ``calmline bus dead-letters list|redrive|drop``.

``describe`` is the only view of an entry that leaves Redis (log lines, the CLI): the call id, seq, event type
and error class, never the event's text (transcripts are PHI).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from calmline.bus.redis_streams import RedisStreamsBus


class UnknownDeadLetter(KeyError):
    """No dead letter has this id."""


def describe(fields: dict[str, Any]) -> dict[str, Any]:
    """The PHI-free summary of a bus entry: call id, seq, type (or control kind), and dead-letter details."""
    summary: dict[str, Any] = {
        key: fields[key] for key in ("id", "stream", "entry", "error") if fields.get(key) is not None
    }
    if fields.get("failures") is not None:
        summary["failures"] = int(fields["failures"])
    try:
        message = json.loads(fields["m"])
    except (KeyError, TypeError, ValueError):
        summary["kind"] = "unreadable"
        return summary
    if not isinstance(message, dict):
        summary["kind"] = "unreadable"
    elif "c" in message:
        summary.update(kind="control", type=str(message["c"]), call_id=message.get("call_id"))
    else:
        found = message.get("e")
        event: dict[str, Any] = found if isinstance(found, dict) else {}
        summary.update(
            kind="event",
            type=event.get("type"),
            call_id=event.get("call_id") or event.get("agent_id"),
            seq=event.get("seq"),
        )
    return summary


def list_dead(bus: RedisStreamsBus) -> list[dict[str, Any]]:
    """Every dead letter, oldest first, as ``describe`` shows it (no text)."""
    return [describe(fields) for fields in bus.dead_letters()]


def redrive(bus: RedisStreamsBus, ids: Sequence[str] | None = None) -> list[str]:
    """Put dead letters back on the stream they came from (all of them when ``ids`` is None).

    Each move is one Redis transaction (``MULTI``: ``XADD`` to the stream, ``XDEL`` from the dead-letter
    stream), so an entry is never lost nor doubled by a failure in between. Returns the new entry ids.

    Raises:
        UnknownDeadLetter: one of ``ids`` is not in the dead-letter stream (nothing was moved).
    """
    bus.setup()
    dead = {entry["id"]: entry for entry in bus.dead_letters()}
    wanted = list(dead) if ids is None else list(ids)
    missing = [i for i in wanted if i not in dead]
    if missing:
        raise UnknownDeadLetter(", ".join(missing))
    moved: list[str] = []
    for dead_id in wanted:
        fields = dead[dead_id]
        pipe = bus.client.pipeline(transaction=True)
        pipe.xadd(fields["stream"], {"m": _fresh(fields["m"])})
        pipe.xdel(bus.dead_stream, dead_id)
        moved.append(str(pipe.execute()[0]))
    return moved


def drop(bus: RedisStreamsBus, ids: Sequence[str]) -> int:
    """Delete dead letters for good (an event that can never be stepped); returns how many were deleted."""
    if not ids:
        return 0
    return int(bus.client.xdel(bus.dead_stream, *ids))


def _fresh(body: str) -> str:
    """The entry's message with its queue time reset, so the bus wait metric does not count the dead time."""
    try:
        message = json.loads(body)
    except ValueError:
        return body
    if not isinstance(message, dict):
        return body
    return json.dumps({**message, "t": time.time()}, separators=(",", ":"))
