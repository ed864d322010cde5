"""The roles × permissions matrix: which roles may call each route and open each WebSocket.

This mapping *is* the matrix of docs/SECURITY.md (``python -m calmline.api.permissions`` prints it as the
Markdown table there). The dependencies in ``api/deps.py`` take their role sets from here, and
``tests/security/test_permissions.py`` checks every route of the app, for every role, against it: a route
added without an entry fails that test.

``None`` means public (no credentials). Roles of people: agent, supervisor, qa, admin, auditor. Scopes of
API keys for integrations: ingest (send events), routing (ask for an agent), read (calls and alerts without
words). A key may also hold a person's role (older keys do); prefer a scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.routing import Route, WebSocketRoute

USER_ROLES: tuple[str, ...] = ("agent", "supervisor", "qa", "admin", "auditor")
KEY_SCOPES: tuple[str, ...] = ("ingest", "routing", "read")
ALL_ROLES: tuple[str, ...] = USER_ROLES + KEY_SCOPES

#: Roles that read a call's utterance text as spoken; everyone else sees "[redacted]" (or masked text).
TEXT_ROLES: frozenset[str] = frozenset({"supervisor", "agent", "qa"})
#: Roles without the words that may still open them, one call at a time, with a reason (audited, reviewed).
BREAK_GLASS_ROLES: frozenset[str] = frozenset({"admin", "auditor"})
#: Who reviews break-glass access (never their own).
BREAK_GLASS_REVIEWERS: frozenset[str] = frozenset({"auditor", "admin"})

ANY_USER: frozenset[str] = frozenset(USER_ROLES)
ANYONE: frozenset[str] = frozenset(ALL_ROLES)
READ_CALL: frozenset[str] = frozenset({"agent", "supervisor", "qa", "admin", "auditor", "read"})
REVIEW: frozenset[str] = frozenset({"supervisor", "qa", "admin", "auditor", "read"})
ACTION: frozenset[str] = frozenset({"supervisor", "admin", "agent"})
INGEST: frozenset[str] = frozenset({"ingest", "admin"})
ROUTING: frozenset[str] = frozenset({"ingest", "routing", "admin", "supervisor"})
LIVE: frozenset[str] = frozenset({"supervisor", "qa", "admin", "agent"})
ADMIN: frozenset[str] = frozenset({"admin"})
PROTOCOL_HISTORY: frozenset[str] = frozenset({"admin", "auditor", "supervisor", "qa"})
QA: frozenset[str] = frozenset({"supervisor", "qa", "admin"})
REPORTS: frozenset[str] = frozenset({"supervisor", "admin"})
PRACTICE: frozenset[str] = frozenset({"agent", "supervisor", "qa", "admin"})
#: Caller continuity (docs/CONTINUITY.md): who sees a known caller's timeline and plan, who records a plan or
#: a screening, who merges and unlinks caller records, and who exports the plan (FHIR).
CALLER_VIEW: frozenset[str] = frozenset({"agent", "supervisor", "admin"})
CALLER_RECORD: frozenset[str] = frozenset({"agent", "supervisor", "admin"})
CALLER_ADMIN: frozenset[str] = frozenset({"supervisor", "admin"})
CALLER_EXPORT: frozenset[str] = frozenset({"supervisor", "admin"})

#: (method, path) -> roles allowed (None: public). WebSockets use the method "WS".
PERMISSIONS: Mapping[tuple[str, str], frozenset[str] | None] = {
    # health and sign-in
    ("GET", "/healthz"): None,
    ("GET", "/readyz"): None,
    # Prometheus scrape: aggregate counts and latencies, no call ids or text (docs/SCALING.md "Metrics")
    ("GET", "/metrics"): None,
    ("GET", "/openapi.json"): None,
    ("GET", "/docs"): None,
    ("GET", "/docs/oauth2-redirect"): None,
    ("GET", "/redoc"): None,
    ("POST", "/api/auth/login"): None,
    # sign-in with the hospital's identity provider (OIDC; 404 unless configured): browser redirects
    ("GET", "/auth/oidc/login"): None,
    ("GET", "/auth/oidc/callback"): None,
    ("POST", "/api/auth/logout"): ANYONE,
    ("GET", "/api/auth/me"): ANYONE,
    ("POST", "/api/auth/break-glass"): BREAK_GLASS_ROLES,
    ("GET", "/api/auth/break-glass"): BREAK_GLASS_REVIEWERS,
    ("POST", "/api/auth/break-glass/{entry_id}/review"): BREAK_GLASS_REVIEWERS,
    # ingest and routing
    ("POST", "/api/events"): INGEST,
    ("POST", "/api/events/batch"): INGEST,
    ("POST", "/api/routing/assign"): ROUTING,
    ("GET", "/api/routing/floor"): frozenset({"supervisor", "admin"}),
    ("GET", "/api/routing/me"): frozenset({"agent", "supervisor", "admin"}),
    ("POST", "/api/routing/agents/{agent_id}/break"): frozenset({"agent", "supervisor", "admin"}),
    ("POST", "/api/routing/debriefs/{task_id}/assign"): frozenset({"supervisor", "admin"}),
    ("POST", "/api/routing/debriefs/{task_id}/done"): frozenset({"supervisor", "admin"}),
    ("WS", "/ws/ingest"): INGEST,
    # calls
    ("GET", "/api/calls"): READ_CALL,
    ("GET", "/api/calls/{call_id}"): READ_CALL,
    ("GET", "/api/calls/{call_id}/timeline"): READ_CALL,
    ("GET", "/api/calls/{call_id}/findings"): READ_CALL,
    ("GET", "/api/calls/{call_id}/alerts"): READ_CALL,
    ("GET", "/api/calls/{call_id}/protocols"): READ_CALL,
    ("GET", "/api/calls/{call_id}/summary"): READ_CALL,
    ("GET", "/api/calls/{call_id}/empathy"): REVIEW,
    ("GET", "/api/calls/{call_id}/replay"): REVIEW,
    ("POST", "/api/calls/{call_id}/actions"): ACTION,
    # alerts, history, live
    ("GET", "/api/alerts"): REVIEW,
    ("GET", "/api/alerts/{alert_id}"): REVIEW,
    ("GET", "/api/history/calls"): REVIEW,
    ("GET", "/api/live/position"): LIVE,
    ("GET", "/api/live/board"): REVIEW,
    ("WS", "/ws/live"): LIVE,
    # protocols
    ("GET", "/api/protocols"): ANYONE,
    ("GET", "/api/protocols/history"): PROTOCOL_HISTORY,
    ("POST", "/api/protocols/{protocol_id}/enable"): ADMIN,
    ("POST", "/api/protocols/{protocol_id}/disable"): ADMIN,
    ("PUT", "/api/protocols/{protocol_id}"): ADMIN,
    # after the call: QA scorecards, reports, follow-ups, patient feedback (api/routes/aftercall.py)
    ("GET", "/api/qa/form"): QA,
    ("GET", "/api/qa/calls/{call_id}"): QA,
    ("POST", "/api/qa/calls/{call_id}/items/{item_id}"): QA,
    ("GET", "/api/qa/calibration"): QA,
    ("GET", "/api/reports"): REPORTS,
    ("GET", "/api/followups"): ANY_USER,
    ("GET", "/api/followups/{followup_id}"): ANY_USER,
    ("POST", "/api/followups/{followup_id}/assign"): frozenset({"supervisor", "admin"}),
    ("POST", "/api/followups/{followup_id}/complete"): ACTION,
    ("POST", "/api/feedback"): INGEST,
    ("GET", "/api/feedback"): PROTOCOL_HISTORY,
    ("GET", "/api/calls/{call_id}/feedback"): PROTOCOL_HISTORY,
    # practice calls for agents in training (no real caller, no PHI)
    ("GET", "/api/practice/scenarios"): PRACTICE,
    ("POST", "/api/practice/sessions"): PRACTICE,
    ("POST", "/api/practice/sessions/{call_id}/responses"): PRACTICE,
    ("POST", "/api/practice/sessions/{call_id}/end"): PRACTICE,
    ("GET", "/api/practice/sessions/{call_id}/scorecard"): PRACTICE,
    ("POST", "/api/practice/sessions/{call_id}/comments"): QA,
    ("GET", "/api/practice/progress"): PRACTICE,
    ("GET", "/api/practice/cohort"): QA,
    ("GET", "/api/practice/support"): ANYONE,
    # caller continuity: caller references, timelines, safety plans, screening (api/routes/continuity.py)
    ("POST", "/api/callers/ref"): INGEST,
    ("GET", "/api/callers/{caller_ref}/timeline"): CALLER_VIEW,
    ("GET", "/api/calls/{call_id}/caller"): CALLER_VIEW,
    ("POST", "/api/calls/{call_id}/caller/unlink"): CALLER_ADMIN,
    ("POST", "/api/callers/{caller_ref}/merge"): CALLER_ADMIN,
    ("POST", "/api/callers/{caller_ref}/safety-plan"): CALLER_RECORD,
    ("GET", "/api/callers/{caller_ref}/safety-plan"): CALLER_VIEW,
    ("GET", "/api/callers/{caller_ref}/safety-plan/fhir"): CALLER_EXPORT,
    ("GET", "/api/screenings/cssrs"): CALLER_VIEW,
    ("POST", "/api/callers/{caller_ref}/screenings"): CALLER_RECORD,
    # pages: HTML shells without data (their scripts call the API above)
    ("GET", "/qa/calibration"): None,
    ("GET", "/qa/{call_id}"): None,
    ("GET", "/reports"): None,
    ("GET", "/practice"): None,
    ("GET", "/"): None,
    ("GET", "/login"): None,
    ("GET", "/wall"): None,
    ("GET", "/agent"): None,
    ("GET", "/history"): None,
    ("GET", "/calls/{call_id}"): None,
}


def app_routes(app: Any) -> Iterator[tuple[str, str, Any]]:
    """``(method, path, route)`` for every HTTP route and WebSocket (method ``WS``) of ``app``; no mounts.

    Walks included routers too (FastAPI keeps them as lazy ``_IncludedRouter`` entries).
    """

    def walk(routes: Iterable[Any], prefix: str) -> Iterator[tuple[str, str, Any]]:
        for route in routes:
            original = getattr(route, "original_router", None)
            if original is not None:
                context = getattr(route, "include_context", None)
                yield from walk(original.routes, prefix + (getattr(context, "prefix", "") or ""))
            elif isinstance(route, WebSocketRoute | APIWebSocketRoute):
                yield "WS", prefix + route.path, route
            elif isinstance(route, Route | APIRoute):
                for method in sorted(route.methods or ()):
                    if method != "HEAD":
                        yield method, prefix + route.path, route

    yield from walk(app.routes, "")


def allowed(method: str, path: str) -> frozenset[str] | None:
    """The roles allowed on a route (None: public).

    Raises:
        KeyError: the route is not in the matrix.
    """
    return PERMISSIONS[(method, path)]


def markdown() -> str:
    """The matrix as the Markdown table of docs/SECURITY.md (✓ allowed, · refused, "public": no sign-in)."""
    head = "| route | " + " | ".join(ALL_ROLES) + " |"
    rule = "|---|" + "---|" * len(ALL_ROLES)
    lines = [head, rule]
    for (method, path), roles in PERMISSIONS.items():
        if roles is None:
            cells = ["public"] * len(ALL_ROLES)
        else:
            cells = ["✓" if r in roles else "·" for r in ALL_ROLES]
        lines.append(f"| `{method} {path}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m calmline.api.permissions
    print(markdown())
