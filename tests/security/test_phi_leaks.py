"""Seeded PHI never reaches log output, error responses or the audit trail, whatever the client sends."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from calmline.runtime import configure_logging
from calmline.service import CallService
from tests.api.helpers import bearer, started, utterance

PHI = ("Maria Quintanilla-Obregon", "555-867-5309", "123-45-6789", "4471 Alder Road")
SPOKEN = f"my name is {PHI[0]} my phone is {PHI[1]} ssn {PHI[2]} i live at {PHI[3]}"


def _leaks(text: str) -> list[str]:
    return [p for p in PHI if p.lower() in text.lower()]


def test_seeded_phi_never_appears_in_logs_or_error_bodies(
    client: TestClient,
    ingest_key: str,
    tokens: dict[str, str],
    service: CallService,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure_logging("debug")
    key = bearer(ingest_key)
    bodies: list[str] = []

    def send(**kwargs: object) -> None:
        kwargs.setdefault("headers", key)
        response = client.post("/api/events", **kwargs)  # type: ignore[arg-type]
        bodies.append(response.text)

    send(json=started("c1"))
    send(json=utterance("c1", 1, SPOKEN))
    send(json=utterance("c1", 1, SPOKEN))  # duplicate
    send(json={**utterance("c1", 2, SPOKEN), "speaker": SPOKEN})  # invalid enum holding PHI
    send(json={**utterance("c1", 3, SPOKEN), SPOKEN: 1})  # unknown field named with PHI
    send(json={**utterance("c1", 4, SPOKEN), "start_ms": SPOKEN})  # wrong type
    send(json={"type": SPOKEN, "call_id": "c1"})  # unknown event type
    send(content=('{"text": "' + SPOKEN + '"').encode(), headers={**key, "content-type": "application/json"})
    send(content=SPOKEN.encode("utf-16"), headers={**key, "content-type": "application/json"})
    send(json={**utterance(SPOKEN, 1, SPOKEN)})  # PHI in the call id
    bodies.append(client.post("/api/events/batch", json={"events": [{"text": SPOKEN}]}, headers=key).text)
    bodies.append(client.get(f"/api/calls/{PHI[3]}", headers=bearer(tokens["qa"])).text)
    bodies.append(client.post("/api/auth/login", json={"username": "nobody", "password": SPOKEN}).text)
    bodies.append(
        client.post(
            "/api/calls/c1/actions", json={"action": SPOKEN}, headers=bearer(tokens["supervisor"])
        ).text
    )
    # An unexpected failure whose message holds PHI: logged by type only, answered generically.
    monkeypatch.setattr(service, "ingest", lambda _e: (_ for _ in ()).throw(RuntimeError(SPOKEN)))
    crash = TestClient(client.app, raise_server_exceptions=False)
    bodies.append(crash.post("/api/events", json=utterance("c1", 9, SPOKEN), headers=key).text)
    logs = capsys.readouterr()
    assert not [b for b in bodies if _leaks(b)]
    assert not _leaks(logs.out + logs.err)
    assert "event.rejected" in logs.out + logs.err  # the rejections were logged, without their content
    with service.db.connect() as conn:
        from sqlalchemy import select

        from calmline.store.schema import audit_log

        details = [json.dumps(r.detail) for r in conn.execute(select(audit_log))]
    assert not _leaks("\n".join(details))
