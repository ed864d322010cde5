"""Sign-in with an OIDC identity provider, against a fake IdP served through ``httpx.MockTransport``.

The fake IdP has its own RSA key; it serves discovery, JWKS and a token endpoint that checks the PKCE verifier
and the client secret, and mints the ID token each test asks for. No network is used.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from sqlalchemy import select
from starlette.testclient import TestClient

from calmline.api import create_app
from calmline.api.auth import create_user
from calmline.clock import FakeClock
from calmline.runtime import configure_logging
from calmline.security.external_users import EXTERNAL_PASSWORD, external_identities
from calmline.security.oidc import OidcClient, OidcConfig
from calmline.service import CallService
from calmline.settings import Settings
from calmline.store.schema import audit_log, sessions, users
from tests.api.helpers import PASSWORD

ISSUER = "https://idp.hospital.test/realms/calmline"
CLIENT_ID = "calmline"
CLIENT_SECRET = "s3cret/with+odd=chars"
REDIRECT = "http://testserver/auth/oidc/callback"
ROLE_MAP = {"calmline-supervisors": ["supervisor"], "calmline-agents": ["agent"], "cn=qa,ou=groups": ["qa"]}
EMAIL = "dana.reyes@hospital.test"
NAME = "Dana Reyes-Okafor"


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeIdP:
    """Discovery, JWKS and token endpoints of an identity provider, and its sign-in step."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.key = _key()
        self.kid = "k1"
        self.pending: dict[str, dict[str, Any]] = {}
        self.token_requests: list[dict[str, Any]] = []
        self.issued: list[str] = []
        self.codes: list[str] = []
        self.jwks_fetches = 0

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/realms/calmline/.well-known/openid-configuration":
            return httpx.Response(
                200,
                json={
                    "issuer": ISSUER,
                    "authorization_endpoint": f"{ISSUER}/protocol/openid-connect/auth",
                    "token_endpoint": f"{ISSUER}/protocol/openid-connect/token",
                    "jwks_uri": f"{ISSUER}/protocol/openid-connect/certs",
                },
            )
        if path == "/realms/calmline/protocol/openid-connect/certs":
            self.jwks_fetches += 1
            return httpx.Response(200, json=self.jwks())
        if path == "/realms/calmline/protocol/openid-connect/token" and request.method == "POST":
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            self.token_requests.append({"form": form, "authorization": request.headers.get("authorization")})
            grant = self.pending.pop(form.get("code", ""), None)
            if grant is None:
                return httpx.Response(400, json={"error": "invalid_grant"})
            challenge = base64.urlsafe_b64encode(hashlib.sha256(form["code_verifier"].encode()).digest())
            if challenge.rstrip(b"=").decode() != grant["challenge"]:
                return httpx.Response(400, json={"error": "invalid_grant"})
            return httpx.Response(200, json={"id_token": grant["id_token"], "token_type": "Bearer"})
        return httpx.Response(404)

    def sign_in(
        self,
        authorize_url: str,
        *,
        claims: dict[str, Any] | None = None,
        key: Any = None,
        alg: str = "RS256",
        kid: str | None = None,
    ) -> str:
        """The person signs in at the IdP: returns the code the IdP sends the browser back with."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        now = int(self.clock.now().timestamp())
        body = {
            "iss": ISSUER,
            "sub": "f3b1c2d4-0000-4000-8000-000000000001",
            "aud": CLIENT_ID,
            "exp": now + 300,
            "iat": now,
            "nonce": query["nonce"],
            "preferred_username": "dreyes",
            "email": EMAIL,
            "email_verified": True,
            "name": NAME,
            "groups": ["calmline-supervisors", "staff"],
            **(claims or {}),
        }
        body = {k: v for k, v in body.items() if v is not None}
        token = jwt.encode(body, key or self.key, algorithm=alg, headers={"kid": kid or self.kid})
        code = f"code-{len(self.issued)}-{time.monotonic_ns()}"
        self.pending[code] = {"challenge": query["code_challenge"], "id_token": token}
        self.issued.append(token)
        self.codes.append(code)
        return code


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        env="test",
        data_dir=tmp_path,
        oidc_issuer=ISSUER,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        oidc_redirect_url=REDIRECT,
        oidc_role_map=ROLE_MAP,
        oidc_provider_name="Hospital SSO",
    )


@pytest.fixture
def idp(clock: FakeClock) -> FakeIdP:
    return FakeIdP(clock)


@pytest.fixture
def app(settings: Settings, service: CallService, idp: FakeIdP) -> FastAPI:
    return _app_with_idp(settings, service, idp)


def _app_with_idp(settings: Settings, service: CallService, idp: FakeIdP) -> FastAPI:
    """calmline with OIDC configured by ``settings``, talking to the fake IdP."""
    app = create_app(settings, service=service, tick_interval_s=3600)
    config = OidcConfig.from_settings(settings)
    assert config is not None
    app.state.oidc_client = OidcClient(config, transport=httpx.MockTransport(idp.handler))
    return app


@pytest.fixture
def browser(client: TestClient) -> Iterator[TestClient]:
    client.follow_redirects = False
    yield client


def _start(browser: TestClient, next_path: str | None = None) -> str:
    response = browser.get("/auth/oidc/login", params={"next": next_path} if next_path else None)
    assert response.status_code == 302, response.text
    return response.headers["location"]


def _sign_in(browser: TestClient, idp: FakeIdP, **token: Any) -> httpx.Response:
    url = _start(browser)
    code = idp.sign_in(url, **token)
    state = parse_qs(urlsplit(url).query)["state"][0]
    return browser.get("/auth/oidc/callback", params={"code": code, "state": state})


def _audit(service: CallService, action: str) -> list[Any]:
    with service.db.connect() as conn:
        return list(conn.execute(select(audit_log).where(audit_log.c.action == action)))


def _session_count(service: CallService) -> int:
    with service.db.connect() as conn:
        return len(conn.execute(select(sessions)).all())


# -- the happy path --------------------------------------------------------------------------------------


def test_oidc_sign_in_gives_a_session_with_the_mapped_role(
    browser: TestClient, idp: FakeIdP, service: CallService, settings: Settings
) -> None:
    url = _start(browser, "/history?day=1")
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{ISSUER}/protocol/openid-connect/auth"
    assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == REDIRECT and query["scope"] == "openid profile email"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32 and query["state"] != query["nonce"]

    code = idp.sign_in(url)
    response = browser.get("/auth/oidc/callback", params={"code": code, "state": query["state"]})
    assert response.status_code == 303
    assert response.headers["location"] == "/history?day=1"
    cookie = response.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookie if c.startswith("calmline_session="))
    assert "HttpOnly" in session_cookie and "SameSite=strict" in session_cookie
    assert f"Max-Age={settings.session_ttl_minutes * 60}" in session_cookie

    me = browser.get("/api/auth/me")
    assert me.status_code == 200
    assert me.json() == {"name": "dreyes", "kind": "user", "roles": ["supervisor"], "display_name": NAME}
    # the code went back with the PKCE verifier and the client secret (form-encoded, then Basic)
    sent = idp.token_requests[-1]
    assert sent["form"]["grant_type"] == "authorization_code" and sent["form"]["redirect_uri"] == REDIRECT
    basic = base64.b64decode(sent["authorization"].split()[1]).decode()
    assert basic == "calmline:s3cret%2Fwith%2Bodd%3Dchars"
    # a local user marked external, which no password opens, and an audited login
    with service.db.connect() as conn:
        user = conn.execute(select(users).where(users.c.username == "dreyes")).one()
        link = conn.execute(select(external_identities)).one()
    assert user.password_hash == EXTERNAL_PASSWORD and user.roles == ["supervisor"]
    assert (link.issuer, link.username, link.email) == (ISSUER, "dreyes", EMAIL)
    assert (
        browser.post("/api/auth/login", json={"username": "dreyes", "password": PASSWORD}).status_code == 401
    )
    (entry,) = _audit(service, "auth.login")
    assert (
        entry.actor == "dreyes"
        and entry.detail["method"] == "oidc"
        and entry.detail["roles"] == ["supervisor"]
    )


def test_oidc_sign_in_follows_the_role_claim_and_the_subject(
    browser: TestClient, idp: FakeIdP, service: CallService
) -> None:
    assert _sign_in(browser, idp).headers["location"] == "/wall"
    # next time the IdP puts the person in other groups and renames them: same user, new roles
    response = _sign_in(
        browser, idp, claims={"groups": ["calmline-agents", "cn=qa,ou=groups"], "preferred_username": "dana"}
    )
    assert response.headers["location"] == "/agent"
    assert browser.get("/api/auth/me").json()["roles"] == ["agent", "qa"]
    with service.db.connect() as conn:
        assert [r.username for r in conn.execute(select(users))] == ["dreyes"]


def test_oidc_role_claim_may_be_a_dotted_path(tmp_path: Path, service: CallService, idp: FakeIdP) -> None:
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        oidc_issuer=ISSUER,
        oidc_client_id=CLIENT_ID,
        oidc_redirect_url=REDIRECT,
        oidc_role_claim="realm_access.roles",
        oidc_role_map={"calmline-admin": ["admin"]},
    )
    app = _app_with_idp(settings, service, idp)
    assert app.state.oidc_client.config.client_secret is None
    with TestClient(app, follow_redirects=False) as browser:
        response = _sign_in(
            browser, idp, claims={"groups": None, "realm_access": {"roles": ["calmline-admin"]}}
        )
        assert response.status_code == 303
        assert browser.get("/api/auth/me").json()["roles"] == ["admin"]
    sent = idp.token_requests[-1]
    assert sent["authorization"] is None and sent["form"]["client_id"] == CLIENT_ID  # a public client


# -- refusals --------------------------------------------------------------------------------------------


def _refusals() -> dict[str, Callable[[FakeIdP, FakeClock], dict[str, Any]]]:
    return {
        "bad_signature": lambda idp, clock: {"key": _key()},
        "wrong_audience": lambda idp, clock: {"claims": {"aud": "another-client"}},
        "wrong_issuer": lambda idp, clock: {"claims": {"iss": "https://evil.test/realms/calmline"}},
        "wrong_nonce": lambda idp, clock: {"claims": {"nonce": "not-the-nonce-calmline-sent"}},
        "expired": lambda idp, clock: {
            "claims": {
                "exp": int(clock.now().timestamp()) - 120,
                "iat": int(clock.now().timestamp()) - 900,
            }
        },
        "issued_in_the_future": lambda idp, clock: {"claims": {"iat": int(clock.now().timestamp()) + 3600}},
        "hmac_with_the_client_secret": lambda idp, clock: {"key": CLIENT_SECRET.encode() * 3, "alg": "HS256"},
        "unknown_key_id": lambda idp, clock: {"kid": "k-unknown"},
        "no_nonce": lambda idp, clock: {"claims": {"nonce": None}},
        "azp_of_another_client": lambda idp, clock: {"claims": {"aud": [CLIENT_ID, "other"], "azp": "other"}},
    }


@pytest.mark.parametrize("case", sorted(_refusals()))
def test_oidc_refuses_a_token_that_does_not_hold(
    case: str,
    browser: TestClient,
    idp: FakeIdP,
    clock: FakeClock,
    service: CallService,
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("debug")
    response = _sign_in(browser, idp, **_refusals()[case](idp, clock))
    assert response.status_code == 401, response.text
    assert "text/html" in response.headers["content-type"]
    assert "could not be verified" in response.text
    assert not [c for c in response.headers.get_list("set-cookie") if c.startswith("calmline_session=")]
    assert browser.get("/api/auth/me").status_code == 401
    assert _session_count(service) == 0
    (entry,) = _audit(service, "auth.login_failed")
    assert entry.detail["reason"] == "invalid_token" and entry.detail["method"] == "oidc"
    logs = capsys.readouterr()
    output = logs.out + logs.err + json.dumps(entry.detail)
    assert "auth.oidc_refused" in output
    for secret in (idp.issued[-1], idp.codes[-1], EMAIL, NAME, CLIENT_SECRET):
        assert secret not in output
        assert secret not in response.text


def test_oidc_refuses_a_state_that_does_not_match(
    browser: TestClient, idp: FakeIdP, service: CallService
) -> None:
    url = _start(browser)
    code = idp.sign_in(url)
    response = browser.get("/auth/oidc/callback", params={"code": code, "state": "forged-state"})
    assert response.status_code == 400
    assert "does not match" in response.text
    assert not idp.token_requests  # the code was never exchanged
    assert browser.get("/api/auth/me").status_code == 401 and _session_count(service) == 0
    assert _audit(service, "auth.login_failed")[0].detail["reason"] == "state_mismatch"


def test_oidc_callback_without_the_flow_cookie_is_refused(
    browser: TestClient, idp: FakeIdP, service: CallService
) -> None:
    url = _start(browser)
    code = idp.sign_in(url)
    state = parse_qs(urlsplit(url).query)["state"][0]
    browser.cookies.clear()  # another browser (login CSRF), or a cookie lost on the way
    response = browser.get("/auth/oidc/callback", params={"code": code, "state": state})
    assert response.status_code == 400 and _session_count(service) == 0
    assert _audit(service, "auth.login_failed")[0].detail["reason"] == "flow_missing"


def test_oidc_flow_expires_after_ten_minutes(
    browser: TestClient, idp: FakeIdP, clock: FakeClock, service: CallService
) -> None:
    url = _start(browser)
    code = idp.sign_in(url)
    clock.advance(601)
    state = parse_qs(urlsplit(url).query)["state"][0]
    response = browser.get("/auth/oidc/callback", params={"code": code, "state": state})
    assert response.status_code == 400 and _session_count(service) == 0
    assert _audit(service, "auth.login_failed")[0].detail["reason"] == "flow_expired"


def test_oidc_error_from_the_idp_is_refused(browser: TestClient, service: CallService) -> None:
    url = _start(browser)
    state = parse_qs(urlsplit(url).query)["state"][0]
    response = browser.get(
        "/auth/oidc/callback", params={"error": "access_denied", "error_description": NAME, "state": state}
    )
    assert response.status_code == 401 and NAME not in response.text
    entry = _audit(service, "auth.login_failed")[0]
    assert entry.detail["reason"] == "idp_error" and entry.detail["idp_error"] == "access_denied"


def test_oidc_unmapped_group_is_refused_and_ends_earlier_sessions(
    browser: TestClient, idp: FakeIdP, service: CallService
) -> None:
    assert _sign_in(browser, idp).status_code == 303
    earlier = browser.cookies.get("calmline_session")
    assert earlier and browser.get("/api/auth/me").status_code == 200

    response = _sign_in(browser, idp, claims={"groups": ["staff", "radiology"]})
    assert response.status_code == 403
    assert "no group that gives a calmline role" in response.text
    assert "Back to sign in" in response.text
    assert not [c for c in response.headers.get_list("set-cookie") if c.startswith("calmline_session=")]
    # the IdP took the person's role away: their session from before is over too
    assert browser.get("/api/auth/me", headers={"Authorization": f"Bearer {earlier}"}).status_code == 401
    assert _session_count(service) == 0
    entry = _audit(service, "auth.login_failed")[-1]
    assert entry.subject == "user:dreyes" and entry.detail["reason"] == "no_role"
    assert entry.detail["claim"] == "groups" and entry.detail["values"] == ["staff", "radiology"]


def test_oidc_unmapped_group_on_first_sign_in_creates_no_user(
    browser: TestClient, idp: FakeIdP, service: CallService
) -> None:
    assert _sign_in(browser, idp, claims={"groups": "staff"}).status_code == 403
    with service.db.connect() as conn:
        assert conn.execute(select(users)).all() == []


def test_oidc_never_takes_over_a_local_account(
    browser: TestClient, idp: FakeIdP, service: CallService
) -> None:
    create_user(service.db, "dreyes", PASSWORD, ["admin"])
    response = _sign_in(browser, idp)
    assert response.status_code == 409 and _session_count(service) == 0
    assert _audit(service, "auth.login_failed")[0].detail["reason"] == "username_taken"
    with service.db.connect() as conn:
        assert conn.execute(select(users.c.roles).where(users.c.username == "dreyes")).scalar() == ["admin"]


def test_oidc_disabled_user_is_refused(browser: TestClient, idp: FakeIdP, service: CallService) -> None:
    from calmline.api.auth import set_disabled

    assert _sign_in(browser, idp).status_code == 303
    set_disabled(service.db, "dreyes")
    assert _sign_in(browser, idp).status_code == 403
    assert _audit(service, "auth.login_failed")[-1].detail["reason"] == "disabled"


def test_oidc_allowed_domains(tmp_path: Path, service: CallService, idp: FakeIdP) -> None:
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        oidc_issuer=ISSUER,
        oidc_client_id=CLIENT_ID,
        oidc_redirect_url=REDIRECT,
        oidc_role_map=ROLE_MAP,
        oidc_allowed_domains=["hospital.test"],
    )
    app = _app_with_idp(settings, service, idp)
    with TestClient(app, follow_redirects=False) as browser:
        assert _sign_in(browser, idp, claims={"email": "x@elsewhere.test"}).status_code == 403
        assert _sign_in(browser, idp, claims={"email_verified": False}).status_code == 403
        assert _sign_in(browser, idp).status_code == 303
    reasons = [e.detail["reason"] for e in _audit(service, "auth.login_failed")]
    assert reasons == ["email_not_allowed", "email_not_allowed"]


def test_oidc_picks_up_a_rotated_signing_key(browser: TestClient, idp: FakeIdP) -> None:
    assert _sign_in(browser, idp).status_code == 303
    idp.key, idp.kid = _key(), "k2"
    assert _sign_in(browser, idp).status_code == 401  # cached keys, refreshed at most every 30 s
    # the refresh window is monotonic time: move the last fetch back instead of sleeping 30 s
    client: OidcClient = browser.app.state.oidc_client  # type: ignore[attr-defined]
    client._jwks_at -= 31
    assert _sign_in(browser, idp).status_code == 303
    assert idp.jwks_fetches == 2


def test_oidc_unreachable_idp_gives_a_page_not_a_crash(settings: Settings, service: CallService) -> None:
    def down(_request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no route to host")

    app = create_app(settings, service=service, tick_interval_s=3600)
    config = OidcConfig.from_settings(settings)
    assert config is not None
    app.state.oidc_client = OidcClient(config, transport=httpx.MockTransport(down))
    with TestClient(app, follow_redirects=False) as browser:
        response = browser.get("/auth/oidc/login")
    assert response.status_code == 502 and "could not be reached" in response.text


# -- the sign-in page, and OIDC switched off -------------------------------------------------------------


def test_login_page_offers_the_identity_provider(browser: TestClient) -> None:
    page = browser.get("/login", params={"next": "/history"})
    assert page.status_code == 200
    assert "Sign in with Hospital SSO" in page.text
    assert 'href="/auth/oidc/login?next=%2Fhistory"' in page.text


def test_oidc_is_off_unless_configured(tmp_path: Path, service: CallService) -> None:
    app = create_app(Settings(env="test", data_dir=tmp_path), service=service, tick_interval_s=3600)
    with TestClient(app, follow_redirects=False) as browser:
        assert browser.get("/auth/oidc/login").status_code == 404
        assert browser.get("/auth/oidc/callback", params={"code": "x", "state": "y"}).status_code == 404
        page = browser.get("/login")
        assert page.status_code == 200 and "Sign in with" not in page.text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"oidc_issuer": ISSUER}, "half configured"),
        ({"oidc_issuer": ISSUER, "oidc_client_id": CLIENT_ID, "oidc_redirect_url": REDIRECT}, "ROLE_MAP"),
        (
            {
                "oidc_issuer": ISSUER,
                "oidc_client_id": CLIENT_ID,
                "oidc_redirect_url": REDIRECT,
                "oidc_role_map": {"g": ["root"]},
            },
            "unknown role",
        ),
        (
            {
                "oidc_issuer": ISSUER,
                "oidc_client_id": CLIENT_ID,
                "oidc_redirect_url": REDIRECT,
                "oidc_role_map": ROLE_MAP,
                "oidc_scopes": "profile email",
            },
            "openid",
        ),
        (
            {
                "env": "prod",
                "secret_key": "x" * 32,
                "oidc_issuer": "http://idp.hospital.test",
                "oidc_client_id": CLIENT_ID,
                "oidc_redirect_url": "https://calmline.hospital.test/auth/oidc/callback",
                "oidc_role_map": ROLE_MAP,
            },
            "https://",
        ),
    ],
)
def test_oidc_settings_refuse_a_half_or_wrong_configuration(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings(**{"env": "test", **extra})


def test_session_from_oidc_lasts_the_configured_ttl(
    browser: TestClient, idp: FakeIdP, clock: FakeClock, settings: Settings
) -> None:
    assert _sign_in(browser, idp).status_code == 303
    clock.advance(timedelta(minutes=settings.session_ttl_minutes).total_seconds() - 1)
    assert browser.get("/api/auth/me").status_code == 200
    clock.advance(2)
    assert browser.get("/api/auth/me").status_code == 401
