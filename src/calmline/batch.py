"""The batch ``analyze`` contract: JSONL utterances in, one JSON result line out per input line, same order.

Input lines are ``{"id", "text"}`` with optional ``"call_id"``, ``"speaker"`` (caller | agent | other, default
caller) and ``"seq"``. Lines sharing a ``call_id`` are analysed in input order as one call: each sees the
earlier turns of its call as history. Memory stays constant whatever the input size: input is streamed, each
call keeps at most :data:`HISTORY_WINDOW` turns, and at most :data:`MAX_OPEN_CALLS` calls are remembered
(least recently used first out). The schema is documented in ``docs/BATCH_CONTRACT.md``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import OrderedDict, deque
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import IO, Any

from calmline.analysis.base import AnalysisContext, AnalyzerRegistry, Turn
from calmline.analysis.defaults import default_registry
from calmline.analysis.empathy import EMPATHY_TYPE, empathy_dict
from calmline.analysis.guardrail import guardrail_dict
from calmline.events import GUARDRAIL_TYPE, Finding
from calmline.events.call import Speaker

#: Earlier turns of a call an utterance sees (same as the engine's window).
HISTORY_WINDOW = 12
#: Calls whose history is remembered at once; older calls are forgotten (a late line then starts afresh).
MAX_OPEN_CALLS = 4096
SPEAKERS: frozenset[str] = frozenset({"caller", "agent", "other"})
EMOTION_NAMES: tuple[str, ...] = ("anger", "frustration", "fear", "sadness", "confusion", "relief", "neutral")

PathOrIO = str | os.PathLike[str] | IO[str]


class BatchInputError(ValueError):
    """A malformed input line. The message names the line number and the problem, never the text (PHI)."""

    def __init__(self, line_no: int, problem: str) -> None:
        super().__init__(f"line {line_no}: {problem}")
        self.line_no = line_no
        self.problem = problem


@dataclass(frozen=True, slots=True)
class BatchReport:
    """What a batch run did."""

    lines: int
    bad: int
    seconds: float

    @property
    def lines_per_second(self) -> float:
        """Throughput over the lines analysed."""
        return self.lines / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, float | int]:
        """The report as plain JSON-able values."""
        return {
            "lines": self.lines,
            "bad": self.bad,
            "seconds": round(self.seconds, 3),
            "lines_per_second": round(self.lines_per_second, 1),
        }


@dataclass(frozen=True, slots=True)
class BatchLine:
    """One validated input line."""

    id: str | int
    text: str
    call_id: str | None
    speaker: Speaker
    seq: int | None


def parse_line(raw: str, line_no: int) -> BatchLine:
    """Validate one JSONL line; raises :class:`BatchInputError` naming ``line_no`` and the problem."""
    try:
        data: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BatchInputError(line_no, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise BatchInputError(line_no, f"expected a JSON object, got {type(data).__name__}")
    for key in ("id", "text"):
        if key not in data:
            raise BatchInputError(line_no, f"missing field {key!r}")
    line_id = data["id"]
    if isinstance(line_id, bool) or not isinstance(line_id, str | int):
        raise BatchInputError(line_no, "field 'id' must be a string or an integer")
    if not isinstance(data["text"], str):
        raise BatchInputError(line_no, "field 'text' must be a string")
    call_id = data.get("call_id")
    if call_id is not None and (isinstance(call_id, bool) or not isinstance(call_id, str | int)):
        raise BatchInputError(line_no, "field 'call_id' must be a string or an integer")
    speaker = data.get("speaker", "caller")
    if speaker not in SPEAKERS:
        shown = repr(speaker) if isinstance(speaker, str) and len(speaker) <= 20 else type(speaker).__name__
        raise BatchInputError(line_no, f"field 'speaker' must be one of caller, agent, other (got {shown})")
    seq = data.get("seq")
    if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int)):
        raise BatchInputError(line_no, "field 'seq' must be an integer")
    return BatchLine(
        id=line_id,
        text=data["text"],
        call_id=None if call_id is None else str(call_id),
        speaker=speaker,
        seq=seq,
    )


class CallWindows:
    """Bounded per-call history: an LRU of at most ``max_calls`` calls, each with at most ``window`` turns."""

    def __init__(self, max_calls: int = MAX_OPEN_CALLS, window: int = HISTORY_WINDOW) -> None:
        self.max_calls = max_calls
        self.window = window
        self._calls: OrderedDict[str, tuple[deque[Turn], int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._calls)

    def history(self, call_id: str) -> tuple[tuple[Turn, ...], int]:
        """Earlier turns of the call and the next implicit seq number."""
        entry = self._calls.get(call_id)
        if entry is None:
            return (), 1
        self._calls.move_to_end(call_id)
        turns, next_seq = entry
        return tuple(turns), next_seq

    def add(self, call_id: str, turn: Turn) -> None:
        """Append a turn, evicting the least recently used call when full."""
        entry = self._calls.get(call_id)
        if entry is None:
            entry = (deque(maxlen=self.window), 1)
            if len(self._calls) >= self.max_calls:
                self._calls.popitem(last=False)
        turns, next_seq = entry
        turns.append(turn)
        self._calls[call_id] = (turns, max(next_seq, turn.seq + 1))
        self._calls.move_to_end(call_id)


def result_dict(line_id: str | int, speaker: Speaker, findings: tuple[Finding, ...]) -> dict[str, object]:
    """The output object for one line (see ``docs/BATCH_CONTRACT.md``)."""
    not_risks = ("emotion", "distress", GUARDRAIL_TYPE, EMPATHY_TYPE)
    risks = [f.contract_dict() for f in findings if f.type not in not_risks]
    guardrails = [guardrail_dict(f) for f in findings if f.type == GUARDRAIL_TYPE]
    emotions: dict[str, float] = {}
    # The contract promises a number in 0..1 on every line; lines that are not scored (agent and other
    # speakers) carry 0.0 and an empty ``emotions`` object, which is how a reader tells them apart.
    distress = 0.0
    if speaker == "caller":
        scored = {f.level: round(f.score, 4) for f in findings if f.type == "emotion"}
        emotions = {name: scored.get(name, 0.0) for name in EMOTION_NAMES} if scored else {}
        distress = max((round(f.score, 4) for f in findings if f.type == "distress"), default=0.0)
    return {
        "id": line_id,
        "findings": risks,
        "emotions": emotions,
        "distress": distress,
        "guardrails": guardrails,
        "empathy": empathy_dict(findings) if speaker == "agent" else {},
    }


def analyze_lines(
    lines: Iterator[str], registry: AnalyzerRegistry, *, skip_bad: bool, counts: list[int]
) -> Iterator[dict[str, object]]:
    """Stream results for raw JSONL ``lines``. ``counts`` receives [analysed, bad] as it goes."""
    calls = CallWindows()
    for line_no, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue  # blank lines (e.g. a trailing newline) are not input lines
        try:
            item = parse_line(raw, line_no)
        except BatchInputError:
            if not skip_bad:
                raise
            counts[1] += 1
            continue
        history: tuple[Turn, ...] = ()
        seq = item.seq
        if item.call_id is not None:
            history, next_seq = calls.history(item.call_id)
            seq = next_seq if seq is None else seq
        ctx = AnalysisContext(text=item.text, speaker=item.speaker, seq=seq, history=history)
        findings = registry.run(ctx)
        if item.call_id is not None and seq is not None:
            calls.add(item.call_id, Turn(seq=seq, speaker=item.speaker, text=item.text))
        counts[0] += 1
        yield result_dict(item.id, item.speaker, findings)


def run_batch(
    src: PathOrIO,
    dst: PathOrIO,
    *,
    skip_bad: bool = False,
    registry: AnalyzerRegistry | None = None,
    progress: bool = True,
) -> BatchReport:
    """Analyse JSONL ``src`` into JSONL ``dst`` (paths or open text streams; ``"-"`` is stdin/stdout).

    Args:
        src: input JSONL, one utterance per line.
        dst: where to write one result line per input line, in input order.
        skip_bad: count malformed lines and write nothing for them, instead of raising.
        registry: the analyzers to run; :func:`calmline.analysis.defaults.default_registry` when ``None``.
        progress: show a progress display on stderr (only when stderr is a terminal).

    Returns:
        The counts and timing of the run.

    Raises:
        BatchInputError: on the first malformed line, unless ``skip_bad``.
    """
    registry = registry or default_registry()
    registry.setup()
    counts = [0, 0]
    started = time.perf_counter()
    with ExitStack() as stack:
        reader = _open(src, "r", stack)
        writer = _open(dst, "w", stack)
        results = analyze_lines(iter(reader), registry, skip_bad=skip_bad, counts=counts)
        if progress and sys.stderr.isatty():
            results = _with_progress(results, stack)
        for result in results:
            writer.write(json.dumps(result, ensure_ascii=False, separators=(",", ":")) + "\n")
        writer.flush()
    return BatchReport(lines=counts[0], bad=counts[1], seconds=time.perf_counter() - started)


def _open(target: PathOrIO, mode: str, stack: ExitStack) -> IO[str]:
    if isinstance(target, str | os.PathLike):
        if str(target) == "-":
            return sys.stdin if mode == "r" else sys.stdout
        return stack.enter_context(open(target, mode, encoding="utf-8"))
    return target


def _with_progress(results: Iterator[dict[str, object]], stack: ExitStack) -> Iterator[dict[str, object]]:
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    bar = stack.enter_context(
        Progress(
            SpinnerColumn(),
            TextColumn("analysed {task.completed} lines"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
    )
    task = bar.add_task("analyze", total=None)
    for result in results:
        bar.advance(task)
        yield result
