"""Builds the running pieces (database, engine, service) from settings: the composition root."""

from __future__ import annotations

import logging
import sys

import structlog

from calmline.analysis.base import AnalyzerRegistry
from calmline.clock import Clock
from calmline.engine import CallEngine, load_alert_policy
from calmline.service import CallService
from calmline.settings import Settings
from calmline.store.db import make_engine, migrate


def default_registry() -> AnalyzerRegistry:
    """The analyzers calmline ships, in run order."""
    from calmline.analysis.defaults import default_registry as build

    return build()


def build_engine(registry: AnalyzerRegistry | None = None) -> CallEngine:
    """The pure call engine with the shipped analyzers and alert policy."""
    registry = registry or default_registry()
    registry.setup()
    return CallEngine(registry, load_alert_policy())


def build_service(
    settings: Settings, clock: Clock | None = None, engine: CallEngine | None = None
) -> CallService:
    """Open (and migrate) the store named by ``settings`` and wrap it in a ``CallService``."""
    settings.ensure_data_dir()
    db = make_engine(settings.db_url)
    migrate(db)
    return CallService(db, engine or build_engine(), clock, gap_timeout_s=settings.gap_timeout_s)


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
