"""Risk-aware routing and agent wellbeing (issue 6): config as data (``model``, ``loader``), a pure core."""

from calmline.routing.core import (
    AgentState,
    Assignment,
    Candidate,
    Priority,
    WaitingCall,
    assign,
    by_priority,
    explain,
    intensity_of,
    ledger_after_call,
    needs_debrief,
    next_call,
    offer_callback,
    priority,
    rank_agents,
)
from calmline.routing.loader import RoutingConfigError, load_routing_config, parse_routing_config
from calmline.routing.model import Agent, Queue, RoutingConfig, RoutingPolicy, WellbeingPolicy

__all__ = [
    "Agent",
    "AgentState",
    "Assignment",
    "Candidate",
    "Priority",
    "Queue",
    "RoutingConfig",
    "RoutingConfigError",
    "RoutingPolicy",
    "WaitingCall",
    "WellbeingPolicy",
    "assign",
    "by_priority",
    "explain",
    "intensity_of",
    "ledger_after_call",
    "load_routing_config",
    "needs_debrief",
    "next_call",
    "offer_callback",
    "parse_routing_config",
    "priority",
    "rank_agents",
]
