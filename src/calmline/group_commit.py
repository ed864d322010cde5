"""Group commit for streaming ingest: one writer thread steps queued events of many calls in one transaction.

``CallService.submit`` queues an event and returns a future. The writer thread takes whatever is queued (up to
``max_batch`` events), steps each through the engine against the call's cached state, writes every input and
output of the group with one ``INSERT`` and one commit (``SqlEventLog.append_batch``), then updates the cache,
publishes the rows and resolves each future: a caller's acknowledgement always follows the commit.

What it keeps exactly as ``CallService.ingest`` does:

- **Order**: the queue is first in, first out, so a call's events are stepped in the order they were sent; a
  call's pin (``protocols.pinned``) goes into the group right before its first event.
- **Sequencing**: only an event that is next in line for its call (its ``seq`` the expected one, nothing held
  in the inbox) or that carries no ``seq`` joins a group. Anything else — a duplicate, an early event to hold,
  a late one, an agent status, a known caller's ``call.started`` (its history is written by the shell) —
  commits the group so far and goes through ``CallService.ingest``'s own path.
- **Nothing accepted is lost**: when the group's transaction fails (a constraint, the database), nothing of
  it was written; the calls involved are re-read from the log and every event of the group is ingested again
  one by one, so one bad event fails alone.

Why (docs/BENCHMARKS.md "Load"): one thread instead of a thread per WebSocket message contending for the
SQLite writer lock and the GIL, and one commit per group instead of one per event.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog

from calmline import tracing
from calmline.events import AgentStatusChanged, CallStarted, InputEvent, ProtocolsPinned
from calmline.store.log import Append, StoredEvent

if TYPE_CHECKING:
    from calmline.service import CallService, IngestResult, _Entry

log = structlog.get_logger("calmline.group_commit")

#: Checked by the writer thread right before the event is stepped (e.g. the sender's credentials).
Check = Callable[[], bool]


class Refused(Exception):
    """The submitted event's check failed: nothing was stepped or stored."""


@dataclass(slots=True)
class _Item:
    event: InputEvent
    check: Check | None
    check_key: Hashable
    future: Future[IngestResult] = field(default_factory=Future)


@dataclass(slots=True)
class _Group:
    """Events stepped against a private copy of their calls' entries, waiting for one commit."""

    items: list[_Item] = field(default_factory=list)
    appends: list[Append] = field(default_factory=list)
    #: Index of each item's own append (its pin, if any, is the one before it).
    own: list[int] = field(default_factory=list)
    entries: dict[str, _Entry] = field(default_factory=dict)
    locks: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)


class GroupCommitter:
    """The writer thread behind ``CallService.submit``."""

    def __init__(self, service: CallService, max_batch: int = 64) -> None:
        """Serve ``service``; a group holds at most ``max_batch`` events."""
        self.service = service
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="calmline-group-commit", daemon=True)
        self._thread.start()

    def submit(
        self, event: InputEvent, check: Check | None = None, check_key: Hashable = None
    ) -> Future[IngestResult]:
        """Queue ``event``; the future gets its ``IngestResult`` once committed (or ``Refused``).

        Events of one batch with the same ``check_key`` (the same credentials) share one run of ``check``.
        """
        item = _Item(event, check, check_key)
        self._queue.put(item)
        return item.future

    def close(self, timeout: float = 10.0) -> None:
        """Finish what is queued, then stop the thread."""
        self._queue.put(None)
        self._thread.join(timeout)

    # -- the writer thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            try:
                self._handle(batch)
            except BaseException as exc:  # never let the thread die with callers waiting
                log.exception("group_commit.failed")
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(exc)
            if stop:
                return

    def _handle(self, batch: list[_Item]) -> None:
        service = self.service
        with service._writer:
            group = _Group()
            verdicts: dict[Hashable, bool] = {}
            try:
                for item in batch:
                    if item.check is not None and not self._allowed(item, verdicts):
                        item.future.set_exception(Refused("credentials revoked or expired"))
                        continue
                    if self._join(group, item):
                        continue
                    self._commit(group)
                    group = _Group()
                    self._one(item)
                self._commit(group)
            finally:
                group.locks.close()  # an error on the way must not leave a call locked
        for hook in service._after_ingest:
            hook(service)

    @staticmethod
    def _allowed(item: _Item, verdicts: dict[Hashable, bool]) -> bool:
        if item.check is None:
            return True
        if item.check_key is None:
            return item.check()
        verdict = verdicts.get(item.check_key)
        if verdict is None:
            verdict = verdicts[item.check_key] = item.check()
        return verdict

    def _join(self, group: _Group, item: _Item) -> bool:
        """Step ``item`` into ``group`` if it is a plain next-in-line event; False: it goes on its own."""
        service, event = self.service, item.event
        if isinstance(event, AgentStatusChanged) or (isinstance(event, CallStarted) and event.caller_ref):
            return False
        call_id = event.call_id
        if call_id not in group.entries:
            group.locks.enter_context(service._lock(call_id))
            try:
                entry = service._entry(call_id)
            except Exception:  # the store: the event's own path reports it to its caller
                return False
            group.entries[call_id] = type(entry)(entry.state, set(entry.seqs), entry.last_pos, entry.may_hold)
        entry = group.entries[call_id]
        seq = getattr(event, "seq", None)
        if entry.may_hold or (seq is not None and seq != entry.state.last_seq + 1):
            return False
        steps: list[Append] = []
        state = entry.state
        # The call's position before its first append in this group; later ones follow it in the transaction.
        last_pos = None if any(a.stream == call_id for a in group.appends) else entry.last_pos
        try:
            if (
                state.inputs == 0
                and not isinstance(event, ProtocolsPinned)
                and service.engine.protocols.current.protocols
            ):
                pin = ProtocolsPinned(
                    call_id=call_id,
                    protocol_set=service.engine.protocols.current.set_id,
                    at=service.clock.now(),
                )
                state, outputs = service.engine.step(state, pin)
                steps.append(Append(call_id, pin, tuple(outputs), service.clock.now(), last_pos))
                last_pos = None
            with tracing.span("calmline.engine.step", tracing.event_attributes(event)):
                state, outputs = service.engine.step(state, event)
        except Exception:  # stepped again on its own, where the error reaches its caller
            return False
        steps.append(Append(call_id, event, tuple(outputs), service.clock.now(), last_pos))
        group.items.append(item)
        group.appends.extend(steps)
        group.own.append(len(group.appends) - 1)
        entry.state = state
        if seq is not None:
            entry.seqs.add(seq)
        return True

    def _commit(self, group: _Group) -> None:
        """One transaction for the group; on failure every event is ingested again on its own."""
        from calmline.service import IngestResult

        service = self.service
        with group.locks:
            if not group.items:
                return
            stored: list[list[StoredEvent]] | None = None
            try:
                stored = service.log.append_batch(group.appends, service._project)
            except Exception as exc:
                log.warning("group_commit.fallback", events=len(group.items), error=type(exc).__name__)
                for call_id in group.entries:  # re-read from the log: the cache must not run ahead of it
                    service._cache.pop(call_id, None)
            else:
                for rows in stored:
                    group.entries[rows[0].stream].last_pos = rows[-1].pos
                for call_id, entry in group.entries.items():
                    service._remember(call_id, entry)
                service._publish([row for item_rows in stored for row in item_rows])
        if stored is None:
            for item in group.items:  # outside the group's call locks: the service's own path takes them
                self._one(item)
            return
        for item, index in zip(group.items, group.own, strict=True):
            own = stored[index]
            seq = getattr(item.event, "seq", None)
            result = IngestResult("accepted", own[0].stream, seq, tuple(r.payload for r in own[1:]))
            item.future.set_result(result)

    def _one(self, item: _Item) -> None:
        try:
            result = self.service._ingest(item.event)
        except BaseException as exc:
            item.future.set_exception(exc)
        else:
            item.future.set_result(result)
