"""The imperative shell around the pure engine: sequence, step, append, project, publish.

One ``CallService`` per process. Each call's events are stepped one at a time, in ``seq`` order: an event
that arrives ahead of a missing ``seq`` is held durably in the inbox until the gap is filled, or until
``gap_timeout_s`` passes, when a ``sequence.gap`` event is written to the log and the held events go on.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import structlog
from sqlalchemy import Connection, Engine

from calmline import tracing
from calmline.clock import Clock, SystemClock
from calmline.engine import CallEngine, CallState
from calmline.engine.protocols import next_deadline
from calmline.events import (
    AgentStatusChanged,
    CallInput,
    InputEvent,
    ProtocolsPinned,
    SequenceGap,
    Tick,
    parse_event,
)
from calmline.security import retention
from calmline.store.log import DuplicateEventError, SqlEventLog, StoredEvent, dump
from calmline.store.projections import Projections, utc
from calmline.store.protocol_sets import ProtocolStore

if TYPE_CHECKING:
    from calmline.group_commit import Check, GroupCommitter
    from calmline.routing_desk import RoutingDesk

log = structlog.get_logger("calmline.service")

Listener = Callable[[Sequence[StoredEvent]], None]
#: Runs inside the append transaction (like the projections): an outbox that must never miss a row.
Projector = Callable[[Connection, Sequence[StoredEvent]], None]


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What happened to one ingested event."""

    status: Literal["accepted", "duplicate", "held", "queued"]
    call_id: str | None
    seq: int | None
    outputs: tuple[dict[str, Any], ...] = ()
    released: int = 0
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """The result of re-deriving a call's outputs from its stored inputs."""

    call_id: str
    inputs: int
    outputs: int
    differences: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when the replay matched the log exactly."""
        return not self.differences


@dataclass(slots=True)
class _Entry:
    """What the service keeps of a call between steps: its state and what the log holds for it.

    ``seqs`` (the inputs' seqs in the log), ``last_pos`` and ``may_hold`` (events may wait in the inbox)
    spare a step the duplicate check, the ``max(pos)`` and the inbox queries; all of them are read from the
    log when the call is loaded, changed only after a commit, and forgotten with the state (``evict``). The
    log's unique (stream, seq) and (stream, pos) stay the final word if another writer got there first.
    """

    state: CallState
    seqs: set[int]
    #: None until the first append after loading (which reads it): a load reads only the inputs.
    last_pos: int | None
    may_hold: bool = True


class CallService:
    """Ingest and query calls; the only writer of the event log."""

    def __init__(
        self,
        db: Engine,
        call_engine: CallEngine,
        clock: Clock | None = None,
        *,
        gap_timeout_s: float = 5.0,
        cache_size: int = 4096,
        on_append: Sequence[Projector] = (),
        protocol_store: ProtocolStore | None = None,
    ) -> None:
        """Wrap the store and the engine.

        ``protocol_store`` is where protocol sets are published; it is polled on ``tick`` so that a change
        made by another process (``calmline protocols disable``) reaches new calls here too.
        """
        self.db = db
        self.engine = call_engine
        self.clock = clock or SystemClock()
        self.log = SqlEventLog(db)
        self.projections = Projections(db)
        self.gap_timeout = timedelta(seconds=gap_timeout_s)
        self._cache: OrderedDict[str, _Entry] = OrderedDict()
        self._cache_size = cache_size
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._listeners: list[Listener] = []
        self._on_append: tuple[Projector, ...] = (self.projections.apply, *on_append)
        self.protocol_store = protocol_store
        self._after_ingest: list[Callable[[CallService], None]] = []
        #: Called with the time on every ``tick`` (the runtime adds the after-call checks).
        self.tick_hooks: list[Callable[[datetime], object]] = []
        #: calmline's own routing (``routing_desk.RoutingDesk``), when the runtime set one up.
        self.routing_desk: RoutingDesk | None = None
        #: Scale-out (issue 9, ``calmline.bus``): with ``--role api`` ingest hands events to this publisher
        #: (the Redis Streams bus) and an engine worker steps them; None steps them here (the default).
        self.publisher: Callable[[InputEvent], IngestResult] | None = None
        #: SQLite has one writer: steps queue here, in order, rather than in its busy handler, whose back-off
        #: (up to 100 ms a try) put 0.5-2 s tails on concurrent ingest (docs/BENCHMARKS.md "Load").
        self._writer: threading.RLock | contextlib.nullcontext[None] = (
            threading.RLock() if db.dialect.name == "sqlite" else contextlib.nullcontext()
        )
        self._committer: GroupCommitter | None = None

    # -- wiring ---------------------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener`` with the stored rows after every committed step."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        """Stop calling ``listener``."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _lock(self, stream: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(stream, threading.Lock())

    # -- ingest ---------------------------------------------------------------------------------------

    def after_ingest(self, hook: Callable[[CallService], None]) -> None:
        """Run ``hook(self)`` after every ingest, once the call's lock is released (it may ingest too)."""
        self._after_ingest.append(hook)

    def submit(
        self, event: InputEvent, check: Check | None = None, check_key: Hashable = None
    ) -> Future[IngestResult]:
        """Queue an event for the group-commit writer (``calmline.group_commit``); the future is its result.

        The same outcome as ``ingest`` (``check``, if given, runs right before the event is stepped: a False
        makes the future raise ``Refused``; events of one group with the same ``check_key`` share one check).
        Only where this process steps (no ``publisher``).
        """
        if self.publisher is not None:
            raise RuntimeError("submit steps in this process: with a publisher, use ingest")
        with self._locks_guard:
            if self._committer is None:
                from calmline.group_commit import GroupCommitter

                self._committer = GroupCommitter(self)
            committer = self._committer
        return committer.submit(event, check, check_key)

    def close(self) -> None:
        """Stop the group-commit writer, after what is queued (the server's shutdown)."""
        with self._locks_guard:
            committer, self._committer = self._committer, None
        if committer is not None:
            committer.close()

    def ingest(self, event: InputEvent) -> IngestResult:
        """Accept one validated input event (a ``calmline.ingest`` span when tracing is on: D21)."""
        with tracing.span("calmline.ingest", tracing.event_attributes(event)):
            if self.publisher is not None:  # --role api: an engine worker steps it (calmline.bus)
                return self.publisher(event)
            with self._writer:
                result = self._ingest(event)
        for hook in self._after_ingest:
            hook(self)
        return result

    def _ingest(self, event: InputEvent) -> IngestResult:
        if isinstance(event, AgentStatusChanged):
            stream = f"agent:{event.agent_id}"
            with self._lock(stream):
                self.log.append(stream, event, (), self.clock.now(), self._project)
            return IngestResult("accepted", None, None)
        call_id = event.call_id
        seq = getattr(event, "seq", None)
        with self._lock(call_id):
            if seq is None:
                return self._step(event)
            entry = self._entry(call_id)
            if seq in entry.seqs:
                self._drain(call_id)  # a retry after the store failed mid-release: step what waits behind it
                return IngestResult("duplicate", call_id, seq, detail=f"seq {seq} is already recorded")
            expected = entry.state.last_seq + 1
            if seq > expected:
                entry.may_hold = True
                if not self.log.hold(call_id, seq, dump(event), self.clock.now()):
                    return IngestResult("duplicate", call_id, seq, detail=f"seq {seq} is already waiting")
                log.info("event.held", call_id=call_id, seq=seq, waiting_for=expected)
                return IngestResult("held", call_id, seq, detail=f"held until seq {expected} arrives")
            result = self._step(event)
            released = self._drain(call_id)
            return IngestResult(result.status, call_id, seq, result.outputs, released, result.detail)

    def _step(self, event: CallInput) -> IngestResult:
        call_id = event.call_id
        state = self.state(call_id)
        if (
            state.inputs == 0
            and not isinstance(event, ProtocolsPinned)
            and self.engine.protocols.current.protocols
        ):
            # A call keeps the protocols in force when it started: pin them first, in its own log.
            pin = ProtocolsPinned(
                call_id=call_id, protocol_set=self.engine.protocols.current.set_id, at=self.clock.now()
            )
            self._step(pin)
            state = self.state(call_id)
        with tracing.span("calmline.engine.step", tracing.event_attributes(event)):
            new_state, outputs = self.engine.step(state, event)
        entry = self._entry(call_id)
        try:
            rows = self.log.append(
                call_id, event, outputs, self.clock.now(), self._project, last_pos=entry.last_pos
            )
        except DuplicateEventError:
            return IngestResult("duplicate", call_id, getattr(event, "seq", None), detail="already recorded")
        seq = getattr(event, "seq", None)
        if seq is not None:
            entry.seqs.add(seq)
        entry.last_pos = rows[-1].pos
        entry.state = new_state
        self._remember(call_id, entry)
        self._publish(rows)
        # -- caller continuity (issue 12, docs/CONTINUITY.md) -------------------------------------------
        # A known caller's history is an input written into this call's own log right after call.started,
        # so replay applies the continuity rules to exactly the history the call started with.
        if event.type == "call.started":
            from calmline.continuity.history import history_at_start  # store-bound: imported late

            history = history_at_start(self, event)
            if history is not None:
                self._step(history)
        # -----------------------------------------------------------------------------------------------
        return IngestResult(
            "accepted", call_id, getattr(event, "seq", None), tuple(r.payload for r in rows[1:])
        )

    def _drain(self, call_id: str) -> int:
        """Step held events that have become next in line."""
        released = 0
        if not self._entry(call_id).may_hold:  # nothing waits in the inbox: no query
            return released
        for held in self.log.held(call_id):
            expected = self.state(call_id).last_seq + 1
            if held.seq > expected:
                return released
            event = parse_event(held.payload)
            if held.seq == expected or held.seq not in self._entry(call_id).seqs:
                self._step(event)  # type: ignore[arg-type]
                released += 1
            self.log.release(call_id, held.seq)
        self._entry(call_id).may_hold = False
        return released

    def tick(self) -> list[SequenceGap]:
        """Time passes: declare stale gaps, fire missed protocol deadlines, pick up new protocol sets."""
        if self.publisher is not None:  # --role api: the engine workers' ticker does this (calmline.bus)
            return []
        with self._writer:  # SQLite's one writer: not in the middle of a group commit
            gaps = self._declare_gaps()
            self.fire_deadlines()
        self.refresh_protocols()
        now = self.clock.now()
        retention.run_scheduled(self.db, now)  # purge expired PHI when the policy's interval has passed
        for hook in self.tick_hooks:  # e.g. overdue follow-ups (aftercall.followups.FollowupDesk.tick)
            hook(now)
        return gaps

    def fire_deadlines(self) -> list[str]:
        """Step a ``tick`` into every call whose acknowledgement deadline has passed; returns their ids.

        The candidates come from the alerts table (so after a restart nothing is missed: the deadlines are in
        the log, and the projection is rebuilt from it); the call's own state decides whether one is due.
        """
        now = self.clock.now()
        fired: list[str] = []
        for call_id in self.projections.calls_with_due_deadlines(now):
            with self._lock(call_id):
                due = next_deadline(self.state(call_id))
                if due is None or due > now:
                    continue
                self._step(Tick(call_id=call_id, at=now))
                fired.append(call_id)
        return fired

    def refresh_protocols(self) -> bool:
        """Reload the protocol catalog when another process published a new set; True if it changed."""
        if self.protocol_store is None:
            return False
        latest = self.protocol_store.latest_id()
        if latest is None or latest == self.engine.protocols.current.set_id:
            return False
        self.engine.protocols = self.protocol_store.load_catalog()
        log.info("protocols.reloaded", protocol_set=latest)
        return True

    def _declare_gaps(self, only: str | None = None) -> list[SequenceGap]:
        now = self.clock.now()
        declared: list[SequenceGap] = []
        streams = sorted({h.stream for h in self.log.held(only)})
        for call_id in streams:
            with self._lock(call_id):
                held = self.log.held(call_id)
                if not held or now - (utc(held[0].held_at) or now) < self.gap_timeout:
                    continue
                expected = self.state(call_id).last_seq + 1
                gap = SequenceGap(call_id=call_id, missing_from=expected, missing_to=held[0].seq - 1, at=now)
                log.warning(
                    "sequence.gap", call_id=call_id, missing_from=expected, missing_to=held[0].seq - 1
                )
                self._step(gap)
                self._drain(call_id)
                declared.append(gap)
        return declared

    # -- state ----------------------------------------------------------------------------------------

    def state(self, call_id: str) -> CallState:
        """The call's current state, from the cache or re-folded from the log."""
        return self._entry(call_id).state

    def _entry(self, call_id: str) -> _Entry:
        cached = self._cache.get(call_id)
        if cached is not None:
            self._cache.move_to_end(call_id)
            return cached
        inputs = self.log.read(call_id, kind="input")
        state, _ = self.engine.fold(call_id, [r.event() for r in inputs])  # type: ignore[misc]
        seqs = {r.seq for r in inputs if r.seq is not None}
        entry = _Entry(state, seqs, None if inputs else 0, self.log.holds(call_id))
        self._remember(call_id, entry)
        return entry

    def inputs(self, call_id: str) -> list[CallInput]:
        """The call's stored input events, in the order they were stepped."""
        return [r.event() for r in self.log.read(call_id, kind="input")]  # type: ignore[misc]

    def _project(self, conn: Connection, rows: Sequence[StoredEvent]) -> None:
        for project in self._on_append:
            project(conn, rows)

    # -- scale-out hooks (issue 9, calmline.bus) ----------------------------------------------------------

    def evict(self) -> None:
        """Forget every cached state: an engine worker that takes over a partition re-folds from the log."""
        self._cache.clear()

    def declare_gaps(self, call_id: str) -> list[SequenceGap]:
        """Declare the call's stale gap, if any (the partition owner does this for the bus ticker)."""
        return self._declare_gaps(call_id)

    def relay(self, rows: Sequence[StoredEvent]) -> None:
        """Hand rows another process committed to this process's listeners (``--role api``: the live hub)."""
        self._publish(rows)

    def _remember(self, call_id: str, entry: _Entry) -> None:
        self._cache[call_id] = entry
        self._cache.move_to_end(call_id)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _publish(self, rows: Sequence[StoredEvent]) -> None:
        for listener in list(self._listeners):
            try:
                listener(rows)
            except Exception:  # a broken subscriber must never lose or block an event
                log.exception("listener.failed")

    # -- audit ----------------------------------------------------------------------------------------

    def replay(self, call_id: str) -> ReplayReport:
        """Re-derive every output of the call from its stored inputs and compare with the log."""
        rows = self.log.read(call_id)
        stored: dict[int, list[dict[str, Any]]] = {}
        inputs: list[StoredEvent] = []
        for row in rows:
            if row.kind == "input":
                inputs.append(row)
            else:
                stored.setdefault(row.cause or 0, []).append(row.payload)
        state = self.engine.initial(call_id)
        differences: list[str] = []
        produced_total = 0
        for row in inputs:
            state, outputs = self.engine.step(state, row.event())  # type: ignore[arg-type]
            produced = [dump(o) for o in outputs]
            produced_total += len(produced)
            expected = stored.get(row.pos, [])
            if produced != expected:
                differences.append(_describe(row, expected, produced))
        return ReplayReport(call_id, len(inputs), produced_total, tuple(differences))

    def rebuild(self) -> int:
        """Recompute every projection from the log; returns the number of rows replayed."""
        return self.projections.rebuild(self.log)


def _describe(row: StoredEvent, expected: list[dict[str, Any]], produced: list[dict[str, Any]]) -> str:
    def kinds(items: list[dict[str, Any]]) -> str:
        return ",".join(str(i.get("type")) for i in items) or "nothing"

    if len(expected) != len(produced):
        return f"pos {row.pos} ({row.type}): log has {kinds(expected)}, replay gives {kinds(produced)}"
    for i, (a, b) in enumerate(zip(expected, produced, strict=True)):
        if a != b:
            keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            return (
                f"pos {row.pos} ({row.type}) output {i + 1} ({a.get('type')}): differs in {', '.join(keys)}"
            )
    return f"pos {row.pos} ({row.type}): differs"  # pragma: no cover
