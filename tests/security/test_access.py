"""Login throttling and lockout, break-glass access and its review, credentials re-checked on live feeds."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from starlette.testclient import TestClient

from calmline.clock import FakeClock
from calmline.security.ratelimit import LoginLimiter
from calmline.service import CallService
from calmline.store.audit import AuditLog
from calmline.store.schema import audit_log
from tests.api.helpers import PASSWORD, bearer, started, utterance


def _actions(service: CallService) -> list[tuple[str, str]]:
    with service.db.connect() as conn:
        return [(r.action, r.subject) for r in conn.execute(select(audit_log).order_by(audit_log.c.id))]


def _login(client: TestClient, username: str, password: str, ip_headers: dict[str, str] | None = None) -> int:
    return client.post("/api/auth/login", json={"username": username, "password": password}).status_code


def test_username_locks_after_five_failures_with_429_and_retry_after(
    client: TestClient, users: dict[str, str], clock: FakeClock, service: CallService
) -> None:
    for _ in range(5):
        assert _login(client, "qa", "wrong password") == 401
    locked = client.post("/api/auth/login", json={"username": "qa", "password": PASSWORD})
    assert locked.status_code == 429
    assert locked.headers["Retry-After"] == str(15 * 60)
    assert locked.json()["error"] == "locked"
    assert _login(client, "agent", PASSWORD) == 200  # other users are not affected
    clock.advance(15 * 60)
    assert _login(client, "qa", PASSWORD) == 200
    actions = _actions(service)
    assert actions.count(("auth.login_failed", "user:qa")) == 5
    assert ("auth.lockout", "user:qa") in actions
    assert ("auth.login", "user:qa") in actions
    assert AuditLog(service.db).check().ok


def test_a_right_password_clears_the_failures(client: TestClient, users: dict[str, str]) -> None:
    for _ in range(4):
        assert _login(client, "qa", "wrong password") == 401
    assert _login(client, "qa", PASSWORD) == 200
    for _ in range(4):
        assert _login(client, "qa", "wrong password") == 401
    assert _login(client, "qa", PASSWORD) == 200


def test_limiter_blocks_an_address_trying_many_usernames() -> None:
    limiter = LoginLimiter(max_failures=5, lockout=timedelta(minutes=10), ip_max_failures=3)
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, tzinfo=UTC)
    for name in ("a", "b", "c"):
        assert limiter.check(name, "10.0.0.1", now) is None
        limiter.failure(name, "10.0.0.1", now)
    refused = limiter.check("d", "10.0.0.1", now)
    assert refused is not None and refused.reason == "rate_limited" and refused.retry_after == 600
    assert limiter.check("d", "10.0.0.2", now) is None
    assert limiter.check("d", "10.0.0.1", now + timedelta(minutes=10)) is None


def test_break_glass_returns_words_audits_and_awaits_review(
    client: TestClient, tokens: dict[str, str], ingest_key: str, service: CallService
) -> None:
    client.post("/api/events", json=started("c1"), headers=bearer(ingest_key))
    client.post("/api/events", json=utterance("c1", 1, "this is maria lopez"), headers=bearer(ingest_key))
    timeline = client.get("/api/calls/c1/timeline", headers=bearer(tokens["admin"])).json()
    assert "maria" not in str(timeline)  # admin has no raw text by default
    short = client.post(
        "/api/auth/break-glass", json={"call_id": "c1", "reason": "x"}, headers=bearer(tokens["admin"])
    )
    assert short.status_code == 422  # a reason is required
    assert (
        client.post(
            "/api/auth/break-glass",
            json={"call_id": "c1", "reason": "complaint 42 review"},
            headers=bearer(tokens["qa"]),
        ).status_code
        == 403
    )  # qa reads words already: no break-glass
    opened = client.post(
        "/api/auth/break-glass",
        json={"call_id": "c1", "reason": "legal request ref 2026-17"},
        headers=bearer(tokens["admin"]),
    )
    assert opened.status_code == 200
    body = opened.json()
    assert "this is maria lopez" in [e["payload"].get("text") for e in body["events"]]
    entry = body["break_glass"]
    pending = client.get("/api/auth/break-glass", headers=bearer(tokens["auditor"])).json()
    assert [(p["id"], p["actor"], p["call_id"], p["status"]) for p in pending] == [
        (entry, "admin", "c1", "pending")
    ]
    assert pending[0]["reason"] == "legal request ref 2026-17"
    own = client.post(
        f"/api/auth/break-glass/{entry}/review",
        json={"outcome": "justified"},
        headers=bearer(tokens["admin"]),
    )
    assert own.status_code == 403
    done = client.post(
        f"/api/auth/break-glass/{entry}/review",
        json={"outcome": "justified", "note": "matches the request"},
        headers=bearer(tokens["auditor"]),
    )
    assert done.status_code == 200 and done.json()["status"] == "justified"
    again = client.post(
        f"/api/auth/break-glass/{entry}/review",
        json={"outcome": "justified"},
        headers=bearer(tokens["auditor"]),
    )
    assert again.status_code == 409
    assert client.get("/api/auth/break-glass", headers=bearer(tokens["auditor"])).json() == []
    assert (
        client.post(
            "/api/auth/break-glass/999/review",
            json={"outcome": "justified"},
            headers=bearer(tokens["auditor"]),
        ).status_code
        == 404
    )
    actions = _actions(service)
    assert ("phi.break_glass", "call:c1") in actions and (
        "phi.break_glass.reviewed",
        f"audit:{entry}",
    ) in actions
    assert "maria" not in str(actions)
    assert AuditLog(service.db).check().ok


def test_break_glass_on_an_unknown_call_is_404_and_not_audited(
    client: TestClient, tokens: dict[str, str], service: CallService
) -> None:
    response = client.post(
        "/api/auth/break-glass",
        json={"call_id": "nope", "reason": "checking a complaint"},
        headers=bearer(tokens["auditor"]),
    )
    assert response.status_code == 404
    assert not [a for a in _actions(service) if a[0] == "phi.break_glass"]


def test_a_session_expires(client: TestClient, users: dict[str, str], clock: FakeClock) -> None:
    token = client.post("/api/auth/login", json={"username": "qa", "password": PASSWORD}).json()["token"]
    client.cookies.clear()
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 200
    clock.advance(481 * 60)
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 401


def test_revoked_scoped_key_is_refused_at_once(client: TestClient, service: CallService) -> None:
    from calmline.api import auth

    key = auth.create_api_key(service.db, "reports", ["read"])
    assert client.get("/api/calls", headers=bearer(key)).status_code == 200
    assert client.post("/api/events", json=started("c9"), headers=bearer(key)).status_code == 403
    auth.revoke_api_key(service.db, key.split("_")[1])
    assert client.get("/api/calls", headers=bearer(key)).status_code == 401
