"""Playing a practice call through the engine: the same steps whether the call is in the store or in memory.

A practice call is an ordinary call (``call.started`` on queue ``practice``, utterances, ``call.ended``) whose
id starts with ``practice-``. Its ``reason`` is ``practice:<scenario id>:<mode>``. Nothing else is kept: the
caller's position in the scenario is re-derived from the call's own log by :func:`walk` (the agent's answers
and the engine's outputs for them), so a session survives a restart and replays to the same caller turns.

A *sink* is where events go: :class:`EngineSink` steps the pure engine in memory (the CLI, tests);
``calmline.api.routes.practice`` uses a sink over ``CallService.ingest`` (the store, the live engine).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from calmline.engine import CallEngine, CallState
from calmline.events import CallEnded, CallInput, CallStarted, UtteranceReceived
from calmline.events.findings import RISK_TYPES
from calmline.practice import PRACTICE_PREFIX, PRACTICE_QUEUE
from calmline.practice.dialogue import CallerTurn, DialogueState, answer, opening
from calmline.practice.schema import PracticeScenario
from calmline.practice.signals import AgentSignals, signals_from_outputs

Mode = Literal["assist", "assessment"]
MODES: tuple[Mode, ...] = ("assist", "assessment")
#: Seconds per spoken word and the pause between turns: practice turns are timed as if spoken.
SECONDS_PER_WORD = 0.4
PAUSE_MS = 800
#: Matches agent intents in a text (the engine's own matcher).
IntentFn = Callable[[str], tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Exchange:
    """One input of the call's log with the outputs the engine derived from it (payload dicts)."""

    input: Mapping[str, Any]
    outputs: tuple[Mapping[str, Any], ...] = ()


class Sink(Protocol):
    """Where a practice call's events go."""

    def exchanges(self) -> list[Exchange]:
        """The call's log so far."""
        ...

    def step(self, event: CallInput) -> tuple[Mapping[str, Any], ...]:
        """Record one input; the outputs the engine derived from it."""
        ...


@dataclass
class EngineSink:
    """The pure engine, in memory: no store, no server."""

    engine: CallEngine
    call_id: str
    state: CallState | None = None
    log: list[Exchange] = field(default_factory=list)

    def exchanges(self) -> list[Exchange]:
        """The exchanges stepped so far."""
        return list(self.log)

    def step(self, event: CallInput) -> tuple[Mapping[str, Any], ...]:
        """Step the engine."""
        state = self.state or self.engine.initial(self.call_id)
        self.state, outputs = self.engine.step(state, event)
        dumped = tuple(o.model_dump(mode="json") for o in outputs)
        self.log.append(Exchange(event.model_dump(mode="json"), dumped))
        return dumped


def practice_reason(scenario_id: str, mode: Mode) -> str:
    """The ``call.started`` reason that marks a practice call."""
    return f"practice:{scenario_id}:{mode}"


def parse_reason(reason: str | None) -> tuple[str, Mode] | None:
    """``(scenario id, mode)`` from a practice call's reason, or None."""
    if not reason or not reason.startswith("practice:"):
        return None
    _, _, rest = reason.partition(":")
    scenario_id, _, mode = rest.partition(":")
    return (scenario_id, "assessment" if mode == "assessment" else "assist") if scenario_id else None


def speaking_ms(text: str) -> int:
    """How long ``text`` takes to say at practice pace (at least a second)."""
    return max(1000, int(len(text.split()) * SECONDS_PER_WORD * 1000))


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """One utterance of the practice call, as the debrief shows it."""

    speaker: Literal["caller", "agent"]
    seq: int
    #: Agent answers so far (the agent's n-th answer is turn n; the caller's reply to it is turn n too).
    turn: int
    text: str
    at_s: float
    node: str | None = None
    why: str | None = None
    opening: bool = False
    signals: AgentSignals | None = None
    #: The caller's ``utterance.scored`` payload (emotions, distress).
    scored: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Walk:
    """The practice call re-read from its log."""

    call_id: str
    scenario_id: str
    mode: Mode
    agent_id: str | None
    started_at: datetime | None
    ended: bool
    state: DialogueState
    turns: tuple[TurnRecord, ...]
    exchanges: tuple[Exchange, ...]
    last_seq: int
    last_end_ms: int


def walk(scenario: PracticeScenario, exchanges: Sequence[Exchange], intents: IntentFn) -> Walk:
    """Re-derive the caller's path and every turn's reading from the call's log (pure)."""
    start = next((e.input for e in exchanges if e.input.get("type") == "call.started"), None)
    if start is None:
        raise ValueError("not a practice call: no call.started")
    parsed = parse_reason(start.get("reason"))
    mode: Mode = parsed[1] if parsed else "assist"
    state, first = opening(scenario)
    pending: CallerTurn | None = first
    turns: list[TurnRecord] = []
    ended = False
    last_seq, last_end = int(start.get("seq", 0)), 0
    for ex in exchanges:
        event = ex.input
        kind = event.get("type")
        if isinstance(event.get("seq"), int):
            last_seq = max(last_seq, int(event["seq"]))
        if kind == "call.ended":
            ended = True
        if kind != "utterance":
            continue
        seq, text = int(event["seq"]), str(event["text"])
        last_end = max(last_end, int(event["end_ms"]))
        at_s = round(int(event["end_ms"]) / 1000, 1)
        if event.get("speaker") == "agent":
            signals = signals_from_outputs(state.turn + 1, seq, intents(text), ex.outputs)
            turns.append(TurnRecord("agent", seq, state.turn + 1, text, at_s, signals=signals))
            if not state.ended:
                state, pending = answer(scenario, state, signals)
        elif event.get("speaker") == "caller":
            scored = next((o for o in ex.outputs if o.get("type") == "utterance.scored"), None)
            node = pending.node if pending else None
            turns.append(
                TurnRecord(
                    "caller",
                    seq,
                    state.turn,
                    text,
                    at_s,
                    node=node,
                    why=pending.why if pending else None,
                    opening=bool(pending and pending.opening),
                    scored=scored,
                )
            )
            pending = None
    return Walk(
        call_id=str(start["call_id"]),
        scenario_id=scenario.id,
        mode=mode,
        agent_id=start.get("agent_id"),
        started_at=_parse_time(start.get("started_at")),
        ended=ended,
        state=state,
        turns=tuple(turns),
        exchanges=tuple(exchanges),
        last_seq=last_seq,
        last_end_ms=last_end,
    )


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return None


def start_call(
    sink: Sink,
    scenario: PracticeScenario,
    *,
    call_id: str,
    agent_id: str | None,
    mode: Mode,
    started_at: datetime,
) -> CallerTurn:
    """Record ``call.started`` and the caller's opening words; returns the opening turn."""
    if not call_id.startswith(PRACTICE_PREFIX):
        raise ValueError(f"a practice call id starts with {PRACTICE_PREFIX!r}")
    sink.step(
        CallStarted(
            call_id=call_id,
            seq=0,
            queue=PRACTICE_QUEUE,
            reason=practice_reason(scenario.id, mode),
            agent_id=agent_id,
            started_at=started_at,
        )
    )
    _, first = opening(scenario)
    said = speaking_ms(first.text)
    sink.step(_utterance(call_id, 1, "caller", first.text, PAUSE_MS, PAUSE_MS + said))
    return first


def _utterance(
    call_id: str, seq: int, speaker: Literal["caller", "agent"], text: str, start: int, end: int
) -> UtteranceReceived:
    return UtteranceReceived(call_id=call_id, seq=seq, speaker=speaker, text=text, start_ms=start, end_ms=end)


@dataclass(frozen=True, slots=True)
class Reply:
    """What the trainee gets back for one answer."""

    caller: CallerTurn
    turn: int
    signals: AgentSignals
    #: Everything the engine derived from the answer and the caller's reply (payload dicts).
    outputs: tuple[Mapping[str, Any], ...]
    ended: bool


def respond(
    sink: Sink,
    scenario: PracticeScenario,
    text: str,
    intents: IntentFn,
    *,
    elapsed_ms: int | None = None,
) -> Reply:
    """Record the agent's answer, play the caller's reply, and end the call when the caller is done.

    ``elapsed_ms`` is the time since the call started on a live session (None: timed by speaking pace only).
    """
    before = walk(scenario, sink.exchanges(), intents)
    if before.ended or before.state.ended:
        raise ValueError("the practice call has ended")
    call_id = before.call_id
    said = speaking_ms(text)
    start = before.last_end_ms + PAUSE_MS
    if elapsed_ms is not None:
        start = max(start, elapsed_ms - said)
    seq = before.last_seq + 1
    agent_out = sink.step(_utterance(call_id, seq, "agent", text, start, start + said))
    turn = before.state.turn + 1
    signals = signals_from_outputs(turn, seq, intents(text), agent_out)
    _, caller = answer(scenario, before.state, signals)
    c_start = start + said + PAUSE_MS
    c_end = c_start + speaking_ms(caller.text)
    caller_out = sink.step(_utterance(call_id, seq + 1, "caller", caller.text, c_start, c_end))
    if caller.end:
        end_call(sink, call_id, seq + 2, before.started_at, c_end)
    return Reply(caller, turn, signals, (*agent_out, *caller_out), caller.end)


def end_call(sink: Sink, call_id: str, seq: int, started_at: datetime | None, end_ms: int) -> None:
    """Record ``call.ended`` (disposition ``practice``)."""
    at = (started_at or datetime(1970, 1, 1, tzinfo=UTC)) + timedelta(milliseconds=end_ms + PAUSE_MS)
    sink.step(CallEnded(call_id=call_id, seq=seq, disposition="practice", at=at))


def assists(outputs: Iterable[Mapping[str, Any]], signals: AgentSignals | None) -> dict[str, Any]:
    """What the trainee sees after an answer in assist mode: warnings, suggestions, risk findings."""
    outs = list(outputs)
    return {
        "guardrails": list(signals.guardrails) if signals else [],
        "suggestions": [
            {"text": o.get("text"), "reason": o.get("reason")} for o in outs if o.get("type") == "suggestion"
        ],
        "findings": [
            {
                "type": f.get("type"),
                "level": f.get("level"),
                "tier": f.get("tier"),
                "assertion": f.get("assertion"),
            }
            for o in outs
            if o.get("type") == "finding"
            and (f := o.get("finding") or {}).get("type") in RISK_TYPES
            and f.get("speaker") == "caller"
        ],
        "protocols_started": [
            {"id": o.get("protocol_id"), "title": o.get("title"), "severity": o.get("severity")}
            for o in outs
            if o.get("type") == "protocol.activated"
        ],
    }


def exchanges_from_rows(rows: Iterable[Any]) -> list[Exchange]:
    """Group a call's stored rows (``StoredEvent``: kind, pos, cause, payload) into exchanges."""
    inputs: list[tuple[int, Mapping[str, Any]]] = []
    outputs: dict[int, list[Mapping[str, Any]]] = {}
    for row in rows:
        if row.kind == "input":
            inputs.append((row.pos, row.payload))
        else:
            outputs.setdefault(row.cause or 0, []).append(row.payload)
    return [Exchange(payload, tuple(outputs.get(pos, ()))) for pos, payload in inputs]
