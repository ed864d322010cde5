"""``GET /api/calls/{id}/summary``: roles, redaction for readers without transcript access, 404."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from calmline.api import auth, create_app
from calmline.engine import CallEngine
from calmline.settings import Settings
from calmline.store.db import sqlite_url
from tests.postcall.conftest import IMMINENT, new_service, play

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient


@pytest.fixture
def api(call_engine: CallEngine, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], str]]:
    svc, clock = new_service(call_engine, sqlite_url(tmp_path))
    call_id = play(svc, clock, IMMINENT)
    keys = {role: auth.create_api_key(svc.db, role, [role]) for role in ("supervisor", "auditor", "ingest")}
    app = create_app(Settings(env="test", data_dir=tmp_path), service=svc, tick_interval_s=3600)
    with TestClient(app) as client:
        yield client, keys, call_id
    svc.db.dispose()


def _get(client: TestClient, path: str, key: str | None = None):  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.get(path, headers=headers)


def test_a_supervisor_reads_the_summary_with_the_callers_words(api):
    client, keys, call_id = api
    response = _get(client, f"/api/calls/{call_id}/summary", keys["supervisor"])
    assert response.status_code == 200
    body = response.json()
    assert body["call_id"] == call_id
    assert body["escalations"][0]["kind"] == "suicide_risk"
    assert any("pills" in q["text"] for q in body["risk_findings"][0]["evidence"])
    assert body["followups"][0]["kind"] == "clinical_callback"


def test_an_auditor_gets_the_summary_without_transcript_words(api):
    client, keys, call_id = api
    body = _get(client, f"/api/calls/{call_id}/summary", keys["auditor"]).json()
    quotes = [q for f in body["risk_findings"] for q in f["evidence"]] + body["reason"]["caller_words"]
    assert quotes and {q["text"] for q in quotes} == {"[redacted]"}
    assert body["protocols"][0]["protocol_id"] == "suicide_imminent"


def test_summary_refuses_strangers_and_ingest_keys_and_unknown_calls(api):
    client, keys, call_id = api
    assert _get(client, f"/api/calls/{call_id}/summary").status_code == 401
    assert _get(client, f"/api/calls/{call_id}/summary", keys["ingest"]).status_code == 403
    missing = _get(client, "/api/calls/nope/summary", keys["supervisor"])
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
