"""HTTP hardening for every response and request: security headers and a cross-site request check.

Headers: every response gets ``nosniff``, ``no-referrer``, ``DENY`` framing, a same-origin opener policy, an
empty permissions policy and, for the JSON API, ``Cache-Control: no-store`` and a CSP that allows nothing
(pages and static files keep the CSP and caching they set, ``calmline.web.routes``). In prod
(``CALMLINE_ENV=prod``, served over TLS by the reverse proxy) ``Strict-Transport-Security`` is added.

CSRF: the session cookie is ``SameSite=Strict`` and ``HttpOnly``, and the pages send JSON with ``fetch``. On
top of that, a state-changing request (POST, PUT, PATCH, DELETE) or a WebSocket handshake that carries the
session cookie is refused with 403 ``csrf_failed`` when the browser says it comes from another site:
``Sec-Fetch-Site: cross-site``, or an ``Origin`` (or, lacking one, ``Referer``) whose host is neither this
request's ``Host`` nor in ``CALMLINE_ALLOWED_ORIGINS``. Requests authenticated by an ``Authorization`` header
(integrations) carry no ambient credentials and are not checked. No CORS headers are ever sent, so browsers
keep other origins from reading any answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "calmline_session"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BASE_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
API_HEADERS: dict[str, str] = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
}
HSTS = "max-age=63072000; includeSubDomains"


def _headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in scope.get("headers", ()):
        out.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return out


def _has_session_cookie(headers: dict[str, str]) -> bool:
    cookie = headers.get("cookie", "")
    return any(part.strip().startswith(SESSION_COOKIE + "=") for part in cookie.split(";"))


def _origin_host(value: str) -> str | None:
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return parts.netloc.lower()


def cross_site(headers: dict[str, str], allowed_origins: Iterable[str] = ()) -> bool:
    """Whether a request with these headers was sent by a page of another site."""
    if headers.get("sec-fetch-site", "").lower() == "cross-site":
        return True
    source = headers.get("origin") or headers.get("referer")
    if not source:
        return False  # not a browser, or a same-origin request of a browser that sends neither
    if source == "null":
        return True
    host = _origin_host(source)
    if host is None:
        return True
    allowed = {headers.get("host", "").lower()} | {h for h in map(_origin_host, allowed_origins) if h}
    return host not in allowed


class SecurityMiddleware:
    """Adds the security headers and refuses cross-site cookie-authenticated writes (pure ASGI)."""

    def __init__(self, app: ASGIApp, *, prod: bool = False, allowed_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.prod = prod
        self.allowed_origins = tuple(allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request, then add the headers to the response."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        checked = scope["type"] == "websocket" or scope.get("method", "GET") in _UNSAFE
        if (
            checked
            and "authorization" not in headers
            and _has_session_cookie(headers)
            and cross_site(headers, self.allowed_origins)
        ):
            await self._refuse(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = {**BASE_HEADERS, **API_HEADERS}  # a page or static file keeps its own CSP and cache
                if self.prod:
                    extra["Strict-Transport-Security"] = HSTS
                added = [
                    (k.lower().encode("latin-1"), v.encode("latin-1"))
                    for k, v in extra.items()
                    if k.lower().encode("latin-1") not in present
                ]
                message = {**message, "headers": [*message.get("headers", []), *added]}
            await send(message)

        await self.app(scope, receive, with_headers)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = json.dumps(
            {"error": "csrf_failed", "detail": "cross-site request refused", "fields": []}
        ).encode()
        if scope["type"] == "websocket":
            await receive()  # the connect message
            await send({"type": "websocket.close", "code": 1008, "reason": "cross-site request refused"})
            return
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    *[(k.lower().encode(), v.encode()) for k, v in {**BASE_HEADERS, **API_HEADERS}.items()],
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
