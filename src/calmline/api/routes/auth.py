"""Sign-in, sign-out, who am I, and break-glass access to one call's words (docs/SECURITY.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from anyio import to_thread
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from calmline.api import auth
from calmline.api.auth import Principal
from calmline.api.deps import (
    SESSION_COOKIE,
    BreakGlassReviewer,
    BreakGlassUser,
    ClockDep,
    CurrentUser,
    ServiceDep,
    SettingsDep,
)
from calmline.api.errors import ApiError, not_found
from calmline.api.views import row_message
from calmline.security import access
from calmline.security.ratelimit import LoginLimiter
from calmline.service import CallService
from calmline.settings import Settings

router = APIRouter(prefix="/api/auth", tags=["auth"])


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class LoginResponse(BaseModel):
    token: str
    username: str
    roles: list[str]
    expires_at: datetime


class Me(BaseModel):
    name: str
    kind: str
    roles: list[str]
    display_name: str | None = None


class BreakGlassRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    call_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")
    reason: str = Field(min_length=10, max_length=500, description="Why the words are needed (audited).")


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["justified", "unjustified"]
    note: str = Field(default="", max_length=500)


def login_limiter(request: Request, settings: Settings) -> LoginLimiter:
    """The app's limiter, made on first use from the settings."""
    limiter: LoginLimiter | None = getattr(request.app.state, "login_limiter", None)
    if limiter is None:
        limiter = LoginLimiter(
            settings.login_max_failures,
            timedelta(minutes=settings.login_lockout_minutes),
            settings.login_ip_max_failures,
        )
        request.app.state.login_limiter = limiter
    return limiter


def start_session(
    response: Response, service: CallService, user: Principal, now: datetime, settings: Settings
) -> auth.Session:
    """Start a session for ``user`` and set its cookie on ``response``: every sign-in, password or OIDC.

    ``HttpOnly``, ``SameSite=Strict``, ``Secure`` in prod, for ``CALMLINE_SESSION_TTL_MINUTES``.
    """
    ttl = timedelta(minutes=settings.session_ttl_minutes)
    session = auth.create_session(service.db, user, now, ttl)
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        max_age=int(ttl.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=settings.env == "prod",
        path="/",
    )
    return session


@router.post(
    "/login",
    response_model=LoginResponse,
    responses={401: {"description": "Wrong username or password"}, 429: {"description": "Locked out"}},
)
def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    service: ServiceDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> LoginResponse:
    """Sign in with a password. Public. Sets the ``calmline_session`` cookie and returns the same token.

    After ``CALMLINE_LOGIN_MAX_FAILURES`` wrong passwords for one username (or
    ``CALMLINE_LOGIN_IP_MAX_FAILURES`` from one address) within ``CALMLINE_LOGIN_LOCKOUT_MINUTES``, every
    attempt gets 429 with ``Retry-After`` until the lockout ends. Logins, failures and lockouts are audited.
    """
    limiter = login_limiter(request, settings)
    ip = request.client.host if request.client else "unknown"
    now = clock.now()
    refused = limiter.check(body.username, ip, now)
    if refused is not None:
        raise ApiError(
            429,
            "too_many_requests" if refused.reason == "rate_limited" else "locked",
            f"too many failed sign-ins; try again in {refused.retry_after} s",
            headers={"Retry-After": str(refused.retry_after)},
        )
    user = auth.verify_password(service.db, body.username, body.password)
    if user is None:
        locked = limiter.failure(body.username, ip, now)
        subject = f"user:{body.username[:64]}"
        access.record(
            service.db,
            at=now,
            actor="anonymous",
            action="auth.login_failed",
            subject=subject,
            detail={"ip": ip},
        )
        if locked:
            minutes = settings.login_lockout_minutes
            access.record(
                service.db,
                at=now,
                actor="system",
                action="auth.lockout",
                subject=subject,
                detail={"ip": ip, "minutes": minutes},
            )
        raise ApiError(401, "invalid_credentials", "wrong username or password")
    limiter.success(body.username)
    access.record(
        service.db,
        at=now,
        actor=user.name,
        action="auth.login",
        subject=f"user:{user.name}",
        detail={"ip": ip},
    )
    session = start_session(response, service, user, clock.now(), settings)
    return LoginResponse(
        token=session.token,
        username=session.username,
        roles=list(session.roles),
        expires_at=session.expires_at,
    )


@router.post("/logout", status_code=204)
def logout(principal: CurrentUser, request: Request, service: ServiceDep) -> Response:
    """End the session that made this request (any signed-in user)."""
    if principal.session_hash is not None:
        auth.end_session(service.db, principal.session_hash)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/me", response_model=Me)
def me(principal: CurrentUser) -> Me:
    """Who the credentials belong to (any signed-in user or key)."""
    return Me(
        name=principal.name,
        kind=principal.kind,
        roles=sorted(principal.roles),
        display_name=principal.display_name,
    )


# -- break-glass -------------------------------------------------------------------------------------------


@router.post("/break-glass", responses={404: {}, 422: {}})
async def break_glass(
    body: BreakGlassRequest, user: BreakGlassUser, service: ServiceDep, clock: ClockDep
) -> dict[str, Any]:
    """Read one call's words as spoken, with a reason (roles: admin, auditor: the roles without the words).

    The access is written to the audit chain (who, roles, call, reason, when) before anything is returned,
    and waits for review (``GET /api/auth/break-glass``). Returns the timeline with ``"break_glass": id``.
    """
    rows = await to_thread.run_sync(service.log.read, body.call_id)
    if not rows:
        raise not_found("call")
    entry_id = await to_thread.run_sync(
        lambda: access.break_glass(
            service.db,
            at=clock.now(),
            actor=user.name,
            roles=user.roles,
            call_id=body.call_id,
            reason=body.reason,
        )
    )
    events = [row_message(r, show_text=True) for r in rows]
    return {"call_id": body.call_id, "break_glass": entry_id, "events": events}


@router.get("/break-glass")
def break_glass_list(
    _user: BreakGlassReviewer,
    service: ServiceDep,
    status: Literal["pending", "reviewed", "all"] = "pending",
    limit: int = Query(default=200, ge=1, le=1000),
) -> list[dict[str, Any]]:
    """Break-glass accesses for review, newest first (roles: auditor, admin)."""
    return access.break_glass_entries(service.db, status, limit)


@router.post("/break-glass/{entry_id}/review", responses={404: {}, 409: {}})
def break_glass_review(
    entry_id: int, body: ReviewRequest, user: BreakGlassReviewer, service: ServiceDep, clock: ClockDep
) -> dict[str, Any]:
    """Record the outcome of a review (roles: auditor, admin; never one's own access). Audited."""
    try:
        return access.review_break_glass(
            service.db,
            entry_id=entry_id,
            reviewer=user.name,
            outcome=body.outcome,
            note=body.note,
            at=clock.now(),
        )
    except access.ReviewError as exc:
        if exc.code == "not_found":
            raise not_found("break-glass entry") from None
        status = 403 if exc.code == "own_access" else 409
        raise ApiError(status, exc.code, str(exc)) from None
