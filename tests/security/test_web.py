"""Secure defaults: security headers, cross-site (CSRF) refusal for cookie writes, no CORS."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from calmline.security.web import cross_site
from tests.api.helpers import PASSWORD, bearer


def _cookie_client(client: TestClient) -> TestClient:
    assert (
        client.post("/api/auth/login", json={"username": "supervisor", "password": PASSWORD}).status_code
        == 200
    )
    return client


def test_api_and_pages_carry_security_headers(client: TestClient) -> None:
    api = client.get("/healthz")
    assert api.headers["X-Content-Type-Options"] == "nosniff"
    assert api.headers["X-Frame-Options"] == "DENY"
    assert api.headers["Referrer-Policy"] == "no-referrer"
    assert api.headers["Cache-Control"] == "no-store"
    assert api.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "Strict-Transport-Security" not in api.headers  # only in prod, behind TLS
    page = client.get("/wall")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]  # the page's own CSP is kept


def test_cross_site_cookie_writes_are_refused(client: TestClient, users: dict[str, str]) -> None:
    c = _cookie_client(client)
    evil = c.post("/api/auth/logout", headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403 and evil.json()["error"] == "csrf_failed"
    fetch_site = c.post("/api/auth/logout", headers={"Sec-Fetch-Site": "cross-site"})
    assert fetch_site.status_code == 403
    assert c.get("/api/auth/me", headers={"Origin": "https://evil.example"}).status_code == 200  # reads: CORS
    assert c.post("/api/auth/logout", headers={"Origin": "http://testserver"}).status_code == 204


def test_bearer_requests_are_not_subject_to_the_origin_check(
    client: TestClient, tokens: dict[str, str]
) -> None:
    client.cookies.clear()
    response = client.post(
        "/api/auth/logout", headers={**bearer(tokens["qa"]), "Origin": "https://integration.example"}
    )
    assert response.status_code == 204


def test_cross_site_websocket_with_the_cookie_is_refused(client: TestClient, users: dict[str, str]) -> None:
    c = _cookie_client(client)
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        c.websocket_connect("/ws/live", headers={"Origin": "https://evil.example"}),
    ):
        pass
    assert refused.value.code == 1008
    with c.websocket_connect("/ws/live", headers={"Origin": "http://testserver"}):
        pass


def test_no_cors_headers_are_sent(client: TestClient) -> None:
    preflight = client.options(
        "/api/auth/login",
        headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in {k.lower() for k in preflight.headers}
    plain = client.get("/healthz", headers={"Origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in {k.lower() for k in plain.headers}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"host": "calm.example", "origin": "https://calm.example"}, False),
        ({"host": "calm.example", "origin": "https://evil.example"}, True),
        ({"host": "calm.example", "referer": "https://calm.example/wall"}, False),
        ({"host": "calm.example", "origin": "null"}, True),
        ({"host": "10.0.0.5:8000", "origin": "https://calm.example"}, False),  # allowed origin behind a proxy
        ({"host": "calm.example"}, False),
        ({"host": "calm.example", "sec-fetch-site": "cross-site"}, True),
    ],
)
def test_cross_site_detection(headers: dict[str, str], expected: bool) -> None:
    assert cross_site(headers, ["https://calm.example"]) is expected
