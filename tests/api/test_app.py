from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from starlette.testclient import TestClient

from calmline.api import create_app
from calmline.api.app import ROUTERS
from calmline.api.deps import current_principal
from calmline.engine import CallEngine
from calmline.service import CallService
from calmline.settings import Settings
from calmline.store.db import make_engine

# The sign-in entry points are public by design: the callback checks the IdP's answer (state, PKCE, nonce).
PUBLIC = {"/healthz", "/readyz", "/metrics", "/api/auth/login", "/auth/oidc/login", "/auth/oidc/callback"}


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_readyz_is_503_when_store_unreachable(
    client: TestClient, service: CallService, tmp_path: Path
) -> None:
    service.db = make_engine(f"sqlite:///{tmp_path}/missing/dir/x.db")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["error"] == "not_ready"


def test_openapi_documents_routes_and_input_events(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "/api/events" in schema["paths"]
    assert "UtteranceReceived" in schema["components"]["schemas"]
    body = schema["paths"]["/api/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/InputEvent"}


def test_docs_only_in_dev(client: TestClient, service: CallService, tmp_path: Path) -> None:
    assert client.get("/docs").status_code == 404
    dev = create_app(Settings(env="dev", data_dir=tmp_path), service=service)
    with TestClient(dev) as dev_client:
        assert dev_client.get("/docs").status_code == 200


def test_cors_is_off_by_default(client: TestClient) -> None:
    response = client.options(
        "/api/calls", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    )
    assert "access-control-allow-origin" not in response.headers


def _guards(route: APIRoute) -> list[object]:
    found: list[object] = []
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if dep.call is current_principal or hasattr(dep.call, "roles"):
            found.append(dep.call)
        stack.extend(dep.dependencies)
    return found


def test_every_route_declares_who_may_call_it() -> None:
    routes = [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    assert len(routes) > 10
    for route in routes:
        if route.path in PUBLIC:
            assert not _guards(route), route.path
        else:
            assert _guards(route), f"{route.path} has no role dependency"


def test_lifespan_builds_and_closes_its_own_service(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, service: CallService
) -> None:
    engine: CallEngine = service.engine
    monkeypatch.setattr("calmline.runtime.build_engine", lambda **_kw: engine)
    app = create_app(Settings(env="test", data_dir=tmp_path / "data"))
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200
        assert isinstance(app.state.service, CallService)
        assert app.state.service is not service
    assert (tmp_path / "data" / "calmline.db").exists()
