"""WebSockets: the live feed (``/ws/live``) and streaming ingest (``/ws/ingest``).

The live hub bridges the service's listeners, which run on whichever thread ingested the event, into one
bounded ``asyncio.Queue`` per connection with ``loop.call_soon_threadsafe``: ingest never waits for a
client. A client too slow to keep up is closed with 1013 ("try again later") and reconnects with
``?after=<last id it saw>`` to catch up from the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import anyio
import structlog
from anyio import to_thread
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse

from calmline.api.auth import Principal
from calmline.api.deps import INGEST_ROLES, LIVE_ROLES, credentials, resolve_principal
from calmline.api.errors import ApiError, decode_json, error_body
from calmline.api.ingest import batch_items, ingest_items, ingest_one, ingested, validate_event
from calmline.api.views import may_read_text, row_message
from calmline.clock import Clock
from calmline.group_commit import Refused
from calmline.practice import is_practice_call
from calmline.service import CallService
from calmline.store.log import StoredEvent

log = structlog.get_logger("calmline.api.ws")

router = APIRouter(tags=["websocket"])

#: Rows sent per catch-up page.
CATCH_UP_PAGE = 500
#: Close code for a client that fell behind (RFC 6455 "try again later").
CLOSE_TOO_SLOW = 1013
CLOSE_UNAUTHORIZED = 4401
#: How often (app clock) a live connection's credentials are checked again: a session that expired, a user
#: disabled or a key revoked stops receiving rows within this time.
RECHECK = timedelta(seconds=30)
#: What sending to or receiving from a client that has gone away raises.
_GONE: tuple[type[BaseException], ...] = (WebSocketDisconnect, OSError, RuntimeError)


class Subscriber:
    """One live connection's bounded queue; ``None`` in the queue means "overflowed: close"."""

    def __init__(self, maxsize: int) -> None:
        self.queue: asyncio.Queue[StoredEvent | None] = asyncio.Queue(maxsize)
        self.overflowed = False

    def offer(self, rows: Sequence[StoredEvent]) -> None:
        """Queue rows (on the event loop); on overflow drop everything and queue the close marker."""
        if self.overflowed:
            return
        for row in rows:
            try:
                self.queue.put_nowait(row)
            except asyncio.QueueFull:
                self.overflowed = True
                while not self.queue.empty():
                    self.queue.get_nowait()
                self.queue.put_nowait(None)
                return


class LiveHub:
    """Fans committed log rows out to live connections."""

    def __init__(self, queue_size: int = 1000) -> None:
        self.queue_size = queue_size
        self._subscribers: set[Subscriber] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver on ``loop`` from now on."""
        self._loop = loop

    def detach(self) -> None:
        """Stop delivering (shutdown)."""
        self._loop = None

    def publish(self, rows: Sequence[StoredEvent]) -> None:
        """Service listener: called on the ingesting thread; never blocks."""
        loop = self._loop
        if loop is None or not self._subscribers:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closing
            loop.call_soon_threadsafe(self._deliver, tuple(rows))

    def _deliver(self, rows: tuple[StoredEvent, ...]) -> None:
        for subscriber in list(self._subscribers):
            subscriber.offer(rows)

    def open(self) -> Subscriber:
        """A new subscriber (call on the event loop)."""
        subscriber = Subscriber(self.queue_size)
        self._subscribers.add(subscriber)
        return subscriber

    def close(self, subscriber: Subscriber) -> None:
        """Forget a subscriber."""
        self._subscribers.discard(subscriber)

    @property
    def connections(self) -> int:
        """How many live connections are open."""
        return len(self._subscribers)


async def _authorize(websocket: WebSocket, roles: frozenset[str]) -> Principal | None:
    """The principal, or None after refusing the handshake with a JSON 401/403."""
    principal = await to_thread.run_sync(lambda: resolve_principal(websocket, allow_query=True))
    if principal is None:
        await _deny(websocket, 401, "unauthorized", "sign in or present an API key (?token=...)")
        return None
    if not principal.has_any(roles):
        await _deny(websocket, 403, "forbidden", f"this needs one of the roles: {', '.join(sorted(roles))}")
        return None
    return principal


async def _deny(websocket: WebSocket, status: int, code: str, detail: str) -> None:
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(JSONResponse(error_body(code, detail), status_code=status))
    else:
        await websocket.close(code=1008, reason=detail)


# -- the live feed -------------------------------------------------------------------------------------


@router.websocket("/ws/live")
async def live(websocket: WebSocket) -> None:
    """Every log row with ``id > after``, then rows as they are committed (supervisor, qa, admin, agent)."""
    principal = await _authorize(websocket, LIVE_ROLES)
    if principal is None:
        return
    try:
        after = int(websocket.query_params.get("after", "0"))
        if after < 0:
            raise ValueError
    except ValueError:
        await _deny(websocket, 422, "validation_error", "after must be a non-negative integer")
        return
    service: CallService = websocket.app.state.service
    hub: LiveHub = websocket.app.state.hub
    show_text = may_read_text(principal)
    subscriber = hub.open()  # before the catch-up, so nothing committed meanwhile is missed
    outcome: list[int | None] = [None]
    try:
        await websocket.accept()
        async with anyio.create_task_group() as tg:

            async def feed() -> None:
                try:
                    outcome[0] = await _feed(
                        websocket, service, subscriber, after, show_text, websocket.app.state.clock
                    )
                except _GONE:
                    pass  # the client went away
                finally:
                    tg.cancel_scope.cancel()

            tg.start_soon(_watch_disconnect, websocket, tg.cancel_scope)
            tg.start_soon(feed)
        if outcome[0] == CLOSE_UNAUTHORIZED:
            with contextlib.suppress(*_GONE):
                await websocket.close(code=CLOSE_UNAUTHORIZED, reason="credentials revoked or expired")
        elif outcome[0] is not None:
            log.info("live.overflow", user=principal.name)
            with contextlib.suppress(*_GONE):
                await websocket.close(code=outcome[0], reason="too slow: reconnect with ?after=<last id>")
    finally:
        hub.close(subscriber)


async def _watch_disconnect(websocket: WebSocket, scope: anyio.CancelScope) -> None:
    """Notice the client leaving (and ignore anything it sends)."""
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
    except _GONE:
        pass
    finally:
        scope.cancel()


async def _feed(
    websocket: WebSocket,
    service: CallService,
    subscriber: Subscriber,
    after: int,
    show_text: bool,
    clock: Clock | None = None,
) -> int | None:
    """Send the catch-up, then live rows; returns a close code when the client fell behind.

    With ``clock``, the credentials are checked again every ``RECHECK`` before a live row is sent
    (``CLOSE_UNAUTHORIZED`` once they are gone).
    """
    last = after
    while True:
        page = await to_thread.run_sync(service.log.read_since, last, CATCH_UP_PAGE)
        for row in page:
            if not is_practice_call(row.stream):  # practice calls never reach the live views
                await websocket.send_json(row_message(row, show_text=show_text))
        if len(page) < CATCH_UP_PAGE:
            break
        last = page[-1].id
        if subscriber.overflowed:
            return CLOSE_TOO_SLOW
    caught_up = page[-1].id if page else last
    next_check = clock.now() + RECHECK if clock is not None else None
    while True:
        item = await subscriber.queue.get()
        if item is None:
            return CLOSE_TOO_SLOW
        if item.id <= caught_up or is_practice_call(item.stream):  # sent already, or a practice call
            continue
        if clock is not None and next_check is not None and clock.now() >= next_check:
            current = await to_thread.run_sync(lambda: resolve_principal(websocket, allow_query=True))
            if current is None or not current.has_any(LIVE_ROLES):
                return CLOSE_UNAUTHORIZED
            show_text = may_read_text(current)
            next_check = clock.now() + RECHECK
        await websocket.send_json(row_message(item, show_text=show_text))


# -- streaming ingest ----------------------------------------------------------------------------------


@router.websocket("/ws/ingest")
async def ingest(websocket: WebSocket) -> None:
    """Each text message is one event or a list of events; each gets one reply (ingest, admin)."""
    principal = await _authorize(websocket, frozenset(INGEST_ROLES))
    if principal is None:
        return
    service: CallService = websocket.app.state.service
    limit: int = websocket.app.state.settings.max_body_bytes
    await websocket.accept()
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            # Credentials are checked again per message so a revoked key stops at once: right before the
            # event is stepped, in the thread that steps it.
            if service.publisher is None:
                reply = await _submit(websocket, service, message, limit)
            else:
                reply = await to_thread.run_sync(_authorized_ingest, websocket, service, message, limit)
            if reply is None:
                await websocket.close(code=CLOSE_UNAUTHORIZED, reason="credentials revoked or expired")
                return
            await websocket.send_json(reply)
    except WebSocketDisconnect:
        return


def _may_ingest(websocket: WebSocket) -> bool:
    current = resolve_principal(websocket, allow_query=True)
    return current is not None and current.has_any(INGEST_ROLES)


async def _submit(
    websocket: WebSocket, service: CallService, message: Mapping[str, Any], limit: int
) -> dict[str, Any] | None:
    """One message through the group-commit writer (``CallService.submit``); None: credentials gone.

    The event is validated here, then queued with the credential check; the reply comes after its commit. A
    batch message (a list of events) goes through the worker-thread path, event by event, as before.
    """
    raw, size = _raw(message)
    try:
        if size > limit:
            raise ApiError(413, "payload_too_large", f"message is larger than {limit} bytes")
        data = decode_json(raw)
        if isinstance(data, list) or (isinstance(data, dict) and "events" in data and "type" not in data):
            return await to_thread.run_sync(_authorized_ingest, websocket, service, message, limit)
        event = validate_event(data)
    except ApiError:  # answered by the worker-thread path, credentials checked first, as before
        return await to_thread.run_sync(_authorized_ingest, websocket, service, message, limit)
    started, received = time.perf_counter(), time.time()
    try:
        # One check per credential per group: a gateway's connections share its key (docs/BENCHMARKS.md).
        token = credentials(websocket.headers, websocket.cookies, websocket.query_params)
        submitted = service.submit(event, lambda: _may_ingest(websocket), check_key=token)
        result = await asyncio.wrap_future(submitted)
    except Refused:
        return None
    return ingested(event, result, started, received)


def _raw(message: Mapping[str, Any]) -> tuple[str | bytes, int]:
    raw: str | bytes | None = message.get("text")
    if raw is None:
        raw = message.get("bytes") or b""
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))
    return raw, size


def _authorized_ingest(
    websocket: WebSocket, service: CallService, message: Mapping[str, Any], limit: int
) -> dict[str, Any] | None:
    """The reply to one message, or None when the credentials no longer allow ingest (blocking)."""
    if not _may_ingest(websocket):
        return None
    return _ingest_message(service, message, limit)


def _ingest_message(service: CallService, message: Mapping[str, Any], limit: int) -> dict[str, Any]:
    raw, size = _raw(message)
    if size > limit:
        return error_body("payload_too_large", f"message is larger than {limit} bytes")
    try:
        data = decode_json(raw)
        if isinstance(data, list) or (isinstance(data, dict) and "events" in data and "type" not in data):
            items = batch_items(data, key=None if isinstance(data, list) else "events")
            return {"results": ingest_items(service, items)}
        return ingest_one(service, validate_event(data))
    except ApiError as exc:
        return {**exc.body(), "status": "rejected"}
