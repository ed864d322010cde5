"""Issue 12, checked end to end: two scripted calls from the same caller through the service and the API.

The second call shows the agent the first call's tier, the open follow-up and the safety plan, and starts at
heightened attention; unlinking removes the link from every view; every lookup is audited; replaying the
call with history gives the same outputs.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from starlette.testclient import TestClient

from calmline.aftercall.followups import FollowupDesk
from calmline.clock import FakeClock
from calmline.continuity.history import history_at_start
from calmline.continuity.identity import CallerBook
from calmline.events import CallStarted
from calmline.security import install_security
from calmline.service import CallService
from calmline.settings import Settings
from calmline.sim.scenario import load_builtin, to_events
from calmline.store.audit import AuditLog
from calmline.store.schema import safety_plans
from tests.continuity.conftest import START, bearer

REF = "demo-caller-rowan"
FIRST, SECOND = "rc-first", "rc-second"
PLAN: dict[str, Any] = {
    "warning_signs": ["not sleeping", "staying in my room"],
    "internal_coping": ["walk to the park"],
    "help_contacts": ["my brother"],
    "professionals": ["GP surgery", "Samaritans 116 123"],
    "environment_safety": ["tablets kept by my brother"],
    "reasons_for_living": ["my brother's kids"],
}


def play(service: CallService, clock: FakeClock, scenario_id: str, call_id: str, days: float) -> None:
    start = START + timedelta(days=days)
    scenario = load_builtin(scenario_id)
    if start > clock.now():
        clock.advance((start - clock.now()).total_seconds())
    for event in to_events(scenario, call_id, start):
        service.ingest(event)
    clock.advance(scenario.end_at)


def first_call_with_plan(
    service: CallService, clock: FakeClock, client: TestClient, tokens: dict[str, str]
) -> None:
    play(service, clock, "repeat_caller_first", FIRST, 0)
    assert FollowupDesk(service.db).sync(clock.now())  # the clinical call-back task is open
    r = client.post(
        f"/api/callers/{REF}/safety-plan",
        json={"call_id": FIRST, "plan": PLAN},
        headers=bearer(tokens["agent"]),
    )
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 1


def types(service: CallService, call_id: str) -> list[str]:
    return [row.type for row in service.log.read(call_id)]


def test_second_call_shows_history_and_starts_at_heightened_attention(
    service: CallService, clock: FakeClock, client: TestClient, tokens: dict[str, str]
) -> None:
    first_call_with_plan(service, clock, client, tokens)
    play(service, clock, "repeat_caller_second", SECOND, 3)

    kinds = types(service, SECOND)
    assert kinds.index("caller.history") == kinds.index("call.started") + 1
    flagged = [row.payload for row in service.log.read(SECOND) if row.type == "caller.flagged"]
    assert [f["reason"] for f in flagged] == ["an earlier call reached imminent risk 3 days ago"]
    alerts = [row.payload for row in service.log.read(SECOND) if row.type == "alert.raised"]
    assert [(a["kind"], a["severity"]) for a in alerts] == [
        ("suicide_risk", "high")
    ]  # warning without history
    assert "caller.history" not in types(service, FIRST)  # first contact: nothing to tell

    r = client.get(f"/api/calls/{SECOND}/caller", headers=bearer(tokens["agent"]))
    assert r.status_code == 200, r.text
    view = r.json()
    timeline = view["timeline"]
    assert view["caller_ref"] == REF
    assert [(c["call_id"], c["highest_tier"], c["outcome"]) for c in timeline["calls"]] == [
        (FIRST, "imminent", "completed")
    ]
    assert timeline["calls"][0]["protocols"] == ["suicide_imminent"]
    assert [(f["call_id"], f["kind"]) for f in timeline["open_followups"]] == [(FIRST, "clinical_callback")]
    assert timeline["safety_plan"]["plan"]["help_contacts"] == ["my brother"]
    assert "text" not in str(timeline["calls"])  # no transcript in the timeline


def test_replaying_a_call_with_history_gives_the_same_outputs(
    service: CallService, clock: FakeClock, client: TestClient, tokens: dict[str, str]
) -> None:
    first_call_with_plan(service, clock, client, tokens)
    play(service, clock, "repeat_caller_second", SECOND, 3)
    report = service.replay(SECOND)
    assert report.ok, report.differences
    assert report.inputs > 0
    service.evict()  # forget the cached state: re-fold from the log
    assert service.state(SECOND).heightened


def test_every_lookup_is_audited(
    service: CallService, clock: FakeClock, client: TestClient, tokens: dict[str, str]
) -> None:
    first_call_with_plan(service, clock, client, tokens)
    play(service, clock, "repeat_caller_second", SECOND, 3)
    client.get(f"/api/callers/{REF}/timeline", headers=bearer(tokens["supervisor"]))
    client.get(f"/api/calls/{SECOND}/caller", headers=bearer(tokens["agent"]))
    lookups = [e for e in AuditLog(service.db).entries("caller:") if e.action == "caller.lookup"]
    assert [(e.actor, e.subject, e.detail.get("view")) for e in lookups] == [
        ("supervisor", f"caller:{REF}", "timeline"),
        ("agent", f"caller:{REF}", "call"),
    ]


def test_unlinking_removes_the_link_from_every_view(
    service: CallService, clock: FakeClock, client: TestClient, tokens: dict[str, str]
) -> None:
    first_call_with_plan(service, clock, client, tokens)
    play(service, clock, "repeat_caller_second", SECOND, 3)
    r = client.post(
        f"/api/calls/{FIRST}/caller/unlink", json={"reason": "shared phone"}, headers=bearer(tokens["agent"])
    )
    assert r.status_code == 403
    r = client.post(
        f"/api/calls/{FIRST}/caller/unlink",
        json={"reason": "shared phone"},
        headers=bearer(tokens["supervisor"]),
    )
    assert r.status_code == 200, r.text
    assert (
        client.get(f"/api/calls/{FIRST}/caller", headers=bearer(tokens["agent"])).json()["caller_ref"] is None
    )
    timeline = client.get(f"/api/callers/{REF}/timeline", headers=bearer(tokens["agent"])).json()
    assert [c["call_id"] for c in timeline["calls"]] == [SECOND]
    assert timeline["open_followups"] == []  # the follow-up belonged to the unlinked call
    second = client.get(f"/api/calls/{SECOND}/caller", headers=bearer(tokens["agent"])).json()
    assert second["timeline"]["calls"] == []
    assert CallerBook(service.db).calls(REF) == [SECOND]
    # A later call of this caller no longer sees the unlinked call in its history.
    later = history_at_start(
        service, CallStarted(call_id="rc-third", caller_ref=REF, started_at=START + timedelta(days=4))
    )
    assert later is not None and [c.started_at for c in later.recent] == [START + timedelta(days=3)]
    actions = [e.action for e in AuditLog(service.db).entries("call:")]
    assert "caller.unlinked" in actions


def test_merge_brings_two_records_together(
    service: CallService, clock: FakeClock, client: TestClient, tokens: dict[str, str]
) -> None:
    play(service, clock, "repeat_caller_first", FIRST, 0)
    service.ingest(CallStarted(call_id="other", caller_ref="cr_other", started_at=START + timedelta(days=1)))
    r = client.post(
        "/api/callers/cr_other/merge",
        json={"into": REF, "reason": "same person, new number"},
        headers=bearer(tokens["supervisor"]),
    )
    assert r.status_code == 200, r.text
    timeline = client.get("/api/callers/cr_other/timeline", headers=bearer(tokens["agent"])).json()
    assert timeline["caller_ref"] == REF and timeline["merged"] == ["cr_other"]
    assert sorted(c["call_id"] for c in timeline["calls"]) == ["other", FIRST]


def test_timeline_roles_and_unknown_callers(client: TestClient, tokens: dict[str, str]) -> None:
    assert client.get("/api/callers/nobody/timeline", headers=bearer(tokens["agent"])).status_code == 404
    assert client.get("/api/callers/nobody/timeline", headers=bearer(tokens["qa"])).status_code == 403
    assert client.get("/api/callers/nobody/timeline").status_code == 401


def test_screening_is_recorded_on_the_caller_timeline(
    service: CallService, clock: FakeClock, client: TestClient, tokens: dict[str, str]
) -> None:
    play(service, clock, "repeat_caller_first", FIRST, 0)
    answers = {"q1": True, "q2": True, "q3": True, "q4": True, "q5": False, "q6": False}
    r = client.post(
        f"/api/callers/{REF}/screenings",
        json={"call_id": FIRST, "answers": answers},
        headers=bearer(tokens["agent"]),
    )
    assert r.status_code == 201, r.text
    assert r.json()["tier"] == "high" and r.json()["fhir"]["resourceType"] == "QuestionnaireResponse"
    timeline = client.get(f"/api/callers/{REF}/timeline", headers=bearer(tokens["agent"])).json()
    assert [(s["tier"], s["call_id"]) for s in timeline["screenings"]] == [("high", FIRST)]


def test_safety_plan_is_versioned_sealed_at_rest_and_exported(
    service: CallService, clock: FakeClock, client: TestClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    install_security(service.db, Settings(env="test", data_dir=tmp_path))
    first_call_with_plan(service, clock, client, tokens)
    updated = {**PLAN, "help_contacts": ["my brother", "my neighbour"]}
    r = client.post(
        f"/api/callers/{REF}/safety-plan", json={"plan": updated}, headers=bearer(tokens["agent"])
    )
    assert r.json()["version"] == 2
    with service.db.connect() as conn:
        stored = [row.content for row in conn.execute(select(safety_plans))]
    assert len(stored) == 2 and all("brother" not in str(c) for c in stored)  # sealed, never in clear
    plan = client.get(f"/api/callers/{REF}/safety-plan", headers=bearer(tokens["agent"])).json()
    assert plan["version"] == 2 and plan["plan"]["help_contacts"] == ["my brother", "my neighbour"]
    assert (
        client.get(f"/api/callers/{REF}/safety-plan/fhir", headers=bearer(tokens["agent"])).status_code == 403
    )
    fhir = client.get(f"/api/callers/{REF}/safety-plan/fhir", headers=bearer(tokens["supervisor"])).json()
    assert fhir["resourceType"] == "QuestionnaireResponse" and fhir["identifier"]["value"] == f"{REF}/v2"


def test_caller_ref_endpoint_hashes_for_integrations(client: TestClient, tokens: dict[str, str]) -> None:
    assert (
        client.post(
            "/api/callers/ref", json={"identifier": "+44 7700 900123"}, headers=bearer(tokens["agent"])
        ).status_code
        == 403
    )
    r = client.post(
        "/api/callers/ref", json={"identifier": "+44 7700 900123"}, headers=bearer(tokens["admin"])
    )
    assert r.status_code == 200 and r.json()["caller_ref"].startswith("cr_")
