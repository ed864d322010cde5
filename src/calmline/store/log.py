"""The append-only event log and the inbox of held events, on SQLAlchemy (SQLite or PostgreSQL).

PHI fields are sealed on the way in and opened on the way out by the engine's ``PayloadCipher``
(``calmline.security.crypto.FieldCipher``, installed by ``calmline.security.install_security``), so the
engine, replay and every reader see plain events. Rows stored in clear (written before encryption was
switched on) are read as they are.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, Protocol
from weakref import WeakKeyDictionary

from pydantic import BaseModel
from sqlalchemy import Connection, Engine, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from calmline.events import AnyEvent, Event, parse_event
from calmline.store.schema import events, held_events


class DuplicateEventError(Exception):
    """The (stream, seq) pair is already in the log."""


class PayloadCipher(Protocol):
    """Seals the PHI fields of a payload for storage and opens them again."""

    def seal(self, stream: str, type_: str, payload: dict[str, Any], at: datetime) -> dict[str, Any]:
        """The payload as stored."""
        ...

    def open(self, stream: str, type_: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The payload as written."""
        ...


_CIPHERS: WeakKeyDictionary[Engine, PayloadCipher] = WeakKeyDictionary()
SEALED = "$enc"


def set_cipher(engine: Engine, cipher: PayloadCipher | None) -> None:
    """Seal PHI fields of everything later appended through ``engine`` (None: store in clear)."""
    if cipher is None:
        _CIPHERS.pop(engine, None)
    else:
        _CIPHERS[engine] = cipher


def cipher_for(engine: Engine) -> PayloadCipher | None:
    """The cipher installed for ``engine``, if any."""
    return _CIPHERS.get(engine)


def _opener(engine: Engine) -> PayloadCipher:
    cipher = _CIPHERS.get(engine)
    if cipher is None:
        # A sealed row read by a process that never installed keys (a CLI command): keys from the environment.
        from calmline.security import cipher_from_environment

        cipher = cipher_from_environment(engine)
    return cipher


def open_payload(engine: Engine, stream: str, type_: str, stored: str | dict[str, Any]) -> dict[str, Any]:
    """A stored payload (JSON text or parsed) with its sealed fields opened."""
    payload = json.loads(stored) if isinstance(stored, str) else stored
    if SEALED in payload:
        return _opener(engine).open(stream, type_, payload)
    return payload


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One row of the log."""

    id: int
    stream: str
    pos: int
    kind: Literal["input", "output"]
    type: str
    seq: int | None
    cause: int | None
    payload: dict[str, Any]
    recorded_at: datetime

    def event(self) -> AnyEvent:
        """The typed event this row holds."""
        return parse_event(self.payload)


@dataclass(frozen=True, slots=True)
class HeldEvent:
    """An event that arrived ahead of a missing ``seq`` and waits in the inbox."""

    stream: str
    seq: int
    payload: dict[str, Any]
    held_at: datetime


def dump(event: BaseModel) -> dict[str, Any]:
    """The JSON-compatible form of an event, as stored and published."""
    return event.model_dump(mode="json")


def _encode(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


Projector = Callable[[Connection, Sequence[StoredEvent]], None]

# Built once: a statement object caches its compiled form, so the hot path skips SQLAlchemy's construction and
# cache-key work (most of a step's cost before; docs/BENCHMARKS.md "Load").
_MAX_POS = select(func.max(events.c.pos)).where(events.c.stream == bindparam("stream"))
_HAS_SEQ = select(events.c.id).where(events.c.stream == bindparam("stream"), events.c.seq == bindparam("seq"))
_HOLDS = select(held_events.c.seq).where(held_events.c.stream == bindparam("stream")).limit(1)
_INSERT_ONE = insert(events).returning(events.c.id)
_INSERT_MANY = insert(events).returning(events.c.id, events.c.stream, events.c.pos)
_READ = (
    select(events)
    .where(events.c.stream == bindparam("stream"), events.c.pos > bindparam("after"))
    .order_by(events.c.pos)
)


@dataclass(frozen=True, slots=True)
class Append:
    """One input and its outputs, to append to ``stream`` after position ``last_pos`` (None: look it up)."""

    stream: str
    inp: Event
    outputs: tuple[Event, ...]
    recorded_at: datetime
    last_pos: int | None = None


def _rows(item: Append, pos: int) -> list[dict[str, Any]]:
    """The log rows of one append (without payloads): the input at ``pos``, its outputs after it."""
    first: dict[str, Any] = {
        "stream": item.stream,
        "pos": pos,
        "kind": "input",
        "type": item.inp.type,
        "seq": getattr(item.inp, "seq", None),
        "cause": None,
        "recorded_at": item.recorded_at,
    }
    return [
        first,
        *(
            {**first, "pos": pos + i, "kind": "output", "type": out.type, "seq": None, "cause": pos}
            for i, out in enumerate(item.outputs, start=1)
        ),
    ]


class SqlEventLog:
    """Event log adapter for any SQLAlchemy database calmline supports."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def append(
        self,
        stream: str,
        inp: Event,
        outputs: Sequence[Event],
        recorded_at: datetime,
        project: Projector | None = None,
        *,
        last_pos: int | None = None,
    ) -> list[StoredEvent]:
        """Append an input and its outputs atomically, running ``project`` in the same transaction.

        ``last_pos`` is the stream's last position as the caller knows it (``CallService`` keeps it with the
        call's cached state), saving a ``max(pos)`` query; when it is stale (another writer appended to the
        stream) the insert breaks the unique (stream, pos) and the append is retried once from the table.

        Raises:
            DuplicateEventError: the input's ``seq`` is already in the stream.
        """
        seq = getattr(inp, "seq", None)
        item = Append(stream, inp, tuple(outputs), recorded_at, last_pos)
        try:
            return self.append_batch([item], project)[0]
        except IntegrityError as exc:
            if seq is not None and self.has_seq(stream, seq):
                raise DuplicateEventError(f"{stream}#{seq}") from exc
            if last_pos is None:
                raise
        try:  # the position the caller knew was stale: read it from the table
            return self.append_batch([replace(item, last_pos=None)], project)[0]
        except IntegrityError as exc:
            if seq is not None and self.has_seq(stream, seq):
                raise DuplicateEventError(f"{stream}#{seq}") from exc
            raise

    def append_batch(
        self, items: Sequence[Append], project: Projector | None = None
    ) -> list[list[StoredEvent]]:
        """Several appends, to any streams, in one transaction (one commit): all of them or none.

        Items of one stream follow each other in the order given; each item's ``last_pos`` is the position
        before it (None: read from the table, which sees the earlier items of this transaction). ``project``
        runs once, on every row, inside the transaction. Returns each item's rows.

        Raises:
            IntegrityError: a (stream, seq) or (stream, pos) is taken; nothing was written.
        """
        cipher = _CIPHERS.get(self.engine)
        sealed: list[list[tuple[dict[str, Any], str]]] = []
        for item in items:
            # Sealed before the transaction: a new day's data key is written in a transaction of its own.
            plain = [dump(e) for e in (item.inp, *item.outputs)]
            sealed.append(
                [
                    (p, _encode(cipher.seal(item.stream, p["type"], p, item.recorded_at) if cipher else p))
                    for p in plain
                ]
            )
        with self.engine.begin() as conn:
            rows: list[list[dict[str, Any]]] = []
            known: dict[str, int] = {}
            for item in items:
                last = known.get(item.stream, item.last_pos)
                if last is None:
                    last = int(conn.execute(_MAX_POS, {"stream": item.stream}).scalar() or 0)
                rows.append(_rows(item, last + 1))
                known[item.stream] = last + 1 + len(item.outputs)
            params = [
                {**row, "payload": text}
                for item_rows, item_sealed in zip(rows, sealed, strict=True)
                for row, (_, text) in zip(item_rows, item_sealed, strict=True)
            ]
            if len(params) == 1:
                ids = {
                    (params[0]["stream"], params[0]["pos"]): conn.execute(_INSERT_ONE, params[0]).scalar_one()
                }
            else:  # one statement for all of them (insertmanyvalues), ids matched back by position
                ids = {(r.stream, int(r.pos)): r.id for r in conn.execute(_INSERT_MANY, params)}
            stored = [
                [
                    StoredEvent(id=int(ids[(row["stream"], row["pos"])]), payload=plain, **row)
                    for row, (plain, _) in zip(item_rows, item_sealed, strict=True)
                ]
                for item_rows, item_sealed in zip(rows, sealed, strict=True)
            ]
            if project is not None:
                project(conn, [row for item_rows in stored for row in item_rows])
            return stored

    def has_seq(self, stream: str, seq: int) -> bool:
        """Whether an input with this ``seq`` was already appended to ``stream``."""
        with self.engine.connect() as conn:
            found = conn.execute(_HAS_SEQ, {"stream": stream, "seq": seq}).first()
        return found is not None

    def read(self, stream: str, *, after_pos: int = 0, kind: str | None = None) -> list[StoredEvent]:
        """The stream's rows in log order."""
        params = {"stream": stream, "after": after_pos}
        query = _READ if kind is None else _READ.where(events.c.kind == kind)
        with self.engine.connect() as conn:
            return [self._row(r) for r in conn.execute(query, params)]

    def read_since(self, after_id: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """Rows of every stream after a global id, for catch-up and rebuilds."""
        query = select(events).where(events.c.id > after_id).order_by(events.c.id).limit(limit)
        with self.engine.connect() as conn:
            return [self._row(r) for r in conn.execute(query)]

    def last_id(self) -> int:
        """The newest global id (0 for an empty log)."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.max(events.c.id))).scalar() or 0)

    def streams(self) -> list[str]:
        """Every stream in the log, in order of first appearance."""
        query = select(events.c.stream, func.min(events.c.id).label("first")).group_by(events.c.stream)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by("first")).all()
        return [r.stream for r in rows]

    # -- the inbox of events that arrived ahead of a gap ------------------------------------------------

    def hold(self, stream: str, seq: int, payload: dict[str, Any], held_at: datetime) -> bool:
        """Keep an early event until its predecessors arrive; False when it is already held."""
        cipher = _CIPHERS.get(self.engine)
        stored = cipher.seal(stream, str(payload.get("type", "")), payload, held_at) if cipher else payload
        try:
            with self.engine.begin() as conn:
                row = {"stream": stream, "seq": seq, "payload": _encode(stored), "held_at": held_at}
                conn.execute(insert(held_events).values(**row))
        except IntegrityError:
            return False
        return True

    def holds(self, stream: str) -> bool:
        """Whether any event of ``stream`` waits in the inbox."""
        with self.engine.connect() as conn:
            return conn.execute(_HOLDS, {"stream": stream}).first() is not None

    def held(self, stream: str | None = None) -> list[HeldEvent]:
        """Held events, by stream and seq."""
        query = select(held_events).order_by(held_events.c.stream, held_events.c.seq)
        if stream is not None:
            query = query.where(held_events.c.stream == stream)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [HeldEvent(r.stream, r.seq, self._held_payload(r.stream, r.payload), r.held_at) for r in rows]

    def _held_payload(self, stream: str, text: str) -> dict[str, Any]:
        payload: dict[str, Any] = json.loads(text)
        return open_payload(self.engine, stream, str(payload.get("type", "")), payload)

    def release(self, stream: str, seq: int) -> None:
        """Drop a held event once it has been appended to the log."""
        with self.engine.begin() as conn:
            conn.execute(held_events.delete().where(held_events.c.stream == stream, held_events.c.seq == seq))

    # -- retention and re-encryption: the only writes that change a stored row ---------------------------

    def rewrite(self, conn: Connection, row: StoredEvent, payload: dict[str, Any]) -> None:
        """Replace one row's payload (retention purge, sealing legacy rows), sealed like an append.

        Call it inside ``conn``'s transaction; nothing else about the row changes.
        """
        cipher = _CIPHERS.get(self.engine)
        stored = cipher.seal(row.stream, row.type, payload, row.recorded_at) if cipher else payload
        conn.execute(update(events).where(events.c.id == row.id).values(payload=_encode(stored)))

    def _row(self, r: Any) -> StoredEvent:
        return StoredEvent(
            id=int(r.id),
            stream=r.stream,
            pos=r.pos,
            kind=r.kind,
            type=r.type,
            seq=r.seq,
            cause=r.cause,
            payload=open_payload(self.engine, r.stream, r.type, r.payload),
            recorded_at=r.recorded_at,
        )
