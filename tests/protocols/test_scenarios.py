"""Every shipped scenario, run through the shipped analyzers and protocols, meets its expectations exactly
(alerts and protocols: an unexpected one fails), and every shipped protocol is driven end to end by one."""

from __future__ import annotations

import pytest

from calmline.engine import CallEngine
from calmline.protocols.loader import load_library
from calmline.runtime import build_engine
from calmline.sim.scenario import builtin_ids, load_builtin, parse_scenario
from calmline.testing import CallRun, run_call


@pytest.fixture(scope="module")
def engine() -> CallEngine:
    return build_engine()


@pytest.fixture(scope="module")
def runs(engine: CallEngine) -> dict[str, CallRun]:
    return {sid: run_call(sid, engine=engine, call_id=sid) for sid in builtin_ids()}


@pytest.mark.parametrize("scenario_id", builtin_ids())
def test_scenario_meets_its_alert_and_protocol_expectations(
    runs: dict[str, CallRun], scenario_id: str
) -> None:
    assert runs[scenario_id].unmet() == []


def test_every_shipped_protocol_is_driven_by_a_scenario(runs: dict[str, CallRun]) -> None:
    expected = {p.id for sid in builtin_ids() for p in load_builtin(sid).expect.protocols}
    shipped = {p.id for p in load_library().protocols}
    assert shipped <= expected, f"protocols without a scenario: {sorted(shipped - expected)}"
    activated = {pid for run in runs.values() for pid in run.protocols}
    assert shipped <= activated


def test_protocol_expectations_report_missing_steps_and_unexpected_protocols() -> None:
    scenario = parse_scenario(
        """
id: t
title: t
description: t
expect:
  protocols:
    - {id: suicide_risk, steps_done: [ask_directly, ask_plan]}
turns:
  - {speaker: caller, at: 0, duration: 1, text: hello}
end_at: 2
"""
    )
    assert scenario.expect.unmet({}, (), {"suicide_risk": ("ask_directly", "ask_plan")}) == []
    assert scenario.expect.unmet({}, (), {"suicide_risk": ("ask_directly",)}) == [
        "protocol suicide_risk: steps not completed: ask_plan"
    ]
    assert scenario.expect.unmet({}, (), {"grieving_caller": ()}) == [
        "expected protocol suicide_risk to activate, it did not",
        "unexpected protocol grieving_caller",
    ]
    assert scenario.expect.unmet({}, (), None) == []  # protocols not checked
