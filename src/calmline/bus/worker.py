"""The processes of a scaled deployment: ``calmline serve --role api`` and ``--role engine``."""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING, Any

import structlog

if TYPE_CHECKING:
    from fastapi import FastAPI

    from calmline.settings import Settings

log = structlog.get_logger("calmline.bus")


def api_app(settings: Settings) -> FastAPI:
    """The API of ``--role api``: ingest answers 202 ``queued`` (or 429), engines step; live rows relayed."""
    from calmline.api.app import create_app
    from calmline.runtime import build_bus, build_service, wire_api

    service = build_service(settings)
    bus = build_bus(settings)
    wire_api(service, bus)
    app = create_app(settings, service=service)
    app.state.bus = bus
    return app


def run_engine(settings: Settings, *, metrics_port: int | None = None, name: str | None = None) -> None:
    """``--role engine``: consume the partitions this worker leases until SIGTERM or SIGINT."""
    from calmline.runtime import build_bus, build_service, wire_engine

    service = build_service(settings)
    worker = wire_engine(service, build_bus(settings), name)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        from calmline.observability import REGISTRY

        start_http_server(metrics_port, addr="127.0.0.1", registry=REGISTRY)
    stop = threading.Event()

    def _stop(*_args: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("engine.started", worker=worker.name, partitions=settings.bus_partitions)
    try:
        worker.run(stop)
    finally:
        service.db.dispose()
        log.info("engine.stopped", worker=worker.name, processed=worker.processed)
