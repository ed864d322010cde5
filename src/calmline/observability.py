"""Prometheus metrics for ingest, the engine step, the bus and end-to-end latency.

One registry (``REGISTRY``) per process, served at ``GET /metrics`` by the API and by
``calmline serve --role engine --metrics-port N``. Labels carry only event types, statuses, roles and reasons:
never a call id, a name or any transcript text (PHI), so the metrics can leave the building.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

REGISTRY = CollectorRegistry(auto_describe=True)
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

INGESTED = Counter(
    "calmline_ingest_events_total",
    "Input events received by ingest, by event type and outcome (accepted, held, duplicate, queued).",
    ["type", "status"],
    registry=REGISTRY,
)
REJECTED = Counter(
    "calmline_ingest_rejected_total",
    "Input events refused by ingest, by reason (validation error code, or overloaded for a 429).",
    ["reason"],
    registry=REGISTRY,
)
STEP_SECONDS = Histogram(
    "calmline_step_seconds",
    "Sequencing, engine step, append and projections of one input event, by event type.",
    ["type"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
UTTERANCE_TO_ALERT = Histogram(
    "calmline_utterance_to_alert_seconds",
    "From an utterance reaching ingest to the alert it raised being committed (bus wait included).",
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
QUEUE_SECONDS = Histogram(
    "calmline_bus_wait_seconds",
    "Time an event waited on the bus between ingest and an engine worker taking it.",
    ["lane"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
BUS_DEPTH = Gauge(
    "calmline_bus_depth", "Events on the bus not yet stepped and acknowledged (the lag).", registry=REGISTRY
)
REDELIVERED = Counter(
    "calmline_bus_redeliveries_total",
    "Bus entries taken over from another worker or retried after a failure.",
    registry=REGISTRY,
)
DEAD_LETTERS = Counter(
    "calmline_bus_dead_letters_total",
    "Poison events moved to the dead-letter stream after too many deliveries (operators are alerted).",
    registry=REGISTRY,
)
DEAD_LETTERS_WAITING = Gauge(
    "calmline_bus_dead_letters_waiting",
    "Dead letters not yet re-driven or dropped (set by engine workers each heartbeat; alert when above 0).",
    registry=REGISTRY,
)
ERRORS = Counter(
    "calmline_errors_total",
    "Errors by where they happened (ingest, engine, bus, relay) and exception class.",
    ["where", "error"],
    registry=REGISTRY,
)


def set_depth_source(source: Callable[[], int]) -> None:
    """Read the bus depth from ``source`` each time the metrics are scraped (NaN while it fails)."""

    def read() -> float:
        try:
            return float(source())
        except Exception:
            return math.nan

    BUS_DEPTH.set_function(read)


def observe_step(event_type: str, status: str, started: float) -> None:
    """Count one stepped event and time it from ``started`` (``time.perf_counter()``)."""
    STEP_SECONDS.labels(event_type).observe(time.perf_counter() - started)
    INGESTED.labels(event_type, status).inc()


def observe_alerts(outputs: Sequence[dict[str, Any]], received_at: float) -> None:
    """Time an utterance to each alert it raised, from ``received_at`` (``time.time()`` at ingest)."""
    if any(o.get("type") == "alert.raised" for o in outputs):
        UTTERANCE_TO_ALERT.observe(max(0.0, time.time() - received_at))


def render() -> tuple[bytes, str]:
    """The metrics in the Prometheus text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
