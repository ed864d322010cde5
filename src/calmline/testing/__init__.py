"""The shipped test harness: run a transcript through the pure call engine and look at what it made of it.

No store, no server, no clock reads: the script becomes input events, the engine folds them, and you get
back the findings, alerts, every output and the final call state. Clinicians can check a transcript in a
few lines::

    from calmline.testing import run_call

    run = run_call([("caller", "I have a bottle of pills and I'm going to take them all tonight")])
    assert run.alert_kinds == ("suicide_risk",)

``script`` is a :class:`~calmline.sim.scenario.Scenario`, a path to a scenario YAML file, the id of a shipped
scenario, or a list of ``(speaker, text)`` pairs (timed automatically, a little over speaking pace).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from calmline.analysis.base import AnalyzerRegistry
from calmline.clock import Clock, FakeClock
from calmline.engine import CallEngine, CallState
from calmline.events import (
    SEVERITY_RANK,
    AlertEscalated,
    AlertRaised,
    CallInput,
    ChecklistStepChanged,
    Finding,
    FindingEmitted,
    OutputEvent,
    ProtocolActivated,
)
from calmline.sim.scenario import Expectation, Scenario, ScenarioTurn, resolve, schedule

Script = Scenario | str | Path | Sequence[tuple[str, str]]

#: Seconds per word used to time ``(speaker, text)`` scripts, and the pause between turns.
SECONDS_PER_WORD = 0.4
PAUSE_S = 0.5


@dataclass(frozen=True)
class CallRun:
    """Everything the engine produced for one scripted call."""

    call_id: str
    scenario: Scenario
    inputs: tuple[CallInput, ...]
    outputs: tuple[OutputEvent, ...]
    state: CallState

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Every finding emitted, in order (signals such as emotion and distress are not findings)."""
        return tuple(o.finding for o in self.outputs if isinstance(o, FindingEmitted))

    @property
    def alerts(self) -> tuple[AlertRaised, ...]:
        """Every alert raised, in order."""
        return tuple(o for o in self.outputs if isinstance(o, AlertRaised))

    @property
    def alert_kinds(self) -> tuple[str, ...]:
        """The kinds of the alerts raised, in order."""
        return tuple(a.kind for a in self.alerts)

    @property
    def alert_severities(self) -> dict[str, str]:
        """Alert kind to the highest severity it reached (raised or escalated)."""
        kinds = {a.alert_id: a.kind for a in self.alerts}
        best: dict[str, str] = {}
        for out in self.outputs:
            if isinstance(out, AlertRaised | AlertEscalated) and out.alert_id in kinds:
                kind = kinds[out.alert_id]
                if kind not in best or SEVERITY_RANK[out.severity] > SEVERITY_RANK[best[kind]]:
                    best[kind] = out.severity
        return best

    def finding_types(self, *, present_only: bool = False) -> tuple[str, ...]:
        """The distinct finding types emitted, in first-seen order."""
        seen = dict.fromkeys(f.type for f in self.findings if f.is_present or not present_only)
        return tuple(seen)

    @property
    def protocols(self) -> dict[str, tuple[str, ...]]:
        """Activated protocol id to the ids of its steps completed, in order."""
        done: dict[str, tuple[str, ...]] = {}
        for out in self.outputs:
            if isinstance(out, ProtocolActivated):
                done.setdefault(out.protocol_id, ())
            elif isinstance(out, ChecklistStepChanged) and out.status == "done":
                done[out.protocol_id] = (*done.get(out.protocol_id, ()), out.step_id)
        return done

    def unmet(self, *, protocols: bool = True) -> list[str]:
        """The scenario's ``expect`` entries this run does not satisfy (empty when all are met).

        ``protocols=False`` leaves protocol expectations out (for analyzers other than the shipped ones).
        """
        return self.scenario.expect.unmet(
            self.alert_severities, self.finding_types(), self.protocols if protocols else None
        )


def script_to_scenario(turns: Sequence[tuple[str, str]], scenario_id: str = "script") -> Scenario:
    """Wrap ``(speaker, text)`` pairs in a scenario, timing each turn by its word count."""
    timed: list[ScenarioTurn] = []
    at = PAUSE_S
    for speaker, text in turns:
        duration = round(max(1.0, SECONDS_PER_WORD * len(text.split())), 2)
        timed.append(
            ScenarioTurn.model_validate({"speaker": speaker, "text": text, "at": at, "duration": duration})
        )
        at = round(at + duration + PAUSE_S, 2)
    return Scenario(
        id=scenario_id,
        title="Ad-hoc script",
        description="Built by calmline.testing.run_call from (speaker, text) pairs.",
        turns=tuple(timed),
        end_at=at,
        expect=Expectation(exact=False),  # an ad-hoc script states no expectations
    )


def run_call(
    script: Script,
    *,
    clock: Clock | None = None,
    registry: AnalyzerRegistry | None = None,
    engine: CallEngine | None = None,
    call_id: str = "test-call",
) -> CallRun:
    """Run ``script`` through the pure engine and return what it produced.

    Args:
        script: a scenario, a scenario file path or shipped id, or ``(speaker, text)`` pairs.
        clock: where the call's start time comes from (a ``FakeClock`` by default, so runs are
            reproducible); a ``FakeClock`` is advanced to the call's end.
        registry: the analyzers to use; the shipped ones when omitted.
        engine: a ready engine (overrides ``registry``), to share one across many runs.
        call_id: the id the call is given.
    """
    scenario = _scenario(script)
    clock = clock or FakeClock()
    if engine is None:
        from calmline.runtime import build_engine  # the composition root; imported late to stay light

        engine = build_engine(registry)
    start: datetime = clock.now()
    state = engine.initial(call_id)
    inputs: list[CallInput] = []
    outputs: list[OutputEvent] = []
    elapsed = 0.0
    for offset, event in schedule(scenario, call_id, start):
        if isinstance(clock, FakeClock) and offset > elapsed:
            clock.advance(offset - elapsed)
            elapsed = offset
        state, produced = engine.step(state, event)
        inputs.append(event)
        outputs.extend(produced)
    return CallRun(call_id, scenario, tuple(inputs), tuple(outputs), state)


def _scenario(script: Script) -> Scenario:
    if isinstance(script, Scenario | str | Path):
        return resolve(script)
    return script_to_scenario(script)


__all__ = ["CallRun", "Script", "run_call", "script_to_scenario"]
