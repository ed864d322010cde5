"""FastAPI dependencies: the service, the clock, and who is calling with which roles.

Every route names the roles it allows with one of the aliases below (or ``require_roles(...)``): no
credentials gives 401, credentials without one of the roles gives 403.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from starlette.requests import HTTPConnection

from calmline.api import permissions
from calmline.api.auth import Principal, authenticate
from calmline.api.errors import ApiError
from calmline.clock import Clock
from calmline.service import CallService
from calmline.settings import Settings

SESSION_COOKIE = "calmline_session"


def get_service(request: Request) -> CallService:
    service: CallService = request.app.state.service
    return service


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Engine:
    return get_service(request).db


ServiceDep = Annotated[CallService, Depends(get_service)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def credentials(
    headers: Mapping[str, str], cookies: Mapping[str, str], query: Mapping[str, str] | None = None
) -> str | None:
    """The token a client presented: ``Authorization: Bearer``, then the session cookie, then ``?token=``."""
    auth = headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    cookie = cookies.get(SESSION_COOKIE)
    if cookie:
        return cookie
    if query is not None:
        return query.get("token") or None
    return None


def resolve_principal(conn: HTTPConnection, *, allow_query: bool = False) -> Principal | None:
    """Who presented the credentials on ``conn`` (blocking: run it in a worker thread)."""
    token = credentials(conn.headers, conn.cookies, conn.query_params if allow_query else None)
    if token is None:
        return None
    app = conn.app
    return authenticate(app.state.service.db, token, app.state.clock.now())


def current_principal(request: Request) -> Principal:
    known = getattr(request.state, "principal", None)
    if isinstance(known, Principal):  # already resolved for this request (one lookup per request)
        return known
    principal = resolve_principal(request)
    if principal is None:
        raise ApiError(
            401, "unauthorized", "sign in or present an API key", headers={"WWW-Authenticate": "Bearer"}
        )
    request.state.principal = principal
    return principal


def check_roles(principal: Principal, roles: frozenset[str]) -> None:
    """Raise 403 unless ``principal`` holds one of ``roles``."""
    if not principal.has_any(roles):
        raise ApiError(403, "forbidden", f"this needs one of the roles: {', '.join(sorted(roles))}")


def require_roles(*roles: str) -> Callable[[Request], Principal]:
    """A dependency admitting principals that hold at least one of ``roles``."""
    allowed = frozenset(roles)

    def dependency(request: Request) -> Principal:
        principal = current_principal(request)
        check_roles(principal, allowed)
        return principal

    dependency.roles = allowed  # type: ignore[attr-defined]  # read by the route audit test and docs
    dependency.__name__ = "require_" + "_or_".join(sorted(allowed))
    return dependency


#: Role sets come from the matrix (``calmline.api.permissions``, docs/SECURITY.md).
TEXT_ROLES: frozenset[str] = permissions.TEXT_ROLES
READ_CALL_ROLES = tuple(sorted(permissions.READ_CALL))
REVIEW_ROLES = tuple(sorted(permissions.REVIEW))
ACTION_ROLES = tuple(sorted(permissions.ACTION))
INGEST_ROLES = tuple(sorted(permissions.INGEST))
ROUTING_ROLES = tuple(sorted(permissions.ROUTING))
LIVE_ROLES = permissions.LIVE

#: Any signed-in user or key.
CurrentUser = Annotated[Principal, Depends(current_principal)]
#: May read calls, their timeline, findings and alerts.
CallReader = Annotated[Principal, Depends(require_roles(*READ_CALL_ROLES))]
#: May read alerts across calls and replay calls.
Reviewer = Annotated[Principal, Depends(require_roles(*REVIEW_ROLES))]
#: May act on a call (agents: notes only).
Actor = Annotated[Principal, Depends(require_roles(*ACTION_ROLES))]
#: May send events.
IngestClient = Annotated[Principal, Depends(require_roles(*INGEST_ROLES))]
#: Roles without the words that may open one call's words with a reason (break-glass).
BreakGlassUser = Annotated[Principal, Depends(require_roles(*sorted(permissions.BREAK_GLASS_ROLES)))]
#: Reviews break-glass access.
BreakGlassReviewer = Annotated[Principal, Depends(require_roles(*sorted(permissions.BREAK_GLASS_REVIEWERS)))]
