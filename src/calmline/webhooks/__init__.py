"""Signed webhooks for paging systems: alert, protocol, call-end and follow-up events, delivered reliably.

``WebhookOutbox`` queues deliveries in the append transaction, ``WebhookDispatcher`` sends them (signed,
ordered per call, retried, dead-lettered), and ``verify_signature`` is the check a receiver runs. See the
"Webhooks" section of ``docs/API.md``.
"""

from calmline.webhooks.config import (
    DEFAULT_WEBHOOK_EVENTS,
    WEBHOOK_EVENTS,
    WebhookEndpoint,
    WebhooksConfig,
    WebhooksConfigError,
    load_webhooks,
    parse_webhooks,
)
from calmline.webhooks.dispatch import (
    DeliveryStats,
    PingResult,
    WebhookDispatcher,
    deliver_forever,
    post_json,
    send_test,
    start_webhooks,
)
from calmline.webhooks.outbox import WebhookOutbox, queue_event, redact, synthetic_event_id
from calmline.webhooks.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign, verify_signature

__all__ = [
    "DEFAULT_WEBHOOK_EVENTS",
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "WEBHOOK_EVENTS",
    "DeliveryStats",
    "PingResult",
    "WebhookDispatcher",
    "WebhookEndpoint",
    "WebhookOutbox",
    "WebhooksConfig",
    "WebhooksConfigError",
    "deliver_forever",
    "load_webhooks",
    "parse_webhooks",
    "post_json",
    "queue_event",
    "redact",
    "send_test",
    "sign",
    "start_webhooks",
    "synthetic_event_id",
    "verify_signature",
]
