"""The API behind the wall, the agent panel and the history view (issue 7): board, history, actions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from calmline.api import create_app
from calmline.service import CallService
from calmline.settings import Settings
from calmline.telephony import RecordingTelephonyAdapter, TelephonyAction
from tests.api.helpers import bearer, ended, started, utterance


@pytest.fixture
def telephony() -> RecordingTelephonyAdapter:
    return RecordingTelephonyAdapter()


@pytest.fixture
def client(
    settings: Settings, service: CallService, telephony: RecordingTelephonyAdapter
) -> Iterator[TestClient]:
    app = create_app(settings, service=service, tick_interval_s=3600, telephony=telephony)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def calls(client: TestClient, ingest_key: str) -> None:
    key = bearer(ingest_key)
    for event in (
        started("c1", queue="triage", agent_id="agent"),
        utterance("c1", 1, "This is Maria Lopez, 555 0199"),
        utterance("c1", 2, "sometimes I want to die"),
        started("c2", queue="billing", agent_id="bob", started_at="2026-01-03T10:00:00Z"),
        ended("c2", 1),
    ):
        assert client.post("/api/events", json=event, headers=key).status_code == 202


def _act(client: TestClient, token: str, call_id: str, **body: object) -> tuple[int, dict[str, object]]:
    response = client.post(f"/api/calls/{call_id}/actions", json=body, headers=bearer(token))
    return response.status_code, response.json()


@pytest.mark.parametrize("kind", ["listen", "whisper", "barge", "take_over", "request_transfer"])
def test_intervention_is_recorded_then_delivered_to_the_telephony_adapter(
    client: TestClient, tokens: dict[str, str], calls: None, telephony: RecordingTelephonyAdapter, kind: str
) -> None:
    status, body = _act(client, tokens["supervisor"], "c1", action=kind)
    assert (status, body["status"], body["telephony"]) == (202, "accepted", "delivered")
    [delivered] = telephony.actions
    assert (delivered.call_id, delivered.kind, delivered.actor) == ("c1", kind, "supervisor")
    timeline = client.get("/api/calls/c1/timeline", headers=bearer(tokens["supervisor"])).json()["events"]
    assert [e["payload"]["action"] for e in timeline if e["type"] == "supervisor.action"] == [kind]


def test_notes_and_alert_actions_are_not_sent_to_telephony(
    client: TestClient, tokens: dict[str, str], calls: None, telephony: RecordingTelephonyAdapter
) -> None:
    status, body = _act(client, tokens["supervisor"], "c1", action="note", note="calmer now")
    assert status == 202 and "telephony" not in body
    assert telephony.actions == []


def test_a_failing_adapter_keeps_the_recorded_action_and_says_failed(
    client: TestClient, tokens: dict[str, str], calls: None, telephony: RecordingTelephonyAdapter
) -> None:
    def broken(action: TelephonyAction) -> None:
        raise ConnectionError("switch unreachable")

    telephony.deliver = broken  # type: ignore[method-assign]
    status, body = _act(client, tokens["supervisor"], "c1", action="barge")
    assert (status, body["status"], body["telephony"]) == (202, "accepted", "failed")


@pytest.mark.parametrize(
    ("role", "kind", "allowed"),
    [
        ("agent", "request_help", True),
        ("agent", "protocol_action", True),
        ("agent", "barge", False),
        ("agent", "take_over", False),
        ("qa", "request_help", False),
        ("supervisor", "request_help", True),
    ],
)
def test_who_may_post_which_action(
    client: TestClient,
    tokens: dict[str, str],
    calls: None,
    telephony: RecordingTelephonyAdapter,
    role: str,
    kind: str,
    allowed: bool,
) -> None:
    body: dict[str, object] = {"action": kind}
    if kind == "protocol_action":
        body["name"] = "emergency_services_dispatched"
    status, _ = _act(client, tokens[role], "c1", **body)
    assert status == (202 if allowed else 403)
    if not allowed:
        assert telephony.actions == []


def test_board_has_trajectory_tiers_last_alert_and_help_requests(
    client: TestClient, tokens: dict[str, str], calls: None
) -> None:
    supervisor = bearer(tokens["supervisor"])
    board = client.get("/api/live/board", headers=supervisor).json()
    assert board["last_id"] > 0
    [c1] = board["calls"]  # c2 has ended
    assert (c1["call_id"], c1["queue"], c1["agent_id"]) == ("c1", "triage", "agent")
    assert c1["tiers"] == {"suicide_risk": "low"}
    assert c1["last_alert_at"] is not None
    assert c1["protocol"] is None and c1["help_requested_at"] is None

    assert _act(client, tokens["agent"], "c1", action="request_help")[0] == 202
    asked = client.get("/api/live/board", headers=supervisor).json()["calls"][0]
    assert asked["help_requested_at"] is not None
    assert _act(client, tokens["supervisor"], "c1", action="listen")[0] == 202
    answered = client.get("/api/live/board", headers=supervisor).json()["calls"][0]
    assert answered["help_requested_at"] is None


def test_board_is_for_reviewers(client: TestClient, tokens: dict[str, str], calls: None) -> None:
    assert client.get("/api/live/board", headers=bearer(tokens["agent"])).status_code == 403
    assert client.get("/api/live/board").status_code == 401


def test_masked_timeline_redacts_identifiers_and_moves_evidence_spans(
    client: TestClient, tokens: dict[str, str], calls: None, ingest_key: str
) -> None:
    say = utterance("c1", 3, "Maria Lopez here and I want to die")
    assert client.post("/api/events", json=say, headers=bearer(ingest_key)).status_code == 202

    def timeline(role: str, query: str = "") -> list[dict[str, object]]:
        response = client.get(f"/api/calls/c1/timeline{query}", headers=bearer(tokens[role]))
        events: list[dict[str, object]] = response.json()["events"]
        return events

    def texts(events: list[dict[str, object]]) -> list[str]:
        return [e["payload"]["text"] for e in events if e["type"] == "utterance"]  # type: ignore[index]

    raw = texts(timeline("supervisor", "?redaction=masked"))  # a role that reads text gets it as spoken
    assert raw[0] == "This is Maria Lopez, 555 0199"
    events = timeline("auditor", "?redaction=masked")
    masked = texts(events)
    assert "Maria" not in " ".join(masked) and "555" not in " ".join(masked)
    assert masked[1] == "sometimes I want to die"
    # The evidence for "die" still points at "die" in the redacted third turn.
    [finding] = [
        e["payload"]["finding"]  # type: ignore[index]
        for e in events
        if e["type"] == "finding" and e["payload"]["finding"]["utterance_seq"] == 3  # type: ignore[index]
    ]
    (start, end) = finding["evidence"][0]
    assert masked[2][start:end] == "die"
    assert texts(timeline("auditor")) == ["[redacted]"] * 3


def test_history_filters_combine(client: TestClient, tokens: dict[str, str], calls: None) -> None:
    qa = bearer(tokens["qa"])

    def ids(query: str) -> list[str]:
        response = client.get(f"/api/history/calls?{query}", headers=qa)
        assert response.status_code == 200, response.text
        return [c["call_id"] for c in response.json()["calls"]]

    assert ids("") == ["c2", "c1"]  # newest first
    assert ids("queue=triage") == ["c1"]
    assert ids("agent=bob") == ["c2"]
    assert ids("risk=low") == ["c1"]
    assert ids("risk=high") == []
    assert ids("from=2026-01-02") == ["c2"]
    assert ids("to=2026-01-01") == ["c1"]
    assert ids("status=ended") == ["c2"]
    assert ids("protocol=suicide_imminent") == []
    [one] = client.get("/api/history/calls?queue=triage", headers=qa).json()["calls"]
    assert (one["top_tier"], one["alerts"], one["max_alert_severity"], one["protocols"]) == (
        "low",
        1,
        "warning",
        [],
    )


@pytest.mark.parametrize("query", ["risk=severe", "from=yesterday", "protocol=Bad%20Id", "limit=0"])
def test_history_rejects_bad_filters(client: TestClient, tokens: dict[str, str], query: str) -> None:
    response = client.get(f"/api/history/calls?{query}", headers=bearer(tokens["qa"]))
    assert response.status_code == 422


def test_history_is_for_reviewers(client: TestClient, tokens: dict[str, str]) -> None:
    assert client.get("/api/history/calls", headers=bearer(tokens["agent"])).status_code == 403
