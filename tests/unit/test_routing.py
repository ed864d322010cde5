"""Routing and wellbeing core (issue 6): priority, eligibility, wellbeing blocks and overrides, the ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from calmline.routing import (
    Agent,
    AgentState,
    RoutingConfigError,
    WaitingCall,
    assign,
    by_priority,
    ledger_after_call,
    load_routing_config,
    needs_debrief,
    next_call,
    offer_callback,
    parse_routing_config,
    rank_agents,
)
from calmline.routing.model import RiskTier

NOW = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)
CONFIG = load_routing_config()


def call(
    cid: str, risk: RiskTier = "none", waited_s: float = 0, distress: float = 0.0, **kw: object
) -> WaitingCall:
    return WaitingCall(cid, NOW - timedelta(seconds=waited_s), risk=risk, distress=distress, **kw)  # type: ignore[arg-type]


def agent(aid: str, **kw: object) -> Agent:
    kw.setdefault("skills", {"general"})
    return Agent(id=aid, **kw)  # type: ignore[arg-type]


def free(aid: str, **kw: object) -> AgentState:
    kw.setdefault("last_call_ended_at", NOW - timedelta(minutes=5))
    return AgentState(aid, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("calls", "first"),
    [
        ([call("routine", waited_s=900), call("high", "high"), call("imminent", "imminent")], "imminent"),
        ([call("routine", waited_s=900), call("high", "high")], "high"),
        ([call("routine", waited_s=120), call("routine2", waited_s=60)], "routine"),
        # a fresh distressed call beats a routine call that waited a minute ...
        ([call("old", waited_s=60), call("distressed", distress=0.9)], "distressed"),
        # ... but ageing lets the routine call overtake it after enough wait (nobody starves)
        ([call("old", waited_s=180), call("distressed", distress=0.9)], "old"),
        # same steps: distress breaks the tie
        ([call("a", distress=0.25, waited_s=60), call("b", distress=0.75)], "b"),
    ],
)
def test_priority_order(calls: list[WaitingCall], first: str) -> None:
    assert by_priority(calls, NOW, CONFIG.policy)[0].call_id == first
    top = next_call(calls, NOW, CONFIG.policy)
    assert top is not None and top.call_id == first


@pytest.mark.parametrize(
    ("who", "block"),
    [
        (agent("x", skills={"billing"}), "skills"),
        (agent("x", languages={"es"}), "language"),
    ],
)
def test_hard_filters(who: Agent, block: str) -> None:
    [cand] = rank_agents(call("c"), [who], {"x": free("x")}, CONFIG, NOW)
    assert not cand.eligible and cand.blocked_by == (block,)
    assert cand.reasons[0].startswith(("lacks skill", "does not speak"))


def test_unavailable_and_off_shift_and_missing_state() -> None:
    from datetime import time

    agents = [agent("busy"), agent("night", shift_start=time(22), shift_end=time(6)), agent("ghost")]
    states = {"busy": free("busy", available=False), "night": free("night")}
    ranked = {c.agent_id: c for c in rank_agents(call("c"), agents, states, CONFIG, NOW)}
    assert ranked["busy"].blocked_by == ("unavailable",)
    assert ranked["night"].blocked_by == ("off_shift",)
    assert ranked["ghost"].blocked_by == ("no_state",)


def test_crisis_trained_first_for_imminent_and_senior_for_distress() -> None:
    agents = [agent("senior", tier="senior"), agent("trained", crisis_trained=True), agent("junior")]
    states = {a.id: free(a.id) for a in agents}
    ranked = rank_agents(call("c", "imminent"), agents, states, CONFIG, NOW)
    assert [c.agent_id for c in ranked][:2] == ["trained", "senior"]
    assert "crisis-trained" in ranked[0].reasons
    distressed = rank_agents(call("d", distress=0.9), agents, states, CONFIG, NOW)
    assert distressed[0].agent_id == "senior" and "senior" in distressed[0].reasons


def test_heavy_calls_to_the_least_exposed_light_calls_to_the_most_exposed() -> None:
    agents = [agent("a"), agent("b"), agent("c")]
    states = {
        "a": free("a", exposure_minutes=100),
        "b": free("b", exposure_minutes=10),
        "c": free("c", exposure_minutes=10, last_call_ended_at=NOW - timedelta(minutes=20)),
    }
    # a distressed call: least exposure first, then the longest idle
    distressed = rank_agents(call("d", "low", distress=0.7), agents, states, CONFIG, NOW)
    assert [c.agent_id for c in distressed] == ["c", "b", "a"]
    # a routine call: rotation gives the light call to the most exposed agent
    assert next(c.agent_id for c in rank_agents(call("x"), agents, states, CONFIG, NOW)) == "a"


@pytest.mark.parametrize(
    ("state", "risk", "block", "text"),
    [
        (free("b", break_until=NOW + timedelta(minutes=2)), "none", "break", "break after a critical call"),
        (
            free("b", cooldown_until=NOW + timedelta(minutes=12)),
            "moderate",
            "cooldown",
            "cool-down (routine calls only) until 10:42",
        ),
        (free("b", consecutive_high=2), "high", "consecutive_high", "2 high-intensity calls in a row"),
        (
            free("b", exposure_minutes=530),
            "moderate",
            "exposure_budget",
            "exposure budget has no room for this call (530 of 540 min)",
        ),
        (free("b", need_break=True), "none", "need_break", "asked for a break"),
    ],
)
def test_wellbeing_blocks_with_reasons(state: AgentState, risk: RiskTier, block: str, text: str) -> None:
    agents = [agent("a"), agent("b", tier="senior")]
    ranked = rank_agents(call("c", risk), agents, {"a": free("a"), "b": state}, CONFIG, NOW)
    blocked = next(c for c in ranked if c.agent_id == "b")
    assert not blocked.eligible and block in blocked.blocked_by and any(text in r for r in blocked.reasons)
    [decision] = assign([call("c", risk)], agents, {"a": free("a"), "b": state}, CONFIG, NOW)
    assert decision.agent_id == "a" and f"agent b skipped: {text}" in decision.reason


def test_crisis_trained_agents_keep_room_in_their_budget_for_a_crisis_call() -> None:
    wb = CONFIG.wellbeing.model_copy(update={"keep_crisis_room_for": frozenset({"distressed"})})
    config = CONFIG.model_copy(update={"wellbeing": wb})
    crisis_load = wb.intensity_weights["crisis"] * wb.allowance_minutes["crisis"]
    distressed_load = wb.intensity_weights["distressed"] * wb.allowance_minutes["distressed"]
    # room for the distressed call, but not for a crisis call after it
    spent = wb.exposure_budget_minutes - crisis_load - distressed_load + 1
    agents = [agent("t", crisis_trained=True, skills={"general", "crisis"}), agent("u")]
    states = {"t": free("t", exposure_minutes=spent), "u": free("u", exposure_minutes=spent)}
    ranked = {c.agent_id: c for c in rank_agents(call("c", "moderate"), agents, states, config, NOW)}
    assert ranked["u"].eligible
    assert not ranked["t"].eligible and ranked["t"].blocked_by == ("exposure_budget",)
    assert "no room for this call and a crisis call after it" in ranked["t"].reasons[0]
    # the same agent still takes the crisis call itself, and anyone takes routine calls
    crisis = {c.agent_id: c for c in rank_agents(call("k", "imminent"), agents, states, config, NOW)}
    assert crisis["t"].eligible
    routine = rank_agents(call("r"), agents, states, config, NOW)
    assert all("exposure_budget" not in c.blocked_by for c in routine)


def test_cooldown_still_allows_routine_calls() -> None:
    states = {"b": free("b", cooldown_until=NOW + timedelta(minutes=12))}
    [cand] = rank_agents(call("c"), [agent("b")], states, CONFIG, NOW)
    assert cand.eligible


def test_rotation_keeps_a_much_more_exposed_agent_off_distressed_calls() -> None:
    agents = [agent("a"), agent("b"), agent("c")]
    states = {"a": free("a", exposure_minutes=200), "b": free("b"), "c": free("c")}
    ranked = rank_agents(call("d", distress=0.7), agents, states, CONFIG, NOW)
    rotated = next(c for c in ranked if c.agent_id == "a")
    assert not rotated.eligible and rotated.blocked_by == ("rotation",)
    # a routine call is exactly what a rotated agent should take
    assert rank_agents(call("r"), agents, states, CONFIG, NOW)[0].agent_id == "a"


def test_crisis_trained_agents_are_kept_free_for_crises() -> None:
    agents = [agent("t", crisis_trained=True), agent("u")]
    states = {"t": free("t"), "u": free("u")}
    # below the crisis tier, the untrained agent goes first
    assert rank_agents(call("r"), agents, states, CONFIG, NOW)[0].agent_id == "u"
    # with few trained agents free, a fresh routine call waits rather than take one ...
    [cand] = rank_agents(call("r"), agents[:1], states, CONFIG, NOW)
    assert not cand.eligible and cand.blocked_by == ("reserved",)
    # ... but not for long, and a high-risk call never waits for it
    [cand] = rank_agents(call("r", waited_s=15), agents[:1], states, CONFIG, NOW)
    assert cand.eligible
    [cand] = rank_agents(call("h", "high"), agents[:1], states, CONFIG, NOW)
    assert cand.eligible


def test_an_imminent_call_waits_briefly_for_a_crisis_trained_agent() -> None:
    agents = [agent("u")]
    [held] = rank_agents(call("i", "imminent"), agents, {"u": free("u")}, CONFIG, NOW)
    assert not held.eligible and held.blocked_by == ("crisis_hold",)
    decision = assign([call("i", "imminent")], agents, {"u": free("u")}, CONFIG, NOW)[0]
    assert decision.agent_id is None
    hold = CONFIG.policy.hold_for_crisis_trained_s
    [still] = rank_agents(call("i", "imminent", waited_s=hold - 1), agents, {"u": free("u")}, CONFIG, NOW)
    assert not still.eligible
    [late] = rank_agents(call("i", "imminent", waited_s=hold + 1), agents, {"u": free("u")}, CONFIG, NOW)
    assert late.eligible


def test_callbacks_are_offered_to_calm_calls_only() -> None:
    policy = CONFIG.policy
    assert offer_callback(call("r", waited_s=25), NOW, policy)
    assert offer_callback(call("r"), NOW, policy, expected_wait_s=60)
    assert not offer_callback(call("r", waited_s=5), NOW, policy, expected_wait_s=5)
    assert not offer_callback(call("d", distress=0.7, waited_s=300), NOW, policy)
    assert not offer_callback(call("h", "low", waited_s=300), NOW, policy)


def test_limits_only_apply_to_intense_calls() -> None:
    states = {"b": free("b", consecutive_high=5, exposure_minutes=600)}
    [cand] = rank_agents(call("c"), [agent("b")], states, CONFIG, NOW)
    assert cand.eligible


def test_override_only_when_no_unblocked_crisis_trained_agent() -> None:
    resting = free("t", break_until=NOW + timedelta(minutes=1))
    agents = [agent("t", crisis_trained=True), agent("u")]
    ranked = rank_agents(call("c", "imminent"), agents, {"t": resting, "u": free("u")}, CONFIG, NOW)
    assert ranked[0].agent_id == "t" and ranked[0].eligible and ranked[0].override
    assert ranked[0].reasons[0].startswith("override: no unblocked crisis-trained agent")
    # with a free crisis-trained agent, the blocked one stays blocked
    agents.append(agent("t2", crisis_trained=True))
    states = {"t": resting, "u": free("u"), "t2": free("t2")}
    ranked = rank_agents(call("c", "imminent"), agents, states, CONFIG, NOW)
    assert ranked[0].agent_id == "t2" and not any(c.override for c in ranked)
    # a spent exposure budget is never set aside
    spent = free("t", exposure_minutes=530)
    ranked = rank_agents(call("c", "imminent"), agents[:1], {"t": spent}, CONFIG, NOW)
    assert not ranked[0].eligible and not ranked[0].override
    # a high (not imminent) call never overrides
    ranked = rank_agents(call("h", "high"), agents[:2], {"t": resting, "u": free("u")}, CONFIG, NOW)
    assert ranked[0].agent_id == "u" and not ranked[-1].eligible


def test_assign_is_greedy_by_priority_and_deterministic() -> None:
    agents = [agent("t", crisis_trained=True), agent("a"), agent("b")]
    states = {a.id: free(a.id) for a in agents}
    calls = [call("r1", waited_s=10), call("imm", "imminent"), call("r2", waited_s=5), call("r3")]
    first = assign(calls, agents, states, CONFIG, NOW)
    assert [(d.call_id, d.agent_id) for d in first] == [("imm", "t"), ("r1", "a"), ("r2", "b"), ("r3", None)]
    assert first[-1].reason.startswith("no eligible agent")
    assert assign(list(reversed(calls)), list(reversed(agents)), states, CONFIG, NOW) == first


def test_ledger_after_a_crisis_call() -> None:
    wb = CONFIG.wellbeing
    state = ledger_after_call(free("a"), "crisis", 20, NOW, wb)
    assert state.exposure_minutes == 80.0 and state.consecutive_high == 1
    assert state.break_until == NOW + timedelta(seconds=wb.break_after_critical_s)
    assert state.cooldown_until == NOW + timedelta(seconds=wb.cooldown_after_critical_s)
    assert state.last_call_ended_at == NOW
    state = ledger_after_call(state, "high", 10, NOW + timedelta(minutes=30), wb)
    assert state.exposure_minutes == 100.0 and state.consecutive_high == 2
    assert state.cooldown_until == NOW + timedelta(seconds=wb.cooldown_after_critical_s)
    state = ledger_after_call(state, "routine", 4, NOW + timedelta(minutes=40), wb)
    assert state.consecutive_high == 0 and state.exposure_minutes == 100.0  # routine calls weigh nothing
    assert needs_debrief("crisis") and not needs_debrief("high") and needs_debrief("crisis", wb)


def test_shipped_config_loads() -> None:
    assert CONFIG.version and {q.id for q in CONFIG.queues} >= {"general", "crisis"}
    assert CONFIG.queue("crisis") is not None and CONFIG.queue("nope") is None


@pytest.mark.parametrize(
    ("text", "line", "where"),
    [
        ("version: '1'\nwellbeing:\n  max_consecutive_high: 0\n", 3, "wellbeing.max_consecutive_high"),
        ("version: '1'\npolicy:\n  ageing: 30\n", 3, "policy.ageing"),
        ("version: '1'\nqueues:\n  - id: a\n  - id: a\n", 1, "duplicate queue id"),
        ("version: '1'\nversion: '2'\n", 2, "duplicate key"),
        ("version: '1'\nagents:\n  - id: x\n    tier: master\n", 4, "agents.0.tier"),
        ("- 1\n", 1, "must be a YAML mapping"),
    ],
)
def test_loader_errors_name_file_and_line(text: str, line: int, where: str) -> None:
    with pytest.raises(RoutingConfigError) as err:
        parse_routing_config(text, "r.yaml")
    assert err.value.line == line and where in str(err.value) and str(err.value).startswith(f"r.yaml:{line}:")
