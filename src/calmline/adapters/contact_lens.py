"""Amazon Connect Contact Lens real-time analysis segments → calmline events.

Accepted shapes (one file may mix them; JSON or JSON Lines):

* the segment-stream events Contact Lens publishes to Kinesis Data Streams (``EventType`` ``STARTED``,
  ``SEGMENTS``, ``COMPLETED``, ``FAILED``; common fields ``ContactId``, ``LanguageCode``), also inside an
  EventBridge-style ``{"detail": {...}}`` envelope;
* a real-time segments API answer (``{"Segments": [...], "NextToken": ...}``), or a bare list of segments.

Only ``Transcript`` segments are used (they are final); ``Utterance`` segments are partial and dropped, as are
``Categories``, ``PostContactSummary``, ``Sentiment`` and ``IssuesDetected`` (calmline derives its own).
A ``Transcript`` seen twice (same ``Id``) is kept once. ``ParticipantRole`` maps to the speaker:
CUSTOMER → caller, AGENT → agent, anything else → other (configurable). The segments carry offsets only, so
the start time of the call must be given unless a document carries ``StartTime``/``InitiationTimestamp``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from calmline.adapters.base import AdapterError, Segment, Transcript, millis, unique_final

DEFAULT_SPEAKERS = {"CUSTOMER": "caller", "AGENT": "agent", "SUPERVISOR": "agent", "SYSTEM": "other"}


def read(documents: Iterable[Any]) -> Transcript:
    """The final transcript segments and contact metadata of Contact Lens documents."""
    segments: list[Segment] = []
    meta: dict[str, Any] = {}
    for n, doc in enumerate(documents, start=1):
        if not isinstance(doc, dict):
            raise AdapterError(f"document {n}: expected a JSON object")
        if isinstance(doc.get("detail"), dict):
            doc = doc["detail"]
        if "Transcript" in doc or "Utterance" in doc:  # a bare segment
            segments.extend(_segment(doc, f"document {n}"))
            continue
        meta.setdefault("call_id", doc.get("ContactId"))
        meta.setdefault("language", doc.get("LanguageCode"))
        started = doc.get("StartTime") or doc.get("InitiationTimestamp")
        if started and "started_at" not in meta:
            meta["started_at"] = _time(started, f"document {n}")
        kind = doc.get("EventType")
        if kind in ("COMPLETED", "FAILED"):
            meta["ended"] = True
            meta["disposition"] = "completed" if kind == "COMPLETED" else "analysis_failed"
        items = doc.get("Segments") or []
        if not isinstance(items, list):
            raise AdapterError(f"document {n}: Segments must be a list")
        for i, item in enumerate(items):
            segments.extend(_segment(item, f"document {n}, Segments[{i}]"))
    return Transcript(
        segments=unique_final(segments),
        call_id=meta.get("call_id") or None,
        started_at=meta.get("started_at"),
        language=meta.get("language") or None,
        ended=bool(meta.get("ended")),
        disposition=meta.get("disposition"),
    )


def _segment(item: Any, where: str) -> list[Segment]:
    if not isinstance(item, dict):
        raise AdapterError(f"{where}: expected a segment object")
    t = item.get("Transcript")
    if not isinstance(t, dict):  # Utterance (partial), Categories, PostContactSummary...
        return []
    content = t.get("Content")
    if not isinstance(content, str):
        raise AdapterError(f"{where}: Transcript.Content must be a string")
    begin = millis(t.get("BeginOffsetMillis"), f"{where}: Transcript.BeginOffsetMillis")
    end = millis(t.get("EndOffsetMillis", begin), f"{where}: Transcript.EndOffsetMillis")
    key = str(t.get("Id") or f"{begin}:{end}:{t.get('ParticipantId')}")
    role = str(t.get("ParticipantRole") or t.get("ParticipantId") or "")
    return [Segment(key=key, role=role, text=content, start_ms=begin, end_ms=end)]


def _time(value: Any, where: str) -> datetime:
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError) as exc:
        raise AdapterError(f"{where}: StartTime is not a timestamp") from exc
    if parsed.tzinfo is None:
        raise AdapterError(f"{where}: StartTime must carry a timezone")
    return parsed
