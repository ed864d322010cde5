"""The permissions matrix, generated: every route and WebSocket of the app × every role.

The expected answer comes from ``calmline.api.permissions.PERMISSIONS`` (docs/SECURITY.md): an allowed role
never gets 401/403 (nor a server error), every other role gets 403, and nobody without credentials gets past
a protected route. A route added to the app without an entry in the matrix fails
``test_every_route_is_in_the_matrix``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient, WebSocketDenialResponse

from calmline.api import auth, create_app
from calmline.api.permissions import ALL_ROLES, KEY_SCOPES, PERMISSIONS, USER_ROLES, app_routes, markdown
from calmline.service import CallService
from calmline.settings import Settings
from tests.api.helpers import bearer

DOC = Path(__file__).resolve().parents[2] / "docs" / "SECURITY.md"
_PARAM = re.compile(r"\{[^}]+\}")


def _routes() -> list[tuple[str, str]]:
    app = create_app(Settings(env="test", data_dir=Path("unused")))
    return sorted({(m, p) for m, p, _ in app_routes(app)})


ROUTES = _routes()


@pytest.fixture
def credentials(service: CallService, tokens: dict[str, str]) -> dict[str, str]:
    """role -> a token holding only that role: a session for people's roles, an API key for scopes."""
    keys = {scope: auth.create_api_key(service.db, f"{scope}-key", [scope]) for scope in KEY_SCOPES}
    return {**tokens, **keys}


def test_every_route_is_in_the_matrix() -> None:
    missing = [f"{m} {p}" for m, p in ROUTES if (m, p) not in PERMISSIONS]
    assert not missing, f"add these routes to calmline.api.permissions.PERMISSIONS: {missing}"


def test_every_role_is_a_person_or_a_key_scope() -> None:
    assert set(USER_ROLES) == auth.USER_ROLES
    assert set(ALL_ROLES) == auth.KEY_ROLES
    for roles in PERMISSIONS.values():
        assert roles is None or roles <= set(ALL_ROLES)


def test_security_doc_shows_the_matrix_of_the_code() -> None:
    assert markdown() in DOC.read_text(encoding="utf-8"), "regenerate: python -m calmline.api.permissions"


def _call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> int:
    url = _PARAM.sub("1", path)
    body = None if method == "GET" else {}
    return client.request(method, url, json=body, headers=headers).status_code


@pytest.mark.parametrize(("method", "path"), [r for r in ROUTES if r[0] != "WS"])
def test_route_answers_exactly_the_roles_of_the_matrix(
    client: TestClient, credentials: dict[str, str], method: str, path: str
) -> None:
    expected = PERMISSIONS[(method, path)]
    anonymous = _call(client, method, path, {})
    if expected is None:
        assert anonymous not in (401, 403) and anonymous < 500
        return
    assert anonymous == 401
    for role in ALL_ROLES:
        status = _call(client, method, path, bearer(credentials[role]))
        if role in expected:
            assert status not in (401, 403) and status < 500, f"{role}: {status}"
        else:
            assert status == 403, f"{role} must be refused, got {status}"


@pytest.mark.parametrize("path", [p for m, p in ROUTES if m == "WS"])
def test_websocket_admits_exactly_the_roles_of_the_matrix(
    app: FastAPI, credentials: dict[str, str], path: str
) -> None:
    expected = PERMISSIONS[("WS", path)]
    assert expected is not None
    with TestClient(app) as client:
        with pytest.raises(WebSocketDenialResponse) as denied, client.websocket_connect(path):
            pass
        assert denied.value.status_code == 401
        for role in ALL_ROLES:
            if role in expected:
                with client.websocket_connect(f"{path}?token={credentials[role]}"):
                    pass
            else:
                with (
                    pytest.raises(WebSocketDenialResponse) as denied,
                    client.websocket_connect(f"{path}?token={credentials[role]}"),
                ):
                    pass
                assert denied.value.status_code == 403, role
