from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from calmline.clock import FakeClock
from calmline.service import CallService
from tests.api.helpers import bearer, ended, started, utterance


@pytest.fixture
def key(ingest_key: str) -> dict[str, str]:
    return bearer(ingest_key)


def test_single_event_is_accepted_with_its_outputs(client: TestClient, key: dict[str, str]) -> None:
    first = client.post("/api/events", json=started("c1"), headers=key)
    assert first.status_code == 202
    assert first.json() == {
        "status": "accepted",
        "call_id": "c1",
        "seq": 0,
        "outputs": [],
        "released": 0,
        "detail": "",
    }
    risky = client.post("/api/events", json=utterance("c1", 1, "I want to die"), headers=key).json()
    assert risky["status"] == "accepted"
    assert [o["type"] for o in risky["outputs"]] == ["finding", "alert.raised"]
    assert risky["outputs"][1]["alert_id"] == "c1-A1"


def test_duplicate_is_acknowledged_with_409_and_not_stored_twice(
    client: TestClient, key: dict[str, str], service: CallService
) -> None:
    client.post("/api/events", json=started("c1"), headers=key)
    again = client.post("/api/events", json=started("c1"), headers=key)
    assert again.status_code == 409
    assert again.json()["status"] == "duplicate" and again.json()["error"] == "duplicate"
    assert len(service.log.read("c1")) == 1


def test_out_of_order_event_is_held_then_released(
    client: TestClient, key: dict[str, str], service: CallService
) -> None:
    client.post("/api/events", json=started("c1"), headers=key)
    early = client.post("/api/events", json=utterance("c1", 2, "second"), headers=key)
    assert early.status_code == 202
    assert early.json()["status"] == "held"
    late = client.post("/api/events", json=utterance("c1", 1, "first"), headers=key).json()
    assert (late["status"], late["released"]) == ("accepted", 1)
    assert [r.seq for r in service.log.read("c1", kind="input")] == [0, 1, 2]


def test_gap_timeout_is_declared_by_tick(
    client: TestClient, key: dict[str, str], service: CallService, clock: FakeClock
) -> None:
    client.post("/api/events", json=started("c1"), headers=key)
    client.post("/api/events", json=utterance("c1", 3, "third"), headers=key)
    clock.advance(6)
    service.tick()  # what the app's background ticker does every second
    assert [r.type for r in service.log.read("c1", kind="input")] == [
        "call.started",
        "sequence.gap",
        "utterance",
    ]


def test_agent_status_event_has_no_call(client: TestClient, key: dict[str, str]) -> None:
    body = {"type": "agent.status", "agent_id": "a7", "status": "available", "at": "2026-01-01T09:00:00Z"}
    response = client.post("/api/events", json=body, headers=key)
    assert response.status_code == 202
    assert response.json()["call_id"] is None


@pytest.mark.parametrize("kind", ["supervisor.action", "sequence.gap"])
def test_server_only_events_cannot_be_ingested(client: TestClient, key: dict[str, str], kind: str) -> None:
    body = {"type": kind, "call_id": "c1", "action": "note", "actor": "x", "at": "2026-01-01T09:00:00Z"}
    response = client.post("/api/events", json=body, headers=key)
    assert response.status_code == 422
    assert response.json()["error"] == "event_not_allowed"
    assert response.json()["fields"][0]["loc"] == "type"


def test_batch_processes_each_item_independently(
    client: TestClient, key: dict[str, str], service: CallService
) -> None:
    events = [
        started("c1"),
        utterance("c1", 1, "hello"),
        {**utterance("c1", 2, "secret words"), "colour": "blue"},
        utterance("c1", 2, "I could die"),
        utterance("c1", 1, "hello"),
        "not an event",
    ]
    response = client.post("/api/events/batch", json={"events": events}, headers=key)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["index"], r["status"]) for r in results] == [
        (0, "accepted"),
        (1, "accepted"),
        (2, "rejected"),
        (3, "accepted"),
        (4, "duplicate"),
        (5, "rejected"),
    ]
    assert results[2]["error"] == "validation_error"
    assert results[2]["errors"] == [{"loc": "utterance.colour", "msg": "unknown field (not allowed)"}]
    assert "secret words" not in response.text
    assert [r.seq for r in service.log.read("c1", kind="input")] == [0, 1, 2]


def test_batch_envelope_is_checked(client: TestClient, key: dict[str, str]) -> None:
    assert client.post("/api/events/batch", json=[started()], headers=key).status_code == 422
    missing = client.post("/api/events/batch", json={}, headers=key)
    assert (missing.status_code, missing.json()["fields"][0]["loc"]) == (422, "events")
    extra = client.post("/api/events/batch", json={"events": [], "extra": 1}, headers=key)
    assert (extra.status_code, extra.json()["fields"][0]["loc"]) == (422, "extra")
    too_many = client.post("/api/events/batch", json={"events": [{}] * 1001}, headers=key)
    assert (too_many.status_code, too_many.json()["error"]) == (422, "batch_too_large")
    assert client.post("/api/events/batch", json={"events": []}, headers=key).json() == {"results": []}


def test_websocket_ingest_replies_per_message_and_survives_bad_ones(
    client: TestClient, ingest_key: str, service: CallService
) -> None:
    with client.websocket_connect("/ws/ingest", headers=bearer(ingest_key)) as ws:
        ws.send_text(json.dumps(started("w1")))
        assert ws.receive_json()["status"] == "accepted"
        ws.send_text("{not json")
        assert ws.receive_json()["error"] == "invalid_json"
        ws.send_text(json.dumps({**utterance("w1", 1, "x"), "typo": 1}))
        bad = ws.receive_json()
        assert (bad["error"], bad["fields"][0]["loc"]) == ("validation_error", "utterance.typo")
        ws.send_bytes(b"\xff\xfe")
        assert ws.receive_json()["error"] == "invalid_encoding"
        ws.send_text(json.dumps([utterance("w1", 1, "hello"), utterance("w1", 1, "hello"), {}]))
        results = ws.receive_json()["results"]
        assert [r["status"] for r in results] == ["accepted", "duplicate", "rejected"]
        ws.send_text(json.dumps({"events": [ended("w1", 2)]}))
        assert ws.receive_json()["results"][0]["status"] == "accepted"
    assert [r.seq for r in service.log.read("w1", kind="input")] == [0, 1, 2]


def test_websocket_ingest_accepts_token_in_query(client: TestClient, ingest_key: str) -> None:
    with client.websocket_connect(f"/ws/ingest?token={ingest_key}") as ws:
        ws.send_text(json.dumps(started("q1")))
        assert ws.receive_json()["status"] == "accepted"


def test_websocket_ingest_rejects_oversized_message(
    client: TestClient, ingest_key: str, settings: object
) -> None:
    with client.websocket_connect("/ws/ingest", headers=bearer(ingest_key)) as ws:
        ws.send_text(json.dumps(utterance("big", 0, "a" * 1_100_000)))
        assert ws.receive_json()["error"] == "payload_too_large"
        ws.send_text(json.dumps(started("big")))
        assert ws.receive_json()["status"] == "accepted"


def test_websocket_ingest_needs_an_ingest_credential(client: TestClient, tokens: dict[str, str]) -> None:
    from starlette.testclient import WebSocketDenialResponse

    with pytest.raises(WebSocketDenialResponse) as anonymous, client.websocket_connect("/ws/ingest"):
        pass
    assert anonymous.value.status_code == 401
    with (
        pytest.raises(WebSocketDenialResponse) as supervisor,
        client.websocket_connect("/ws/ingest", headers=bearer(tokens["supervisor"])),
    ):
        pass
    assert supervisor.value.status_code == 403
    assert supervisor.value.json()["error"] == "forbidden"


def test_websocket_ingest_stops_when_key_is_revoked(
    client: TestClient, ingest_key: str, service: CallService
) -> None:
    from starlette.websockets import WebSocketDisconnect

    from calmline.api import auth

    with client.websocket_connect("/ws/ingest", headers=bearer(ingest_key)) as ws:
        ws.send_text(json.dumps(started("r1")))
        assert ws.receive_json()["status"] == "accepted"
        auth.revoke_api_key(service.db, ingest_key.split("_")[1])
        ws.send_text(json.dumps(utterance("r1", 1, "hello")))
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4401
    assert len(service.log.read("r1")) == 1
