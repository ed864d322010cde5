"""Signed webhooks: outbox in the append transaction, delivery with retries, signatures, and no PHI leaks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, select
from structlog.testing import capture_logs
from typer.testing import CliRunner

from calmline.engine import CallEngine
from calmline.events import CallStarted, SupervisorAction, UtteranceReceived
from calmline.runtime import build_engine, build_service
from calmline.service import CallService
from calmline.settings import Settings
from calmline.store.db import make_engine, migrate
from calmline.store.log import StoredEvent
from calmline.store.schema import events, webhook_outbox
from calmline.webhooks import (
    DeliveryStats,
    WebhookDispatcher,
    WebhookOutbox,
    WebhooksConfig,
    WebhooksConfigError,
    parse_webhooks,
    redact,
    send_test,
    sign,
    verify_signature,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SECRET = "s3cret-for-tests-0123456789"
WORDS = "I'm going to take all my pills tonight"
PHRASE = "take all my pills"


# -- helpers


class Receiver:
    """A real HTTP server on 127.0.0.1 that records requests and answers with scripted statuses."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append((dict(self.headers.items()), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?token=hidden"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.requests]


class FakeSender:
    """Answers each POST from a script of statuses (or exceptions) and records what was sent."""

    def __init__(self, *script: int | Exception) -> None:
        self.script = list(script)
        self.sent: list[dict[str, Any]] = []

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        self.sent.append(json.loads(body))
        answer = self.script.pop(0) if self.script else 200
        if isinstance(answer, Exception):
            raise answer
        return answer


def config_yaml(*endpoints: str, extra: str = "") -> str:
    return extra + "endpoints:\n" + "".join(endpoints)


def endpoint(name: str, url: str = "http://127.0.0.1:9/hook", **opts: object) -> str:
    lines = [f"  - name: {name}\n", f"    url: {url}\n", f"    secret: {SECRET}\n"]
    lines += [f"    {k}: {json.dumps(v)}\n" for k, v in opts.items()]
    return "".join(lines)


def outbox_rows(db: Engine) -> list[Any]:
    with db.connect() as conn:
        return list(conn.execute(select(webhook_outbox).order_by(webhook_outbox.c.id)))


@pytest.fixture(scope="module")
def default_engine() -> CallEngine:
    return build_engine()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


def make_service(engine: CallEngine, config: WebhooksConfig) -> CallService:
    db = make_engine("sqlite://")
    migrate(db)
    return CallService(db, engine, _Clock(), on_append=[WebhookOutbox(config).apply])


class _Clock:
    def now(self) -> datetime:
        return T0


def crisis_call(service: CallService, call_id: str = "c1") -> None:
    service.ingest(CallStarted(call_id=call_id, started_at=T0))
    service.ingest(
        UtteranceReceived(call_id=call_id, seq=1, speaker="caller", text=WORDS, start_ms=0, end_ms=900)
    )


# -- the outbox


def test_outbox_row_is_written_with_the_alert_it_announces(default_engine: CallEngine) -> None:
    config = parse_webhooks(config_yaml(endpoint("pager", events=["alert.raised"])), "w.yaml")
    service = make_service(default_engine, config)
    crisis_call(service)
    rows = outbox_rows(service.db)
    raised = [r for r in service.log.read("c1") if r.type == "alert.raised"]
    assert raised and [r.event_id for r in rows] == [r.id for r in raised]
    assert {r.event_type for r in rows} == {"alert.raised"}
    assert all(r.attempts == 0 and r.delivered_at is None and r.next_attempt_at is not None for r in rows)


def test_outbox_rolls_back_with_the_event_when_the_transaction_fails(default_engine: CallEngine) -> None:
    config = parse_webhooks(config_yaml(endpoint("pager")), "w.yaml")
    db = make_engine("sqlite://")
    migrate(db)

    def boom(conn: Connection, rows: Sequence[StoredEvent]) -> None:
        if any(r.type == "alert.raised" for r in rows):
            raise RuntimeError("a later projection failed")

    service = CallService(db, default_engine, _Clock(), on_append=[WebhookOutbox(config).apply, boom])
    with pytest.raises(RuntimeError):
        crisis_call(service)
    with db.connect() as conn:  # call.started committed; the utterance and its alerts did not
        stored = set(conn.execute(select(events.c.type)).scalars())
    assert "call.started" in stored and not {"utterance", "alert.raised"} & stored
    assert outbox_rows(db) == []


def test_only_subscribed_lifecycle_events_are_queued(default_engine: CallEngine) -> None:
    config = parse_webhooks(
        config_yaml(endpoint("all"), endpoint("acks", events=["alert.acknowledged"])), "w.yaml"
    )
    service = make_service(default_engine, config)
    crisis_call(service)
    service.ingest(
        SupervisorAction(
            call_id="c1",
            action="acknowledge_alert",
            actor="sup1",
            alert_id="c1-A1",
            at=T0 + timedelta(seconds=5),
        )
    )
    by_endpoint: dict[str, list[str]] = {}
    for row in outbox_rows(service.db):
        by_endpoint.setdefault(row.endpoint, []).append(row.event_type)
    assert by_endpoint["acks"] == ["alert.acknowledged"]
    assert "alert.raised" in by_endpoint["all"] and "protocol.activated" in by_endpoint["all"]
    assert not {"finding", "utterance.scored", "checklist.step"} & set(by_endpoint["all"])


# -- delivery to a real server, signatures


def test_real_receiver_gets_a_signed_delivery_that_verifies(
    default_engine: CallEngine, receiver: Receiver
) -> None:
    config = parse_webhooks(
        config_yaml(endpoint("pager", url=receiver.url, events=["alert.raised"])), "w.yaml"
    )
    service = make_service(default_engine, config)
    crisis_call(service)
    stats = WebhookDispatcher(service.db, config).deliver_due(T0 + timedelta(seconds=1))
    assert (stats.sent, stats.failed) == (2, 0)
    headers, body = receiver.requests[0]
    now = (T0 + timedelta(seconds=1)).timestamp()
    assert verify_signature(SECRET, headers["X-Calmline-Signature"], body, now)
    assert not verify_signature(SECRET, headers["X-Calmline-Signature"], body.replace(b"c1", b"c2"), now)
    assert not verify_signature("another-secret-0123456", headers["X-Calmline-Signature"], body, now)
    assert not verify_signature(SECRET, headers["X-Calmline-Signature"], body, now + 301)  # a replay
    envelope = json.loads(body)
    assert headers["X-Calmline-Delivery"] == envelope["id"] == str(outbox_rows(service.db)[0].id)
    assert headers["X-Calmline-Event"] == envelope["type"] == "alert.raised"
    assert envelope["call_id"] == "c1" and envelope["alert_id"] == "c1-A1"
    assert envelope["data"]["severity"] == "critical"
    assert all(r.delivered_at is not None and r.attempts == 1 for r in outbox_rows(service.db))
    # delivered rows are never sent again
    assert WebhookDispatcher(service.db, config).deliver_due(T0 + timedelta(hours=1)).sent == 0
    assert len(receiver.requests) == 2


def test_signature_header_format_and_rotation() -> None:
    header = sign(SECRET, b"{}", 1_700_000_000)
    assert header.startswith("t=1700000000,v1=") and len(header.split("v1=")[1]) == 64
    rotated = header + ",v1=" + sign("new-secret-0123456789", b"{}", 1_700_000_000).split("v1=")[1]
    assert verify_signature("new-secret-0123456789", rotated, "{}", 1_700_000_100)
    assert not verify_signature(SECRET, "v1=abc", b"{}", 1_700_000_000)
    assert not verify_signature(SECRET, "t=1700000000", b"{}", 1_700_000_000)


# -- PHI


def test_evidence_text_is_stripped_by_default_and_sent_only_when_enabled(default_engine: CallEngine) -> None:
    config = parse_webhooks(
        config_yaml(
            endpoint("pager", events=["alert.raised"]),
            endpoint("ehr", events=["alert.raised"], include_evidence_text=True),
        ),
        "w.yaml",
    )
    service = make_service(default_engine, config)
    crisis_call(service)
    sender = FakeSender()
    WebhookDispatcher(service.db, config, sender=sender).deliver_due(T0)
    pager = [
        b
        for b in sender.sent
        if b["id"] in {str(r.id) for r in outbox_rows(service.db) if r.endpoint == "pager"}
    ]
    ehr = [b for b in sender.sent if b not in pager]
    assert pager and ehr
    for body in pager:
        text = json.dumps(body)
        assert PHRASE not in text and "pills" not in text
        finding = body["data"]["evidence"][0]
        assert {"analyzer", "analyzer_version", "type", "level", "rule_id"} <= set(finding)
        assert not {"evidence", "notes", "text"} & set(finding)
    assert any(PHRASE in " ".join(f["text"]) for b in ehr for f in b["data"]["evidence"])
    # the outbox table itself never holds transcript words, even for the endpoint that receives them
    assert all("pills" not in r.payload for r in outbox_rows(service.db))


def test_redact_drops_wordy_keys_at_any_depth() -> None:
    payload = {
        "reason": "r",
        "text": "words",
        "nested": {"notes": ["n"], "evidence": [{"type": "t", "evidence": [[0, 3]], "notes": ["x"]}]},
    }
    assert redact(payload) == {"reason": "r", "nested": {"evidence": [{"type": "t"}]}}


def test_nothing_in_logs_contains_transcript_text(default_engine: CallEngine) -> None:
    config = parse_webhooks(
        config_yaml(endpoint("ehr", include_evidence_text=True), extra="max_attempts: 2\n"), "w.yaml"
    )
    service = make_service(default_engine, config)
    with capture_logs() as logs:
        crisis_call(service)
        dispatcher = WebhookDispatcher(service.db, config, sender=FakeSender(*[500] * 50))
        for minute in range(0, 60, 2):
            dispatcher.deliver_due(T0 + timedelta(minutes=minute))
    assert any(e["event"] == "webhook.dead_letter" for e in logs)
    dumped = json.dumps(logs, default=str)
    assert "pills" not in dumped and "tonight" not in dumped and SECRET not in dumped
    assert "127.0.0.1" not in dumped  # the URL (and its token) is never logged


# -- retries, order, dead letters


def _one_row_outbox(config: WebhooksConfig, *types: str) -> Engine:
    db = make_engine("sqlite://")
    migrate(db)
    outbox = WebhookOutbox(config)
    with db.begin() as conn:
        for i, kind in enumerate(types, start=1):
            payload = {"type": kind, "call_id": "c1", "alert_id": "c1-A1", "at": T0.isoformat()}
            outbox.apply(conn, [StoredEvent(i, "c1", i, "output", kind, None, 1, payload, T0)])
    return db


def test_retry_backs_off_after_500_then_succeeds() -> None:
    config = parse_webhooks(config_yaml(endpoint("pager")), "w.yaml")
    db = _one_row_outbox(config, "alert.raised")
    sender = FakeSender(500, 503, 200)
    dispatcher = WebhookDispatcher(db, config, sender=sender)
    assert dispatcher.deliver_due(T0).failed == 1
    assert outbox_rows(db)[0].last_error == "HTTP 500"
    assert dispatcher.deliver_due(T0 + timedelta(seconds=4)) == DeliveryStats()  # not due yet
    assert dispatcher.deliver_due(T0 + timedelta(seconds=5)).failed == 1  # the 5 s step
    assert dispatcher.deliver_due(T0 + timedelta(seconds=34)).sent == 0
    assert dispatcher.deliver_due(T0 + timedelta(seconds=35)).sent == 1  # the 30 s step
    row = outbox_rows(db)[0]
    assert (row.attempts, row.last_error, row.delivered_at is not None) == (3, None, True)
    assert len({b["id"] for b in sender.sent}) == 1  # the same delivery id on every attempt
    assert [dispatcher.backoff(n) for n in (1, 2, 3, 4, 5, 9)] == [5, 30, 120, 600, 600, 600]


def test_later_events_of_a_call_wait_for_earlier_ones() -> None:
    config = parse_webhooks(config_yaml(endpoint("pager")), "w.yaml")
    db = _one_row_outbox(config, "alert.raised", "alert.acknowledged", "alert.resolved")
    sender = FakeSender(500)
    dispatcher = WebhookDispatcher(db, config, sender=sender)
    stats = dispatcher.deliver_due(T0)
    assert (stats.sent, stats.failed, stats.deferred) == (0, 1, 2)
    assert dispatcher.deliver_due(T0 + timedelta(seconds=5)).sent == 3
    assert [b["type"] for b in sender.sent] == [
        "alert.raised",
        "alert.raised",
        "alert.acknowledged",
        "alert.resolved",
    ]


def test_dead_letter_after_max_attempts_is_logged_without_payload() -> None:
    config = parse_webhooks(
        config_yaml(endpoint("pager"), extra="max_attempts: 3\nbackoff_s: [1]\n"), "w.yaml"
    )
    db = _one_row_outbox(config, "alert.raised", "alert.resolved")
    dispatcher = WebhookDispatcher(db, config, sender=FakeSender(*[ConnectionRefusedError()] * 3))
    with capture_logs() as logs:
        for second in range(3):
            dispatcher.deliver_due(T0 + timedelta(seconds=second))
    first, second_row = outbox_rows(db)
    assert (first.attempts, first.dead_at is not None, first.last_error) == (
        3,
        True,
        "ConnectionRefusedError",
    )
    assert second_row.dead_at is None  # a dead letter no longer holds up the rest of the call
    dead = [e for e in logs if e["event"] == "webhook.dead_letter"]
    assert len(dead) == 1 and dead[0]["log_level"] == "error"
    assert set(dead[0]) == {
        "event",
        "log_level",
        "endpoint",
        "delivery_id",
        "event_type",
        "call_id",
        "attempts",
        "error",
    }
    assert dispatcher.deliver_due(T0 + timedelta(seconds=3)).sent == 1
    assert dispatcher.requeue_dead("pager", T0) == 1
    assert dispatcher.summary()["pager"] == {"pending": 1, "delivered": 1, "dead": 0}


def test_unreachable_endpoint_does_not_break_ingest(default_engine: CallEngine) -> None:
    config = parse_webhooks(config_yaml(endpoint("pager", url="http://127.0.0.1:1/none")), "w.yaml")
    service = make_service(default_engine, config)
    crisis_call(service)
    stats = WebhookDispatcher(service.db, config).deliver_due(T0)  # the real client, a refused connection
    assert stats.failed == 1 and stats.sent == 0
    assert outbox_rows(service.db)[0].last_error == "ConnectionRefusedError"
    assert service.ingest(CallStarted(call_id="c2", started_at=T0)).status == "accepted"


# -- configuration


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        (config_yaml(endpoint("p", url="ftp://x")), 3, "endpoints.0.url"),
        (config_yaml(endpoint("p", events=["finding"])), 5, "unknown event type(s) finding"),
        (config_yaml(endpoint("p", url="http://pager.example.org/x")), 2, "plain http"),
        (config_yaml(endpoint("p"), endpoint("p")), 1, "duplicate endpoint name(s) p"),
        ("endpoints:\n  - name: p\n    url: https://x.org\n    secret: short\n", 2, "at least 16"),
        (
            "endpoints:\n  - name: p\n    url: https://x.org\n    secret_env: NOPE_NOT_SET\n",
            4,
            "NOPE_NOT_SET",
        ),
        ("endpoints: [\n", 2, "invalid YAML"),
    ],
)
def test_config_errors_name_the_file_and_line(text: str, line: int, reason: str) -> None:
    with pytest.raises(WebhooksConfigError) as caught:
        parse_webhooks(text, "webhooks.yaml", environ={})
    assert str(caught.value).startswith(f"webhooks.yaml:{line}: ") and reason in str(caught.value)
    assert SECRET not in str(caught.value) and "short" not in str(caught.value).replace("shorter", "")


def test_secret_env_is_resolved_and_never_printed() -> None:
    config = parse_webhooks(
        "endpoints:\n  - name: p\n    url: https://x.org/h?k=token\n    secret_env: PAGER_SECRET\n",
        "w.yaml",
        environ={"PAGER_SECRET": SECRET},
    )
    (ep,) = config.endpoints
    assert ep.signing_secret() == SECRET.encode() and SECRET not in repr(config)
    assert ep.safe_url() == "https://x.org/h"


# -- wiring: build_service, the app lifespan, the CLI


@pytest.fixture
def webhooks_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver) -> Path:
    path = tmp_path / "webhooks.yaml"
    path.write_text(config_yaml(endpoint("pager", url=receiver.url)), "utf-8")
    monkeypatch.setenv("CALMLINE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CALMLINE_WEBHOOKS_FILE", str(path))
    monkeypatch.delenv("CALMLINE_DATABASE_URL", raising=False)
    return path


def test_build_service_queues_deliveries_when_a_webhooks_file_is_set(
    webhooks_env: Path, default_engine: CallEngine
) -> None:
    service = build_service(Settings(), _Clock(), default_engine)
    try:
        crisis_call(service)
        assert {r.event_type for r in outbox_rows(service.db)} >= {"alert.raised", "protocol.activated"}
    finally:
        service.db.dispose()


def test_app_lifespan_starts_and_stops_the_delivery_task(
    webhooks_env: Path, default_engine: CallEngine
) -> None:
    from calmline.api.app import create_app

    service = build_service(Settings(), _Clock(), default_engine)
    try:
        with TestClient(create_app(Settings(), service=service)) as client:
            assert client.get("/healthz").status_code in (200, 503)
    finally:
        service.db.dispose()


def test_cli_test_sends_a_signed_ping_and_list_hides_secrets(webhooks_env: Path, receiver: Receiver) -> None:
    from calmline.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["webhooks", "test", "pager"])
    assert result.exit_code == 0, result.output
    headers, body = receiver.requests[0]
    ts = int(headers["X-Calmline-Signature"].split(",")[0].removeprefix("t="))
    assert verify_signature(SECRET, headers["X-Calmline-Signature"], body, ts)
    assert json.loads(body)["type"] == headers["X-Calmline-Event"] == "webhook.test"
    listed = runner.invoke(app, ["webhooks", "list"])
    assert listed.exit_code == 0 and "pager" in listed.output
    assert SECRET not in listed.output and "token" not in listed.output
    assert runner.invoke(app, ["webhooks", "test", "nobody"]).exit_code == 2


def test_send_test_reports_a_refusal() -> None:
    config = parse_webhooks(config_yaml(endpoint("pager")), "w.yaml")
    result = send_test(config, "pager", T0, sender=FakeSender(401))
    assert (result.ok, result.status, result.error) == (False, 401, "HTTP 401")


# -- every supported database


def test_migration_creates_a_working_outbox_on_every_backend(db: Engine) -> None:
    config = parse_webhooks(config_yaml(endpoint("pager")), "w.yaml")
    outbox = WebhookOutbox(config)
    with db.begin() as conn:
        payload = {"type": "alert.raised", "call_id": "c1", "alert_id": "c1-A1", "at": T0.isoformat()}
        outbox.apply(conn, [StoredEvent(7, "c1", 2, "output", "alert.raised", None, 1, payload, T0)])
    dispatcher = WebhookDispatcher(db, config, sender=FakeSender(500, 200))
    assert dispatcher.deliver_due(T0).failed == 1
    assert dispatcher.deliver_due(T0 + timedelta(seconds=5)).sent == 1
    (row,) = outbox_rows(db)
    assert (row.event_id, row.attempts, row.last_error) == (7, 2, None)


def test_an_unreadable_row_fails_like_a_send_and_does_not_stall_the_pass() -> None:
    config = parse_webhooks(config_yaml(endpoint("pager")), "w.yaml")
    db = _one_row_outbox(config, "alert.raised")
    with db.begin() as conn:
        conn.execute(webhook_outbox.update().values(payload="{not json"))
    stats = WebhookDispatcher(db, config, sender=FakeSender()).deliver_due(T0)
    assert (stats.sent, stats.failed) == (0, 1)
    assert outbox_rows(db)[0].last_error == "unreadable payload: JSONDecodeError"
