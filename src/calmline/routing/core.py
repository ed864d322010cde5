"""The routing core: which waiting call goes first, which agent should take it, and why. Pure.

Nothing here reads the clock or does I/O: ``now`` is an argument, agents and their states come in, decisions
(with their reasons) go out; the shell (calmline's own ACD, or the assignment endpoint advising an external
one)
carries them out. Every function is deterministic: ties break on ids.

Order of calls (``priority``): imminent risk first, then high risk, then everyone else by priority *steps* —
the risk tier's steps, plus distress (``distress_steps`` at distress 1.0), plus one step per
``ageing_s_per_step`` of waiting, so a calm call that has waited long enough overtakes a fresh distressed one
and nobody starves. Distress, then the wait, break ties.

Choice of agent (``rank_agents``):

1. Hard filters, never set aside: available, on shift, has the queue's and the call's skills, speaks the
   call's language.
2. Wellbeing blocks: cool-down after a critical call, the consecutive high-intensity limit (for high and
   crisis calls), the exposure budget (for anything but routine calls), the agent's own "need a break" flag.
   A crisis call (imminent risk) may set them aside for crisis-trained agents, and only when no unblocked
   crisis-trained agent is available; the candidate then says so (``override``).
3. Soft ranking: crisis-trained first for high and imminent risk; a more experienced tier for high distress;
   then the least exposure this shift, then the longest idle.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta

from calmline.routing.model import (
    TIER_RANK,
    Agent,
    Intensity,
    RiskTier,
    RoutingConfig,
    RoutingPolicy,
    WellbeingPolicy,
)

#: Blocks no policy sets aside.
HARD_BLOCKS = frozenset({"no_state", "unavailable", "off_shift", "skills", "language"})
#: Wellbeing blocks a crisis call may set aside for a crisis-trained agent when no one else is free.
WELLBEING_BLOCKS = frozenset(
    {"break", "cooldown", "need_break", "consecutive_high", "exposure_budget", "rotation"}
)

#: Blocks a crisis call never sets aside: the hard ones, and a spent exposure budget (the shift's limit).
_NEVER_OVERRIDDEN = HARD_BLOCKS | {"exposure_budget"}
#: Blocks not worth naming when explaining a choice (every agent has them, or they are routine).
_QUIET_BLOCKS = HARD_BLOCKS | {"crisis_hold", "reserved"}

_BAND: dict[str, int] = {"imminent": 2, "high": 1}
_HIGH_INTENSITY: frozenset[str] = frozenset({"high", "crisis"})
_CRISIS_BONUS = 100_000.0
_OVERRIDE_PENALTY = 1_000.0
_RESERVE_PENALTY = 10_000.0
_IDLE_CAP_S = 1800.0


@dataclass(frozen=True, slots=True)
class WaitingCall:
    """A call waiting for an agent."""

    call_id: str
    waiting_since: datetime
    queue: str = "general"
    language: str = "en"
    risk: RiskTier = "none"
    distress: float = 0.0
    skills_needed: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class AgentState:
    """What routing knows of one agent right now (the shell keeps it; ``ledger_after_call`` updates it)."""

    agent_id: str
    available: bool = True
    need_break: bool = False
    consecutive_high: int = 0
    break_until: datetime | None = None
    cooldown_until: datetime | None = None
    exposure_minutes: float = 0.0
    last_call_ended_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Priority:
    """Where a call stands in the queue: compare ``key()``; higher goes first."""

    band: int
    steps: float
    distress: float
    waited_s: float

    def key(self) -> tuple[int, float, float, float]:
        """The sort key: band, steps, distress, seconds waited."""
        return (self.band, self.steps, self.distress, self.waited_s)


@dataclass(frozen=True, slots=True)
class CallContext:
    """What ranking derived once from the call; shared by all its candidates (for their reasons)."""

    needed: frozenset[str]
    language: str
    preferred_crisis: bool
    preferred_tier: bool
    budget_minutes: float
    keeps_crisis_room: bool = False  # crisis-trained agents must keep room for a crisis call after this one


@dataclass(frozen=True, slots=True)
class Candidate:
    """One agent considered for one call. ``reasons`` is built on demand (ranking stays cheap)."""

    agent_id: str
    score: float
    eligible: bool
    blocked_by: tuple[str, ...]
    override: bool = False
    agent: Agent | None = field(default=None, repr=False, compare=False)
    state: AgentState | None = field(default=None, repr=False, compare=False)
    idle_s: float | None = field(default=None, repr=False, compare=False)
    ctx: CallContext | None = field(default=None, repr=False, compare=False)

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why this agent ranks where it does, in words."""
        out: list[str] = []
        agent, state = self.agent, self.state
        if self.override:
            out.append(
                "override: no unblocked crisis-trained agent available; set aside "
                + "; ".join(self._block_text(b) for b in self.blocked_by)
            )
        elif not self.eligible:
            out.extend(self._block_text(b) for b in self.blocked_by)
        if agent is not None:
            if agent.crisis_trained and self.ctx is not None and self.ctx.preferred_crisis:
                out.append("crisis-trained")
            if self.ctx is not None and self.ctx.preferred_tier:
                out.append(agent.tier)
        if state is not None:
            out.append(f"{state.exposure_minutes:.0f} min exposure")
            if self.idle_s is not None:
                out.append(f"idle {self.idle_s / 60:.0f} min")
        return tuple(out)

    def _block_text(self, code: str) -> str:
        state = self.state
        if code == "cooldown" and state is not None and state.cooldown_until is not None:
            return f"cool-down (routine calls only) until {state.cooldown_until.strftime('%H:%M')}"
        if code == "break" and state is not None and state.break_until is not None:
            return f"break after a critical call until {state.break_until.strftime('%H:%M')}"
        if code == "consecutive_high" and state is not None:
            return f"{state.consecutive_high} high-intensity calls in a row"
        if code == "exposure_budget" and state is not None:
            budget = self.ctx.budget_minutes if self.ctx is not None else 0.0
            spent = f"{state.exposure_minutes:.0f} of {budget:.0f} min"
            trained = self.agent is not None and self.agent.crisis_trained
            if trained and self.ctx is not None and self.ctx.keeps_crisis_room:
                return f"exposure budget has no room for this call and a crisis call after it ({spent})"
            return f"exposure budget has no room for this call ({spent})"
        if code == "skills" and self.ctx is not None and self.agent is not None:
            return "lacks skill(s): " + ", ".join(sorted(self.ctx.needed - self.agent.skills))
        if code == "language" and self.ctx is not None:
            return f"does not speak {self.ctx.language}"
        return _BLOCK_TEXT.get(code, code)


_BLOCK_TEXT = {
    "no_state": "no state reported",
    "unavailable": "not available",
    "off_shift": "off shift",
    "need_break": "asked for a break",
    "crisis_hold": "held for a crisis-trained agent",
    "reserved": "kept free for crisis calls",
    "rotation": "rotation: well above the floor's exposure, lighter calls first",
}


@dataclass(frozen=True, slots=True)
class Assignment:
    """A routing decision: ``agent_id`` is None when no agent may take the call now."""

    call_id: str
    agent_id: str | None
    reason: str


# -- calls ---------------------------------------------------------------------------------------------


def intensity_of(call: WaitingCall, policy: RoutingPolicy) -> Intensity:
    """The call's intensity for the wellbeing ledger: imminent risk is a crisis, high risk is high."""
    if call.risk == "imminent":
        return "crisis"
    if call.risk == "high":
        return "high"
    if call.risk == "moderate" or call.distress >= policy.distressed_at:
        return "distressed"
    return "routine"


def _key(call: WaitingCall, now: datetime, policy: RoutingPolicy) -> tuple[int, float, float, float]:
    waited = (now - call.waiting_since).total_seconds()
    if waited < 0.0:
        waited = 0.0
    steps = (
        policy.risk_steps.get(call.risk, 0.0)  # type: ignore[arg-type]  # high/imminent: 0 (they have bands)
        + call.distress * policy.distress_steps
        + waited / policy.ageing_s_per_step
    )
    return (_BAND.get(call.risk, 0), steps, call.distress, waited)


def priority(call: WaitingCall, now: datetime, policy: RoutingPolicy) -> Priority:
    """The call's place in line (see the module docstring)."""
    return Priority(*_key(call, now, policy))


def by_priority(calls: Sequence[WaitingCall], now: datetime, policy: RoutingPolicy) -> list[WaitingCall]:
    """The calls, first to be answered first (ties: call id)."""
    keyed = [(_key(c, now, policy), c) for c in calls]
    keyed.sort(key=lambda kc: (-kc[0][0], -kc[0][1], -kc[0][2], -kc[0][3], kc[1].call_id))
    return [c for _, c in keyed]


def next_call(calls: Sequence[WaitingCall], now: datetime, policy: RoutingPolicy) -> WaitingCall | None:
    """The highest-priority call (one pass, no sort)."""
    best: WaitingCall | None = None
    best_key: tuple[int, float, float, float] | None = None
    for call in calls:
        key = _key(call, now, policy)
        if (
            best is None
            or best_key is None
            or key > best_key
            or (key == best_key and call.call_id < best.call_id)
        ):
            best, best_key = call, key
    return best


def offer_callback(
    call: WaitingCall, now: datetime, policy: RoutingPolicy, expected_wait_s: float | None = None
) -> bool:
    """Whether to offer this caller a callback (never a call with any risk or distress).

    A calm call with no risk that has waited, or is expected to wait, at least ``callback_after_s``.
    """
    if call.risk != "none" or call.distress >= policy.distressed_at:
        return False
    waited = (now - call.waiting_since).total_seconds()
    return max(waited, expected_wait_s or 0.0) >= policy.callback_after_s


# -- agents --------------------------------------------------------------------------------------------


def _on_shift(agent: Agent, at: time) -> bool:
    start, end = agent.shift_start, agent.shift_end
    if start is None or end is None:
        return True
    return start <= at < end if start <= end else at >= start or at < end


def rank_agents(
    call: WaitingCall,
    agents: Sequence[Agent],
    states: Mapping[str, AgentState],
    config: RoutingConfig,
    now: datetime,
    *,
    exclude: Container[str] = (),
) -> list[Candidate]:
    """Every agent (but ``exclude``) as a candidate for ``call``: eligible first, best first (ties: id)."""
    policy, wellbeing = config.policy, config.wellbeing
    queue = config.queue(call.queue)
    needed = call.skills_needed | queue.skills_required if queue is not None else call.skills_needed
    intensity = intensity_of(call, policy)
    high_call = intensity in _HIGH_INTENSITY
    routine_call = intensity == "routine"
    crisis_pref = call.risk in policy.crisis_trained_for
    tier_minutes = policy.experience_minutes
    reserve = policy.keep_crisis_trained_free
    tier_pref = high_call or call.distress >= policy.prefer_senior_at
    budget = wellbeing.exposure_budget_minutes
    max_high = wellbeing.max_consecutive_high
    at = now.astimezone(UTC).time()
    language = call.language

    call_load = wellbeing.intensity_weights[intensity] * wellbeing.allowance_minutes[intensity]
    trained_load = call_load
    keeps_room = intensity in wellbeing.keep_crisis_room_for and intensity != "crisis"
    if keeps_room:
        trained_load += wellbeing.intensity_weights["crisis"] * wellbeing.allowance_minutes["crisis"]
    rotate_above = None
    if intensity == "distressed" and states:
        rotate_above = (
            sum(s.exposure_minutes for s in states.values()) / len(states) + wellbeing.rotation_margin_minutes
        )
    ctx = CallContext(needed, language, crisis_pref, tier_pref, budget, keeps_room)
    any_shift = any(a.shift_start is not None for a in agents)
    out: list[Candidate] = []
    append = out.append
    for agent in agents:
        aid = agent.id
        if aid in exclude:
            continue
        state = states.get(aid)
        blocks: tuple[str, ...] = ()
        if state is None:
            blocks = ("no_state",)
        elif not state.available:
            blocks = ("unavailable",)
        if any_shift and not _on_shift(agent, at):
            blocks += ("off_shift",)
        if not needed <= agent.skills:
            blocks += ("skills",)
        if language not in agent.languages:
            blocks += ("language",)
        idle = None
        exposure = 0.0
        if state is not None:
            if state.break_until is not None and state.break_until > now:
                blocks += ("break",)
            cooldown = state.cooldown_until
            if not routine_call and cooldown is not None and cooldown > now:
                blocks += ("cooldown",)
            if state.need_break:
                blocks += ("need_break",)
            if high_call and state.consecutive_high >= max_high:
                blocks += ("consecutive_high",)
            exposure = state.exposure_minutes
            if not routine_call:
                if exposure + (trained_load if agent.crisis_trained else call_load) > budget:
                    blocks += ("exposure_budget",)
                elif rotate_above is not None and exposure > rotate_above:
                    blocks += ("rotation",)
            ended = state.last_call_ended_at
            if ended is not None:
                idle = (now - ended).total_seconds()
        # Scores are in exposure-minute equivalents: the least exposed agent takes the heavy call, the
        # most exposed one the light call (rotation), experience and idle time add minutes.
        score = min(exposure, budget) if routine_call else -exposure
        if idle is None or idle >= _IDLE_CAP_S:
            score += _IDLE_CAP_S / 60
        elif idle > 0:
            score += idle / 60
        if crisis_pref and agent.crisis_trained:
            score += _CRISIS_BONUS
        if tier_pref:
            score += tier_minutes * TIER_RANK[agent.tier]
        append(Candidate(aid, score, not blocks, blocks, False, agent, state, idle, ctx))
    if reserve and not crisis_pref:
        # Crisis-trained agents carry the crisis calls: other heavy calls go to them last, and while few
        # of them are free, calls below high risk wait a little rather than take one.
        free_trained = sum(1 for c in out if c.eligible and c.agent is not None and c.agent.crisis_trained)
        scarce = free_trained <= reserve
        if scarce or not routine_call:
            strict = (
                scarce
                and not high_call
                and (now - call.waiting_since).total_seconds() < policy.reserve_max_wait_s
            )
            out = [_reserved(c, strict) if c.agent is not None and c.agent.crisis_trained else c for c in out]
    if intensity == "crisis" and not any(c.eligible and c.agent and c.agent.crisis_trained for c in out):
        out = [_override(c) if _overridable(c) else c for c in out]
        waited = (now - call.waiting_since).total_seconds()
        if waited < policy.hold_for_crisis_trained_s and not any(
            c.eligible and c.agent and c.agent.crisis_trained for c in out
        ):
            out = [_hold(c) if c.eligible else c for c in out]
    out.sort(key=lambda c: (not c.eligible, -c.score, c.agent_id))
    return out


def _overridable(c: Candidate) -> bool:
    return (
        not c.eligible
        and c.agent is not None
        and c.agent.crisis_trained
        and not _NEVER_OVERRIDDEN.intersection(c.blocked_by)
    )


def _reserved(c: Candidate, strict: bool) -> Candidate:
    if strict and c.eligible:
        return replace(
            c, eligible=False, blocked_by=(*c.blocked_by, "reserved"), score=c.score - _RESERVE_PENALTY
        )
    return replace(c, score=c.score - _RESERVE_PENALTY)


def _hold(c: Candidate) -> Candidate:
    return replace(c, eligible=False, blocked_by=(*c.blocked_by, "crisis_hold"))


def _override(c: Candidate) -> Candidate:
    penalty = _OVERRIDE_PENALTY * len(c.blocked_by)
    return replace(c, eligible=True, override=True, score=c.score - penalty)


def explain(call_id: str, ranked: Sequence[Candidate], *, skipped: int = 3) -> Assignment:
    """The choice among ``ranked`` (the first eligible) with its reason, naming agents set aside."""
    choice = next((c for c in ranked if c.eligible), None)
    passed = [c for c in ranked if c.blocked_by and not c.eligible and _QUIET_BLOCKS.isdisjoint(c.blocked_by)]
    return assignment(call_id, choice, passed[:skipped], len(passed), len(ranked))


def assignment(
    call_id: str, choice: Candidate | None, named: Sequence[Candidate], passed: int, considered: int
) -> Assignment:
    """The decision in words.

    The choice's reasons, then the agents ``named`` as set aside for wellbeing (best first), then how many
    more (``passed`` in all) were; ``considered`` agents were ranked.
    """
    notes = [f"agent {c.agent_id} skipped: {'; '.join(c.reasons[: len(c.blocked_by)])}" for c in named]
    if passed > len(named):
        notes.append(f"{passed - len(named)} more skipped for wellbeing")
    if choice is None:
        head = "no eligible agent" + (f" among {considered}" if considered else "")
        return Assignment(call_id, None, "; ".join([head, *notes]))
    return Assignment(call_id, choice.agent_id, "; ".join([", ".join(choice.reasons), *notes]))


def assign(
    waiting_calls: Sequence[WaitingCall],
    agents: Sequence[Agent],
    states: Mapping[str, AgentState],
    config: RoutingConfig,
    now: datetime,
) -> list[Assignment]:
    """Greedy: the highest-priority call takes its best agent, then the next call, and so on."""
    taken: set[str] = set()
    out: list[Assignment] = []
    for call in by_priority(waiting_calls, now, config.policy):
        decision = explain(call.call_id, rank_agents(call, agents, states, config, now, exclude=taken))
        if decision.agent_id is not None:
            taken.add(decision.agent_id)
        out.append(decision)
    return out


# -- the wellbeing ledger ------------------------------------------------------------------------------


def ledger_after_call(
    state: AgentState, intensity: Intensity, minutes: float, ended_at: datetime, policy: WellbeingPolicy
) -> AgentState:
    """The agent's state after a call: weighted exposure, high-intensity streak, any break and cool-down."""
    pause, cooldown = state.break_until, state.cooldown_until
    if intensity in policy.critical:
        pause = _later(pause, ended_at + timedelta(seconds=policy.break_after_critical_s))
        cooldown = _later(cooldown, ended_at + timedelta(seconds=policy.cooldown_after_critical_s))
    return replace(
        state,
        exposure_minutes=round(
            state.exposure_minutes + max(0.0, minutes) * policy.intensity_weights[intensity], 3
        ),
        consecutive_high=state.consecutive_high + 1 if intensity in _HIGH_INTENSITY else 0,
        break_until=pause,
        cooldown_until=cooldown,
        last_call_ended_at=ended_at,
    )


def _later(current: datetime | None, until: datetime) -> datetime:
    return until if current is None or until > current else current


def needs_debrief(intensity: Intensity, policy: WellbeingPolicy | None = None) -> bool:
    """Whether a call of this intensity needs a debrief task (critical calls: crisis by default)."""
    return intensity in (policy.critical if policy is not None else frozenset({"crisis"}))
