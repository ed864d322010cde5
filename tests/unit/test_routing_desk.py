"""calmline's own routing on the live service (issue 6): assignment, warm transfer, ledger, debriefs, API."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from calmline.api import auth
from calmline.api.app import create_app
from calmline.clock import FakeClock
from calmline.events import AgentStatusChanged, CallEnded, CallStarted
from calmline.runtime import build_service
from calmline.service import CallService
from calmline.settings import Settings
from calmline.sim.demo import demo_settings
from calmline.sim.player import play_inprocess
from calmline.sim.scenario import resolve

START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
CRISIS_TRAINED = {"sam", "jordan", "alex"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def floor_service(tmp_path: Path, clock: FakeClock) -> Iterator[CallService]:
    service = build_service(demo_settings(Settings(env="test", data_dir=tmp_path)), clock=clock)
    yield service
    service.db.dispose()


def _play(service: CallService, clock: FakeClock, *scenarios: str) -> dict[str, str]:
    report = play_inprocess(service, [resolve(s) for s in scenarios], math.inf, clock, "t", start=START)
    return {sid: cid for cid, sid in report.calls.items()}


def test_active_ideation_goes_to_a_crisis_trained_agent_who_then_gets_a_cooldown_and_a_debrief(
    floor_service: CallService, clock: FakeClock
) -> None:
    call_id = _play(floor_service, clock, "active_ideation_plan_means")["active_ideation_plan_means"]
    decisions = [r.payload for r in floor_service.log.read(call_id) if r.type == "routing.decision"]
    assert decisions[0]["reason"].startswith("assigned")
    assert decisions[-1]["reason"].startswith("warm transfer: critical risk")
    final = decisions[-1]["agent_id"]
    assert final in CRISIS_TRAINED and decisions[-1]["priority"] == 3
    desk = floor_service.routing_desk
    assert desk is not None
    floor = desk.floor(clock.now())
    me = next(a for a in floor["agents"] if a["agent_id"] == final)
    assert me["cooldown_until"] is not None and me["consecutive_high"] == 1 and me["debriefs_due"] == 1
    tasks = [t for t in floor["debriefs"] if t["call_id"] == call_id]
    assert {t["agent_id"] for t in tasks} == {decisions[0]["agent_id"], final}  # both heard the disclosure
    assert all(t["status"] == "open" and t["intensity"] == "crisis" for t in tasks)
    # the protocols stayed with the call across the transfer, and the call replays exactly
    assert any(r.type == "protocol.activated" for r in floor_service.log.read(call_id))
    assert not floor_service.replay(call_id).differences


def test_a_calm_call_stays_with_its_agent_and_weighs_nothing(
    floor_service: CallService, clock: FakeClock
) -> None:
    call_id = _play(floor_service, clock, "calm_appointment")["calm_appointment"]
    decisions = [r.payload for r in floor_service.log.read(call_id) if r.type == "routing.decision"]
    assert len(decisions) == 1 and decisions[0]["priority"] == 0
    desk = floor_service.routing_desk
    assert desk is not None
    view = desk.agent_view(decisions[0]["agent_id"], clock.now())
    assert view["calls_today"] == 1 and view["exposure_minutes"] == 0.0 and view["debriefs"] == []


def test_need_break_and_waiting_calls(floor_service: CallService, clock: FakeClock) -> None:
    desk = floor_service.routing_desk
    assert desk is not None
    roster = sorted(desk.roster)
    for agent_id in roster[1:]:
        desk.set_need_break(agent_id, True, clock.now())
    floor_service.ingest(CallStarted(call_id="w1", started_at=clock.now()))
    floor_service.ingest(CallStarted(call_id="w2", started_at=clock.now()))
    first = [r.payload["agent_id"] for r in floor_service.log.read("w1") if r.type == "routing.decision"]
    assert first == [roster[0]]
    assert desk.waiting_calls(clock.now()) == ["w2"]
    assert desk.floor(clock.now())["waiting"][0]["call_id"] == "w2"
    # when the only free agent's call ends, the waiting call is offered to them
    clock.advance(180)
    floor_service.ingest(CallEnded(call_id="w1", seq=1, at=clock.now()))
    second = [r.payload["agent_id"] for r in floor_service.log.read("w2") if r.type == "routing.decision"]
    assert second == [roster[0]] and desk.waiting_calls(clock.now()) == []


def test_agent_status_events_reach_the_ledger(floor_service: CallService, clock: FakeClock) -> None:
    desk = floor_service.routing_desk
    assert desk is not None
    floor_service.ingest(AgentStatusChanged(agent_id="sam", status="break", at=clock.now()))
    assert desk.agent_view("sam", clock.now())["status"] == "break"


def test_without_a_roster_calls_are_not_assigned_but_the_ledger_is_kept(tmp_path: Path) -> None:
    clock = FakeClock(START)
    service = build_service(Settings(env="test", data_dir=tmp_path), clock=clock)
    service.ingest(CallStarted(call_id="c", agent_id="pat", started_at=clock.now()))
    clock.advance(300)
    service.ingest(CallEnded(call_id="c", seq=1, at=clock.now()))
    assert not [r for r in service.log.read("c") if r.type == "routing.decision"]
    assert service.routing_desk is not None
    assert service.routing_desk.agent_view("pat", clock.now())["calls_today"] == 1
    service.db.dispose()


def test_routing_api_roles(floor_service: CallService, clock: FakeClock, tmp_path: Path) -> None:
    _play(floor_service, clock, "active_ideation_plan_means")
    tokens = {}
    for name, role in (("boss", "supervisor"), ("agent", "agent"), ("casey", "agent"), ("qa", "qa")):
        auth.create_user(floor_service.db, name, "correct horse battery", [role])
        who = auth.Principal(name, frozenset({role}), "user")
        tokens[name] = auth.create_session(floor_service.db, who, clock.now(), timedelta(hours=1)).token
    app = create_app(Settings(env="test", data_dir=tmp_path), service=floor_service, tick_interval_s=3600)

    def h(name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[name]}"}

    with TestClient(app) as client:
        floor = client.get("/api/routing/floor", headers=h("boss"))
        assert floor.status_code == 200 and {a["agent_id"] for a in floor.json()["agents"]} >= CRISIS_TRAINED
        assert client.get("/api/routing/floor", headers=h("agent")).status_code == 403
        assert client.get("/api/routing/floor", headers=h("qa")).status_code == 403
        me = client.get("/api/routing/me", headers=h("agent")).json()
        assert me["agent_id"] == "agent" and me["debriefs_due"] == 1
        own = client.post("/api/routing/agents/casey/break", json={"need_break": True}, headers=h("casey"))
        assert own.status_code == 200 and own.json()["need_break"] is True
        other = client.post("/api/routing/agents/casey/break", json={"need_break": False}, headers=h("agent"))
        assert other.status_code == 403
        bad = client.post("/api/routing/agents/casey/break", json={"need_break": "x"}, headers=h("boss"))
        assert bad.status_code == 422
        task = floor.json()["debriefs"][0]["task_id"]
        assert floor.json()["debriefs"][0]["assigned_to"] == "supervisor"  # demo.yaml's debrief_assign_to
        moved = client.post(
            f"/api/routing/debriefs/{task}/assign", json={"supervisor": "boss"}, headers=h("boss")
        )
        assert moved.status_code == 200 and moved.json()["assigned_to"] == "boss"
        assert (
            client.post(f"/api/routing/debriefs/{task}/assign", json={}, headers=h("boss")).status_code == 422
        )
        done = client.post(f"/api/routing/debriefs/{task}/done", headers=h("boss"))
        assert done.status_code == 200
        assert done.json()["status"] == "done" and done.json()["done_by"] == "boss"
        assert client.post("/api/routing/debriefs/nope/done", headers=h("boss")).status_code == 404


def test_break_and_rotation_recommendations(floor_service: CallService, clock: FakeClock) -> None:
    call_id = _play(floor_service, clock, "active_ideation_plan_means")["active_ideation_plan_means"]
    desk = floor_service.routing_desk
    assert desk is not None
    final = [r.payload for r in floor_service.log.read(call_id) if r.type == "routing.decision"][-1][
        "agent_id"
    ]
    advice = desk.agent_view(final, clock.now())["recommendations"]
    assert any(a.startswith("cool-down: routine calls only until") for a in advice)
    assert "debrief with a supervisor (1 due)" in advice


def test_the_routing_policy_is_audited_once_per_version(floor_service: CallService, clock: FakeClock) -> None:
    from calmline.store.audit import AuditLog

    desk = floor_service.routing_desk
    assert desk is not None
    entries = AuditLog(floor_service.db).entries(subject_prefix="routing:policy")
    assert [e.action for e in entries] == ["routing.policy_loaded"]
    assert entries[0].detail["version"] == desk.config.version and entries[0].detail["agents"] == 9
    assert desk.record_policy(clock.now()) is False  # unchanged: nothing new
