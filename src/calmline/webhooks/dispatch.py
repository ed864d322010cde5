"""Sending queued deliveries: signed, in order per call, retried with backoff, dead-lettered at the end.

``WebhookDispatcher.deliver_due(now)`` is one synchronous pass; the API runs it in a worker thread every
``CALMLINE_WEBHOOKS_INTERVAL_S`` (``deliver_forever``), so a slow receiver delays only other webhooks,
never ingest. Delivery is at-least-once: a receiver de-duplicates on ``X-Calmline-Delivery``. Logs name the
endpoint, the delivery id and the event type, never the URL (tokens hide in URLs), the secret or the body.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import anyio
import structlog
from anyio import to_thread
from sqlalchemy import Engine, func, select, update

from calmline.clock import Clock
from calmline.store.schema import webhook_outbox
from calmline.webhooks.config import WebhookEndpoint, WebhooksConfig, load_webhooks
from calmline.webhooks.outbox import attach_evidence_text, encode
from calmline.webhooks.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign

if TYPE_CHECKING:
    from calmline.settings import Settings

log = structlog.get_logger("calmline.webhooks")

#: POST ``body`` to ``url`` with ``headers`` within ``timeout`` seconds; the HTTP status, or an exception.
Sender = Callable[[str, bytes, Mapping[str, str], float], int]

_PENDING = (webhook_outbox.c.delivered_at.is_(None), webhook_outbox.c.dead_at.is_(None))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is a misconfiguration to report, not a reason to resend a signed body elsewhere."""

    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def post_json(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
    """The default sender: the standard library's HTTP client, no redirects, a short timeout."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(65_536)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)


def _describe(exc: BaseException) -> str:
    """A short error without the URL or any body: the exception type (and the cause of a URLError)."""
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
        exc = exc.reason
    return type(exc).__name__[:200]


@dataclass(frozen=True, slots=True)
class DeliveryStats:
    """What one pass did: ``deferred`` rows wait behind an earlier row of their call or a failing endpoint."""

    sent: int = 0
    failed: int = 0
    dead: int = 0
    deferred: int = 0


@dataclass(frozen=True, slots=True)
class PingResult:
    """The outcome of ``send_test``."""

    ok: bool
    status: int | None
    error: str | None


class WebhookDispatcher:
    """Delivers due outbox rows to their endpoints."""

    def __init__(
        self, db: Engine, config: WebhooksConfig, *, sender: Sender = post_json, batch: int = 200
    ) -> None:
        self.db = db
        self.config = config
        self.sender = sender
        self.batch = batch

    def deliver_due(self, now: datetime) -> DeliveryStats:
        """Send every due delivery once, in order per (endpoint, call); returns what happened."""
        names = [e.name for e in self.config.endpoints]
        with self.db.connect() as conn:
            due = conn.execute(
                select(webhook_outbox)
                .where(
                    *_PENDING, webhook_outbox.c.next_attempt_at <= now, webhook_outbox.c.endpoint.in_(names)
                )
                .order_by(webhook_outbox.c.id)
                .limit(self.batch)
            ).all()
        groups: dict[tuple[str, str], list[Any]] = {}
        for row in due:
            groups.setdefault((row.endpoint, row.call_id), []).append(row)
        sent = failed = dead = deferred = 0
        failing: set[str] = set()  # an endpoint that failed this pass is not tried again until the next
        for (name, _call_id), rows in groups.items():
            endpoint = self.config.endpoint(name)
            for i, row in enumerate(rows):
                if endpoint is None or name in failing or self._behind_earlier(row):
                    deferred += len(rows) - i
                    break
                outcome = self._attempt(endpoint, row, now)
                if outcome == "sent":
                    sent += 1
                    continue
                failing.add(name)
                failed += outcome == "retry"
                dead += outcome == "dead"
                deferred += len(rows) - i - 1
                break
        return DeliveryStats(sent, failed, dead, deferred)

    def _behind_earlier(self, row: Any) -> bool:
        with self.db.connect() as conn:
            first = conn.execute(
                select(func.min(webhook_outbox.c.id)).where(
                    *_PENDING,
                    webhook_outbox.c.endpoint == row.endpoint,
                    webhook_outbox.c.call_id == row.call_id,
                )
            ).scalar()
        return first is not None and int(first) < int(row.id)

    def _attempt(self, endpoint: WebhookEndpoint, row: Any, now: datetime) -> str:
        error: str | None
        try:
            body_obj = {"id": str(row.id), **json.loads(row.payload)}
            if endpoint.include_evidence_text:
                with self.db.connect() as conn:
                    body_obj = attach_evidence_text(conn, body_obj)
            body = encode(body_obj).encode("utf-8")
        except (
            Exception
        ) as exc:  # a row that cannot be rendered must not stall the pass: it fails like a send
            error = f"unreadable payload: {type(exc).__name__}"
        else:
            _, error = post_signed(
                self.sender, self.config.timeout_s, endpoint, body, str(row.id), row.event_type, now
            )
        attempts = int(row.attempts) + 1
        where = webhook_outbox.c.id == row.id
        context = {"endpoint": endpoint.name, "delivery_id": str(row.id), "event_type": row.event_type}
        with self.db.begin() as conn:
            if error is None:
                conn.execute(
                    update(webhook_outbox)
                    .where(where)
                    .values(attempts=attempts, delivered_at=now, last_error=None)
                )
                log.info("webhook.delivered", attempts=attempts, **context)
                return "sent"
            if attempts >= self.config.max_attempts:
                conn.execute(
                    update(webhook_outbox)
                    .where(where)
                    .values(attempts=attempts, dead_at=now, last_error=error)
                )
                log.error(
                    "webhook.dead_letter", attempts=attempts, error=error, call_id=row.call_id, **context
                )
                return "dead"
            wait = self.backoff(attempts)
            conn.execute(
                update(webhook_outbox)
                .where(where)
                .values(attempts=attempts, next_attempt_at=now + timedelta(seconds=wait), last_error=error)
            )
        log.warning("webhook.retry", attempts=attempts, error=error, retry_in_s=wait, **context)
        return "retry"

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failure (the last step of the schedule repeats)."""
        schedule = self.config.backoff_s
        return schedule[min(attempts, len(schedule)) - 1]

    # -- operations (CLI) --------------------------------------------------------------------------------

    def summary(self) -> dict[str, dict[str, int]]:
        """Per endpoint name (configured or not): pending, delivered and dead deliveries."""
        out: dict[str, dict[str, int]] = {
            e.name: {"pending": 0, "delivered": 0, "dead": 0} for e in self.config.endpoints
        }
        t = webhook_outbox.c
        with self.db.connect() as conn:
            rows = conn.execute(
                select(t.endpoint, func.count(t.delivered_at), func.count(t.dead_at), func.count()).group_by(
                    t.endpoint
                )
            ).all()
        for name, delivered, dead, total in rows:
            out[name] = {"pending": total - delivered - dead, "delivered": delivered, "dead": dead}
        return out

    def requeue_dead(self, name: str, now: datetime) -> int:
        """Give an endpoint's dead letters a fresh set of attempts (after fixing the receiver)."""
        with self.db.begin() as conn:
            result = conn.execute(
                update(webhook_outbox)
                .where(webhook_outbox.c.endpoint == name, webhook_outbox.c.dead_at.is_not(None))
                .values(dead_at=None, attempts=0, next_attempt_at=now, last_error=None)
            )
        return int(result.rowcount or 0)


def post_signed(
    sender: Sender,
    timeout_s: float,
    endpoint: WebhookEndpoint,
    body: bytes,
    delivery_id: str,
    event_type: str,
    now: datetime,
) -> tuple[int | None, str | None]:
    """Send one signed body: the status, and None on a 2xx or else a short error (never a body)."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "calmline-webhooks/1",
        SIGNATURE_HEADER: sign(endpoint.signing_secret(), body, int(now.timestamp())),
        DELIVERY_HEADER: delivery_id,
        EVENT_HEADER: event_type,
    }
    try:
        status = sender(endpoint.url, body, headers, timeout_s)
    except Exception as exc:
        return None, _describe(exc)
    return status, None if 200 <= status < 300 else f"HTTP {status}"


def send_test(config: WebhooksConfig, name: str, now: datetime, sender: Sender = post_json) -> PingResult:
    """Send a signed ``webhook.test`` ping to one endpoint now (not through the outbox).

    Raises:
        KeyError: no endpoint is called ``name``.
    """
    endpoint = config.endpoint(name)
    if endpoint is None:
        raise KeyError(name)
    delivery_id = f"test-{int(now.timestamp())}"
    body = {
        "id": delivery_id,
        "v": 1,
        "type": "webhook.test",
        "occurred_at": now.isoformat(),
        "call_id": None,
        "alert_id": None,
        "data": {"endpoint": name, "message": "calmline webhook test"},
    }
    raw = encode(body).encode("utf-8")
    status, error = post_signed(sender, config.timeout_s, endpoint, raw, delivery_id, "webhook.test", now)
    return PingResult(error is None, status, error)


async def deliver_forever(dispatcher: WebhookDispatcher, clock: Clock, interval: float) -> None:
    """Run ``deliver_due`` once per ``interval`` in a worker thread; a failing pass is logged, never fatal."""
    while True:
        await anyio.sleep(interval)
        try:
            await to_thread.run_sync(lambda: dispatcher.deliver_due(clock.now()))
        except Exception as exc:
            log.error("webhook.pass_failed", error=type(exc).__name__)


def start_webhooks(settings: Settings, db: Engine, clock: Clock) -> asyncio.Task[None] | None:
    """The delivery task for the API lifespan; None when no webhooks file or no endpoint is configured."""
    if settings.webhooks_file is None:
        return None
    config = load_webhooks(settings.webhooks_file)
    if not config.endpoints:
        return None
    dispatcher = WebhookDispatcher(db, config)
    log.info("webhook.started", endpoints=[e.name for e in config.endpoints])
    return asyncio.create_task(deliver_forever(dispatcher, clock, settings.webhooks_interval_s))
