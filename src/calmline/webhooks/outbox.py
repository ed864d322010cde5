"""The durable outbox: one row per (endpoint, lifecycle event), written in the event's own transaction.

``WebhookOutbox.apply`` is an ``on_append`` hook of ``CallService``: it runs inside the transaction that
appends the input and its outputs, so a committed alert always has its deliveries queued and a rolled-back
one never does. It only renders and inserts rows; sending is ``WebhookDispatcher``'s job, later and elsewhere.

What a receiver sees is decided here. By default the evidence behind an alert is reduced to the *why without
the words*: analyzer, version, rule, type, level, tier, assertion, experiencer and score — no character spans,
no analyzer notes and no ``text`` anywhere. An endpoint with ``include_evidence_text: true`` gets the full
findings, and the dispatcher adds the caller's words (read from the log at send time, so the outbox table
itself never holds transcript text).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Connection, insert, select

from calmline.practice import PRACTICE_PREFIX
from calmline.store.log import StoredEvent, open_payload
from calmline.store.schema import events, webhook_outbox
from calmline.webhooks.config import INPUT_WEBHOOK_EVENTS, WebhooksConfig

log = structlog.get_logger("calmline.webhooks")

#: Calls whose id starts with this are practice calls (``calmline.practice``): never delivered.
#: Finding fields a receiver always gets: enough to explain an alert, never the caller's words.
FINDING_FIELDS: tuple[str, ...] = (
    "type",
    "level",
    "tier",
    "category",
    "score",
    "assertion",
    "experiencer",
    "speaker",
    "utterance_seq",
    "analyzer",
    "analyzer_version",
    "rule_id",
)
#: Keys dropped anywhere in a payload unless the endpoint opted in: they may hold transcript words.
_WORDY = frozenset(
    {"text", "texts", "notes", "note", "quote", "quotes", "excerpt", "transcript", "span", "spans"}
)


def encode(payload: dict[str, Any]) -> str:
    """Stable JSON text (sorted keys, compact) for the outbox and the request body."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def summarize_finding(finding: dict[str, Any]) -> dict[str, Any]:
    """A finding without spans, notes or text: the WHY without the words."""
    out = {k: finding[k] for k in FINDING_FIELDS if finding.get(k) is not None}
    modifiers = finding.get("modifiers") or ()
    if modifiers:
        out["modifiers"] = [
            {"category": m.get("category"), "rule_id": m.get("rule_id")}
            for m in modifiers
            if isinstance(m, dict)
        ]
    return out


def redact(value: Any) -> Any:
    """``value`` with evidence findings summarised and every wordy key dropped, at any depth."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key in _WORDY:
                continue
            if key == "evidence" and isinstance(item, list | tuple):
                out[key] = [summarize_finding(f) if isinstance(f, dict) else redact(f) for f in item]
            else:
                out[key] = redact(item)
        return out
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def envelope(row: StoredEvent, include_evidence_text: bool) -> dict[str, Any]:
    """The delivery body without its ``id`` (the outbox row's id is added when it is sent)."""
    payload = row.payload
    return {
        "v": 1,
        "type": row.type,
        "occurred_at": payload.get("at") or row.recorded_at.isoformat(),
        "call_id": payload.get("call_id") or row.stream,
        "alert_id": payload.get("alert_id"),
        "data": payload if include_evidence_text else redact(payload),
    }


class WebhookOutbox:
    """Queues deliveries for the configured endpoints inside the append transaction."""

    def __init__(self, config: WebhooksConfig) -> None:
        self.config = config

    def apply(self, conn: Connection, rows: Sequence[StoredEvent]) -> None:
        """Queue one delivery per endpoint for each subscribed row (an ``on_append`` hook).

        Outputs of the engine, plus the input events in ``INPUT_WEBHOOK_EVENTS`` (``call.ended``); nothing of
        a practice call.
        """
        values: list[dict[str, Any]] = []
        for row in rows:
            if row.kind != "output" and row.type not in INPUT_WEBHOOK_EVENTS:
                continue
            if row.stream.startswith(PRACTICE_PREFIX):  # a training drill must never page anyone
                continue
            for endpoint in self.config.endpoints:
                if row.type not in endpoint.events:
                    continue
                try:
                    body = envelope(row, endpoint.include_evidence_text)
                except Exception as exc:  # a malformed payload must not fail the ingest it belongs to
                    log.error(
                        "webhook.render_failed",
                        endpoint=endpoint.name,
                        event_type=row.type,
                        error=type(exc).__name__,
                    )
                    continue
                values.append(
                    {
                        "endpoint": endpoint.name,
                        "event_id": row.id,
                        "event_type": row.type,
                        "call_id": body["call_id"],
                        "alert_id": body["alert_id"],
                        "payload": encode(body),
                        "created_at": row.recorded_at,
                        "attempts": 0,
                        "next_attempt_at": row.recorded_at,
                    }
                )
        if values:
            conn.execute(insert(webhook_outbox), values)


def attach_evidence_text(conn: Connection, body: dict[str, Any]) -> dict[str, Any]:
    """Add ``text`` (the caller's words, one string per span) to each evidence finding, from the log."""
    data = body.get("data")
    evidence = data.get("evidence") if isinstance(data, dict) else None
    if not isinstance(evidence, list) or not evidence:
        return body
    cache: dict[int, str] = {}
    out = []
    for finding in evidence:
        seq = finding.get("utterance_seq") if isinstance(finding, dict) else None
        spans = finding.get("evidence") if isinstance(finding, dict) else None
        if not isinstance(seq, int) or not spans:
            out.append(finding)
            continue
        if seq not in cache:
            stored = conn.execute(
                select(events.c.payload).where(
                    events.c.stream == body["call_id"], events.c.seq == seq, events.c.kind == "input"
                )
            ).scalar()
            cache[seq] = (
                str(open_payload(conn.engine, body["call_id"], "utterance", stored).get("text", ""))
                if stored
                else ""
            )
        text = cache[seq]
        out.append({**finding, "text": [text[a:b] for a, b in spans]})
    return {**body, "data": {**data, "evidence": out}}  # type: ignore[dict-item]


def synthetic_event_id(key: str) -> int:
    """A stable negative id for a delivery that no log row announces (log ids are positive).

    ``webhook_outbox`` is unique on (endpoint, event_id): the same ``key`` queued twice is delivered once.
    """
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return -(int.from_bytes(digest[:8], "big") >> 2) - 1


def queue_event(
    conn: Connection,
    config: WebhooksConfig,
    *,
    key: str,
    event_type: str,
    call_id: str,
    data: dict[str, Any],
    at: datetime,
) -> int:
    """Queue a delivery of an event that is not in the log (``followup.due``/``followup.overdue``).

    Runs in the caller's transaction; ``key`` identifies the event (queued at most once per endpoint).
    ``data`` must carry no transcript words. Returns how many endpoints it was queued for.
    """
    event_id = synthetic_event_id(key)
    body = {
        "v": 1,
        "type": event_type,
        "occurred_at": at.isoformat(),
        "call_id": call_id,
        "alert_id": None,
        "data": redact(data),
    }
    queued = 0
    for endpoint in config.endpoints:
        if event_type not in endpoint.events:
            continue
        exists = conn.execute(
            select(webhook_outbox.c.id).where(
                webhook_outbox.c.endpoint == endpoint.name, webhook_outbox.c.event_id == event_id
            )
        ).first()
        if exists is not None:
            continue
        conn.execute(
            insert(webhook_outbox).values(
                endpoint=endpoint.name,
                event_id=event_id,
                event_type=event_type,
                call_id=call_id,
                alert_id=None,
                payload=encode(body),
                created_at=at,
                attempts=0,
                next_attempt_at=at,
            )
        )
        queued += 1
    return queued
