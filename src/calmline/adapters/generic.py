"""calmline's generic transcript JSON → calmline events (``docs/ADAPTERS.md`` documents the format).

One JSON document with the call and its segments, or JSON Lines: a header object (no ``text``) and then one
segment object per line. Segments with ``"final": false`` are dropped; a segment ``id`` seen twice is kept
once; order is the file's order. ``speaker`` is mapped like the platform roles (caller, agent, other,
customer → caller, by default). Unknown fields are rejected so that a typo fails loudly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from calmline.adapters.base import AdapterError, Segment, Transcript, unique_final
from calmline.events.base import Timestamp

DEFAULT_SPEAKERS = {"caller": "caller", "customer": "caller", "agent": "agent", "other": "other"}
FORMAT = "calmline.transcript/1"


class GenericSegment(BaseModel):
    """One stretch of speech."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = Field(default=None, max_length=128)
    speaker: str = Field(min_length=1, max_length=64)
    text: str = Field(max_length=20_000)
    start_ms: int = Field(ge=0)
    end_ms: int = Field(ge=0)
    final: bool = True
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)


class GenericCall(BaseModel):
    """The call: metadata and (in the one-document form) its segments."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: str = FORMAT
    call_id: str | None = Field(default=None, max_length=128)
    started_at: Timestamp | None = None
    queue: str | None = Field(default=None, max_length=64)
    language: str | None = Field(default=None, max_length=16)
    reason: str | None = Field(default=None, max_length=256)
    caller_ref: str | None = Field(default=None, max_length=128)
    agent_id: str | None = Field(default=None, max_length=64)
    ended: bool = True
    ended_at: Timestamp | None = None
    disposition: str | None = Field(default=None, max_length=64)
    segments: tuple[GenericSegment, ...] = ()


def read(documents: Iterable[Any]) -> Transcript:
    """The call header and final segments of generic documents."""
    header: GenericCall | None = None
    segments: list[Segment] = []
    for n, doc in enumerate(documents, start=1):
        if not isinstance(doc, dict):
            raise AdapterError(f"document {n}: expected a JSON object")
        try:
            if "text" in doc:
                items = [GenericSegment.model_validate(doc)]
            else:
                if header is not None:
                    raise AdapterError(f"document {n}: a second call header (one call per file)")
                header = GenericCall.model_validate(doc)
                items = list(header.segments)
        except ValidationError as exc:
            fields = ", ".join(".".join(str(p) for p in e["loc"]) or "document" for e in exc.errors())
            raise AdapterError(f"document {n}: invalid field(s): {fields}") from None
        if header is not None and header.format != FORMAT:
            raise AdapterError(f"document {n}: unknown format {header.format!r} (expected {FORMAT})")
        for i, seg in enumerate(items):
            if seg.final:
                key = seg.id or f"{n}:{i}"
                segments.append(Segment(key, seg.speaker, seg.text, seg.start_ms, seg.end_ms, seg.confidence))
    header = header or GenericCall()
    return Transcript(
        segments=unique_final(segments),
        call_id=header.call_id,
        started_at=header.started_at,
        language=header.language,
        queue=header.queue,
        reason=header.reason,
        caller_ref=header.caller_ref,
        agent_id=header.agent_id,
        ended=header.ended,
        ended_at=header.ended_at,
        disposition=header.disposition,
    )
