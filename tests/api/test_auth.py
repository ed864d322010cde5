from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from calmline.api import auth
from calmline.clock import FakeClock
from calmline.service import CallService
from tests.api.helpers import PASSWORD, bearer, started


def test_login_returns_token_and_sets_strict_httponly_cookie(
    client: TestClient, users: dict[str, str]
) -> None:
    response = client.post("/api/auth/login", json={"username": "supervisor", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "supervisor"
    assert body["roles"] == ["supervisor"]
    assert body["token"].startswith("cs_")
    assert body["expires_at"].startswith("2026-01-01T17:00:00")  # FakeClock 09:00 + 480 min
    cookie = response.headers["set-cookie"]
    assert "calmline_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()


def test_session_cookie_authenticates_and_logout_ends_it(client: TestClient, users: dict[str, str]) -> None:
    client.post("/api/auth/login", json={"username": "qa", "password": PASSWORD})
    me = client.get("/api/auth/me")
    assert me.status_code == 200
    assert me.json() == {"name": "qa", "kind": "user", "roles": ["qa"], "display_name": "Qa"}
    assert client.post("/api/auth/logout").status_code == 204
    client.cookies.clear()
    assert client.get("/api/auth/me").status_code == 401


def test_logout_revokes_bearer_token(client: TestClient, users: dict[str, str]) -> None:
    token = client.post("/api/auth/login", json={"username": "agent", "password": PASSWORD}).json()["token"]
    client.cookies.clear()
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 200
    assert client.post("/api/auth/logout", headers=bearer(token)).status_code == 204
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 401


@pytest.mark.parametrize(
    ("username", "password"), [("supervisor", "wrong password"), ("nobody", PASSWORD), ("nobody", "x")]
)
def test_failed_login_does_not_say_whether_the_user_exists(
    client: TestClient, users: dict[str, str], username: str, password: str
) -> None:
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_credentials",
        "detail": "wrong username or password",
        "fields": [],
    }
    assert "set-cookie" not in response.headers


def test_disabled_user_cannot_log_in_and_loses_sessions(
    client: TestClient, service: CallService, tokens: dict[str, str]
) -> None:
    auth.set_disabled(service.db, "supervisor")
    assert client.get("/api/auth/me", headers=bearer(tokens["supervisor"])).status_code == 401
    response = client.post("/api/auth/login", json={"username": "supervisor", "password": PASSWORD})
    assert response.status_code == 401


def test_session_expires(client: TestClient, tokens: dict[str, str], clock: FakeClock) -> None:
    assert client.get("/api/auth/me", headers=bearer(tokens["qa"])).status_code == 200
    clock.advance(3601)
    assert client.get("/api/auth/me", headers=bearer(tokens["qa"])).status_code == 401


def test_set_password_changes_login_and_ends_sessions(
    client: TestClient, service: CallService, tokens: dict[str, str]
) -> None:
    auth.set_password(service.db, "agent", "a brand new secret")
    assert client.get("/api/auth/me", headers=bearer(tokens["agent"])).status_code == 401
    old = client.post("/api/auth/login", json={"username": "agent", "password": PASSWORD})
    new = client.post("/api/auth/login", json={"username": "agent", "password": "a brand new secret"})
    assert (old.status_code, new.status_code) == (401, 200)


def test_no_credentials_is_401_wrong_role_is_403(client: TestClient, tokens: dict[str, str]) -> None:
    missing = client.get("/api/alerts")
    assert missing.status_code == 401
    assert missing.json()["error"] == "unauthorized"
    assert missing.headers["www-authenticate"] == "Bearer"
    assert client.get("/api/alerts", headers=bearer("cs_not-a-real-token")).status_code == 401
    assert client.get("/api/alerts", headers=bearer("garbage")).status_code == 401
    wrong = client.get("/api/alerts", headers=bearer(tokens["agent"]))
    assert wrong.status_code == 403
    assert wrong.json()["error"] == "forbidden"
    assert client.get("/api/alerts", headers=bearer(tokens["auditor"])).status_code == 200


def test_users_cannot_ingest_but_admin_can(client: TestClient, tokens: dict[str, str]) -> None:
    assert client.post("/api/events", json=started(), headers=bearer(tokens["supervisor"])).status_code == 403
    assert client.post("/api/events", json=started(), headers=bearer(tokens["admin"])).status_code == 202


def test_api_key_ingests_and_cannot_read(client: TestClient, ingest_key: str) -> None:
    assert ingest_key.startswith("cl_")
    assert client.post("/api/events", json=started(), headers=bearer(ingest_key)).status_code == 202
    assert client.get("/api/calls", headers=bearer(ingest_key)).status_code == 403
    me = client.get("/api/auth/me", headers=bearer(ingest_key)).json()
    assert me["kind"] == "api_key"
    assert me["roles"] == ["ingest"]


def test_revoked_or_tampered_key_is_refused(
    client: TestClient, service: CallService, ingest_key: str
) -> None:
    key_id = ingest_key.split("_")[1]
    tampered = ingest_key[:-2] + ("AA" if not ingest_key.endswith("AA") else "BB")
    assert client.post("/api/events", json=started(), headers=bearer(tampered)).status_code == 401
    auth.revoke_api_key(service.db, key_id)
    auth.revoke_api_key(service.db, key_id)  # twice is harmless
    assert client.post("/api/events", json=started(), headers=bearer(ingest_key)).status_code == 401
    listed = auth.list_api_keys(service.db)
    assert [(k["key_id"], k["revoked_at"] is not None) for k in listed] == [(key_id, True)]
    assert "key_hash" not in listed[0]


def test_key_with_reader_role_can_read(client: TestClient, service: CallService) -> None:
    key = auth.create_api_key(service.db, "dashboard", ["qa"])
    assert client.get("/api/calls", headers=bearer(key)).status_code == 200


def test_library_refuses_bad_input(service: CallService) -> None:
    with pytest.raises(auth.AuthError):
        auth.create_user(service.db, "x", "short", ["agent"])
    with pytest.raises(auth.AuthError):
        auth.create_user(service.db, "x", PASSWORD, ["wizard"])
    with pytest.raises(auth.AuthError):
        auth.create_user(service.db, "x", PASSWORD, [])
    with pytest.raises(auth.AuthError):
        auth.create_api_key(service.db, "k", ["root"])
    with pytest.raises(auth.AuthError):
        auth.revoke_api_key(service.db, "nope")
    with pytest.raises(auth.AuthError):
        auth.set_password(service.db, "nobody", PASSWORD)
    auth.create_user(service.db, "x", PASSWORD, ["agent", "qa"])
    with pytest.raises(auth.AuthError):
        auth.create_user(service.db, "x", PASSWORD, ["agent"])
    listed = auth.list_users(service.db)
    assert [(u["username"], u["roles"]) for u in listed] == [("x", ["agent", "qa"])]
    assert "password_hash" not in listed[0]


def test_passwords_are_argon2_and_tokens_stored_hashed(
    client: TestClient, service: CallService, users: dict[str, str]
) -> None:
    from sqlalchemy import select

    from calmline.store.schema import sessions
    from calmline.store.schema import users as users_table

    token = client.post("/api/auth/login", json={"username": "qa", "password": PASSWORD}).json()["token"]
    with service.db.connect() as conn:
        hashes = [r.password_hash for r in conn.execute(select(users_table))]
        stored = [r.token_hash for r in conn.execute(select(sessions))]
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert token not in stored
    assert len(stored[0]) == 64
