"""Optional OpenTelemetry traces (D21): spans around ingest, bus publish, bus consume and the engine step.

Off unless ``CALMLINE_OTEL`` is set *and* the OpenTelemetry API is installed (``pip install calmline[otel]``);
off, every helper here is a no-op that allocates nothing. ``CALMLINE_OTEL``:

- ``console``: the OpenTelemetry SDK prints finished spans on stderr (needs ``opentelemetry-sdk``);
- ``otlp``: the SDK sends them with the OTLP/HTTP exporter (needs ``opentelemetry-exporter-otlp-proto-http``;
  ``OTEL_EXPORTER_OTLP_ENDPOINT`` and the other standard ``OTEL_*`` variables apply);
- ``1`` / ``on`` / ``true``: spans go to the global tracer provider the host set up (e.g. when run under
  ``opentelemetry-instrument``); calmline installs none.

Spans carry identifiers only: the call id, the seq, the event type, the bus lane and the ingest status, from a
closed set of attribute names (``ATTRIBUTES``; any other is dropped). Never transcript text, never an
exception message (errors are recorded by exception class): spans leave the building, PHI must not. The
trace context crosses the Redis bus in the entry (``tc``: the W3C ``traceparent``), so the engine worker's
spans join the API's trace.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Protocol

import structlog

log = structlog.get_logger("calmline.tracing")

#: The only attribute names a calmline span may carry (identifiers and closed sets: no PHI).
ATTRIBUTES = frozenset(
    {"calmline.call_id", "calmline.seq", "calmline.event.type", "calmline.bus.lane", "calmline.ingest.status"}
)
_OFF = ("", "0", "off", "false", "no")


class SpanLike(Protocol):
    """What calmline code does with a span."""

    def set_attribute(self, key: str, value: Any) -> None:
        """Record one attribute (dropped unless its name is in ``ATTRIBUTES``)."""
        ...


class _NoSpan:
    def set_attribute(self, key: str, value: Any) -> None:
        return None


_NO_SPAN = _NoSpan()
_NULL: contextlib.nullcontext[SpanLike] = contextlib.nullcontext(_NO_SPAN)
_NO_ATTRIBUTES: dict[str, Any] = {}
_guard = threading.Lock()
_decided = False
_tracer: Any = None


def use(provider: Any) -> None:
    """Trace to ``provider`` (an OpenTelemetry ``TracerProvider``) whatever ``CALMLINE_OTEL`` says (tests)."""
    global _decided, _tracer
    with _guard:
        _tracer, _decided = provider.get_tracer("calmline"), True


def reset() -> None:
    """Forget the decision: the next span reads ``CALMLINE_OTEL`` again."""
    global _decided, _tracer
    with _guard:
        _tracer, _decided = None, False


def enabled() -> bool:
    """Whether spans are recorded in this process."""
    return _get() is not None


def span(
    name: str, attributes: Mapping[str, Any] | None = None, parent: Mapping[str, Any] | None = None
) -> contextlib.AbstractContextManager[SpanLike]:
    """A span named ``name``, current inside the ``with`` block; a shared no-op when tracing is off.

    Args:
        name: the span name, ``calmline.<stage>``.
        attributes: from ``ATTRIBUTES`` only (others are dropped); ``event_attributes`` builds them.
        parent: a bus entry's message: its ``tc`` trace context becomes the parent (the API's publish span).
    """
    tracer = _get()
    if tracer is None:
        return _NULL
    context = _extract(parent) if parent is not None else None
    return _Traced(
        tracer.start_as_current_span(
            name,
            context=context,
            attributes=_clean(attributes or _NO_ATTRIBUTES),
            record_exception=False,  # an exception message may quote the event: record the class only
            set_status_on_exception=False,
        )
    )


def event_attributes(event: Any, **extra: str) -> dict[str, Any]:
    """Span attributes of an input event: call id, seq, type (and ``lane=``, ``status=``); never its text."""
    if _get() is None:
        return _NO_ATTRIBUTES
    found: dict[str, Any] = {"calmline.event.type": getattr(event, "type", None)}
    if getattr(event, "call_id", None) is not None:
        found["calmline.call_id"] = event.call_id
    if getattr(event, "seq", None) is not None:
        found["calmline.seq"] = event.seq
    if "lane" in extra:
        found["calmline.bus.lane"] = extra["lane"]
    if "status" in extra:
        found["calmline.ingest.status"] = extra["status"]
    return found


def inject(message: dict[str, Any]) -> None:
    """Put the current trace context into a bus message as ``tc`` (nothing when tracing is off)."""
    if _get() is None:
        return
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)  # traceparent only: no baggage crosses the bus
    if carrier:
        message["tc"] = carrier


class _Traced:
    """Enter an OpenTelemetry span; on an exception mark it failed with the exception's class only."""

    __slots__ = ("_cm", "_span")

    def __init__(self, cm: Any) -> None:
        self._cm = cm
        self._span: Any = None

    def __enter__(self) -> SpanLike:
        self._span = self._cm.__enter__()
        return _Filtered(self._span)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        if exc_type is not None:
            from opentelemetry.trace import Status, StatusCode

            self._span.set_attribute("error.type", exc_type.__name__)
            self._span.set_status(Status(StatusCode.ERROR, exc_type.__name__))
        return bool(self._cm.__exit__(exc_type, exc, tb))


class _Filtered:
    """A span that only takes attributes from ``ATTRIBUTES``."""

    __slots__ = ("_span",)

    def __init__(self, span: Any) -> None:
        self._span = span

    def set_attribute(self, key: str, value: Any) -> None:
        if key in ATTRIBUTES and value is not None:
            self._span.set_attribute(key, value)


def _clean(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attributes.items() if k in ATTRIBUTES and v is not None}


def _extract(message: Mapping[str, Any]) -> Any:
    carrier = message.get("tc")
    if not isinstance(carrier, dict):
        return None
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator().extract(carrier)


def _get() -> Any:
    if _decided:
        return _tracer
    return _decide()


def _decide() -> Any:
    global _decided, _tracer
    with _guard:
        if _decided:
            return _tracer
        mode = os.environ.get("CALMLINE_OTEL", "").strip().lower()
        tracer = None
        if mode not in _OFF:
            try:
                from opentelemetry import trace
            except ImportError:
                log.warning("tracing.unavailable", hint="CALMLINE_OTEL is set: pip install 'calmline[otel]'")
            else:
                if mode in ("console", "otlp"):
                    _install_provider(mode)
                tracer = trace.get_tracer("calmline")
        _tracer, _decided = tracer, True
        return tracer


def _install_provider(mode: str) -> None:
    """Set the global tracer provider of the OpenTelemetry SDK with the exporter ``mode`` names."""
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
    except ImportError:
        log.warning("tracing.sdk_missing", hint="pip install 'calmline[otel]'")
        return
    exporter: SpanExporter
    if mode == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            log.warning("tracing.exporter_missing", hint="pip install opentelemetry-exporter-otlp-proto-http")
            return
        exporter = OTLPSpanExporter()
    else:
        exporter = ConsoleSpanExporter(out=sys.stderr)
    name = os.environ.get("OTEL_SERVICE_NAME", "calmline")
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
