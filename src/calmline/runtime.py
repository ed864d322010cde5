"""Builds the running pieces (database, engine, service) from settings: the composition root."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import Engine

from calmline.analysis.base import AnalyzerRegistry
from calmline.clock import Clock, SystemClock
from calmline.engine import CallEngine, load_alert_policy
from calmline.engine.suggestions import load_suggestions
from calmline.protocol_admin import load_configured, publish_library
from calmline.protocols.catalog import ProtocolCatalog
from calmline.protocols.loader import ProtocolError, load_library
from calmline.service import CallService, Projector
from calmline.settings import Settings
from calmline.store.db import make_engine, migrate
from calmline.store.protocol_sets import ProtocolStore

if TYPE_CHECKING:
    from calmline.bus.publisher import CommitRelay
    from calmline.bus.redis_streams import EngineWorker, RedisStreamsBus

log = structlog.get_logger("calmline.runtime")


def default_registry() -> AnalyzerRegistry:
    """The analyzers calmline ships, in run order."""
    from calmline.analysis.defaults import default_registry as build

    return build()


def build_engine(
    registry: AnalyzerRegistry | None = None, protocols: ProtocolCatalog | None = None
) -> CallEngine:
    """The pure call engine with the shipped analyzers, alert policy and protocols (unless others given)."""
    registry = registry or default_registry()
    registry.setup()
    return CallEngine(
        registry,
        load_alert_policy(),
        protocols or ProtocolCatalog.single(load_library()),
        suggestions=load_suggestions(),
    )


def open_protocols(settings: Settings, db: Engine, clock: Clock) -> tuple[ProtocolStore, ProtocolCatalog]:
    """Every protocol set the store knows, with the files on disk published as the current one.

    An invalid file is logged with its file, line and reason, and the last good set stays in force (or the
    shipped library, on a first start): a typo in one protocol must not take the whole center offline.
    """
    store = ProtocolStore(db)
    catalog = store.load_catalog()
    try:
        library = load_configured(settings.protocols_dir)
    except ProtocolError as exc:
        log.error("protocols.invalid", file=exc.file, line=exc.line, reason=exc.reason)
        if catalog.current.protocols:
            return store, catalog
        library = load_library()
    publish_library(
        store,
        catalog,
        library,
        actor="system",
        action="loaded",
        why="protocol files at start-up",
        at=clock.now(),
    )
    return store, catalog


def build_service(
    settings: Settings, clock: Clock | None = None, engine: CallEngine | None = None
) -> CallService:
    """Open (and migrate) the store named by ``settings`` and wrap it in a ``CallService``."""
    settings.ensure_data_dir()
    db = make_engine(settings.db_url)
    migrate(db)
    from calmline.security import install_security

    install_security(db, settings)  # keys, sealing of PHI fields in the log, the retention policy
    clock = clock or SystemClock()
    protocol_store: ProtocolStore | None = None
    if engine is None:
        protocol_store, catalog = open_protocols(settings, db, clock)
        engine = build_engine(protocols=catalog)
    on_append: list[Projector] = []
    webhooks = None
    if settings.webhooks_file is not None:  # queue signed webhook deliveries in the append transaction
        from calmline.webhooks import WebhookOutbox, load_webhooks

        webhooks = load_webhooks(settings.webhooks_file)
        on_append.append(WebhookOutbox(webhooks).apply)
    from calmline.routing.loader import load_routing_config
    from calmline.routing_desk import RoutingDesk

    desk = RoutingDesk(db, load_routing_config(settings.routing_file))
    on_append.append(desk.apply)
    service = CallService(
        db,
        engine,
        clock,
        gap_timeout_s=settings.gap_timeout_s,
        on_append=on_append,
        protocol_store=protocol_store,
    )
    desk.attach(service)
    desk.record_policy(clock.now())  # the routing policy in force, in the audit log when it changed
    from calmline.aftercall.followups import FollowupDesk

    service.tick_hooks.append(FollowupDesk(db, webhooks=webhooks).tick)  # overdue caring contacts
    return service


class _StderrLogger:
    """Writes each line to whatever ``sys.stderr`` is at the time (tests and tools may swap it)."""

    @classmethod
    def factory(cls, *_args: object) -> _StderrLogger:
        return cls()

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


def configure_logging(level: str = "info", *, json_logs: bool = True) -> None:
    """Structured logs on stderr: JSON for machines, never transcript text (PHI)."""
    logging.basicConfig(stream=sys.stderr, level=level.upper(), format="%(message)s")
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json_logs else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=_StderrLogger.factory,
        cache_logger_on_first_use=False,
    )


# -- scale-out (issue 9, calmline.bus; docs/SCALING.md) ------------------------------------------------------


def build_bus(settings: Settings) -> RedisStreamsBus:
    """The Redis Streams bus named by ``CALMLINE_BUS_URL``, its consumer groups created.

    Raises:
        ValueError: no bus URL is configured (the in-process default needs none).
    """
    if settings.bus_url is None:
        raise ValueError("CALMLINE_BUS_URL must be set for --role api or --role engine")
    from calmline.bus.redis_streams import RedisStreamsBus

    bus = RedisStreamsBus(settings.streams_config())
    bus.setup()
    return bus


def wire_api(service: CallService, bus: RedisStreamsBus) -> CommitRelay:
    """``--role api``: ingest publishes to the bus; rows the engines commit come back to the live hub."""
    from calmline import observability
    from calmline.bus.publisher import BusPublisher, CommitRelay

    service.publisher = BusPublisher(bus, service)
    observability.set_depth_source(bus.depth)
    relay = CommitRelay(bus, service)
    relay.start()
    return relay


def wire_engine(service: CallService, bus: RedisStreamsBus, name: str | None = None) -> EngineWorker:
    """``--role engine``: a worker stepping the partitions it leases, announcing what it committed."""
    from calmline import observability
    from calmline.bus.publisher import CommitRelay
    from calmline.bus.redis_streams import EngineWorker

    service.subscribe(CommitRelay(bus, service).announce)
    observability.set_depth_source(bus.depth)
    return EngineWorker(bus, service, name)
