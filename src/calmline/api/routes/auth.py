from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from calmline.api import auth
from calmline.api.deps import SESSION_COOKIE, ClockDep, CurrentUser, ServiceDep, SettingsDep
from calmline.api.errors import ApiError

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


@router.post("/login", response_model=LoginResponse)
def login(
    body: LoginRequest, response: Response, service: ServiceDep, clock: ClockDep, settings: SettingsDep
) -> LoginResponse:
    """Sign in with a password. Public. Sets the ``calmline_session`` cookie and returns the same token."""
    user = auth.verify_password(service.db, body.username, body.password)
    if user is None:
        raise ApiError(401, "invalid_credentials", "wrong username or password")
    ttl = timedelta(minutes=settings.session_ttl_minutes)
    session = auth.create_session(service.db, user, clock.now(), ttl)
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        max_age=int(ttl.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=settings.env == "prod",
        path="/",
    )
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
