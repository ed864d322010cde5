"""The scenario player: in-process into a CallService, and over HTTP."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from calmline.clock import FakeClock
from calmline.engine import CallEngine
from calmline.runtime import build_engine
from calmline.service import CallService
from calmline.sim.player import (
    PlayerError,
    call_ids,
    play_http,
    play_inprocess,
    span_s,
    timeline,
)
from calmline.sim.scenario import builtin_scenarios, load_builtin
from calmline.store.db import make_engine, migrate
from calmline.testing.keywords import keyword_registry

START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def make_service(engine: CallEngine, clock: FakeClock) -> Iterator[CallService]:
    db = make_engine("sqlite+pysqlite://")
    migrate(db)
    yield CallService(db, engine, clock)
    db.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def stub_service(clock: FakeClock) -> Iterator[CallService]:
    yield from make_service(build_engine(keyword_registry()), clock)


def test_call_ids_are_deterministic_and_distinct_for_repeats():
    chest, calm = load_builtin("chest_pain"), load_builtin("calm_appointment")
    assert call_ids([chest, calm, chest], "demo", first_n=3) == [
        "demo-chest_pain-3",
        "demo-calm_appointment-3",
        "demo-chest_pain-4",
    ]


def test_timeline_staggers_and_interleaves_calls():
    scenarios = [load_builtin("chest_pain"), load_builtin("calm_appointment")]
    cues = timeline(scenarios, START, stagger_s=10)
    assert [c.offset_s for c in cues] == sorted(c.offset_s for c in cues)
    starts = [c for c in cues if c.event.type == "call.started"]
    assert [(c.offset_s, c.at) for c in starts] == [(0, START), (10, START.replace(second=10))]
    order = [c.call_index for c in cues]
    assert order.index(1) < len(order) - 1 - order[::-1].index(0)  # call 1 starts before call 0 ends
    for index in (0, 1):  # each call's own events stay in seq order
        seqs = [c.event.seq for c in cues if c.call_index == index]  # type: ignore[union-attr]
        assert seqs == sorted(seqs)
    assert span_s(scenarios, 10) == max(scenarios[0].end_at, 10 + scenarios[1].end_at)


def test_play_inprocess_ingests_every_event_and_moves_the_fake_clock(stub_service, clock):
    scenarios = builtin_scenarios()
    report = play_inprocess(stub_service, scenarios, math.inf, clock, "t")
    assert report.statuses == {"accepted": report.events}
    assert report.events == sum(len(s.turns) + 2 for s in scenarios)
    assert report.utterances == sum(len(s.turns) for s in scenarios)
    assert list(report.calls) == call_ids(scenarios, "t")
    assert clock.now() == timeline(scenarios, START, call_id_prefix="t")[-1].at
    for call_id in report.calls:
        state = stub_service.state(call_id)
        assert state.status == "ended"
        assert stub_service.replay(call_id).ok


def test_play_inprocess_raises_the_stub_alerts_and_replays_identically(stub_service, clock):
    report = play_inprocess(stub_service, builtin_scenarios(), math.inf, clock, "t")
    for call_id, scenario_id in report.calls.items():
        kinds = {a.kind for a in stub_service.state(call_id).alerts}
        expected = {a.kind for a in load_builtin(scenario_id).expect.alerts}
        assert kinds == expected, call_id
        assert stub_service.replay(call_id).differences == ()


def test_play_inprocess_paces_by_speed(stub_service, clock):
    waits: list[float] = []
    scenario = load_builtin("calm_appointment")
    play_inprocess(stub_service, [scenario], 1000.0, clock, "p", sleep=waits.append)
    assert waits and max(waits) <= scenario.end_at / 1000 + 0.01
    with pytest.raises(ValueError, match="speed"):
        play_inprocess(stub_service, [scenario], 0, clock, "p")


def test_play_inprocess_stops_when_asked(stub_service, clock):
    stop = threading.Event()
    stop.set()
    report = play_inprocess(stub_service, builtin_scenarios(), 1.0, clock, "s", stop=stop)
    assert report.stopped and report.events == 0


def test_play_inprocess_is_deterministic_across_runs():
    outcomes = []
    for _ in range(2):
        clock = FakeClock(START)
        for service in make_service(build_engine(keyword_registry()), clock):
            report = play_inprocess(service, builtin_scenarios(), math.inf, clock, "d")
            rows = [
                (r.stream, r.type, r.payload, r.recorded_at)
                for c in report.calls
                for r in service.log.read(c)
            ]
            outcomes.append(rows)
    assert outcomes[0] == outcomes[1]


def test_real_analyzers_raise_the_expected_alerts_per_scenario(clock):
    for service in make_service(build_engine(), clock):
        report = play_inprocess(service, builtin_scenarios(), math.inf, clock, "demo")
        failures = []
        for call_id, scenario_id in report.calls.items():
            expect = load_builtin(scenario_id).expect
            state = service.state(call_id)
            reached: dict[str, str] = {}
            for alert in state.alerts:
                reached[alert.kind] = alert.severity
            problems = expect.model_copy(update={"findings": ()}).unmet(reached)
            failures += [f"{call_id}: {p}" for p in problems]
            assert service.replay(call_id).ok, call_id
        assert failures == []


def test_real_analyzers_emit_the_expected_findings_per_scenario(clock):
    for service in make_service(build_engine(), clock):
        report = play_inprocess(service, builtin_scenarios(), math.inf, clock, "demo")
        failures = []
        for call_id, scenario_id in report.calls.items():
            expect = load_builtin(scenario_id).expect
            types = [f.type for f in service.state(call_id).findings]
            failures += [f"{call_id}: {p}" for p in expect.unmet({}, types) if "finding" in p]
        assert failures == []


class FakeServer:
    """An httpx transport standing in for the calmline ingest endpoint."""

    def __init__(self, api_key: str = "k-123", fail: set[int] | None = None) -> None:
        self.api_key = api_key
        self.fail = fail or set()
        self.received: list[dict[str, object]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/events"
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return httpx.Response(401, json={"detail": "bad key"})
        body = json.loads(request.content)
        if len(self.received) in self.fail:
            self.received.append(body)
            return httpx.Response(422, json={"detail": "nope"})
        self.received.append(body)
        return httpx.Response(202, json={"status": "accepted"})


def client_for(server: FakeServer) -> httpx.Client:
    return httpx.Client(base_url="http://calmline.test", transport=httpx.MockTransport(server))


def test_play_http_posts_every_event_in_order_with_the_api_key():
    server = FakeServer()
    scenarios = [load_builtin("chest_pain"), load_builtin("calm_appointment")]
    with client_for(server) as client:
        report = play_http(
            "http://calmline.test", "k-123", scenarios, math.inf, client=client, clock=FakeClock(START)
        )
    assert report.errors == [] and report.statuses == {"accepted": report.events}
    assert len(server.received) == report.events == sum(len(s.turns) + 2 for s in scenarios)
    assert server.received[0] == {
        **server.received[0],
        "type": "call.started",
        "call_id": "demo-chest_pain-1",
        "seq": 0,
        "started_at": "2026-01-01T09:00:00Z",
    }
    per_call: dict[str, list[int]] = {}
    for body in server.received:
        per_call.setdefault(str(body["call_id"]), []).append(int(body["seq"]))  # type: ignore[call-overload]
    assert all(seqs == list(range(len(seqs))) for seqs in per_call.values())


def test_play_http_refused_key_raises():
    with client_for(FakeServer(api_key="other")) as client, pytest.raises(PlayerError, match="API key"):
        play_http("http://calmline.test", "k-123", [load_builtin("chest_pain")], math.inf, client=client)


def test_play_http_records_refused_events_and_gives_up_after_repeated_failures():
    server = FakeServer(fail={2})
    with client_for(server) as client:
        report = play_http(
            "http://calmline.test", "k-123", [load_builtin("chest_pain")], math.inf, client=client
        )
    assert len(report.errors) == 1 and "seq 2: HTTP 422" in report.errors[0]
    server = FakeServer(fail=set(range(100)))
    with client_for(server) as client, pytest.raises(PlayerError, match="5 failures in a row"):
        play_http("http://calmline.test", "k-123", [load_builtin("chest_pain")], math.inf, client=client)
