"""The routing core at ACD speed: a waiting-call queue and a numpy index of the floor.

``core.rank_agents`` scores every agent with Python objects (clear, and what the assignment endpoint
returns in full); an ACD taking a decision every time a call arrives or an agent frees up needs only the
choice and its reason. Two structures give the same answers much faster (``calmline bench routing``):

* :class:`CallQueue` — the waiting calls in a heap. Within a band, a call's priority steps grow by the
  same ``1 / ageing_s_per_step`` per second for every call, so their order does not change as time passes;
  the key is fixed when the call joins (``static_key``), and the next call is the heap's top.
* :class:`FloorIndex` — the agents and their states as numpy arrays; a decision is a few vector operations
  over the whole floor, and Python objects are built only for the choice and the agents named in its reason.

Both follow ``core`` exactly (the same blocks, scores, overrides, holds and ties; a test compares them on
random floors), so the pure core stays the specification.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, time

import numpy as np

from calmline.routing.core import (
    _BAND,
    _CRISIS_BONUS,
    _HIGH_INTENSITY,
    _IDLE_CAP_S,
    _OVERRIDE_PENALTY,
    _RESERVE_PENALTY,
    AgentState,
    Assignment,
    CallContext,
    Candidate,
    WaitingCall,
    assignment,
    intensity_of,
)
from calmline.routing.model import TIER_RANK, Agent, RoutingConfig, RoutingPolicy

_US = 1_000_000
_NEVER = np.iinfo(np.int64).min
# Wellbeing block columns, in the order core.rank_agents adds them.
_WELLBEING = ("break", "cooldown", "need_break", "consecutive_high", "exposure_budget", "rotation")


def static_key(call: WaitingCall, policy: RoutingPolicy) -> tuple[int, float, float, float, str]:
    """A key that orders waiting calls as ``core.priority`` does at any later time (smallest first)."""
    since = call.waiting_since.timestamp()
    steps = policy.risk_steps.get(call.risk, 0.0) + call.distress * policy.distress_steps  # type: ignore[arg-type]
    return (
        -_BAND.get(call.risk, 0),
        -(steps - since / policy.ageing_s_per_step),
        -call.distress,
        since,
        call.call_id,
    )


class CallQueue:
    """Waiting calls, highest priority first (ties: longest waiting, then call id)."""

    def __init__(self, policy: RoutingPolicy, calls: Iterable[WaitingCall] = ()) -> None:
        """An empty queue (or one holding ``calls``) ordered by ``policy``."""
        self.policy = policy
        self._heap: list[tuple[tuple[int, float, float, float, str], WaitingCall]] = []
        self._gone: set[str] = set()
        self._live: set[str] = set()
        for call in calls:
            self.push(call)

    def __len__(self) -> int:
        """How many calls are waiting."""
        return len(self._live)

    def push(self, call: WaitingCall) -> None:
        """A call joins the queue."""
        self._gone.discard(call.call_id)
        self._live.add(call.call_id)
        heapq.heappush(self._heap, (static_key(call, self.policy), call))

    def remove(self, call_id: str) -> None:
        """A call leaves (answered, abandoned, called back)."""
        if call_id in self._live:
            self._live.discard(call_id)
            self._gone.add(call_id)

    def peek(self) -> WaitingCall | None:
        """The call to answer next, or None."""
        heap = self._heap
        while heap and heap[0][1].call_id in self._gone:
            self._gone.discard(heapq.heappop(heap)[1].call_id)
        return heap[0][1] if heap else None


class FloorIndex:
    """The agents of a floor and their current states, as arrays, for fast decisions."""

    def __init__(self, agents: Sequence[Agent], config: RoutingConfig) -> None:
        """Index ``agents``; their states come with ``set_state`` (an agent without one is never chosen)."""
        self.config = config
        self.agents = list(agents)
        self.ids = [a.id for a in self.agents]
        self.pos = {aid: i for i, aid in enumerate(self.ids)}
        n = len(self.agents)
        skills = sorted({s for a in self.agents for s in a.skills})
        langs = sorted({lang for a in self.agents for lang in a.languages})
        self._skill_bit = {s: 1 << i for i, s in enumerate(skills)}
        self._lang_bit = {lang: 1 << i for i, lang in enumerate(langs)}
        if len(skills) > 62 or len(langs) > 62:
            raise ValueError("the fast index handles at most 62 distinct skills and 62 languages")
        self.skills = np.array([self._mask(a.skills, self._skill_bit) for a in self.agents], dtype=np.int64)
        self.langs = np.array([self._mask(a.languages, self._lang_bit) for a in self.agents], dtype=np.int64)
        self.trained = np.array([a.crisis_trained for a in self.agents], dtype=bool)
        self.tier = np.array([float(TIER_RANK[a.tier]) for a in self.agents])
        self.any_shift = any(a.shift_start is not None for a in self.agents)
        self.shift_start = np.array([_secs(a.shift_start) for a in self.agents])
        self.shift_end = np.array([_secs(a.shift_end) for a in self.agents])
        self.id_rank = np.empty(n, dtype=np.int64)
        self.id_rank[np.argsort(np.array(self.ids, dtype=object), kind="stable")] = np.arange(n)
        # states
        self.states: dict[str, AgentState] = {}
        self.has_state = np.zeros(n, dtype=bool)
        self.available = np.zeros(n, dtype=bool)
        self.need_break = np.zeros(n, dtype=bool)
        self.streak = np.zeros(n, dtype=np.int64)
        self.break_until = np.full(n, _NEVER, dtype=np.int64)
        self.cooldown_until = np.full(n, _NEVER, dtype=np.int64)
        self.exposure = np.zeros(n)
        self.ended = np.full(n, _NEVER, dtype=np.int64)

    @staticmethod
    def _mask(values: Iterable[str], bits: Mapping[str, int]) -> int:
        out = 0
        for v in values:
            out |= bits.get(v, 0)
        return out

    def set_state(self, state: AgentState) -> None:
        """Record an agent's current state (after every assignment, call end, status change)."""
        i = self.pos[state.agent_id]
        self.states[state.agent_id] = state
        self.has_state[i] = True
        self.available[i] = state.available
        self.need_break[i] = state.need_break
        self.streak[i] = state.consecutive_high
        self.break_until[i] = _us(state.break_until)
        self.cooldown_until[i] = _us(state.cooldown_until)
        self.exposure[i] = state.exposure_minutes
        self.ended[i] = _us(state.last_call_ended_at)

    def set_states(self, states: Mapping[str, AgentState]) -> None:
        """Record many states at once."""
        for state in states.values():
            if state.agent_id in self.pos:
                self.set_state(state)

    def decide(self, call: WaitingCall, now: datetime, *, skipped: int = 3) -> Assignment:
        """The same decision as ``explain(call.call_id, rank_agents(call, agents, states, config, now))``."""
        config = self.config
        policy, wellbeing = config.policy, config.wellbeing
        queue = config.queue(call.queue)
        needed = call.skills_needed | queue.skills_required if queue is not None else call.skills_needed
        intensity = intensity_of(call, policy)
        high_call = intensity in _HIGH_INTENSITY
        routine_call = intensity == "routine"
        crisis_pref = call.risk in policy.crisis_trained_for
        tier_pref = high_call or call.distress >= policy.prefer_senior_at
        budget = wellbeing.exposure_budget_minutes
        now_us = _us(now)
        n = len(self.ids)
        keeps_room = intensity in wellbeing.keep_crisis_room_for and intensity != "crisis"
        ctx = CallContext(needed, call.language, crisis_pref, tier_pref, budget, keeps_room)

        # hard blocks, in core's order: no_state | unavailable, off_shift, skills, language
        no_state = ~self.has_state
        unavailable = self.has_state & ~self.available
        if self.any_shift:
            at = _secs(now.astimezone(UTC).time())
            start, end = self.shift_start, self.shift_end
            with np.errstate(invalid="ignore"):
                on = np.where(start <= end, (start <= at) & (at < end), (at >= start) | (at < end))
            off_shift = ~np.isnan(start) & ~on
        else:
            off_shift = np.zeros(n, dtype=bool)
        need_bits = 0
        unknown_skill = False
        for s in needed:
            bit = self._skill_bit.get(s)
            if bit is None:
                unknown_skill = True
            else:
                need_bits |= bit
        lacks = (self.skills & need_bits) != need_bits
        if unknown_skill:
            lacks = np.ones(n, dtype=bool)
        lang_bit = self._lang_bit.get(call.language, 0)
        no_lang = (self.langs & lang_bit) == 0
        hard = no_state | unavailable | off_shift | lacks | no_lang

        # wellbeing blocks (only for agents with a state)
        st = self.has_state
        exposure = self.exposure
        blocks = {
            "break": st & (self.break_until > now_us),
            "cooldown": st & (self.cooldown_until > now_us) if not routine_call else np.zeros(n, dtype=bool),
            "need_break": st & self.need_break,
            "consecutive_high": st & (self.streak >= wellbeing.max_consecutive_high)
            if high_call
            else np.zeros(n, dtype=bool),
        }
        if not routine_call:
            load = wellbeing.intensity_weights[intensity] * wellbeing.allowance_minutes[intensity]
            if keeps_room:
                crisis_load = wellbeing.intensity_weights["crisis"] * wellbeing.allowance_minutes["crisis"]
                over = st & (exposure + np.where(self.trained, load + crisis_load, load) > budget)
            else:
                over = st & (exposure + load > budget)
            blocks["exposure_budget"] = over
            if intensity == "distressed" and st.any():
                above = float(exposure[st].sum()) / int(st.sum()) + wellbeing.rotation_margin_minutes
                blocks["rotation"] = st & ~over & (exposure > above)
            else:
                blocks["rotation"] = np.zeros(n, dtype=bool)
        else:
            blocks["exposure_budget"] = blocks["rotation"] = np.zeros(n, dtype=bool)
        soft = np.zeros(n, dtype=bool)
        n_blocks = np.zeros(n, dtype=np.int64)
        for name in _WELLBEING:
            soft |= blocks[name]
            n_blocks += blocks[name]

        # scores, added in core's order
        score = np.minimum(exposure, budget) if routine_call else -exposure
        has_ended = self.ended != _NEVER
        idle_s = np.where(has_ended, (now_us - self.ended) / _US, np.inf)
        idle_pts = np.where(idle_s >= _IDLE_CAP_S, _IDLE_CAP_S / 60, np.where(idle_s > 0, idle_s / 60, 0.0))
        idle_pts = np.where(st, idle_pts, _IDLE_CAP_S / 60)
        score = score + idle_pts
        if crisis_pref:
            score = score + np.where(self.trained, _CRISIS_BONUS, 0.0)
        if tier_pref:
            score = score + policy.experience_minutes * self.tier
        eligible = ~(hard | soft)
        reserved = np.zeros(n, dtype=bool)
        override = np.zeros(n, dtype=bool)
        hold = np.zeros(n, dtype=bool)

        reserve = policy.keep_crisis_trained_free
        waited = (now - call.waiting_since).total_seconds()
        if reserve and not crisis_pref:
            scarce = int((eligible & self.trained).sum()) <= reserve
            if scarce or not routine_call:
                strict = scarce and not high_call and waited < policy.reserve_max_wait_s
                score = score - np.where(self.trained, _RESERVE_PENALTY, 0.0)
                if strict:
                    reserved = eligible & self.trained
                    eligible = eligible & ~reserved
                    n_blocks = n_blocks + reserved
        if intensity == "crisis" and not (eligible & self.trained).any():
            never = hard | blocks["exposure_budget"]
            override = ~eligible & self.trained & ~never
            score = score - np.where(override, _OVERRIDE_PENALTY * n_blocks, 0.0)
            eligible = eligible | override
            if waited < policy.hold_for_crisis_trained_s and not (eligible & self.trained).any():
                hold = eligible.copy()
                eligible = np.zeros(n, dtype=bool)

        choice = None
        if eligible.any():
            best = score[eligible].max()
            tied = np.flatnonzero(eligible & (score == best))
            i = int(tied[np.argmin(self.id_rank[tied])])
            choice = self._candidate(i, float(score[i]), True, bool(override[i]), blocks, ctx, now)
        passed = soft & ~eligible & ~hard & ~reserved & ~hold & ~override
        passed_idx = np.flatnonzero(passed)
        named: list[Candidate] = []
        if passed_idx.size:
            order = np.lexsort((self.id_rank[passed_idx], -score[passed_idx]))[:skipped]
            for j in passed_idx[order]:
                named.append(self._candidate(int(j), float(score[j]), False, False, blocks, ctx, now))
        return assignment(call.call_id, choice, named, int(passed_idx.size), n)

    def _candidate(
        self,
        i: int,
        score: float,
        eligible: bool,
        override: bool,
        blocks: Mapping[str, np.ndarray],
        ctx: CallContext,
        now: datetime,
    ) -> Candidate:
        aid = self.ids[i]
        names = tuple(b for b in _WELLBEING if blocks[b][i]) if override or not eligible else ()
        state = self.states.get(aid)
        idle = None
        if state is not None and state.last_call_ended_at is not None:
            idle = (now - state.last_call_ended_at).total_seconds()
        return Candidate(aid, score, eligible, names, override, self.agents[i], state, idle, ctx)


def _us(moment: datetime | None) -> int:
    if moment is None:
        return int(_NEVER)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * _US + delta.microseconds


def _secs(moment: time | None) -> float:
    if moment is None:
        return float("nan")
    return moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / _US


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
