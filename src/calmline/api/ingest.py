"""Ingest shared by REST and WebSocket: validate payloads, hand them to the service, report per event.

Blocking (the service writes to the database): call these from a worker thread.
"""

from __future__ import annotations

import time
from typing import Any

import structlog
from pydantic import ValidationError

from calmline import observability as obs
from calmline.api.errors import ApiError, validation_error
from calmline.bus.base import Backpressure, BusUnavailable
from calmline.events import InputEvent, parse_input
from calmline.service import CallService, IngestResult

log = structlog.get_logger("calmline.api.ingest")

#: Most events accepted in one batch (REST body or WebSocket message).
MAX_BATCH = 1000
#: Written by calmline itself: supervisor actions come through ``POST /api/calls/{id}/actions`` (so the
#: actor is the signed-in user) and gaps are declared by the sequencer.
SERVER_ONLY_TYPES = frozenset({"supervisor.action", "sequence.gap"})


def validate_event(data: Any) -> InputEvent:
    """One ingest payload as an input event.

    Raises:
        ApiError: 422 naming the offending fields (never quoting their values).
    """
    if not isinstance(data, dict):
        raise ApiError(
            422, "validation_error", "an event must be a JSON object", [{"loc": "", "msg": "not an object"}]
        )
    if data.get("type") in SERVER_ONLY_TYPES:
        raise ApiError(
            422,
            "event_not_allowed",
            f"{data['type']} events cannot be ingested; use POST /api/calls/{{call_id}}/actions",
            [{"loc": "type", "msg": "written by calmline itself"}],
        )
    try:
        return parse_input(data)
    except ValidationError as exc:
        # The discriminated union puts the event type first in each loc; keep it, it names the model.
        raise validation_error(exc) from None


def result_body(result: IngestResult) -> dict[str, Any]:
    """The JSON form of one ingest result."""
    return {
        "status": result.status,
        "call_id": result.call_id,
        "seq": result.seq,
        "outputs": list(result.outputs),
        "released": result.released,
        "detail": result.detail,
    }


def overloaded(exc: Backpressure) -> ApiError:
    """The 429 for an event the bus cannot take now (nothing was stored: the client retries)."""
    return ApiError(
        429,
        "overloaded",
        f"the engine is behind (queue depth over {exc.limit}); retry after {exc.retry_after} s",
        headers={"Retry-After": str(exc.retry_after)},
    )


def ingest_one(service: CallService, event: InputEvent) -> dict[str, Any]:
    """Ingest a validated event and return its result body.

    Raises:
        ApiError: 429 ``overloaded`` (with ``Retry-After``) when the bus is over its depth limit.
    """
    started, received = time.perf_counter(), time.time()
    try:
        result = service.ingest(event)
    except Backpressure as exc:
        obs.REJECTED.labels("overloaded").inc()
        log.warning("event.overloaded", call_id=getattr(event, "call_id", None), type=event.type)
        raise overloaded(exc) from None
    except BusUnavailable:
        log.error("event.bus_unavailable", call_id=getattr(event, "call_id", None), type=event.type)
        raise ApiError(
            503,
            "bus_unavailable",
            "the event bus cannot be reached; nothing was stored: retry",
            headers={"Retry-After": str(BusUnavailable.retry_after)},
        ) from None
    return ingested(event, result, started, received)


def ingested(event: InputEvent, result: IngestResult, started: float, received: float) -> dict[str, Any]:
    """Record one ingested event (metrics from ``started``/``received``, a log line) and return its body."""
    obs.observe_step(event.type, result.status, started)
    if event.type == "utterance":
        obs.observe_alerts(result.outputs, received)
    log.info(
        "event.ingested",
        call_id=result.call_id,
        seq=result.seq,
        type=event.type,
        status=result.status,
        outputs=len(result.outputs),
        released=result.released,
    )
    return result_body(result)


def ingest_items(service: CallService, items: list[Any]) -> list[dict[str, Any]]:
    """Validate and ingest each item independently, in order.

    A rejected item gets ``{"index", "status": "rejected", "error", "detail", "errors"}``; the others go on.
    """
    results: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            event = validate_event(item)
        except ApiError as exc:
            log.info("event.rejected", index=index, error=exc.code, fields=[f["loc"] for f in exc.fields])
            results.append(
                {
                    "index": index,
                    "status": "rejected",
                    "error": exc.code,
                    "detail": exc.detail,
                    "errors": exc.fields,
                }
            )
            continue
        try:
            results.append({"index": index, **ingest_one(service, event)})
        except ApiError as exc:  # 429: this one (and the client's next ones) must be sent again later
            retry_after = int((exc.headers or {}).get("Retry-After", "1"))
            results.append({"index": index, "status": "rejected", **exc.body(), "retry_after": retry_after})
    return results


def batch_items(data: Any, *, key: str | None = "events") -> list[Any]:
    """The event payloads of a batch document: ``{"events": [...]}``, or a bare list when key is None.

    Raises:
        ApiError: 422 when the document has the wrong shape or more than ``MAX_BATCH`` items.
    """
    if key is not None:
        if not isinstance(data, dict):
            raise ApiError(
                422, "validation_error", 'expected {"events": [...]}', [{"loc": "", "msg": "not an object"}]
            )
        extra = sorted(str(k) for k in data if k != key)
        if extra:
            raise ApiError(
                422,
                "validation_error",
                f"unknown field(s): {', '.join(extra)[:200]}",
                [{"loc": k[:200], "msg": "unknown field (not allowed)"} for k in extra],
            )
        if key not in data:
            raise ApiError(
                422, "validation_error", f"field {key!r} is required", [{"loc": key, "msg": "required"}]
            )
        data = data[key]
    if not isinstance(data, list):
        raise ApiError(
            422, "validation_error", "events must be a list", [{"loc": key or "", "msg": "not a list"}]
        )
    if len(data) > MAX_BATCH:
        raise ApiError(
            422,
            "batch_too_large",
            f"at most {MAX_BATCH} events per batch (got {len(data)})",
            [{"loc": key or "", "msg": f"at most {MAX_BATCH} items"}],
        )
    return data
