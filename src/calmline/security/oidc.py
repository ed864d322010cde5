"""Sign-in with the hospital's OpenID Connect identity provider: authorization code flow with PKCE.

The browser leaves calmline at ``/auth/oidc/login`` with a fresh ``state``, ``nonce`` and PKCE verifier,
sealed (AES-GCM, key derived from ``CALMLINE_SECRET_KEY``) into a short-lived cookie; it comes back to
``/auth/oidc/callback`` with a code, which calmline exchanges at the IdP's token endpoint (back channel). The
ID token's signature is checked against the IdP's JWKS (cached), then its ``iss``, ``aud`` (and ``azp``),
``exp``, ``iat``, ``nbf`` and ``nonce``. What the claims then mean for calmline (roles, the local user) is
``calmline.security.external_users``.

Nothing here logs or stores a code, a token or the claims; errors carry a short ``code`` fit for the audit
trail and a sentence fit for the person.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus, urlencode

import httpx
import jwt
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

if TYPE_CHECKING:
    from calmline.settings import Settings

#: Asymmetric algorithms only: never ``none``, never an HMAC keyed with the (shared) client secret.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
FLOW_MAX_AGE_S = 600
_FLOW_CONTEXT = b"calmline/oidc-flow/v1"
_METADATA_TTL_S = 3600.0
_JWKS_REFRESH_MIN_S = 30.0


class OidcError(Exception):
    """A refused or failed sign-in: ``code`` for the audit trail, ``status`` and the message for the page."""

    def __init__(self, code: str, status: int, message: str, *, username: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.username = username


@dataclass(frozen=True, slots=True)
class OidcConfig:
    """What calmline needs to know about the IdP (``CALMLINE_OIDC_*``)."""

    issuer: str
    client_id: str
    redirect_url: str
    client_secret: str | None = None
    token_auth: str = "client_secret_basic"
    scopes: str = "openid profile email"
    provider_name: str = "your identity provider"
    role_claim: str = "groups"
    role_map: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    username_claim: str = "preferred_username"
    allowed_domains: tuple[str, ...] = ()
    ca_bundle: str | None = None
    timeout_s: float = 10.0
    leeway_s: int = 60

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcConfig | None:
        """The configuration, or None when OIDC sign-in is off."""
        if not settings.oidc_enabled:
            return None
        secret = settings.oidc_client_secret
        return cls(
            issuer=str(settings.oidc_issuer).rstrip("/"),
            client_id=str(settings.oidc_client_id),
            redirect_url=str(settings.oidc_redirect_url),
            client_secret=secret.get_secret_value() if secret is not None else None,
            token_auth=settings.oidc_token_auth,
            scopes=settings.oidc_scopes,
            provider_name=settings.oidc_provider_name,
            role_claim=settings.oidc_role_claim,
            role_map={k: tuple(v) for k, v in settings.oidc_role_map.items()},
            username_claim=settings.oidc_username_claim,
            allowed_domains=tuple(d.lower().lstrip("@") for d in settings.oidc_allowed_domains),
            ca_bundle=str(settings.oidc_ca_bundle) if settings.oidc_ca_bundle else None,
            timeout_s=settings.oidc_timeout_s,
            leeway_s=settings.oidc_leeway_s,
        )


@dataclass(frozen=True, slots=True)
class Flow:
    """One sign-in in progress, kept by the browser in a sealed cookie."""

    state: str
    nonce: str
    verifier: str
    next_path: str
    issued_at: int


# -- the flow cookie -------------------------------------------------------------------------------------


def flow_key(secret_key: str) -> bytes:
    """The AES key of the flow cookie, derived from ``CALMLINE_SECRET_KEY`` (domain-separated)."""
    return hmac.new(secret_key.encode("utf-8"), _FLOW_CONTEXT, hashlib.sha256).digest()


def seal_flow(key: bytes, flow: Flow) -> str:
    """The cookie value: nonce + AES-GCM ciphertext of the flow, URL-safe base64."""
    nonce = secrets.token_bytes(12)
    plain = json.dumps([flow.state, flow.nonce, flow.verifier, flow.next_path, flow.issued_at]).encode()
    return base64.urlsafe_b64encode(nonce + AESGCM(key).encrypt(nonce, plain, _FLOW_CONTEXT)).decode()


def open_flow(key: bytes, value: str | None, now: datetime) -> Flow:
    """The flow a cookie holds.

    Raises:
        OidcError: ``flow_missing`` (no cookie, or one that does not open) or ``flow_expired``.
    """
    if not value or len(value) > 2048:
        raise OidcError(
            "flow_missing", 400, "This sign-in was not started here, or has expired. Start again."
        )
    try:
        raw = base64.urlsafe_b64decode(value.encode("ascii"))
        state, nonce, verifier, next_path, issued = json.loads(
            AESGCM(key).decrypt(raw[:12], raw[12:], _FLOW_CONTEXT)
        )
        flow = Flow(str(state), str(nonce), str(verifier), str(next_path), int(issued))
    except Exception:  # tampered, truncated or sealed under another key: all the same to the person
        raise OidcError(
            "flow_missing", 400, "This sign-in was not started here, or has expired. Start again."
        ) from None
    if not 0 <= now.timestamp() - flow.issued_at <= FLOW_MAX_AGE_S:
        raise OidcError("flow_expired", 400, "This sign-in took too long. Start again.")
    return flow


# -- the IdP ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """The parts of the discovery document calmline uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


class OidcClient:
    """Talks to one IdP: discovery and JWKS (cached), the authorization URL, the code exchange, the ID token.

    ``transport`` replaces the network (tests: ``httpx.MockTransport``).
    """

    def __init__(self, config: OidcConfig, *, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self._transport = transport
        self._metadata: ProviderMetadata | None = None
        self._metadata_at = 0.0
        self._jwks: jwt.PyJWKSet | None = None
        self._jwks_at = 0.0

    def _http(self) -> httpx.Client:
        verify: ssl.SSLContext | bool = True
        if self.config.ca_bundle:  # a hospital's own CA; the system's trust store otherwise
            verify = ssl.create_default_context(cafile=self.config.ca_bundle)
        return httpx.Client(
            transport=self._transport, timeout=self.config.timeout_s, verify=verify, follow_redirects=False
        )

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            with self._http() as http:
                response = http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError):
            raise OidcError("idp_unreachable", 502, "The identity provider could not be reached.") from None
        if not isinstance(body, dict):
            raise OidcError("idp_unreachable", 502, "The identity provider answered something unexpected.")
        return body

    def metadata(self) -> ProviderMetadata:
        """The IdP's discovery document (cached for an hour).

        Raises:
            OidcError: ``idp_unreachable``, or ``idp_misconfigured`` when it names another issuer.
        """
        if self._metadata is not None and time.monotonic() - self._metadata_at < _METADATA_TTL_S:
            return self._metadata
        doc = self._get_json(f"{self.config.issuer}/.well-known/openid-configuration")
        try:
            found = ProviderMetadata(
                issuer=str(doc["issuer"]),
                authorization_endpoint=str(doc["authorization_endpoint"]),
                token_endpoint=str(doc["token_endpoint"]),
                jwks_uri=str(doc["jwks_uri"]),
            )
        except KeyError:
            raise OidcError(
                "idp_misconfigured", 502, "The identity provider's discovery is incomplete."
            ) from None
        secure = self.config.issuer.startswith("https://")
        endpoints = (found.authorization_endpoint, found.token_endpoint, found.jwks_uri)
        if found.issuer.rstrip("/") != self.config.issuer or (
            secure and not all(e.startswith("https://") for e in endpoints)
        ):
            raise OidcError("idp_misconfigured", 502, "The identity provider's discovery does not match.")
        self._metadata, self._metadata_at = found, time.monotonic()
        return found

    def start(self, next_path: str, now: datetime) -> tuple[str, Flow]:
        """The URL to send the browser to, and the flow to keep in its cookie."""
        meta = self.metadata()
        flow = Flow(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            verifier=secrets.token_urlsafe(64),
            next_path=next_path,
            issued_at=int(now.timestamp()),
        )
        challenge = base64.urlsafe_b64encode(hashlib.sha256(flow.verifier.encode()).digest()).rstrip(b"=")
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.config.client_id,
                "redirect_uri": self.config.redirect_url,
                "scope": self.config.scopes,
                "state": flow.state,
                "nonce": flow.nonce,
                "code_challenge": challenge.decode(),
                "code_challenge_method": "S256",
            }
        )
        separator = "&" if "?" in meta.authorization_endpoint else "?"
        return f"{meta.authorization_endpoint}{separator}{query}", flow

    def exchange(self, code: str, flow: Flow) -> str:
        """Trade the code for tokens at the token endpoint; returns the ID token (compact JWS).

        Raises:
            OidcError: ``idp_unreachable`` or ``token_exchange_failed``.
        """
        meta = self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.config.redirect_url,
            "code_verifier": flow.verifier,
            "client_id": self.config.client_id,
        }
        auth: httpx.BasicAuth | None = None
        if self.config.client_secret is not None:
            if self.config.token_auth == "client_secret_post":
                form["client_secret"] = self.config.client_secret
            else:  # RFC 6749 §2.3.1: both parts form-urlencoded before Basic
                auth = httpx.BasicAuth(
                    _form_quote(self.config.client_id), _form_quote(self.config.client_secret)
                )
        try:
            with self._http() as http:
                response = http.post(
                    meta.token_endpoint,
                    data=form,
                    auth=auth or httpx.USE_CLIENT_DEFAULT,
                    headers={"Accept": "application/json"},
                )
        except httpx.HTTPError:
            raise OidcError("idp_unreachable", 502, "The identity provider could not be reached.") from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        token = body.get("id_token") if isinstance(body, dict) else None
        if response.status_code != 200 or not isinstance(token, str):
            raise OidcError(
                "token_exchange_failed", 401, "The identity provider did not confirm this sign-in."
            )
        return token

    def _signing_key(self, kid: str | None) -> jwt.PyJWK:
        for attempt in (0, 1):
            stale = time.monotonic() - self._jwks_at >= _METADATA_TTL_S
            may_refresh = attempt == 1 and time.monotonic() - self._jwks_at >= _JWKS_REFRESH_MIN_S
            if self._jwks is None or stale or may_refresh:
                try:
                    self._jwks = jwt.PyJWKSet.from_dict(self._get_json(self.metadata().jwks_uri))
                except jwt.PyJWTError:
                    raise OidcError(
                        "idp_misconfigured", 502, "The identity provider's keys are unusable."
                    ) from None
                self._jwks_at = time.monotonic()
            keys = [k for k in self._jwks.keys if getattr(k, "public_key_use", None) in (None, "sig")]
            found = [k for k in keys if k.key_id == kid] if kid else keys
            if len(found) == 1:
                return found[0]
        raise OidcError("invalid_token", 401, "The identity provider's answer could not be verified.")

    def validate(self, id_token: str, flow: Flow, now: datetime) -> dict[str, Any]:
        """The ID token's claims once its signature, issuer, audience, times and nonce hold.

        Raises:
            OidcError: ``invalid_token`` (with no detail: the reason goes nowhere a token could follow).
        """
        refused = OidcError("invalid_token", 401, "The identity provider's answer could not be verified.")
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError:
            raise refused from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise refused
        key = self._signing_key(header.get("kid"))
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key=key.key,
                algorithms=[str(alg)],
                audience=self.config.client_id,
                issuer=self.metadata().issuer,
                options={
                    "require": ["iss", "sub", "aud", "exp", "iat", "nonce"],
                    # Times are checked below against calmline's clock, not the library's.
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError:
            raise refused from None
        t, leeway = now.timestamp(), self.config.leeway_s
        try:
            expired = float(claims["exp"]) <= t - leeway
            early = float(claims["iat"]) > t + leeway or float(claims.get("nbf", t)) > t + leeway
        except (TypeError, ValueError):
            raise refused from None
        audience = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        azp_ok = claims.get("azp", self.config.client_id) == self.config.client_id
        wrong_azp = not azp_ok or (len(audience) > 1 and "azp" not in claims)
        nonce_ok = hmac.compare_digest(str(claims["nonce"]).encode(), flow.nonce.encode())
        if expired or early or wrong_azp or not nonce_ok or not isinstance(claims["sub"], str):
            raise refused
        return claims


def _form_quote(value: str) -> str:
    return quote_plus(value)
