from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from calmline.service import CallService
from tests.api.helpers import bearer, started, utterance

PHI = "my name is Jane Doe and my date of birth is 1 May 1980"


@pytest.fixture
def key(ingest_key: str) -> dict[str, str]:
    return {**bearer(ingest_key), "content-type": "application/json"}


def _error(response: object) -> dict[str, object]:
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error", "detail", "fields"}
    return body  # type: ignore[no-any-return]


def test_malformed_json_is_400_invalid_json(client: TestClient, key: dict[str, str]) -> None:
    response = client.post("/api/events", content=b'{"type": "call.started", ', headers=key)
    assert response.status_code == 400
    assert _error(response)["error"] == "invalid_json"
    empty = client.post("/api/events", content=b"", headers=key)
    assert (empty.status_code, _error(empty)["error"]) == (400, "invalid_json")


def test_invalid_utf8_is_400_invalid_encoding(client: TestClient, key: dict[str, str]) -> None:
    body = b'{"type": "utterance", "text": "caf\xe9"}'
    response = client.post("/api/events", content=body, headers=key)
    assert response.status_code == 400
    assert _error(response)["error"] == "invalid_encoding"
    batch = client.post("/api/events/batch", content=b'{"events": ["\xff"]}', headers=key)
    assert (batch.status_code, _error(batch)["error"]) == (400, "invalid_encoding")


def test_invalid_utf8_on_a_model_route_is_400_invalid_encoding(client: TestClient) -> None:
    response = client.post(
        "/api/auth/login",
        content=b'{"username": "\xff", "password": "x"}',
        headers={"content-type": "application/json"},
    )
    assert (response.status_code, _error(response)["error"]) == (400, "invalid_encoding")
    broken = client.post("/api/auth/login", content=b"{", headers={"content-type": "application/json"})
    assert (broken.status_code, _error(broken)["error"]) == (400, "invalid_json")


def test_body_over_limit_is_413_from_content_length(client: TestClient, key: dict[str, str]) -> None:
    big = b"x" * (10 * 1024 * 1024)
    response = client.post("/api/events", content=big, headers=key)
    assert response.status_code == 413
    assert _error(response)["error"] == "payload_too_large"


def test_streamed_body_over_limit_is_413_without_content_length(
    client: TestClient, key: dict[str, str]
) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(40):  # 40 x 256 KiB = 10 MiB, announced by no Content-Length
            sent += 1
            yield b" " * (256 * 1024)

    response = client.post("/api/events", content=chunks(), headers=key)
    assert response.status_code == 413
    assert _error(response)["error"] == "payload_too_large"


def test_413_even_before_authentication(client: TestClient) -> None:
    response = client.post("/api/events", content=b"x" * 2_000_000)
    assert response.status_code == 413


def test_unknown_field_is_422_naming_it(client: TestClient, key: dict[str, str]) -> None:
    response = client.post("/api/events", json={**started(), "colour": "blue"}, headers=key)
    assert response.status_code == 422
    body = _error(response)
    assert body["error"] == "validation_error"
    assert body["fields"] == [{"loc": "call.started.colour", "msg": "unknown field (not allowed)"}]
    assert "colour" in str(body["detail"])


def test_wrong_type_discriminator_is_422(client: TestClient, key: dict[str, str]) -> None:
    response = client.post("/api/events", json={**started(), "type": "call.exploded"}, headers=key)
    assert response.status_code == 422
    field = _error(response)["fields"][0]  # type: ignore[index]
    assert field["loc"] == "type"
    assert "utterance" in field["msg"]
    assert "call.exploded" not in response.text
    missing = client.post("/api/events", json={"call_id": "c1"}, headers=key)
    assert missing.status_code == 422


def test_missing_and_mistyped_fields_are_named(client: TestClient, key: dict[str, str]) -> None:
    body = utterance("c1", 1, "hi")
    del body["speaker"]
    body["start_ms"] = "soon"
    response = client.post("/api/events", json=body, headers=key)
    assert response.status_code == 422
    locs = {f["loc"] for f in _error(response)["fields"]}  # type: ignore[attr-defined]
    assert locs == {"utterance.speaker", "utterance.start_ms"}


def test_errors_never_echo_transcript_text(client: TestClient, key: dict[str, str]) -> None:
    cases = [
        {**utterance("c1", 1, PHI), "speaker": PHI},  # literal error
        {**utterance("c1", 1, PHI), "start_ms": PHI},  # int parsing error
        {**utterance("c1", 1, PHI), "end_ms": -1},  # our own validator
        {**utterance("c1", 1, PHI), "text": PHI * 500},  # too long
        {**utterance("c1", 1, PHI), "call_id": PHI},  # pattern mismatch
        {**utterance("c1", 1, PHI), "confidence": PHI},
    ]
    for case in cases:
        response = client.post("/api/events", json=case, headers=key)
        assert response.status_code == 422, case
        assert "Jane" not in response.text
    batch = client.post("/api/events/batch", json={"events": cases}, headers=key)
    assert "Jane" not in batch.text


def test_good_bad_good_leaves_only_the_good_ones(
    client: TestClient, key: dict[str, str], service: CallService
) -> None:
    assert client.post("/api/events", json=started("c9"), headers=key).status_code == 202
    assert client.post("/api/events", json=utterance("c9", 1, "I could die"), headers=key).status_code == 202
    bad = [
        {**utterance("c9", 2, "x"), "oops": True},
        {**utterance("c9", 2, "x"), "seq": -1},
        {**utterance("c9", 2, "x"), "speaker": "robot"},
    ]
    for event in bad:
        assert client.post("/api/events", json=event, headers=key).status_code == 422
    assert (
        client.post("/api/events", content=b'{"type": "utterance", "call_id": "c9"', headers=key).status_code
        == 400
    )
    assert client.post("/api/events", json=utterance("c9", 2, "thank you"), headers=key).status_code == 202

    inputs = service.log.read("c9", kind="input")
    assert [(r.type, r.seq) for r in inputs] == [("call.started", 0), ("utterance", 1), ("utterance", 2)]
    assert [r.payload["text"] for r in inputs[1:]] == ["I could die", "thank you"]
    assert service.log.held("c9") == []
    report = service.replay("c9")
    assert report.differences == ()
    call = service.projections.get_call("c9")
    assert call is not None
    assert (call["utterances"], call["open_alerts"]) == (2, 1)


def test_unknown_route_and_method_are_json(client: TestClient) -> None:
    missing = client.get("/api/nothing-here")
    assert (missing.status_code, _error(missing)["error"]) == (404, "not_found")
    wrong = client.delete("/healthz")
    assert (wrong.status_code, _error(wrong)["error"]) == (405, "method_not_allowed")


def test_query_parameter_errors_are_422_json(client: TestClient, tokens: dict[str, str]) -> None:
    response = client.get("/api/calls?limit=0", headers=bearer(tokens["supervisor"]))
    assert response.status_code == 422
    assert _error(response)["fields"][0]["loc"] == "query.limit"  # type: ignore[index]
    status = client.get("/api/alerts?status=bogus", headers=bearer(tokens["supervisor"]))
    assert status.status_code == 422
    assert "bogus" not in status.text


def test_streamed_body_over_limit_on_a_model_route_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"username": "'
        for _ in range(8):
            yield b"a" * (256 * 1024)
        yield b'", "password": "x"}'

    response = client.post("/api/auth/login", content=chunks(), headers={"content-type": "application/json"})
    assert (response.status_code, _error(response)["error"]) == (413, "payload_too_large")


def test_ingest_logs_carry_no_transcript_text(client: TestClient, key: dict[str, str]) -> None:
    from structlog.testing import capture_logs

    with capture_logs() as logs:
        client.post("/api/events", json=started("c5"), headers=key)
        client.post("/api/events", json=utterance("c5", 1, PHI), headers=key)
        client.post("/api/events", json={**utterance("c5", 2, PHI), "speaker": PHI}, headers=key)
        bad = {**utterance("c5", 2, PHI), "x": PHI}
        client.post("/api/events/batch", json={"events": [bad]}, headers=key)
    assert any(entry["event"] == "event.ingested" for entry in logs)
    assert any(entry["event"] == "event.rejected" for entry in logs)
    assert "Jane" not in str(logs)
