"""The assignment endpoint an external ACD calls: a ranked answer with a reason, or 422 naming fields."""

from __future__ import annotations

from datetime import timedelta

from starlette.testclient import TestClient

from calmline.clock import FakeClock
from tests.api.helpers import bearer


def _body(clock: FakeClock) -> dict[str, object]:
    now = clock.now()
    return {
        "call": {
            "call_id": "c1",
            "queue": "general",
            "risk": "imminent",
            "distress": 0.9,
            "waiting_since": (now - timedelta(seconds=8)).isoformat(),
        },
        "candidates": [
            {"agent": {"id": "a", "skills": ["general"], "tier": "senior"}, "state": {"exposure_minutes": 5}},
            {
                "agent": {"id": "b", "skills": ["general"], "crisis_trained": True},
                "state": {"cooldown_until": (now + timedelta(minutes=3)).isoformat()},
            },
            {
                "agent": {"id": "c", "skills": ["general"], "crisis_trained": True, "tier": "experienced"},
                "state": {"exposure_minutes": 12},
            },
        ],
    }


def test_ranked_choice_with_reason(client: TestClient, ingest_key: str, clock: FakeClock) -> None:
    response = client.post("/api/routing/assign", json=_body(clock), headers=bearer(ingest_key))
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["call_id"] == "c1" and out["choice"] == "c" and out["intensity"] == "crisis"
    assert [r["agent_id"] for r in out["ranked"]] == ["c", "a", "b"]
    assert out["ranked"][2]["eligible"] is False and out["ranked"][2]["blocked_by"] == ["cooldown"]
    assert out["reason"].startswith("crisis-trained, experienced, 12 min exposure")
    assert "agent b skipped: cool-down (routine calls only) until" in out["reason"]


def test_roles(client: TestClient, tokens: dict[str, str], clock: FakeClock) -> None:
    assert client.post("/api/routing/assign", json=_body(clock)).status_code == 401
    assert (
        client.post("/api/routing/assign", json=_body(clock), headers=bearer(tokens["agent"])).status_code
        == 403
    )
    ok = client.post("/api/routing/assign", json=_body(clock), headers=bearer(tokens["supervisor"]))
    assert ok.status_code == 200


def test_bad_input_is_422_naming_fields(client: TestClient, ingest_key: str, clock: FakeClock) -> None:
    body = _body(clock)
    body["call"] = {"call_id": "c1", "risk": "extreme", "distress": 2}
    response = client.post("/api/routing/assign", json=body, headers=bearer(ingest_key))
    assert response.status_code == 422
    locs = {f["loc"] for f in response.json()["fields"]}
    assert {"body.call.risk", "body.call.distress", "body.call.waiting_since"} <= locs
