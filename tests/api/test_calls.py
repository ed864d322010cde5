from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from calmline.api import auth
from calmline.service import CallService
from tests.api.helpers import bearer, ended, started, utterance


@pytest.fixture
def call_with_alert(client: TestClient, ingest_key: str) -> str:
    key = bearer(ingest_key)
    for event in (
        started("c1", queue="triage"),
        utterance("c1", 1, "hello, I need help"),
        utterance("c1", 2, "sometimes I want to die"),
        utterance("c1", 3, "I hear you", speaker="agent"),
    ):
        assert client.post("/api/events", json=event, headers=key).status_code == 202
    assert client.post("/api/events", json=started("c2"), headers=key).status_code == 202
    assert client.post("/api/events", json=ended("c2", 1), headers=key).status_code == 202
    return "c1"


def test_list_and_get_calls(client: TestClient, tokens: dict[str, str], call_with_alert: str) -> None:
    calls = client.get("/api/calls", headers=bearer(tokens["agent"])).json()
    assert [c["call_id"] for c in calls] == ["c1", "c2"]  # the one with an alert first
    ended_only = client.get("/api/calls?status=ended", headers=bearer(tokens["qa"])).json()
    assert [c["call_id"] for c in ended_only] == ["c2"]
    assert len(client.get("/api/calls?limit=1", headers=bearer(tokens["qa"])).json()) == 1
    one = client.get("/api/calls/c1", headers=bearer(tokens["auditor"])).json()
    assert (one["queue"], one["utterances"], one["open_alerts"], one["max_severity"]) == (
        "triage",
        3,
        1,
        "warning",
    )
    assert one["risk_types"] == ["suicide_risk"]


@pytest.mark.parametrize("path", ["", "/timeline", "/findings", "/alerts", "/replay"])
def test_unknown_call_is_404_json(client: TestClient, tokens: dict[str, str], path: str) -> None:
    response = client.get(f"/api/calls/nope{path}", headers=bearer(tokens["supervisor"]))
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "call not found", "fields": []}


@pytest.mark.parametrize(
    ("role", "visible"),
    [("supervisor", True), ("agent", True), ("qa", True), ("admin", False), ("auditor", False)],
)
def test_timeline_redacts_text_for_admin_and_auditor(
    client: TestClient, tokens: dict[str, str], call_with_alert: str, role: str, visible: bool
) -> None:
    body = client.get("/api/calls/c1/timeline", headers=bearer(tokens[role])).json()
    events = body["events"]
    assert [e["pos"] for e in events] == list(range(1, len(events) + 1))
    assert [e["type"] for e in events] == [
        "call.started",
        "utterance",
        "utterance",
        "finding",
        "alert.raised",
        "utterance",
    ]
    assert set(events[0]) == {"id", "stream", "pos", "kind", "type", "seq", "payload"}
    texts = [e["payload"]["text"] for e in events if e["type"] == "utterance"]
    if visible:
        assert texts == ["hello, I need help", "sometimes I want to die", "I hear you"]
    else:
        assert texts == ["[redacted]"] * 3
        assert "want to die" not in str(body)


def test_findings_and_alerts(client: TestClient, tokens: dict[str, str], call_with_alert: str) -> None:
    headers = bearer(tokens["qa"])
    findings = client.get("/api/calls/c1/findings", headers=headers).json()
    assert [(f["type"], f["tier"], f["utterance_seq"]) for f in findings] == [("suicide_risk", "low", 2)]
    alerts = client.get("/api/calls/c1/alerts", headers=headers).json()
    assert [(a["alert_id"], a["status"], a["severity"]) for a in alerts] == [("c1-A1", "raised", "warning")]
    assert client.get("/api/calls/c2/alerts", headers=headers).json() == []
    for status, expected in [("open", ["c1-A1"]), ("raised", ["c1-A1"]), ("resolved", []), (None, ["c1-A1"])]:
        query = f"?status={status}" if status else ""
        listed = client.get(f"/api/alerts{query}", headers=headers).json()
        assert [a["alert_id"] for a in listed] == expected
    assert client.get("/api/alerts/c1-A1", headers=headers).json()["kind"] == "suicide_risk"
    assert client.get("/api/alerts/zzz", headers=headers).status_code == 404


def test_replay_reports_no_differences(
    client: TestClient, tokens: dict[str, str], call_with_alert: str
) -> None:
    body = client.get("/api/calls/c1/replay", headers=bearer(tokens["auditor"])).json()
    assert body == {"call_id": "c1", "inputs": 4, "outputs": 2, "differences": [], "ok": True}
    assert client.get("/api/calls/c1/replay", headers=bearer(tokens["agent"])).status_code == 403


def test_acknowledge_then_resolve_alert(
    client: TestClient, tokens: dict[str, str], call_with_alert: str, service: CallService
) -> None:
    sup = bearer(tokens["supervisor"])
    ack = client.post(
        "/api/calls/c1/actions", json={"action": "acknowledge_alert", "alert_id": "c1-A1"}, headers=sup
    )
    assert ack.status_code == 202
    assert [o["type"] for o in ack.json()["outputs"]] == ["alert.acknowledged"]
    assert ack.json()["outputs"][0]["by"] == "supervisor"
    alert = client.get("/api/alerts/c1-A1", headers=sup).json()
    assert (alert["status"], alert["acknowledged_by"]) == ("acknowledged", "supervisor")
    assert [a["alert_id"] for a in client.get("/api/alerts?status=open", headers=sup).json()] == ["c1-A1"]

    resolve = client.post(
        "/api/calls/c1/actions",
        json={"action": "resolve_alert", "alert_id": "c1-A1", "outcome": "safety plan agreed"},
        headers=sup,
    )
    assert resolve.status_code == 202
    assert resolve.json()["outputs"][0]["outcome"] == "safety plan agreed"
    assert client.get("/api/alerts?status=open", headers=sup).json() == []
    assert client.get("/api/calls/c1", headers=sup).json()["open_alerts"] == 0

    again = client.post(
        "/api/calls/c1/actions", json={"action": "resolve_alert", "alert_id": "c1-A1"}, headers=sup
    )
    assert again.status_code == 409
    assert again.json()["error"] == "alert_resolved"

    action = service.log.read("c1", kind="input")[-1].payload
    assert (action["type"], action["actor"], action["at"]) == (
        "supervisor.action",
        "supervisor",
        "2026-01-01T09:00:00Z",
    )
    assert service.replay("c1").ok


def test_action_targets_must_exist(client: TestClient, tokens: dict[str, str], call_with_alert: str) -> None:
    sup = bearer(tokens["supervisor"])
    no_call = client.post("/api/calls/zz/actions", json={"action": "listen"}, headers=sup)
    assert (no_call.status_code, no_call.json()["detail"]) == (404, "call not found")
    no_alert = client.post(
        "/api/calls/c1/actions", json={"action": "acknowledge_alert", "alert_id": "c1-A9"}, headers=sup
    )
    assert (no_alert.status_code, no_alert.json()["detail"]) == (404, "alert not found")
    other_call = client.post(
        "/api/calls/c2/actions", json={"action": "acknowledge_alert", "alert_id": "c1-A1"}, headers=sup
    )
    assert other_call.status_code == 404
    needs_alert = client.post("/api/calls/c1/actions", json={"action": "acknowledge_alert"}, headers=sup)
    assert needs_alert.status_code == 422
    unknown = client.post("/api/calls/c1/actions", json={"action": "listen", "by": "me"}, headers=sup)
    assert (unknown.status_code, unknown.json()["fields"][0]["loc"]) == (422, "body.by")


def test_agent_may_only_add_notes(client: TestClient, tokens: dict[str, str], call_with_alert: str) -> None:
    agent = bearer(tokens["agent"])
    note = client.post(
        "/api/calls/c1/actions", json={"action": "note", "note": "caller calmer"}, headers=agent
    )
    assert note.status_code == 202
    ack = client.post(
        "/api/calls/c1/actions", json={"action": "acknowledge_alert", "alert_id": "c1-A1"}, headers=agent
    )
    assert ack.status_code == 403
    qa = client.post(
        "/api/calls/c1/actions", json={"action": "note", "note": "x"}, headers=bearer(tokens["qa"])
    )
    assert qa.status_code == 403


def test_admin_can_act(client: TestClient, service: CallService, call_with_alert: str) -> None:
    auth.create_user(service.db, "boss", "long enough password", ["admin"])
    token = client.post(
        "/api/auth/login", json={"username": "boss", "password": "long enough password"}
    ).json()["token"]
    client.cookies.clear()
    response = client.post("/api/calls/c1/actions", json={"action": "listen"}, headers=bearer(token))
    assert response.status_code == 202


def test_empathy_profile_is_for_reviewers(
    client: TestClient, tokens: dict[str, str], call_with_alert: str
) -> None:
    body = client.get("/api/calls/c1/empathy", headers=bearer(tokens["qa"])).json()
    assert body["call_id"] == "c1" and body["agent_turns"] == 0  # the test engine has no empathy analyzer
    assert set(body["mechanisms"]) == {"emotional_reaction", "interpretation", "exploration"}
    assert client.get("/api/calls/c1/empathy", headers=bearer(tokens["agent"])).status_code == 403
    assert client.get("/api/calls/nope/empathy", headers=bearer(tokens["qa"])).status_code == 404


def test_practice_calls_are_listed_only_when_asked(
    client: TestClient, tokens: dict[str, str], ingest_key: str
) -> None:
    key = bearer(ingest_key)
    for event in (started("real-1"), started("practice-drill-1"), started("p2", queue="practice")):
        assert client.post("/api/events", json=event, headers=key).status_code == 202
    listed = {c["call_id"] for c in client.get("/api/calls", headers=bearer(tokens["agent"])).json()}
    assert listed == {"real-1"}
    both = client.get("/api/calls?practice=true", headers=bearer(tokens["agent"])).json()
    assert {c["call_id"] for c in both} == {"real-1", "practice-drill-1", "p2"}
