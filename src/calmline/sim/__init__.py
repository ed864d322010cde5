"""The call simulator: scenario files, a player that replays them as live calls, and the demo."""

from calmline.sim.player import PlayerError, PlayReport, play_http, play_inprocess
from calmline.sim.scenario import (
    Scenario,
    ScenarioError,
    builtin_ids,
    builtin_scenarios,
    load_builtin,
    load_scenario,
    resolve,
    to_events,
)

__all__ = [
    "PlayReport",
    "PlayerError",
    "Scenario",
    "ScenarioError",
    "builtin_ids",
    "builtin_scenarios",
    "load_builtin",
    "load_scenario",
    "play_http",
    "play_inprocess",
    "resolve",
    "run_demo",
    "simulate",
    "to_events",
]


def __getattr__(name: str) -> object:
    # run_demo and simulate pull in the store, the server and rich: import them only when asked for.
    if name == "run_demo":
        from calmline.sim.demo import run_demo

        return run_demo
    if name == "simulate":
        from calmline.sim.simulate import simulate

        return simulate
    raise AttributeError(name)
