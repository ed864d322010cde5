"""``calmline bench routing``: the latency of one routing decision with 1,000 agents and 500 waiting calls.

A *decision* is what an ACD does each time an agent frees up or a call arrives: take the highest-priority
waiting call (the top of a ``CallQueue`` of all 500) and choose among all 1,000 agents for it, with the
reason (``FloorIndex.decide``: the core's rules as vector operations, checked equal to the core). The pure
core doing the same (``next_call`` over the calls, ``rank_agents`` + ``explain`` over every agent) is timed
too, for reference. Timed with ``perf_counter_ns`` after a warm-up, on
one pinned core, on a seeded synthetic floor (no PHI), twice: a realistic mix (most agents busy, some on
cool-down or over budget) and the worst case (every agent available, so every one is scored in full).
"""

from __future__ import annotations

import gc
import os
import platform
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from calmline.bench import _percentiles, _pin_one_core, _time
from calmline.routing.core import AgentState, Assignment, WaitingCall, explain, next_call, rank_agents
from calmline.routing.fast import CallQueue, FloorIndex
from calmline.routing.loader import default_routing_config
from calmline.routing.model import Agent, RiskTier, RoutingConfig

_NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
_QUEUES = ("general", "general", "general", "nurse", "crisis")
_SKILLS = {"general": {"general"}, "nurse": {"general", "nurse"}, "crisis": {"general", "crisis"}}
_RISKS: tuple[RiskTier, ...] = ("none",) * 14 + ("low", "moderate", "moderate", "high", "imminent")


def synthetic_floor(
    n_agents: int, n_calls: int, *, seed: int, all_available: bool
) -> tuple[list[Agent], dict[str, AgentState], list[WaitingCall]]:
    """A seeded floor of agents, their states and waiting calls."""
    rng = random.Random(seed)
    agents: list[Agent] = []
    states: dict[str, AgentState] = {}
    for i in range(n_agents):
        queue = rng.choice(_QUEUES)
        aid = f"a{i:04d}"
        agents.append(
            Agent(
                id=aid,
                skills=frozenset(_SKILLS[queue]),
                languages=frozenset({"en", "es"} if rng.random() < 0.2 else {"en"}),
                tier=rng.choice(("junior", "experienced", "senior")),
                crisis_trained=queue == "crisis" or rng.random() < 0.1,
            )
        )
        states[aid] = AgentState(
            agent_id=aid,
            available=all_available or rng.random() < 0.3,
            need_break=not all_available and rng.random() < 0.02,
            consecutive_high=rng.randint(0, 3),
            cooldown_until=_NOW + timedelta(minutes=5) if rng.random() < 0.05 else None,
            exposure_minutes=round(rng.uniform(0, 260), 1),
            last_call_ended_at=_NOW - timedelta(seconds=rng.randint(0, 1200)),
        )
    calls = [
        WaitingCall(
            call_id=f"c{j:04d}",
            waiting_since=_NOW - timedelta(seconds=rng.randint(0, 600)),
            queue=rng.choice(_QUEUES),
            language="es" if rng.random() < 0.1 else "en",
            risk=rng.choice(_RISKS),
            distress=round(rng.random(), 2),
        )
        for j in range(n_calls)
    ]
    return agents, states, calls


def _decision_timings(
    agents: list[Agent],
    states: dict[str, AgentState],
    calls: list[WaitingCall],
    config: RoutingConfig,
    n: int,
) -> dict[str, Any]:
    # Each decision sees the floor a quarter second later. The ACD keeps its waiting calls in a
    # ``CallQueue`` and its agents in a ``FloorIndex`` (kept up to date as states change, outside the timing).
    nows = [_NOW + timedelta(milliseconds=250 * i) for i in range(n)]
    queue = CallQueue(config.policy, calls)
    index = FloorIndex(agents, config)
    index.set_states(states)

    def decide(i: int) -> Assignment:
        call = queue.peek()
        assert call is not None
        return index.decide(call, nows[i])

    top = next_call(calls, _NOW, config.policy)
    assert top is not None

    def pick(i: int) -> object:
        return next_call(calls, nows[i], config.policy)

    def rank(i: int) -> object:
        return explain(top.call_id, rank_agents(top, agents, states, config, nows[i]))

    for i in range(min(200, n)):
        decide(i)
    gc.collect()
    out: dict[str, Any] = {
        "decision": _percentiles(_time(decide, n)),
        "pure_core_decision": _percentiles(_time(lambda i: (pick(i), rank(i)), max(1, n // 4))),
    }
    sample = decide(0)
    assert sample == explain(top.call_id, rank_agents(top, agents, states, config, nows[0]))
    out["sample_reason"] = sample.reason
    return out


def bench_routing(
    *, agents: int = 1000, calls: int = 500, n: int = 2000, seed: int = 7, pin: bool = True
) -> dict[str, Any]:
    """Time ``n`` decisions on each floor; JSON-ready figures with the target verdict."""
    core = _pin_one_core() if pin else None
    config = default_routing_config()
    result: dict[str, Any] = {
        "benchmark": "routing",
        "agents": agents,
        "waiting_calls": calls,
        "decisions": n,
        "target_p99_ms": 1.0,
    }
    for name, all_available in (("mixed", False), ("all_available", True)):
        floor = synthetic_floor(agents, calls, seed=seed, all_available=all_available)
        figures = _decision_timings(*floor, config, n)
        figures["available_agents"] = sum(s.available for s in floor[1].values())
        figures["target_met"] = figures["decision"]["p99_ms"] <= 1.0
        result[name] = figures
    result["machine"] = {
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
        "pinned_core": core,
        "cpus": os.cpu_count(),
    }
    return result
