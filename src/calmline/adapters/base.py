"""What every transcript adapter shares: final segments in, calmline input events out.

An adapter reads a platform's real-time transcript documents and returns a :class:`Transcript`: the call's
metadata it could find and its *final* segments in arrival order (partial results are dropped, a segment
delivered twice is kept once). :func:`to_events` then numbers them: ``call.started`` is ``seq`` 0, the
utterances follow as 1..n in order, and ``call.ended`` (when wanted) is n+1, so converting the same file twice
gives the same events, and re-sending them to calmline is a harmless duplicate.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from calmline.events import CallEnded, CallStarted, UtteranceReceived
from calmline.events import ExternalCallInput as CallInput
from calmline.events.call import Speaker

SPEAKERS: frozenset[str] = frozenset({"caller", "agent", "other"})


class AdapterError(ValueError):
    """The input cannot be converted; the message says where and why (never the transcript text)."""


@dataclass(frozen=True, slots=True)
class Segment:
    """One final stretch of speech as the platform reported it."""

    key: str
    role: str
    text: str
    start_ms: int
    end_ms: int
    confidence: float | None = None


@dataclass(frozen=True)
class Transcript:
    """What an adapter found: call metadata (when the format carries it) and final segments in order."""

    segments: tuple[Segment, ...]
    call_id: str | None = None
    started_at: datetime | None = None
    language: str | None = None
    queue: str | None = None
    reason: str | None = None
    caller_ref: str | None = None
    agent_id: str | None = None
    ended: bool = False
    disposition: str | None = None
    ended_at: datetime | None = None


@dataclass(frozen=True)
class AdaptOptions:
    """How to turn a transcript into calmline events; anything set here wins over the file's own value."""

    call_id: str | None = None
    started_at: datetime | None = None
    speakers: Mapping[str, str] = field(default_factory=dict)
    queue: str | None = None
    language: str | None = None
    reason: str | None = None
    caller_ref: str | None = None
    end: bool | None = None
    disposition: str | None = None


def speaker_map(defaults: Mapping[str, str], overrides: Mapping[str, str]) -> dict[str, str]:
    """Platform role (compared without case) → calmline speaker, the overrides applied on the defaults."""
    merged = {k.casefold(): v for k, v in defaults.items()}
    for role, speaker in overrides.items():
        if speaker not in SPEAKERS:
            raise AdapterError(f"speaker for {role!r} must be caller, agent or other, not {speaker!r}")
        merged[role.casefold()] = speaker
    return merged


def parse_speaker_options(values: Iterable[str]) -> dict[str, str]:
    """``["CUSTOMER=caller", "ch_1=agent"]`` → ``{"CUSTOMER": "caller", "ch_1": "agent"}``."""
    out: dict[str, str] = {}
    for value in values:
        role, sep, speaker = value.partition("=")
        if not sep or not role.strip():
            raise AdapterError(f"--speaker takes ROLE=SPEAKER (e.g. CUSTOMER=caller), got {value!r}")
        out[role.strip()] = speaker.strip()
    return out


def to_events(
    transcript: Transcript, options: AdaptOptions, default_speakers: Mapping[str, str]
) -> list[CallInput]:
    """The calmline input events of the call: started (seq 0), utterances (1..n), ended (n+1)."""
    call_id = options.call_id or transcript.call_id
    if not call_id:
        raise AdapterError("no call id in the input: give one (--call-id)")
    start = options.started_at or transcript.started_at
    if start is None:
        raise AdapterError("the input carries no start time: give one (--started-at 2026-01-01T09:00:00Z)")
    if start.tzinfo is None:
        raise AdapterError("the start time must carry a timezone (e.g. 2026-01-01T09:00:00Z)")
    speakers = speaker_map(default_speakers, options.speakers)
    events: list[CallInput] = [
        CallStarted(
            call_id=call_id,
            seq=0,
            queue=options.queue or transcript.queue or "general",
            language=options.language or _language(transcript.language),
            caller_ref=options.caller_ref or transcript.caller_ref,
            reason=options.reason or transcript.reason,
            agent_id=transcript.agent_id,
            started_at=start,
        )
    ]
    last_ms = 0
    for seg in transcript.segments:
        events.append(
            UtteranceReceived(
                call_id=call_id,
                seq=len(events),
                speaker=cast(Speaker, speakers.get(seg.role.casefold(), "other")),
                text=seg.text,
                start_ms=seg.start_ms,
                end_ms=max(seg.end_ms, seg.start_ms),
                confidence=seg.confidence,
            )
        )
        last_ms = max(last_ms, seg.end_ms)
    end = transcript.ended if options.end is None else options.end
    if end:
        at = transcript.ended_at or start + timedelta(milliseconds=last_ms)
        disposition = options.disposition or transcript.disposition or "completed"
        events.append(CallEnded(call_id=call_id, seq=len(events), disposition=disposition, at=at))
    return events


def unique_final(segments: Iterable[Segment]) -> tuple[Segment, ...]:
    """Segments in arrival order, each key once (the first delivery wins), empty text dropped."""
    seen: set[str] = set()
    out = []
    for seg in segments:
        if seg.key in seen or not seg.text.strip():
            continue
        seen.add(seg.key)
        out.append(seg)
    return tuple(out)


def read_documents(path: str | Path) -> list[Any]:
    """A file's JSON documents: one JSON value (a list is spread into its items), or JSON Lines."""
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AdapterError(f"{path}: cannot read ({type(exc).__name__})") from exc
    return list(_documents(text, str(path)))


def _documents(text: str, source: str) -> Iterator[Any]:
    try:
        whole = json.loads(text)
    except ValueError:
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except ValueError as exc:
                raise AdapterError(
                    f"{source}:{n}: not JSON (a JSON document or JSON Lines expected)"
                ) from exc
        return
    if isinstance(whole, list):
        yield from whole
    else:
        yield whole


def millis(value: Any, where: str) -> int:
    """A non-negative integer number of milliseconds."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise AdapterError(f"{where}: expected milliseconds (a number >= 0)")
    return round(value)


def seconds_to_ms(value: Any, where: str) -> int:
    """Seconds (a number >= 0) as integer milliseconds."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise AdapterError(f"{where}: expected seconds (a number >= 0)")
    return round(value * 1000)


def _language(code: str | None) -> str:
    """Primary language subtag, as calmline names languages: ``en-US`` → ``en`` (``en`` when unknown)."""
    if not code:
        return "en"
    return code.split("-")[0].split("_")[0].lower() or "en"
