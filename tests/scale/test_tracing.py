"""Optional OpenTelemetry traces (D21): a no-op by default; with the SDK, spans carry ids and never text."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from calmline import tracing
from calmline.analysis.base import AnalyzerRegistry
from calmline.bus.redis_streams import EngineWorker
from calmline.events import CallStarted, UtteranceReceived
from calmline.store.db import make_engine, migrate
from tests.scale.harness import LINES, T0, MakeBus, drain, make_service

SECRET = LINES[4]  # "I am going to take all my pills tonight"


@pytest.fixture(autouse=True)
def _fresh_decision(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("CALMLINE_OTEL", raising=False)
    tracing.reset()
    yield
    tracing.reset()


def _events(call_id: str = "t-1") -> list[Any]:
    return [
        CallStarted(call_id=call_id, seq=0, started_at=T0),
        UtteranceReceived(call_id=call_id, seq=1, speaker="caller", text=SECRET, start_ms=0, end_ms=3000),
    ]


def test_tracing_is_a_no_op_without_calmline_otel(registry: AnalyzerRegistry) -> None:
    assert not tracing.enabled()
    with tracing.span("calmline.ingest", {"calmline.call_id": "c"}) as span:
        span.set_attribute("calmline.call_id", "c")
    assert tracing.span("a") is tracing.span("b")  # one shared null context: nothing allocated per event
    assert tracing.event_attributes(_events()[1]) == {}
    message: dict[str, Any] = {"e": {}}
    tracing.inject(message)
    assert message == {"e": {}}
    db = make_engine("sqlite://")
    migrate(db)
    for event in _events():
        assert make_service(db, registry).ingest(event).status == "accepted"
    db.dispose()


def test_tracing_stays_off_when_opentelemetry_is_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALMLINE_OTEL", "console")
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # import fails as if not installed
    assert not tracing.enabled()


@pytest.fixture
def exporter() -> Iterator[Any]:
    sdk = pytest.importorskip("opentelemetry.sdk.trace", reason="the otel extra is not installed")
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracing.use(provider)
    yield memory
    provider.shutdown()


def _no_text(spans: Any) -> None:
    for span in spans:
        assert set(span.attributes) <= tracing.ATTRIBUTES | {"error.type"}
        assert SECRET not in repr(dict(span.attributes)) and SECRET not in str(span.status.description)
        assert "pills" not in span.to_json()


def test_in_process_ingest_is_traced_with_ids_only(exporter: Any, registry: AnalyzerRegistry) -> None:
    db = make_engine("sqlite://")
    migrate(db)
    service = make_service(db, registry)
    for event in _events():
        service.ingest(event)
    db.dispose()
    spans = exporter.get_finished_spans()
    ingest = [s for s in spans if s.name == "calmline.ingest"]
    steps = [s for s in spans if s.name == "calmline.engine.step"]
    assert [dict(s.attributes) for s in ingest] == [
        {"calmline.call_id": "t-1", "calmline.seq": 0, "calmline.event.type": "call.started"},
        {"calmline.call_id": "t-1", "calmline.seq": 1, "calmline.event.type": "utterance"},
    ]
    assert steps and all(s.parent is not None for s in steps)  # the engine step inside its ingest
    assert {s.context.trace_id for s in steps} <= {s.context.trace_id for s in ingest}
    _no_text(spans)


@pytest.mark.postgres
def test_bus_trace_crosses_from_publish_to_the_engine_worker(
    exporter: Any, pg: Engine, registry: AnalyzerRegistry, make_bus: MakeBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    bus = make_bus()
    for event in _events():
        bus.publish(event)
    bus.client.xadd(bus.stream(0), {"m": '{"e": {"type": "utterance"}, "t": 0}'})  # fails to parse: no span
    service = make_service(pg, registry)
    ingest = service.ingest

    def failing(event: Any) -> Any:
        if getattr(event, "seq", None) == 1:
            raise ValueError(f"cannot handle {event.text}")  # the message quotes the text: never exported
        return ingest(event)

    monkeypatch.setattr(service, "ingest", failing)
    drain([EngineWorker(bus, service, "w1", block_ms=20)], bus)
    spans = exporter.get_finished_spans()
    published = {s.attributes["calmline.seq"]: s for s in spans if s.name == "calmline.bus.publish"}
    consumed = [s for s in spans if s.name == "calmline.bus.consume"]
    assert set(published) == {0, 1}
    assert published[1].attributes["calmline.bus.lane"] == "normal"
    for span in consumed:  # each delivery is a child of the publish, in the publisher's trace
        origin = published[span.attributes["calmline.seq"]]
        assert span.parent is not None and span.parent.span_id == origin.context.span_id
        assert span.context.trace_id == origin.context.trace_id
    ok = [s for s in consumed if s.attributes["calmline.seq"] == 0]
    assert ok[0].attributes["calmline.ingest.status"] == "accepted"
    failed = [s for s in consumed if s.attributes["calmline.seq"] == 1]
    assert len(failed) == bus.config.max_deliveries  # each attempt traced, then dead-lettered
    assert all(
        s.status.description == "ValueError" and s.attributes["error.type"] == "ValueError" for s in failed
    )
    _no_text(spans)


def test_calmline_otel_console_installs_the_sdk_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("opentelemetry.sdk.trace", reason="the otel extra is not installed")
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    installed: list[Any] = []
    monkeypatch.setattr(trace, "set_tracer_provider", installed.append)  # the global can be set only once
    monkeypatch.setenv("CALMLINE_OTEL", "console")
    assert tracing.enabled()
    assert len(installed) == 1 and isinstance(installed[0], TracerProvider)
    installed[0].shutdown()
