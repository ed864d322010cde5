"""Play scenarios as live calls: staggered, interleaved, paced in real time scaled by a speed factor.

Every call's events are put on one timeline (call ``i`` starts ``i * stagger_s`` seconds after the first) and
delivered in time order, so several calls are in progress at once exactly as on a busy floor. Delivery is
paced by the wall clock (``speed`` 2 plays twice as fast; ``math.inf`` does not wait at all), while the
*simulated* time lives in the events' own timestamps. In-process, a ``FakeClock`` is moved to each event's
simulated time before it is ingested, so the store's timestamps (and therefore whole runs) are reproducible.

Call ids are deterministic: ``<prefix>-<scenario id>-<n>``, ``n`` counting from ``first_n``.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog

from calmline.clock import Clock, FakeClock, SystemClock
from calmline.events import ExternalCallInput, UtteranceReceived
from calmline.sim.scenario import Scenario, schedule

if TYPE_CHECKING:  # pragma: no cover
    import httpx

    from calmline.service import CallService

log = structlog.get_logger("calmline.sim")

#: Seconds between the starts of consecutive calls.
DEFAULT_STAGGER_S = 6.0
#: A call that follows another (``Scenario.after``) starts this long after that one ended.
AFTER_GAP_S = 4.0
#: Path of the ingest endpoint on a calmline server.
EVENTS_PATH = "/api/events"
#: Give up on a server after this many failures in a row.
MAX_CONSECUTIVE_ERRORS = 5

Sleep = Callable[[float], None]


class PlayerError(RuntimeError):
    """Playback cannot go on (the server refused the API key, or stopped answering)."""


@dataclass(frozen=True, slots=True)
class Cue:
    """One event on the shared timeline: when it is due, and for which call."""

    offset_s: float
    at: datetime
    call_index: int
    event: ExternalCallInput


@dataclass
class PlayReport:
    """What a playback did."""

    calls: dict[str, str] = field(default_factory=dict)
    events: int = 0
    utterances: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    stopped: bool = False
    simulated_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly view."""
        return {
            "calls": dict(self.calls),
            "events": self.events,
            "utterances": self.utterances,
            "statuses": dict(self.statuses),
            "errors": list(self.errors),
            "wall_s": round(self.wall_s, 3),
            "simulated_s": round(self.simulated_s, 3),
            "stopped": self.stopped,
        }


def call_ids(scenarios: Sequence[Scenario], prefix: str = "demo", first_n: int = 1) -> list[str]:
    """The call id of each scenario: ``<prefix>-<id>-<n>``; a scenario listed twice gets ``n``, ``n+1``."""
    seen: Counter[str] = Counter()
    ids = []
    for scenario in scenarios:
        ids.append(f"{prefix}-{scenario.id}-{first_n + seen[scenario.id]}")
        seen[scenario.id] += 1
    return ids


def timeline(
    scenarios: Sequence[Scenario],
    start: datetime,
    *,
    call_id_prefix: str = "demo",
    stagger_s: float = DEFAULT_STAGGER_S,
    first_n: int = 1,
) -> list[Cue]:
    """Every event of every call, in delivery order (time, then call, then ``seq``)."""
    cues: list[Cue] = []
    offsets = start_offsets(scenarios, stagger_s)
    for index, (scenario, call_id) in enumerate(
        zip(scenarios, call_ids(scenarios, call_id_prefix, first_n), strict=True)
    ):
        offset = offsets[index]
        call_start = start + timedelta(seconds=offset)
        for at, event in schedule(scenario, call_id, call_start):
            cues.append(Cue(offset + at, call_start + timedelta(seconds=at), index, event))
    cues.sort(key=lambda c: (c.offset_s, c.call_index, getattr(c.event, "seq", 0)))
    return cues


def start_offsets(scenarios: Sequence[Scenario], stagger_s: float = DEFAULT_STAGGER_S) -> list[float]:
    """When each call starts: ``i * stagger_s``, or once the call it follows (``after``) has ended."""
    offsets: list[float] = []
    ends: dict[str, float] = {}
    for index, scenario in enumerate(scenarios):
        offset = index * stagger_s
        if scenario.after is not None and scenario.after in ends:
            offset = max(offset, ends[scenario.after] + AFTER_GAP_S)
        offsets.append(offset)
        ends[scenario.id] = offset + scenario.end_at
    return offsets


def span_s(scenarios: Sequence[Scenario], stagger_s: float = DEFAULT_STAGGER_S) -> float:
    """Simulated seconds from the first call's start to the last call's end."""
    offsets = start_offsets(scenarios, stagger_s)
    return max((o + s.end_at for o, s in zip(offsets, scenarios, strict=True)), default=0.0)


class _Pacer:
    """Waits until a timeline offset is due in wall-clock time, scaled by ``speed``."""

    def __init__(self, speed: float, sleep: Sleep, stop: threading.Event | None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive (math.inf plays without waiting)")
        self.speed = speed
        self.sleep = sleep
        self.stop = stop
        self.began = time.monotonic()

    def wait_for(self, offset_s: float) -> bool:
        """Block until ``offset_s`` is due; False when asked to stop."""
        if self.stop is not None and self.stop.is_set():
            return False
        if math.isinf(self.speed):
            return True
        remaining = offset_s / self.speed - (time.monotonic() - self.began)
        if remaining > 0:
            if self.stop is not None:
                return not self.stop.wait(remaining)
            self.sleep(remaining)
        return True


def play_inprocess(
    service: CallService,
    scenarios: Sequence[Scenario],
    speed: float = 1.0,
    clock: Clock | None = None,
    call_id_prefix: str = "demo",
    *,
    stagger_s: float = DEFAULT_STAGGER_S,
    first_n: int = 1,
    start: datetime | None = None,
    sleep: Sleep = time.sleep,
    stop: threading.Event | None = None,
) -> PlayReport:
    """Play ``scenarios`` into ``service`` directly (no HTTP).

    Args:
        service: where the events are ingested.
        scenarios: the calls to play; call ``i`` starts ``i * stagger_s`` simulated seconds after call 0.
        speed: wall-clock pacing; ``math.inf`` plays as fast as the service ingests.
        clock: the clock giving the start time, by default the service's. A ``FakeClock`` is moved forward
            to each event's simulated time before it is ingested: give the service the same one for
            reproducible runs.
        call_id_prefix: first part of the call ids.
        stagger_s: simulated seconds between call starts.
        first_n: the ``n`` of the call ids.
        start: simulated start of the first call (default ``clock.now()``).
        sleep: how to wait (tests pass a recorder).
        stop: set it to stop playback early (the report says ``stopped``).
    """
    clock = clock or service.clock
    start = start or clock.now()
    cues = timeline(scenarios, start, call_id_prefix=call_id_prefix, stagger_s=stagger_s, first_n=first_n)
    report = _new_report(scenarios, call_id_prefix, first_n)
    pacer = _Pacer(speed, sleep, stop)
    for cue in cues:
        if not pacer.wait_for(cue.offset_s):
            report.stopped = True
            break
        if isinstance(clock, FakeClock):
            ahead = (cue.at - clock.now()).total_seconds()
            if ahead > 0:
                clock.advance(ahead)
        result = service.ingest(cue.event)
        _count(report, cue, result.status)
    report.wall_s = time.monotonic() - pacer.began
    return report


def play_http(
    base_url: str,
    api_key: str,
    scenarios: Sequence[Scenario],
    speed: float = 1.0,
    *,
    call_id_prefix: str = "demo",
    stagger_s: float = DEFAULT_STAGGER_S,
    first_n: int = 1,
    clock: Clock | None = None,
    sleep: Sleep = time.sleep,
    stop: threading.Event | None = None,
    client: httpx.Client | None = None,
    timeout_s: float = 10.0,
) -> PlayReport:
    """Play ``scenarios`` to a running calmline server: ``POST /api/events`` with a bearer API key.

    Event timestamps start at ``clock.now()`` (the real time by default). Refused events are listed in
    ``report.errors``; a refused API key, or ``MAX_CONSECUTIVE_ERRORS`` failures in a row, raise
    ``PlayerError``.
    """
    import httpx  # a dev/runtime dependency only the HTTP player needs

    clock = clock or SystemClock()
    cues = timeline(
        scenarios, clock.now(), call_id_prefix=call_id_prefix, stagger_s=stagger_s, first_n=first_n
    )
    report = _new_report(scenarios, call_id_prefix, first_n)
    owned = client is None
    http = client or httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)
    headers = {"Authorization": f"Bearer {api_key}"}
    pacer = _Pacer(speed, sleep, stop)
    failures = 0
    try:
        for cue in cues:
            if not pacer.wait_for(cue.offset_s):
                report.stopped = True
                break
            status, error = _post(http, headers, cue.event)
            _count(report, cue, status)
            if error is None:
                failures = 0
                continue
            where = f"{cue.event.call_id} seq {getattr(cue.event, 'seq', '-')}"
            report.errors.append(f"{where}: {error}")
            log.warning("sim.http_refused", call_id=cue.event.call_id, error=error)
            failures += 1
            if failures >= MAX_CONSECUTIVE_ERRORS:
                raise PlayerError(f"{base_url}: {failures} failures in a row, last: {error}")
    finally:
        if owned:
            http.close()
    report.wall_s = time.monotonic() - pacer.began
    return report


def _post(http: httpx.Client, headers: dict[str, str], event: ExternalCallInput) -> tuple[str, str | None]:
    import httpx

    try:
        response = http.post(EVENTS_PATH, json=event.model_dump(mode="json"), headers=headers)
    except httpx.HTTPError as exc:
        return "error", f"{type(exc).__name__}: {exc}"
    if response.status_code in (401, 403):
        raise PlayerError(
            f"{response.request.url}: the server refused the API key (HTTP {response.status_code})"
        )
    if response.is_success:
        return _status_of(response), None
    if response.status_code == 409:
        return "duplicate", None
    return "error", f"HTTP {response.status_code}: {response.text[:200]}"


def _status_of(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "accepted"
    if isinstance(body, dict) and isinstance(body.get("status"), str):
        return str(body["status"])
    return "accepted"


def _new_report(scenarios: Sequence[Scenario], prefix: str, first_n: int) -> PlayReport:
    ids = call_ids(scenarios, prefix, first_n)
    return PlayReport(calls={cid: s.id for cid, s in zip(ids, scenarios, strict=True)})


def _count(report: PlayReport, cue: Cue, status: str) -> None:
    report.events += 1
    report.statuses[status] += 1
    report.simulated_s = max(report.simulated_s, cue.offset_s)
    if isinstance(cue.event, UtteranceReceived):
        report.utterances += 1
