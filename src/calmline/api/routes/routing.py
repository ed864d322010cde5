"""The assignment endpoint: advice for an external ACD (issue 6).

The telephony platform stays the source of truth: it sends one waiting call and its candidate agents (with
their current state) inline; calmline answers with every candidate ranked, the choice and the reason. Nothing
is stored; the routing and wellbeing policies are the shipped ``resources/routing/default.yaml``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from calmline.api.auth import Principal
from calmline.api.deps import ROUTING_ROLES, ClockDep, ServiceDep, require_roles
from calmline.routing.core import (
    AgentState,
    WaitingCall,
    explain,
    intensity_of,
    offer_callback,
    priority,
    rank_agents,
)
from calmline.routing.loader import default_routing_config
from calmline.routing.model import Agent, RiskTier
from calmline.routing_desk import RoutingDesk
from calmline.service import CallService

router = APIRouter(prefix="/api/routing", tags=["routing"])

RoutingClient = Annotated[Principal, Depends(require_roles(*ROUTING_ROLES))]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CallIn(_In):
    call_id: str = Field(min_length=1, max_length=160)
    queue: str = Field(default="general", min_length=1, max_length=64)
    language: str = Field(default="en", min_length=1, max_length=16)
    risk: RiskTier = "none"
    distress: float = Field(default=0.0, ge=0, le=1)
    waiting_since: AwareDatetime
    skills_needed: frozenset[str] = frozenset()


class StateIn(_In):
    available: bool = True
    need_break: bool = False
    consecutive_high: int = Field(default=0, ge=0)
    cooldown_until: AwareDatetime | None = None
    exposure_minutes: float = Field(default=0.0, ge=0)
    last_call_ended_at: AwareDatetime | None = None


class CandidateIn(_In):
    agent: Agent
    state: StateIn = StateIn()


class AssignRequest(_In):
    call: CallIn
    candidates: list[CandidateIn] = Field(max_length=5000)


@router.post("/assign")
def assign_call(body: AssignRequest, _client: RoutingClient, clock: ClockDep) -> dict[str, Any]:
    """Rank the candidates for one waiting call (roles: ingest, admin, supervisor)."""
    config = default_routing_config()
    now: datetime = clock.now()
    call = WaitingCall(**body.call.model_dump())
    agents = [c.agent for c in body.candidates]
    states = {c.agent.id: AgentState(agent_id=c.agent.id, **c.state.model_dump()) for c in body.candidates}
    ranked = rank_agents(call, agents, states, config, now)
    decision = explain(call.call_id, ranked)
    prio = priority(call, now, config.policy)
    return {
        "call_id": call.call_id,
        "config_version": config.version,
        "intensity": intensity_of(call, config.policy),
        "priority": {"band": prio.band, "steps": round(prio.steps, 2), "waited_s": round(prio.waited_s, 1)},
        "ranked": [
            {
                "agent_id": c.agent_id,
                "score": round(c.score, 3),
                "eligible": c.eligible,
                "override": c.override,
                "blocked_by": list(c.blocked_by),
                "reasons": list(c.reasons),
            }
            for c in ranked
        ],
        "choice": decision.agent_id,
        "reason": decision.reason,
        "offer_callback": offer_callback(call, now, config.policy),
    }


# -- calmline's own routing desk: the floor, the agent's own view, breaks and debriefs ----------------------

Supervision = Annotated[Principal, Depends(require_roles("supervisor", "admin"))]
FloorMember = Annotated[Principal, Depends(require_roles("agent", "supervisor", "admin"))]


def _desk(service: CallService) -> RoutingDesk:
    if service.routing_desk is None:
        raise HTTPException(status_code=404, detail="routing is not configured on this server")
    return service.routing_desk


class BreakIn(_In):
    need_break: bool


@router.get("/floor")
def floor(_who: Supervision, service: ServiceDep, clock: ClockDep) -> dict[str, Any]:
    """Every agent with state and wellbeing, calls waiting for an agent, debrief tasks (supervisors)."""
    return _desk(service).floor(clock.now())


@router.get("/me")
def my_wellbeing(who: FloorMember, service: ServiceDep, clock: ClockDep) -> dict[str, Any]:
    """The signed-in agent's own exposure, cool-down, streak and open debriefs (agent id = username)."""
    return _desk(service).agent_view(who.name, clock.now())


@router.post("/agents/{agent_id}/break")
def need_break(
    agent_id: str, body: BreakIn, who: FloorMember, service: ServiceDep, clock: ClockDep
) -> dict[str, Any]:
    """Set or clear "need a break": the agent themself, or a supervisor."""
    if who.name != agent_id and not who.has_any(("supervisor", "admin")):
        raise HTTPException(status_code=403, detail="only the agent themself or a supervisor may do that")
    return _desk(service).set_need_break(agent_id, body.need_break, clock.now())


class AssignIn(_In):
    supervisor: str = Field(min_length=1, max_length=64)


@router.post("/debriefs/{task_id}/assign")
def debrief_assign(task_id: str, body: AssignIn, _who: Supervision, service: ServiceDep) -> dict[str, Any]:
    """Give a debrief task to a supervisor (supervisors)."""
    task = _desk(service).assign_debrief(task_id, body.supervisor)
    if task is None:
        raise HTTPException(status_code=404, detail="no such debrief task")
    return task


@router.post("/debriefs/{task_id}/done")
def debrief_done(task_id: str, who: Supervision, service: ServiceDep, clock: ClockDep) -> dict[str, Any]:
    """Record that a debrief took place (supervisors)."""
    task = _desk(service).complete_debrief(task_id, who.name, clock.now())
    if task is None:
        raise HTTPException(status_code=404, detail="no such debrief task")
    return task
