"""The protocol API: the library in force, admin changes (validated, audited, new calls only), checklists."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from calmline.api import create_app
from calmline.clock import FakeClock
from calmline.engine import CallEngine, load_alert_policy
from calmline.protocol_admin import publish_library
from calmline.protocols.catalog import ProtocolCatalog
from calmline.protocols.loader import load_library
from calmline.service import CallService
from calmline.settings import Settings
from calmline.store.db import make_engine, migrate, sqlite_url
from calmline.store.protocol_sets import ProtocolStore
from calmline.testing.keywords import keyword_registry
from tests.api.helpers import bearer, started, utterance
from tests.conftest import ENGINE_RULES

SHIPPED = Path(__file__).resolve().parents[2] / "src" / "calmline" / "resources" / "protocols"


@pytest.fixture
def service(clock: FakeClock, tmp_path: Path) -> Iterator[CallService]:
    """A service with protocol sets kept in its store, as `calmline serve` runs it."""
    db = make_engine(sqlite_url(tmp_path))
    migrate(db)
    store = ProtocolStore(db)
    catalog = ProtocolCatalog()
    publish_library(
        store, catalog, load_library(), actor="system", action="loaded", why="test", at=clock.now()
    )
    engine = CallEngine(keyword_registry(ENGINE_RULES), load_alert_policy(), catalog)
    yield CallService(db, engine, clock, protocol_store=store)
    db.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(env="test", data_dir=tmp_path, protocols_dir=tmp_path / "protocols")


@pytest.fixture
def app(settings: Settings, service: CallService) -> FastAPI:
    return create_app(settings, service=service, tick_interval_s=3600)


def imminent_call(client: TestClient, key: str, call_id: str = "c1") -> None:
    for event in (started(call_id), utterance(call_id, 1, "I will take all my pills tonight")):
        assert client.post("/api/events", json=event, headers=bearer(key)).status_code == 202


def test_any_signed_in_role_reads_the_library(client: TestClient, tokens: dict[str, str]) -> None:
    assert client.get("/api/protocols").status_code == 401
    body = client.get("/api/protocols", headers=bearer(tokens["agent"])).json()
    ids = {p["id"] for p in body["protocols"]}
    assert {"suicide_imminent", "medical_emergency"} <= ids
    imminent = next(p for p in body["protocols"] if p["id"] == "suicide_imminent")
    assert imminent["escalation"][0]["notify"] == "supervisor" and imminent["steps"]


def test_only_admins_disable_and_it_is_audited(client: TestClient, tokens: dict[str, str]) -> None:
    path = "/api/protocols/abuse_disclosure/disable"
    assert client.post(path, json={"why": "x"}, headers=bearer(tokens["supervisor"])).status_code == 403
    response = client.post(path, json={"why": "pilot ended"}, headers=bearer(tokens["admin"]))
    assert response.status_code == 200 and response.json()["changed"] is True
    again = client.post(path, json={}, headers=bearer(tokens["admin"])).json()
    assert again["changed"] is False
    listed = client.get("/api/protocols", headers=bearer(tokens["agent"])).json()["protocols"]
    assert next(p for p in listed if p["id"] == "abuse_disclosure")["enabled"] is False
    history = client.get("/api/protocols/history", headers=bearer(tokens["auditor"])).json()
    assert (history[-1]["actor"], history[-1]["action"], history[-1]["why"]) == (
        "admin",
        "disabled",
        "pilot ended",
    )
    assert history[-1]["changes"]["disabled"] == ["abuse_disclosure"]
    unknown = client.post("/api/protocols/nope/disable", json={}, headers=bearer(tokens["admin"]))
    assert unknown.status_code == 404


def test_a_broken_protocol_is_refused_with_line_and_reason(
    client: TestClient, tokens: dict[str, str]
) -> None:
    text = (SHIPPED / "suicide_imminent.yaml").read_text().replace("ack_within_s: 60", "ack_within_s: soon")
    line = next(i for i, row in enumerate(text.splitlines(), start=1) if "ack_within_s: soon" in row)
    response = client.put(
        "/api/protocols/suicide_imminent", content=text.encode(), headers=bearer(tokens["admin"])
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_protocol"
    assert body["detail"].startswith(f"suicide_imminent.yaml:{line}: escalation.0.ack_within_s")
    history = client.get("/api/protocols/history", headers=bearer(tokens["admin"])).json()
    assert len(history) == 1  # nothing changed


def test_an_edit_takes_effect_for_new_calls_only(
    client: TestClient, tokens: dict[str, str], ingest_key: str
) -> None:
    imminent_call(client, ingest_key, "before")
    text = (
        (SHIPPED / "suicide_imminent.yaml")
        .read_text()
        .replace("ack_within_s: 60", "ack_within_s: 45")
        .replace('version: "', 'version: "9.')
    )
    response = client.put(
        "/api/protocols/suicide_imminent", content=text.encode(), headers=bearer(tokens["admin"])
    )
    assert response.status_code == 200, response.text
    assert response.json()["changed"] is True
    imminent_call(client, ingest_key, "after")
    versions = {}
    for call_id in ("before", "after"):
        body = client.get(f"/api/calls/{call_id}/protocols", headers=bearer(tokens["agent"])).json()
        versions[call_id] = next(p["version"] for p in body["protocols"] if p["id"] == "suicide_imminent")
    assert not versions["before"].startswith("9.") and versions["after"].startswith("9.")
    entry = client.get("/api/protocols/history", headers=bearer(tokens["auditor"])).json()[-1]
    assert entry["actor"] == "admin" and entry["changes"]["changed"] == ["suicide_imminent"]


def test_checklist_of_a_call_and_steps_checked_off_by_the_agent(
    client: TestClient, tokens: dict[str, str], ingest_key: str
) -> None:
    imminent_call(client, ingest_key)
    body = client.get("/api/calls/c1/protocols", headers=bearer(tokens["agent"])).json()
    imminent = next(p for p in body["protocols"] if p["id"] == "suicide_imminent")
    assert imminent["status"] == "active" and imminent["ack_deadline"] is not None
    assert {s["status"] for s in imminent["steps"]} == {"due"}
    step = imminent["steps"][0]["id"]
    action = {"action": "protocol_action", "step_id": step}
    assert (
        client.post("/api/calls/c1/actions", json=action, headers=bearer(tokens["agent"])).status_code == 202
    )
    after = client.get("/api/calls/c1/protocols", headers=bearer(tokens["agent"])).json()
    imminent = next(p for p in after["protocols"] if p["id"] == "suicide_imminent")
    assert next(s for s in imminent["steps"] if s["id"] == step)["status"] == "done"
    bad = client.post(
        "/api/calls/c1/actions", json={"action": "protocol_action"}, headers=bearer(tokens["agent"])
    )
    assert bad.status_code == 422
    assert client.get("/api/calls/nope/protocols", headers=bearer(tokens["agent"])).status_code == 404
