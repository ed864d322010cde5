"""The routing simulator (issue 6): reproducible, comparable policies, the report's targets, CLI and plots."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from calmline.cli import app
from calmline.metrics import gini, percentile
from calmline.routing.simulator import (
    SimConfig,
    build_floor,
    generate_arrivals,
    mean_handle_s,
    simulate_routing,
)

SMALL = SimConfig(agents=12, hours=2, profile=(1.0,), occupancy=0.9)


@pytest.fixture(scope="module")
def small() -> dict[str, object]:
    return simulate_routing(seed=3, days=2, cfg=SMALL).report


def test_same_seed_same_report(small: dict[str, object]) -> None:
    again = simulate_routing(seed=3, days=2, cfg=SMALL).report
    assert json.dumps(again, sort_keys=True) == json.dumps(small, sort_keys=True)
    other = simulate_routing(seed=4, days=2, cfg=SMALL, policies=("fifo",)).report
    assert other["fifo"] != small["fifo"]


def test_every_policy_sees_the_same_calls(small: dict[str, object]) -> None:
    offered = {small[p]["offered"] for p in ("fifo", "skills_priority", "calmline")}  # type: ignore[index]
    assert offered == {small["model"]["calls_offered"]}  # type: ignore[index]
    for policy in ("fifo", "skills_priority", "calmline"):
        figures = small[policy]  # type: ignore[index]
        assert figures["answered"] + figures["called_back"] + figures["abandoned"] == figures["offered"]


def test_only_calmline_makes_callbacks_and_debriefs(small: dict[str, object]) -> None:
    assert small["fifo"]["called_back"] == 0 and small["fifo"]["debrief_tasks"] == 0  # type: ignore[index]
    crisis_answered = small["calmline"]["by_intensity"]["crisis"]["answered"]  # type: ignore[index]
    assert small["calmline"]["debrief_tasks"] == crisis_answered  # type: ignore[index]


def test_targets_are_reported_with_their_bounds(small: dict[str, object]) -> None:
    targets = small["targets"]
    assert set(targets) == {  # type: ignore[arg-type]
        "occupancy_in_range",
        "crisis_and_high_wait_p95_s",
        "crisis_answered_by_crisis_trained",
        "agents_over_budget",
        "exposure_gini_vs_fifo_half",
        "service_level_within_2_points",
        "abandonment_no_worse",
        "crisis_abandonment_no_worse",
    }
    for t in targets.values():  # type: ignore[attr-defined]
        assert set(t) == {"value", "target", "met"}
    assert small["targets_met"] == all(t["met"] for t in targets.values())  # type: ignore[attr-defined]


def test_arrivals_follow_the_offered_load() -> None:
    cfg = SimConfig(agents=20, hours=4, profile=(1.0,), occupancy=0.8)
    floor = build_floor(cfg)
    arrivals = generate_arrivals(cfg, floor, seed=11)
    expected = cfg.occupancy * cfg.agents * cfg.hours * 3600 / mean_handle_s(cfg)
    assert 0.85 * expected < len(arrivals) < 1.15 * expected
    assert arrivals == generate_arrivals(cfg, floor, seed=11)
    assert all(a.at_s < b.at_s for a, b in itertools.pairwise(arrivals))
    kinds = {a.intensity for a in arrivals}
    assert kinds <= {"routine", "distressed", "high", "crisis"} and "routine" in kinds


def test_floor_has_tiers_and_crisis_training_for_the_most_senior() -> None:
    floor = build_floor(SimConfig(agents=10, crisis_trained=0.3))
    assert sum(a.agent.crisis_trained for a in floor) == 3
    assert all(a.agent.tier == "senior" for a in floor if a.agent.crisis_trained)
    assert {a.agent.tier for a in floor} == {"junior", "experienced", "senior"}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("mix", {"routine": 0.5, "distressed": 0.2, "high": 0.2, "crisis": 0.2}, "add up to 1"),
        ("talk_minutes", {"routine": 4.0}, "talk_minutes misses"),
        ("agents", 0, "greater than or equal to 1"),
    ],
)
def test_config_is_validated(field: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SimConfig.model_validate({field: value})


def test_gini_and_percentile() -> None:
    assert gini([5, 5, 5]) == 0.0 and gini([]) == 0.0
    assert gini([0, 0, 0, 12]) == pytest.approx(0.75)
    assert percentile([1, 2, 3, 4], 50) == 2 and percentile([1, 2, 3, 4], 95) == 4
    assert percentile([], 95) is None


def test_cli_prints_the_json_report_and_draws_reproducible_plots(tmp_path: Path) -> None:
    cfg = tmp_path / "sim.yaml"
    cfg.write_text("agents: 8\nhours: 1\nprofile: [1.0]\n", encoding="utf-8")
    runner = CliRunner()
    args = ["simulate", "routing", "--seed", "5", "--days", "1", "--json", "--config", str(cfg)]
    first = runner.invoke(app, [*args, "--plots", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["seed"] == 5 and report["model"]["agents"] == 8 and "targets" in report
    second = runner.invoke(app, [*args, "--plots", str(tmp_path / "b")])
    assert json.loads(second.stdout) == report
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["exposure_per_agent.png", "service_level_by_hour.png", "waits_by_tier.png"]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    table = runner.invoke(app, [*args[:-3], "--config", str(cfg)])
    assert table.exit_code == 0 and "crisis_answered_by_crisis_trained" in table.stdout
