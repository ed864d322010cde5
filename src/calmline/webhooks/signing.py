"""Signatures on webhook deliveries, and the check a receiver runs.

A delivery carries ``X-Calmline-Signature: t=<unix seconds>,v1=<hex>`` where ``v1`` is
HMAC-SHA256(secret, ``f"{t}.{body}"``) over the raw request body. Signing the timestamp with the body lets a
receiver refuse replays: accept a delivery only when the signature matches *and* ``t`` is recent.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Calmline-Signature"
DELIVERY_HEADER = "X-Calmline-Delivery"
EVENT_HEADER = "X-Calmline-Event"


def _digest(secret: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def sign(secret: bytes | str, body: bytes, timestamp: int) -> str:
    """The ``X-Calmline-Signature`` value for ``body`` sent at ``timestamp`` (unix seconds)."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return f"t={timestamp},v1={_digest(key, timestamp, body)}"


def verify_signature(
    secret: bytes | str, header: str, body: bytes | str, now: float, tolerance_s: float = 300
) -> bool:
    """Whether ``header`` is a valid, fresh signature of ``body`` — for receivers.

    Args:
        secret: the endpoint's shared secret.
        header: the ``X-Calmline-Signature`` value, ``t=<unix>,v1=<hex>`` (several ``v1`` entries are
            allowed, e.g. while a secret is rotated; any match passes).
        body: the raw request body, exactly as received (not re-serialised JSON).
        now: the receiver's current time in unix seconds (``time.time()``).
        tolerance_s: how far ``t`` may be from ``now``, either way, before the delivery is refused as a
            replay.
    """
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    raw = body.encode("utf-8") if isinstance(body, str) else body
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates or abs(now - timestamp) > tolerance_s:
        return False
    expected = _digest(key, timestamp, raw)
    matched = False
    for candidate in candidates:  # compare every candidate: timing must not reveal which one matched
        matched = hmac.compare_digest(expected, candidate) or matched
    return matched
