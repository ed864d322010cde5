"""The practice API on the live service: sessions, assessment mode, debrief, comments, progress, cohort,
support links; and practice calls kept out of the operational views."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from calmline.service import CallService
from tests.practice.scripts import GOOD, POOR

if TYPE_CHECKING:
    from starlette.testclient import TestClient


def play(
    client: TestClient, who: dict[str, str], responses: list[str], mode: str = "assist"
) -> dict[str, Any]:
    r = client.post(
        "/api/practice/sessions", json={"scenario_id": "suicidal_guarded", "mode": mode}, headers=who
    )
    assert r.status_code == 201, r.text
    session = r.json()
    assert session["call_id"].startswith("practice-suicidal_guarded-")
    assert "pointless" in session["caller"]["text"]
    replies = []
    for text in responses:
        reply = client.post(
            f"/api/practice/sessions/{session['call_id']}/responses", json={"text": text}, headers=who
        )
        assert reply.status_code == 200, reply.text
        replies.append(reply.json())
        if reply.json()["ended"]:
            break
    return {"call_id": session["call_id"], "replies": replies}


def test_practice_session_plays_the_engine_live_and_records_an_ordinary_call(
    client: TestClient, keys: dict[str, dict[str, str]], service: CallService
) -> None:
    run = play(client, keys["ann"], GOOD)
    replies = run["replies"]
    assert [r["turn"] for r in replies] == [1, 2, 3, 4]
    assert "killing myself" in replies[1]["caller"]["text"]
    assert replies[-1]["ended"] is True
    assert any(p["id"] == "suicide_imminent" for p in replies[2]["checklist"])
    assert any(f["type"] == "suicide_risk" for f in replies[1]["assists"]["findings"])
    call = service.projections.get_call(run["call_id"])
    assert call is not None
    assert call["queue"] == "practice" and call["agent_id"] == "ann" and call["status"] == "ended"
    # Nobody is paged for a training call: its alerts are closed as soon as they are raised.
    assert all(a["status"] == "resolved" for a in service.projections.list_alerts(call_id=run["call_id"]))
    assert service.replay(run["call_id"]).ok
    card = client.get(f"/api/practice/sessions/{run['call_id']}/scorecard", headers=keys["ann"]).json()
    assert card["outcome"] == "accepts_help" and card["asked_about_suicide"]["turn"] == 2


def test_assessment_mode_hides_assists_but_the_debrief_has_them(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    run = play(client, keys["ann"], POOR, mode="assessment")
    assert all("assists" not in r and "checklist" not in r for r in run["replies"])
    card = client.post(f"/api/practice/sessions/{run['call_id']}/end", headers=keys["ann"]).json()
    assert card["mode"] == "assessment"
    assert [g["turn"] for g in card["guardrails"]] == [2, 3]
    assert all(g["alternative"] for g in card["guardrails"])
    again = client.post(
        f"/api/practice/sessions/{run['call_id']}/responses", json={"text": "hello?"}, headers=keys["ann"]
    )
    assert again.status_code == 409


def test_only_the_trainee_plays_and_trainers_comment(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    run = play(client, keys["ann"], POOR[:1])
    url = f"/api/practice/sessions/{run['call_id']}"
    assert client.post(f"{url}/responses", json={"text": "hi"}, headers=keys["bob"]).status_code == 404
    assert client.get(f"{url}/scorecard", headers=keys["bob"]).status_code == 404
    assert client.post(f"{url}/comments", json={"text": "nice"}, headers=keys["ann"]).status_code == 403
    r = client.post(f"{url}/comments", json={"text": "Ask about suicide sooner."}, headers=keys["sue"])
    assert r.status_code == 201
    assert r.json()["comments"][0] == {
        "by": "sue",
        "at": r.json()["comments"][0]["at"],
        "text": "Ask about suicide sooner.",
    }
    card = client.get(f"{url}/scorecard", headers=keys["ann"]).json()
    assert [c["text"] for c in card["comments"]] == ["Ask about suicide sooner."]


def test_progress_and_cohort(client: TestClient, keys: dict[str, dict[str, str]]) -> None:
    first = play(client, keys["ann"], POOR)
    second = play(client, keys["ann"], GOOD)
    play(client, keys["bob"], POOR)
    mine = client.get("/api/practice/progress", headers=keys["ann"]).json()
    assert [s["call_id"] for s in mine["sessions"]] == [first["call_id"], second["call_id"]]
    assert mine["sessions"][1]["score"] > mine["sessions"][0]["score"]
    assert client.get("/api/practice/progress?agent=bob", headers=keys["ann"]).status_code == 403
    assert client.get("/api/practice/progress?agent=bob", headers=keys["quinn"]).json()["agent_id"] == "bob"
    assert client.get("/api/practice/cohort", headers=keys["ann"]).status_code == 403
    cohort = client.get("/api/practice/cohort", headers=keys["sue"]).json()
    rows = {(r["agent_id"], r["scenario_id"]): r for r in cohort["rows"]}
    assert rows[("ann", "suicidal_guarded")]["call_id"] == second["call_id"]
    assert rows[("ann", "suicidal_guarded")]["attempts"] == 2
    assert rows[("bob", "suicidal_guarded")]["attempts"] == 1


def test_practice_calls_never_appear_in_operational_views(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    feed = keys["feed"]
    client.post(
        "/api/events",
        json={"type": "call.started", "call_id": "real-1", "seq": 0, "started_at": "2026-02-02T09:00:00Z"},
        headers=feed,
    )
    client.post(
        "/api/events",
        json={
            "type": "utterance",
            "call_id": "real-1",
            "seq": 1,
            "speaker": "caller",
            "start_ms": 0,
            "end_ms": 2000,
            "text": "I have a bottle of pills and I'm going to take them all tonight",
        },
        headers=feed,
    )
    live = play(client, keys["ann"], GOOD[:2])  # still running: it has an alert and an active protocol
    board = client.get("/api/live/board", headers=keys["sue"]).json()
    assert [c["call_id"] for c in board["calls"]] == ["real-1"]
    history = client.get("/api/history/calls", headers=keys["sue"]).json()
    assert [c["call_id"] for c in history["calls"]] == ["real-1"]
    assert client.get("/api/history/calls?queue=practice", headers=keys["sue"]).json()["calls"] == []
    alerts = client.get("/api/alerts", headers=keys["sue"]).json()
    assert alerts and all(not a["call_id"].startswith("practice-") for a in alerts)
    assert live["call_id"].startswith("practice-")


def test_scenarios_and_support_links(client: TestClient, keys: dict[str, dict[str, str]]) -> None:
    scenarios = client.get("/api/practice/scenarios", headers=keys["ann"]).json()["scenarios"]
    assert len(scenarios) >= 12
    first = scenarios[0]
    assert "nodes" not in first and "wont_disclose" not in first["persona"]
    support = client.get("/api/practice/support", headers=keys["ann"]).json()
    assert {link["id"] for link in support["links"]} >= {"eap", "peer_support"}
    assert client.get("/api/practice/support").status_code == 401
