"""The web application factory: ``create_app(settings)`` and the lifespan that owns its resources."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import structlog
from anyio import to_thread
from fastapi import FastAPI

from calmline.api.errors import BodyLimitMiddleware, install_error_handlers
from calmline.api.routes import alerts, auth, calls, events, health, history, live, oidc, protocols, routing
from calmline.api.routes.aftercall import router as aftercall_router
from calmline.api.routes.continuity import router as continuity_router
from calmline.api.routes.postcall import router as postcall_router
from calmline.api.routes.practice import router as practice_router
from calmline.api.ws import LiveHub
from calmline.api.ws import router as ws_router
from calmline.clock import Clock
from calmline.events import INPUT_ADAPTER
from calmline.service import CallService
from calmline.settings import Settings
from calmline.telephony import LoggingTelephonyAdapter, TelephonyAdapter
from calmline.webhooks import start_webhooks

log = structlog.get_logger("calmline.api")

#: Every router of the API, in the order they are mounted.
ROUTERS = (
    health.router,
    auth.router,
    oidc.router,
    events.router,
    calls.router,
    alerts.router,
    history.router,
    protocols.router,
    routing.router,
    live.router,
    postcall_router,
    aftercall_router,
    practice_router,
    continuity_router,
    ws_router,
)


def create_app(
    settings: Settings,
    *,
    service: CallService | None = None,
    clock: Clock | None = None,
    tick_interval_s: float = 1.0,
    live_queue_size: int = 1000,
    telephony: TelephonyAdapter | None = None,
) -> FastAPI:
    """Build the API.

    Args:
        settings: the configuration.
        service: an existing service (tests, embedding); when None the lifespan builds one from ``settings``
            and disposes of its database engine on shutdown.
        clock: the clock for sessions and supervisor actions; defaults to the service's.
        tick_interval_s: how often the background task calls ``service.tick()`` (gap timeouts).
        live_queue_size: rows buffered per live WebSocket before a slow client is disconnected.
        telephony: where supervisor interventions go (``calmline.telephony``); default: logged only.
    """
    dev = settings.env == "dev"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = service is None
        if service is None:
            from calmline.runtime import build_service

            svc = await to_thread.run_sync(build_service, settings, clock)
        else:
            svc = service
        hub = LiveHub(live_queue_size)
        hub.attach(asyncio.get_running_loop())
        svc.subscribe(hub.publish)
        app.state.service = svc
        app.state.clock = clock or svc.clock
        app.state.hub = hub
        webhooks = start_webhooks(settings, svc.db, app.state.clock)  # None unless CALMLINE_WEBHOOKS_FILE
        ticker = asyncio.create_task(_tick_forever(svc, tick_interval_s))
        log.info("api.started", env=settings.env)
        try:
            yield
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            if webhooks is not None:
                webhooks.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await webhooks
            await to_thread.run_sync(svc.close)  # the group-commit writer finishes what is queued
            svc.unsubscribe(hub.publish)
            hub.detach()
            if owned:
                svc.db.dispose()
            log.info("api.stopped")

    app = FastAPI(
        title="calmline",
        version="0.1.0",
        summary="Real-time assistance for medical call centers handling distressed callers",
        lifespan=lifespan,
        docs_url="/docs" if dev else None,
        redoc_url="/redoc" if dev else None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.telephony = telephony or LoggingTelephonyAdapter()
    if service is not None:
        app.state.service = service
        app.state.clock = clock or service.clock
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    for router in ROUTERS:
        app.include_router(router)
    _mount_pages(app)
    _document_input_events(app)
    return app


def _mount_pages(app: FastAPI) -> None:
    """The supervisor pages (HTML shells and their static assets; ``calmline.web``)."""
    from calmline.web.routes import mount_static
    from calmline.web.routes import router as pages

    app.include_router(pages)
    mount_static(app)


async def _tick_forever(service: CallService, interval: float) -> None:
    """Declare overdue sequence gaps, once per ``interval``; a failing tick is logged, never fatal."""
    while True:
        await anyio.sleep(interval)
        try:
            await to_thread.run_sync(service.tick)
        except Exception as exc:
            log.error("tick.failed", error=type(exc).__name__)


def _document_input_events(app: FastAPI) -> None:
    """Put the input event models into the OpenAPI components (the ingest routes parse bodies themselves)."""
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = base()
        events_schema = INPUT_ADAPTER.json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(events_schema.pop("$defs", {}))
        components["InputEvent"] = events_schema
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
