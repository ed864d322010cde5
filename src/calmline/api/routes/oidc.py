"""Sign-in with the hospital's identity provider (OIDC): the redirect out and the callback back in.

Both routes are public and answer 404 unless ``CALMLINE_OIDC_*`` is configured (docs/SECURITY.md "Sign-in with
your identity provider"). They are browser navigations, not API calls: they answer redirects and, when a
sign-in is refused, a small HTML page. A successful callback starts the same session as a password login
(``start_session``) and is audited as ``auth.login``; a refused one as ``auth.login_failed`` with its reason.
"""

from __future__ import annotations

import hmac
import re
from urllib.parse import quote

import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from calmline.api.auth import Principal
from calmline.api.deps import ClockDep, ServiceDep, SettingsDep
from calmline.api.errors import not_found
from calmline.api.routes.auth import start_session
from calmline.security import access
from calmline.security.external_users import identity_from_claims, link_user, revoke_external, role_values
from calmline.security.oidc import (
    FLOW_MAX_AGE_S,
    OidcClient,
    OidcConfig,
    OidcError,
    flow_key,
    open_flow,
    seal_flow,
)
from calmline.settings import Settings
from calmline.web.routes import PAGE_HEADERS, templates

log = structlog.get_logger("calmline.api.oidc")

router = APIRouter(prefix="/auth/oidc", tags=["auth"], include_in_schema=False)

FLOW_COOKIE = "calmline_oidc"
_NO_STORE = {"Cache-Control": "no-store"}
_ERROR_CODE = re.compile(r"^[a-z_]{1,64}$")


def oidc_client(request: Request, settings: Settings) -> OidcClient | None:
    """The app's OIDC client, made on first use; None when OIDC sign-in is not configured."""
    if not settings.oidc_enabled:
        return None
    client: OidcClient | None = getattr(request.app.state, "oidc_client", None)
    if client is None:
        config = OidcConfig.from_settings(settings)
        assert config is not None
        client = OidcClient(config)
        request.app.state.oidc_client = client
    return client


def safe_next(raw: str | None, base: str) -> str | None:
    """A local path to return to after signing in (as ``safeNext`` in ``web/static/js/api.js``), or None."""
    if not raw or not raw.startswith("/") or raw.startswith(("//", "/\\")) or len(raw) > 512:
        return None
    if raw.startswith(f"{base}/login") or raw.startswith(f"{base}/auth/") or not raw.isprintable():
        return None
    return raw


def home_for(roles: frozenset[str], base: str) -> str:
    """Each role's own page (as ``homeFor`` in ``web/static/js/api.js``)."""
    if roles & {"supervisor", "admin"}:
        return f"{base}/wall"
    if "agent" in roles:
        return f"{base}/agent"
    if roles & {"qa", "auditor"}:
        return f"{base}/history"
    return f"{base}/wall"


def _base(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def _refused(request: Request, settings: Settings, error: OidcError) -> HTMLResponse:
    """The page a refused sign-in gets: what happened in one sentence, and the way back. Drops the flow."""
    base = _base(request)
    response = templates.TemplateResponse(
        request,
        "oidc_error.html",
        {
            "base": base,
            "page": "login",
            "title": "Sign-in refused" if error.status == 403 else "Sign-in failed",
            "message": error.message,
            "provider": settings.oidc_provider_name,
        },
        status_code=error.status,
        headers=PAGE_HEADERS,
    )
    response.delete_cookie(FLOW_COOKIE, path=f"{base}/auth/oidc", httponly=True, samesite="lax")
    return response


@router.get("/login")
def oidc_login(
    request: Request,
    settings: SettingsDep,
    clock: ClockDep,
    next_path: str | None = Query(default=None, alias="next", max_length=512),
) -> Response:
    """Send the browser to the identity provider (public; 404 unless OIDC sign-in is configured)."""
    client = oidc_client(request, settings)
    if client is None:
        raise not_found("page")
    base = _base(request)
    try:
        url, flow = client.start(safe_next(next_path, base) or "", clock.now())
    except OidcError as exc:
        log.warning("auth.oidc_unavailable", reason=exc.code)
        return _refused(request, settings, exc)
    response = RedirectResponse(url, status_code=302, headers=_NO_STORE)
    response.set_cookie(
        FLOW_COOKIE,
        seal_flow(flow_key(settings.secret_key), flow),
        max_age=FLOW_MAX_AGE_S,
        httponly=True,
        samesite="lax",  # the IdP sends the browser back with a cross-site navigation: Strict would drop it
        secure=settings.env == "prod",
        path=f"{base}/auth/oidc",
    )
    return response


@router.get("/callback")
def oidc_callback(
    request: Request,
    service: ServiceDep,
    clock: ClockDep,
    settings: SettingsDep,
    code: str | None = Query(default=None, max_length=4096),
    state: str | None = Query(default=None, max_length=512),
    error: str | None = Query(default=None, max_length=256),
) -> Response:
    """Finish a sign-in at the identity provider (public; 404 unless OIDC sign-in is configured).

    Checks the state against the browser's flow cookie, exchanges the code (PKCE), validates the ID token,
    maps its claims to roles and starts a calmline session; refused sign-ins get an HTML page and no session.
    """
    client = oidc_client(request, settings)
    if client is None:
        raise not_found("page")
    ip = request.client.host if request.client else "unknown"
    now = clock.now()
    detail: dict[str, object] = {"ip": ip, "method": "oidc"}
    try:
        flow = open_flow(flow_key(settings.secret_key), request.cookies.get(FLOW_COOKIE), now)
        if not state or not hmac.compare_digest(state.encode(), flow.state.encode()):
            raise OidcError(
                "state_mismatch", 400, "This sign-in does not match the one started here. Start again."
            )
        if error is not None:
            if _ERROR_CODE.match(error):
                detail["idp_error"] = error
            raise OidcError("idp_error", 401, "The identity provider did not sign you in.")
        if not code:
            raise OidcError("code_missing", 400, "The identity provider sent no sign-in code. Start again.")
        claims = client.validate(client.exchange(code, flow), flow, now)
        try:
            identity = identity_from_claims(client.config, claims)
        except OidcError as exc:
            if exc.code == "no_role":
                detail.update(
                    claim=client.config.role_claim,
                    values=[v[:64] for v in role_values(client.config, claims)[:20]],
                )
                revoke_external(service.db, str(claims["iss"]), str(claims["sub"]))
            raise
        username = link_user(service.db, identity, now)
    except OidcError as exc:
        log.info("auth.oidc_refused", reason=exc.code, status=exc.status)
        access.record(
            service.db,
            at=now,
            actor="anonymous",
            action="auth.login_failed",
            subject=f"user:{exc.username}" if exc.username else "oidc",
            detail={**detail, "reason": exc.code},
        )
        return _refused(request, settings, exc)
    access.record(
        service.db,
        at=now,
        actor=username,
        action="auth.login",
        subject=f"user:{username}",
        detail={**detail, "issuer": identity.issuer, "roles": list(identity.roles)},
    )
    user = Principal(username, frozenset(identity.roles), "user", identity.display_name)
    base = _base(request)
    response = RedirectResponse(
        flow.next_path or home_for(user.roles, base), status_code=303, headers=_NO_STORE
    )
    start_session(response, service, user, now, settings)
    response.delete_cookie(FLOW_COOKIE, path=f"{base}/auth/oidc", httponly=True, samesite="lax")
    return response


def login_link(request: Request, settings: Settings) -> dict[str, str] | None:
    """The "Sign in with <IdP>" link of the sign-in page (keeping ``?next=``), or None when OIDC is off."""
    if not settings.oidc_enabled:
        return None
    base = _base(request)
    href = f"{base}/auth/oidc/login"
    target = safe_next(request.query_params.get("next"), base)
    if target:
        href += "?next=" + quote(target, safe="")
    return {"name": settings.oidc_provider_name, "href": href}
