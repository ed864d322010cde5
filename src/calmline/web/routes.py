"""HTML pages and the ``/static`` mount.

The pages are shells: they hold no call data. Their JavaScript (ES modules under ``/static/js``) reads the
JSON API and the live WebSocket with the session cookie, so a page can be served without a database and
cached nowhere. Every response carries a strict Content-Security-Policy: scripts, styles, images and
connections come from this origin only, and no inline script or style is allowed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.types import Scope

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

#: Mirrors ``calmline.events.base.CallId`` so a bad id is refused before any template is rendered.
_CALL_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # Pages are shells, but never let a shared cache keep anything from a clinical tool.
    "Cache-Control": "no-store",
}

#: Explicit types: the platform's mimetypes table differs between hosts, and ES modules need a JS type.
STATIC_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".woff2": "font/woff2",
}

templates = Jinja2Templates(directory=TEMPLATES_DIR)
router = APIRouter(include_in_schema=False)


def _render(request: Request, name: str, **context: Any) -> HTMLResponse:
    base = request.scope.get("root_path", "").rstrip("/")
    return templates.TemplateResponse(request, name, {"base": base, **context}, headers=PAGE_HEADERS)


@router.get("/")
def index(request: Request) -> RedirectResponse:
    """The supervisor wall is the home page."""
    base = request.scope.get("root_path", "").rstrip("/")
    return RedirectResponse(f"{base}/wall", status_code=303, headers={"Cache-Control": "no-store"})


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    """The sign-in form; its script posts to ``/api/auth/login``. With OIDC: "Sign in with <IdP>" as well."""
    from calmline.api.routes.oidc import login_link  # here: the API routes import this module

    settings = getattr(request.app.state, "settings", None)
    oidc = login_link(request, settings) if settings is not None else None
    return _render(request, "login.html", page="login", title="Sign in", oidc=oidc)


@router.get("/wall", response_class=HTMLResponse)
def wall_page(request: Request) -> HTMLResponse:
    """The supervisors' live wall: one tile per active call and the open-alert inbox."""
    return _render(request, "wall.html", page="wall", title="Live wall")


@router.get("/agent", response_class=HTMLResponse)
def agent_page(request: Request) -> HTMLResponse:
    """The agent's panel: their own calls, the checklist, warnings and suggestions, help and break buttons."""
    return _render(request, "agent.html", page="agent", title="My calls")


@router.get("/history", response_class=HTMLResponse)
def history_page(request: Request) -> HTMLResponse:
    """Past calls for review and QA: search by date, queue, agent, risk and protocol."""
    return _render(request, "history.html", page="history", title="Call history")


@router.get("/calls/{call_id}", response_class=HTMLResponse)
def call_page(request: Request, call_id: str) -> HTMLResponse:
    """One call: transcript with evidence highlighted, distress chart, alerts and findings."""
    if not _CALL_ID.fullmatch(call_id):
        raise HTTPException(status_code=404, detail="no such call")
    return _render(request, "call.html", page="call", title=f"Call {call_id}", call_id=call_id)


#: The reports page shows charts the API sends as base64 PNG (``data:`` images; still no inline script).
REPORTS_CSP = CONTENT_SECURITY_POLICY.replace("img-src 'self'", "img-src 'self' data:")


@router.get("/qa/calibration", response_class=HTMLResponse)
def qa_calibration_page(request: Request) -> HTMLResponse:
    """QA calibration: agreement per item between reviewers and with the automatic score."""
    return _render(request, "qa_calibration.html", page="qa", title="QA calibration")


@router.get("/qa/{call_id}", response_class=HTMLResponse)
def qa_page(request: Request, call_id: str) -> HTMLResponse:
    """One call's QA scorecard: automatic scores with evidence, reviewer overrides with comments."""
    if not _CALL_ID.fullmatch(call_id):
        raise HTTPException(status_code=404, detail="no such call")
    return _render(request, "qa.html", page="qa", title=f"QA {call_id}", call_id=call_id)


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request) -> HTMLResponse:
    """Operations reports with charts, filters and HTML/PDF downloads (supervisors, admins)."""
    response = _render(request, "reports.html", page="reports", title="Reports")
    response.headers["Content-Security-Policy"] = REPORTS_CSP
    return response


@router.get("/practice", response_class=HTMLResponse)
def practice_page(request: Request) -> HTMLResponse:
    """Practice calls: pick a scenario, answer a simulated caller, read the debrief (trainers: the cohort)."""
    return _render(request, "practice.html", page="practice", title="Practice")


class CalmlineStatic(StaticFiles):
    """``StaticFiles`` with fixed content types, ``nosniff`` and revalidation on every use.

    ``no-cache`` still lets the browser keep the file but makes it ask (ETag / If-None-Match, answered with a
    304) before using it, so an upgrade of an offline site never runs a stale script.
    """

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        """Serve one file with calmline's headers."""
        response = super().file_response(full_path, stat_result, scope, status_code)
        media_type = STATIC_TYPES.get(Path(full_path).suffix.lower())
        if media_type and response.status_code == 200:
            response.headers["Content-Type"] = media_type
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-cache"
        return response


def mount_static(app: FastAPI) -> None:
    """Serve ``web/static`` at ``/static`` (named ``static``)."""
    app.mount("/static", CalmlineStatic(directory=STATIC_DIR), name="static")
