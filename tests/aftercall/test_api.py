"""After-call routes: who may call them, what they answer; the pages."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from calmline.api import auth, create_app
from calmline.settings import Settings
from calmline.store.db import sqlite_url
from calmline.web.routes import CONTENT_SECURITY_POLICY
from tests.aftercall.conftest import IMMINENT, START, quiet_call
from tests.postcall.conftest import new_service, play

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

ROLES = ("agent", "supervisor", "qa", "admin", "auditor", "ingest")


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def api(call_engine, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, dict[str, str]], str]]:  # type: ignore[no-untyped-def]
    svc, clock = new_service(call_engine, sqlite_url(tmp_path))
    call_id = play(svc, clock, IMMINENT)
    play(svc, clock, IMMINENT, prefix="practice-t")
    quiet_call(svc, "calm-1", at=START)
    keys = {"ingest": {"Authorization": f"Bearer {auth.create_api_key(svc.db, 'survey', ['ingest'])}"}}
    for role in ROLES[:-1]:  # people sign in: their name is the role's name
        auth.create_user(svc.db, role, "correct horse battery", [role])
        session = auth.create_session(
            svc.db, auth.Principal(role, frozenset({role}), "user"), clock.now(), timedelta(hours=1)
        )
        keys[role] = {"Authorization": f"Bearer {session.token}"}
    app = create_app(Settings(env="test", data_dir=tmp_path), service=svc, tick_interval_s=3600)
    with TestClient(app) as client:
        yield client, keys, call_id
    svc.db.dispose()


def test_qa_scorecard_and_override_for_qa_roles_only(api) -> None:  # type: ignore[no-untyped-def]
    client, keys, call_id = api
    path = f"/api/qa/calls/{call_id}"
    card = client.get(path, headers=keys["qa"]).json()
    assert card["practice"] is False and len(card["items"]) == 5
    for role in ("agent", "auditor", "ingest"):
        assert client.get(path, headers=keys[role]).status_code == 403
    assert client.get(path).status_code == 401
    body = {"score": 0.5, "comment": "missed the means question"}
    after = client.post(f"{path}/items/protocol_adherence", json=body, headers=keys["supervisor"]).json()
    item = next(i for i in after["items"] if i["item_id"] == "protocol_adherence")
    assert item["score"] == 0.5 and item["reviews"][0]["reviewer"] == "supervisor"
    assert client.post(f"{path}/items/nope", json=body, headers=keys["qa"]).status_code == 404
    assert (
        client.post(
            f"{path}/items/empathy", json={"score": 2, "comment": "x"}, headers=keys["qa"]
        ).status_code
        == 422
    )
    assert client.get("/api/qa/calls/unknown", headers=keys["qa"]).status_code == 404
    cal = client.get("/api/qa/calibration", headers=keys["qa"]).json()
    assert next(i for i in cal["items"] if i["item_id"] == "protocol_adherence")["reviews"] == 1


def test_practice_scorecard_says_so(api) -> None:  # type: ignore[no-untyped-def]
    client, keys, _ = api
    card = client.get("/api/qa/calls/practice-t-active_ideation_plan_means-1", headers=keys["qa"]).json()
    assert card["practice"] is True


def test_reports_for_supervisors_and_admins_in_three_formats(api) -> None:  # type: ignore[no-untyped-def]
    client, keys, _ = api
    body = client.get("/api/reports?charts=true", headers=keys["supervisor"]).json()
    overview = dict(body["sections"][0]["rows"])
    assert overview["Calls"] == 2
    assert any("png" in s for s in body["sections"])
    assert body["named_agents"] is True
    assert client.get("/api/reports", headers=keys["admin"]).json()["named_agents"] is False
    for role in ("qa", "agent", "auditor", "ingest"):
        assert client.get("/api/reports", headers=keys[role]).status_code == 403
    pdf = client.get("/api/reports?format=pdf&from=2026-03-01&to=2026-03-01", headers=keys["admin"])
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    html = client.get("/api/reports?format=html", headers=keys["admin"])
    assert "attachment" in html.headers["content-disposition"] and "data:image/png" in html.text
    assert client.get("/api/reports?site=north", headers=keys["admin"]).status_code == 200
    assert client.get("/api/reports?from=2026-03-02&to=2026-03-01", headers=keys["admin"]).status_code == 422


def test_followups_listed_assigned_and_completed(api) -> None:  # type: ignore[no-untyped-def]
    client, keys, call_id = api
    listing = client.get("/api/followups", headers=keys["supervisor"]).json()
    (task,) = listing["followups"]
    assert task["call_id"] == call_id and "reached_safe" in listing["outcomes"]
    task_id = task["followup_id"]
    assert client.get("/api/followups", headers=keys["agent"]).json()["followups"] == []
    assert (
        client.post(
            f"/api/followups/{task_id}/assign", json={"assignee": "agent"}, headers=keys["agent"]
        ).status_code
        == 403
    )
    assigned = client.post(
        f"/api/followups/{task_id}/assign", json={"assignee": "agent"}, headers=keys["supervisor"]
    )
    assert assigned.json()["assignee"] == "agent"
    assert [
        t["followup_id"] for t in client.get("/api/followups", headers=keys["agent"]).json()["followups"]
    ] == [task_id]
    bad = client.post(f"/api/followups/{task_id}/complete", json={"outcome": "gone"}, headers=keys["agent"])
    assert bad.status_code == 422
    done = client.post(
        f"/api/followups/{task_id}/complete", json={"outcome": "reached_safe"}, headers=keys["agent"]
    )
    assert done.json()["status"] == "done"
    again = client.post(
        f"/api/followups/{task_id}/complete", json={"outcome": "reached_safe"}, headers=keys["agent"]
    )
    assert again.status_code == 409
    assert client.get("/api/followups/nope", headers=keys["qa"]).status_code == 404
    assert client.get("/api/followups", headers=keys["ingest"]).status_code == 403


def test_feedback_posted_by_integrations_and_read_by_staff(api) -> None:  # type: ignore[no-untyped-def]
    client, keys, _ = api
    body = {"call_id": "calm-1", "csat": 5, "comment": "very helpful, thank you", "external_id": "r-1"}
    created = client.post("/api/feedback", json=body, headers=keys["ingest"])
    assert created.status_code == 201 and created.json()["csat"] == 5
    repeat = client.post("/api/feedback", json=body, headers=keys["ingest"])
    assert repeat.status_code == 200 and repeat.json()["duplicate"] is True
    assert (
        client.post("/api/feedback", json={**body, "call_id": "nobody"}, headers=keys["ingest"]).status_code
        == 404
    )
    assert client.post("/api/feedback", json={**body, "csat": 9}, headers=keys["ingest"]).status_code == 422
    assert client.post("/api/feedback", json=body, headers=keys["qa"]).status_code == 403
    assert client.get("/api/calls/calm-1/feedback", headers=keys["qa"]).json()["count"] == 1
    assert client.get("/api/feedback", headers=keys["auditor"]).json()["count"] == 1
    assert client.get("/api/feedback", headers=keys["ingest"]).status_code == 403


def test_feedback_showing_risk_opens_a_caring_contact(api) -> None:  # type: ignore[no-untyped-def]
    client, keys, _ = api
    body = {"call_id": "calm-1", "csat": 1, "comment": "i still want to kill myself"}
    created = client.post("/api/feedback", json=body, headers=keys["ingest"]).json()
    assert created["risk"] is True and created["followup_id"] == "calm-1:feedback_risk"
    task = client.get("/api/followups/calm-1:feedback_risk", headers=keys["supervisor"]).json()
    assert (
        task["reason"] == "feedback_risk" and task["team"] == "crisis-followup" and task["status"] == "open"
    )


@pytest.mark.parametrize("path", ["/qa/calibration", "/qa/c-1", "/reports"])
def test_pages_are_shells_with_their_module_and_a_strict_policy(api, path: str) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = api
    response = client.get(path)
    assert response.status_code == 200 and response.text.lstrip().lower().startswith("<!doctype html>")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    if path == "/reports":
        assert "img-src 'self' data:" in policy
    else:
        assert policy == CONTENT_SECURITY_POLICY
    module = "reports.js" if path == "/reports" else "qa.js"
    assert f'<script type="module" src="/static/js/{module}">' in response.text
    assert client.get(f"/static/js/{module}").status_code == 200
    assert client.get("/qa/bad%20id").status_code == 404
