"""The fast routing structures give exactly the pure core's decisions (issue 6, speed)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

import pytest

from calmline.routing import (
    Agent,
    AgentState,
    WaitingCall,
    explain,
    load_routing_config,
    next_call,
    rank_agents,
)
from calmline.routing.fast import CallQueue, FloorIndex
from calmline.routing.model import RiskTier

NOW = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)
CONFIG = load_routing_config()
#: The same policies with crisis-trained agents keeping room for a crisis call (an option, off by default).
ROOM = CONFIG.model_copy(
    update={
        "wellbeing": CONFIG.wellbeing.model_copy(update={"keep_crisis_room_for": frozenset({"distressed"})})
    }
)
RISKS: tuple[RiskTier, ...] = ("none", "none", "low", "moderate", "high", "imminent")


def _floor(rng: random.Random, n: int, shifts: bool) -> tuple[list[Agent], dict[str, AgentState]]:
    agents, states = [], {}
    for i in range(n):
        aid = f"a{rng.randint(0, 10 * n):04d}-{i}"
        start = time(rng.randint(0, 23)) if shifts and rng.random() < 0.7 else None
        agents.append(
            Agent(
                id=aid,
                skills=frozenset(rng.sample(["general", "nurse", "crisis", "billing"], rng.randint(1, 3))),
                languages=frozenset({"en", "es"} if rng.random() < 0.2 else {"en"}),
                tier=rng.choice(("junior", "experienced", "senior")),
                crisis_trained=rng.random() < 0.4,
                shift_start=start,
                shift_end=time(rng.randint(0, 23)) if start is not None else None,
            )
        )
        if rng.random() < 0.05:
            continue  # no state reported
        ended = NOW - timedelta(seconds=rng.choice([0, 5, 60, 900, 4000])) if rng.random() < 0.9 else None
        states[aid] = AgentState(
            agent_id=aid,
            available=rng.random() < 0.6,
            need_break=rng.random() < 0.05,
            consecutive_high=rng.randint(0, 3),
            break_until=NOW + timedelta(seconds=rng.choice([-60, 60])) if rng.random() < 0.1 else None,
            cooldown_until=NOW + timedelta(seconds=rng.choice([-60, 600])) if rng.random() < 0.2 else None,
            exposure_minutes=rng.choice([0.0, 10.0, 10.0, 120.0, 300.0, 500.0, 530.0, rng.uniform(0, 540)]),
            last_call_ended_at=ended,
        )
    return agents, states


@pytest.mark.parametrize("seed", range(40))
def test_floor_index_decides_exactly_as_the_core(seed: int) -> None:
    rng = random.Random(seed)
    agents, states = _floor(rng, rng.choice([1, 3, 8, 30]), shifts=seed % 3 == 0)
    config = ROOM if seed % 2 else CONFIG
    index = FloorIndex(agents, config)
    index.set_states(states)
    for k in range(25):
        call = WaitingCall(
            call_id=f"c{k}",
            waiting_since=NOW - timedelta(seconds=rng.choice([0, 3, 12, 40, 400])),
            queue=rng.choice(["general", "nurse", "crisis", "elsewhere"]),
            language="es" if rng.random() < 0.15 else "en",
            risk=rng.choice(RISKS),
            distress=rng.choice([0.0, 0.3, 0.55, 0.7, 0.95]),
        )
        expected = explain(call.call_id, rank_agents(call, agents, states, config, NOW))
        assert index.decide(call, NOW) == expected, (seed, k)


def test_call_queue_orders_as_next_call_at_any_time() -> None:
    rng = random.Random(5)
    calls = [
        WaitingCall(
            call_id=f"c{i:03d}",
            waiting_since=NOW - timedelta(seconds=rng.randint(0, 900)),
            risk=rng.choice(RISKS),
            distress=round(rng.random(), 2),
        )
        for i in range(60)
    ]
    queue = CallQueue(CONFIG.policy, calls)
    waiting = list(calls)
    later = NOW
    while waiting:
        later += timedelta(seconds=rng.randint(0, 120))
        top = queue.peek()
        assert top is not None and top == next_call(waiting, later, CONFIG.policy)
        queue.remove(top.call_id)
        waiting.remove(top)
        assert len(queue) == len(waiting)
    assert queue.peek() is None
