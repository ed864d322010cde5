from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.testclient import TestClient, WebSocketDenialResponse

from calmline.api.ws import CLOSE_TOO_SLOW, LiveHub, Subscriber, _feed
from calmline.store.log import StoredEvent
from tests.api.helpers import bearer, started, utterance


def _row(i: int) -> StoredEvent:
    return StoredEvent(
        i, "c1", i, "input", "tick", None, None, {"type": "tick"}, datetime(2026, 1, 1, tzinfo=UTC)
    )


def _send(client: TestClient, key: str, *events: dict[str, Any]) -> None:
    for event in events:
        assert client.post("/api/events", json=event, headers=bearer(key)).status_code == 202


def test_catch_up_then_live_delivery(client: TestClient, tokens: dict[str, str], ingest_key: str) -> None:
    _send(client, ingest_key, started("c1"), utterance("c1", 1, "hello"))
    with client.websocket_connect("/ws/live?after=0", headers=bearer(tokens["supervisor"])) as ws:
        first, second = ws.receive_json(), ws.receive_json()
        assert set(first) == {"id", "stream", "pos", "kind", "type", "seq", "payload"}
        assert [(m["id"], m["type"], m["seq"]) for m in (first, second)] == [
            (1, "call.started", 0),
            (2, "utterance", 1),
        ]
        _send(client, ingest_key, utterance("c1", 2, "I want to die"))
        live = [ws.receive_json() for _ in range(3)]
        assert [(m["id"], m["kind"], m["type"]) for m in live] == [
            (3, "input", "utterance"),
            (4, "output", "finding"),
            (5, "output", "alert.raised"),
        ]
        assert live[0]["payload"]["text"] == "I want to die"
        _send(client, ingest_key, started("c2"))
        assert ws.receive_json()["stream"] == "c2"


def test_after_skips_rows_already_seen(client: TestClient, tokens: dict[str, str], ingest_key: str) -> None:
    _send(client, ingest_key, started("c1"), utterance("c1", 1, "a"), utterance("c1", 2, "b"))
    with client.websocket_connect("/ws/live?after=2", headers=bearer(tokens["qa"])) as ws:
        assert ws.receive_json()["id"] == 3
        _send(client, ingest_key, utterance("c1", 3, "c"))
        assert ws.receive_json()["id"] == 4


def test_live_feed_redacts_text_for_admin(
    client: TestClient, tokens: dict[str, str], ingest_key: str
) -> None:
    _send(client, ingest_key, started("c1"), utterance("c1", 1, "my secret"))
    with client.websocket_connect("/ws/live", headers=bearer(tokens["admin"])) as ws:
        ws.receive_json()
        assert ws.receive_json()["payload"]["text"] == "[redacted]"
        _send(client, ingest_key, utterance("c1", 2, "another secret"))
        assert ws.receive_json()["payload"]["text"] == "[redacted]"


def test_live_feed_accepts_cookie_and_query_token(
    client: TestClient, tokens: dict[str, str], ingest_key: str
) -> None:
    _send(client, ingest_key, started("c1"))
    with client.websocket_connect(f"/ws/live?token={tokens['agent']}") as ws:
        assert ws.receive_json()["id"] == 1
    client.cookies.set("calmline_session", tokens["qa"])
    with client.websocket_connect("/ws/live") as ws:
        assert ws.receive_json()["id"] == 1


@pytest.mark.parametrize(
    ("role", "query", "status"),
    [(None, "", 401), ("auditor", "", 403), ("qa", "?after=-1", 422), ("qa", "?after=x", 422)],
)
def test_live_feed_refusals(
    client: TestClient, tokens: dict[str, str], role: str | None, query: str, status: int
) -> None:
    headers = bearer(tokens[role]) if role else {}
    with (
        pytest.raises(WebSocketDenialResponse) as refused,
        client.websocket_connect(f"/ws/live{query}", headers=headers),
    ):
        pass
    assert refused.value.status_code == status


def test_subscriber_overflow_leaves_only_the_close_marker() -> None:
    async def scenario() -> list[Any]:
        subscriber = Subscriber(2)
        subscriber.offer([_row(1), _row(2), _row(3)])
        subscriber.offer([_row(4)])  # ignored once overflowed
        return [subscriber.queue.get_nowait() for _ in range(subscriber.queue.qsize())]

    assert asyncio.run(scenario()) == [None]


def test_feed_closes_slow_client_with_1013() -> None:
    class FakeLog:
        def read_since(self, after: int, limit: int) -> list[StoredEvent]:
            return []

    class FakeService:
        log = FakeLog()

    class FakeSocket:
        async def send_json(self, data: Any) -> None:
            raise AssertionError("nothing to send")

    async def scenario() -> int | None:
        subscriber = Subscriber(1)
        subscriber.offer([_row(1), _row(2)])
        return await _feed(FakeSocket(), FakeService(), subscriber, 0, True)  # type: ignore[arg-type]

    assert asyncio.run(scenario()) == CLOSE_TOO_SLOW


def test_hub_publish_from_another_thread_never_blocks() -> None:
    async def scenario() -> list[int]:
        hub = LiveHub(queue_size=10)
        hub.attach(asyncio.get_running_loop())
        subscriber = hub.open()
        worker = threading.Thread(target=hub.publish, args=([_row(1), _row(2)],))
        worker.start()
        worker.join()
        rows = [await subscriber.queue.get(), await subscriber.queue.get()]
        hub.close(subscriber)
        hub.publish([_row(3)])  # no subscribers: nothing to do
        return [r.id for r in rows if r is not None]

    assert asyncio.run(scenario()) == [1, 2]


def test_live_position_is_the_newest_id(client: TestClient, tokens: dict[str, str], ingest_key: str) -> None:
    headers = bearer(tokens["supervisor"])
    assert client.get("/api/live/position", headers=headers).json() == {"last_id": 0}
    _send(client, ingest_key, started("c1"), utterance("c1", 1, "I could die"))
    assert client.get("/api/live/position", headers=headers).json() == {"last_id": 4}
    assert client.get("/api/live/position", headers=bearer(tokens["auditor"])).status_code == 403
