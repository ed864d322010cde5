"""Scenarios: synthetic calls written as YAML, validated by one frozen pydantic model.

A scenario is a short script of caller and agent turns with their timing, plus what calmline is expected to
make of it. The shipped ones live in ``calmline/resources/scenarios/<id>.yaml`` and drive the demo, the
simulator and the end-to-end tests; ``docs/SCENARIOS.md`` describes the format.

Example::

    scenario = load_builtin("chest_pain")
    events = to_events(scenario, "demo-chest_pain-1", datetime(2026, 1, 1, 9, tzinfo=UTC))
    assert (events[0].type, events[-1].type) == ("call.started", "call.ended")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from calmline.events import (
    SEVERITY_RANK,
    CallEnded,
    CallStarted,
    Severity,
    UtteranceReceived,
)
from calmline.events import ExternalCallInput as CallInput

#: Package holding the shipped scenario files.
SCENARIO_PACKAGE = "calmline.resources"
SCENARIO_DIR = "scenarios"


class ScenarioError(ValueError):
    """A scenario file is missing, unreadable or invalid. The message starts with the file's name."""


class ScenarioTurn(BaseModel):
    """One utterance: who spoke, what the speech-to-text produced, and when (seconds from call start)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    speaker: Literal["caller", "agent"]
    text: str = Field(min_length=1, max_length=2_000)
    at: float = Field(ge=0, description="Seconds from the call start when the turn begins.")
    duration: float = Field(gt=0, le=120, description="Seconds the turn lasts.")

    @property
    def end(self) -> float:
        """Seconds from the call start when the turn ends (and its transcript is delivered)."""
        return self.at + self.duration


class AlertExpectation(BaseModel):
    """An alert of ``kind`` must be raised (or escalated) to at least ``min_severity``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str = Field(min_length=1)
    min_severity: Severity = "warning"


class ProtocolExpectation(BaseModel):
    """The protocol ``id`` must activate, and each step in ``steps_done`` be completed from the call."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    steps_done: tuple[str, ...] = ()


class Expectation(BaseModel):
    """What calmline should make of the call; checked by the tests and the headless demo."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alerts: tuple[AlertExpectation, ...] = ()
    no_alerts: bool = False
    #: Finding types that must appear at least once (present or not), e.g. ``guardrail``.
    findings: tuple[str, ...] = ()
    #: Protocols that must activate (with the steps the conversation must complete).
    protocols: tuple[ProtocolExpectation, ...] = ()
    #: When true (the default for scenario files), any alert kind or protocol not listed is a failure.
    exact: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> Expectation:
        if self.no_alerts and self.alerts:
            raise ValueError("no_alerts: true contradicts the listed alerts")
        return self

    def unmet(
        self,
        alerts: Mapping[str, str],
        finding_types: Sequence[str] = (),
        protocols: Mapping[str, Sequence[str]] | None = None,
    ) -> list[str]:
        """The expectations not met by what a call produced.

        ``alerts`` maps kind to highest severity; ``protocols`` maps each activated protocol id to its
        completed steps (``None``: protocols are not checked).
        """
        problems: list[str] = []
        if protocols is not None:
            problems.extend(self._unmet_protocols(protocols))
        if self.no_alerts and alerts:
            problems.append(f"expected no alerts, got {', '.join(sorted(alerts))}")
        for want in self.alerts:
            got = alerts.get(want.kind)
            if got is None:
                problems.append(f"expected a {want.kind} alert, none was raised")
            elif SEVERITY_RANK[got] < SEVERITY_RANK[want.min_severity]:
                problems.append(f"expected {want.kind} at {want.min_severity} or above, got {got}")
        wanted = {want.kind for want in self.alerts}
        if self.exact and not self.no_alerts:
            # Every alert a scenario raises must be expected: an extra one is alert fatigue.
            problems.extend(f"unexpected {kind} alert" for kind in sorted(set(alerts) - wanted))
        for kind in self.findings:
            if kind not in finding_types:
                problems.append(f"expected a {kind} finding, none was emitted")
        return problems

    def _unmet_protocols(self, protocols: Mapping[str, Sequence[str]]) -> list[str]:
        problems: list[str] = []
        for want in self.protocols:
            done = protocols.get(want.id)
            if done is None:
                problems.append(f"expected protocol {want.id} to activate, it did not")
                continue
            missing = [s for s in want.steps_done if s not in done]
            if missing:
                problems.append(f"protocol {want.id}: steps not completed: {', '.join(missing)}")
        if self.exact:
            wanted = {want.id for want in self.protocols}
            problems.extend(f"unexpected protocol {pid}" for pid in sorted(set(protocols) - wanted))
        return problems


class Scenario(BaseModel):
    """A synthetic call: metadata, turns in time order, when it ends, and the expected outcome."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_]{0,62}$")
    title: str = Field(min_length=1, max_length=120)
    description: str = Field(min_length=1)
    queue: str = Field(default="general", min_length=1, max_length=64)
    language: str = Field(default="en", min_length=2, max_length=16)
    reason: str | None = Field(default=None, max_length=256)
    caller_ref: str | None = Field(
        default=None,
        max_length=128,
        description="Pseudonymous caller reference (synthetic): calls sharing one are the same caller.",
    )
    after: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9_]{0,62}$",
        description="Played once this scenario's call has ended (when both are played): a caller rings back.",
    )
    safety_plan: dict[str, list[str]] | None = Field(
        default=None,
        description="A Stanley-Brown safety plan the agent records as the call ends (synthetic).",
    )
    expect: Expectation = Expectation()
    turns: tuple[ScenarioTurn, ...] = Field(min_length=1)
    end_at: float = Field(gt=0, description="Seconds from the call start when the call ends.")

    @model_validator(mode="after")
    def _timeline(self) -> Scenario:
        for i, (before, after) in enumerate(zip(self.turns, self.turns[1:], strict=False), start=1):
            if after.at < before.end:
                raise ValueError(
                    f"turns[{i}] starts at {after.at}s, before turns[{i - 1}] ends at {before.end:g}s "
                    "(turns must not overlap)"
                )
        last = self.turns[-1].end
        if self.end_at < last:
            raise ValueError(f"end_at {self.end_at}s is before the last turn ends at {last:g}s")
        return self


# -- loading ------------------------------------------------------------------------------------------


def parse_scenario(text: str, source: str = "<string>") -> Scenario:
    """Validate YAML ``text``; errors are ``ScenarioError`` naming ``source`` (and the line when known)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = _loc(err["loc"])
            line = _line_of(text, err["loc"])
            where = f"line {line}, {loc}" if line else loc or "scenario"
            lines.append(f"  {where}: {err['msg']}")
        raise ScenarioError(f"{source}: invalid scenario\n" + "\n".join(lines)) from exc


def load_scenario(path: str | Path) -> Scenario:
    """Load one scenario file."""
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return parse_scenario(text, str(path))


def builtin_ids() -> list[str]:
    """The ids of the shipped scenarios, sorted."""
    folder = resources.files(SCENARIO_PACKAGE).joinpath(SCENARIO_DIR)
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_builtin(scenario_id: str) -> Scenario:
    """Load a shipped scenario by id; its ``id`` must match the file name."""
    name = f"{scenario_id}.yaml"
    source = f"{SCENARIO_PACKAGE.replace('.', '/')}/{SCENARIO_DIR}/{name}"
    entry = resources.files(SCENARIO_PACKAGE).joinpath(SCENARIO_DIR).joinpath(name)
    if not entry.is_file():
        known = ", ".join(builtin_ids())
        raise ScenarioError(f"{source}: no scenario {scenario_id!r} (known: {known})")
    scenario = parse_scenario(entry.read_text("utf-8"), source)
    if scenario.id != scenario_id:
        raise ScenarioError(f"{source}: id {scenario.id!r} does not match the file name")
    return scenario


def builtin_scenarios() -> list[Scenario]:
    """Every shipped scenario, in id order."""
    return [load_builtin(sid) for sid in builtin_ids()]


def resolve(ref: str | Path | Scenario) -> Scenario:
    """A scenario from itself, a file path, or a shipped scenario id."""
    if isinstance(ref, Scenario):
        return ref
    path = Path(ref)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return load_scenario(path)
    return load_builtin(str(ref))


def _loc(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(text: str, loc: Sequence[int | str]) -> int | None:
    """The 1-based line of the YAML node at ``loc``, or of its closest existing parent."""
    try:
        node: Any = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:  # pragma: no cover - parse_scenario already parsed it
        return None
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
            if match is None:
                break
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line


# -- events -------------------------------------------------------------------------------------------

#: Default start of a scenario call when none is given (the FakeClock's default).
DEFAULT_START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def schedule(
    scenario: Scenario, call_id: str, start: datetime = DEFAULT_START, *, agent_id: str | None = None
) -> list[tuple[float, CallInput]]:
    """The call's input events with the second (from call start) each is delivered.

    ``call.started`` is delivered at 0, each utterance when its turn ends, ``call.ended`` at ``end_at``.
    """
    timed: list[tuple[float, CallInput]] = [
        (
            0.0,
            CallStarted(
                call_id=call_id,
                seq=0,
                queue=scenario.queue,
                language=scenario.language,
                reason=scenario.reason,
                caller_ref=scenario.caller_ref,
                agent_id=agent_id,
                started_at=start,
            ),
        )
    ]
    for seq, turn in enumerate(scenario.turns, start=1):
        event = UtteranceReceived(
            call_id=call_id,
            seq=seq,
            speaker=turn.speaker,
            text=turn.text,
            start_ms=round(turn.at * 1000),
            end_ms=round(turn.end * 1000),
        )
        timed.append((turn.end, event))
    end = CallEnded(
        call_id=call_id,
        seq=len(scenario.turns) + 1,
        disposition="completed",
        at=start + timedelta(seconds=scenario.end_at),
    )
    timed.append((scenario.end_at, end))
    return timed


def to_events(
    scenario: Scenario, call_id: str, start: datetime = DEFAULT_START, *, agent_id: str | None = None
) -> list[CallInput]:
    """The call's input events in ``seq`` order: ``CallStarted`` (seq 0), utterances, ``CallEnded``."""
    return [event for _, event in schedule(scenario, call_id, start, agent_id=agent_id)]
