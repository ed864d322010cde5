"""Amazon Transcribe streaming results → calmline events.

Accepted documents (JSON or JSON Lines, one file may mix them):

* ``{"TranscriptEvent": {"Transcript": {"Results": [...]}}}`` as the streaming API sends them, or the inner
  ``{"Transcript": {"Results": [...]}}`` / ``{"Results": [...]}``;
* Call Analytics streaming ``{"UtteranceEvent": {...}}`` (``UtteranceId``, ``ParticipantRole``,
  ``BeginOffsetMillis``/``EndOffsetMillis``, ``IsPartial``, ``Transcript``).

Only final results are kept (``IsPartial: false``), once per ``ResultId``/``UtteranceId``, in arrival order.
``StartTime``/``EndTime`` are seconds from the start of the stream; the text is ``Alternatives[0].Transcript``
and the confidence the mean of its words'. The speaker comes from ``ChannelId`` (channel identification) or,
failing that, the first word's ``Speaker`` label (``spk_0``...), or ``ParticipantRole``: by default ch_0 and
spk_0 are the agent, ch_1 and spk_1 the caller, and a result with no label is ``unknown`` (→ other). All of
it is configurable (``--speaker ch_0=caller``). Streams carry no wall-clock time: give the call's start.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from calmline.adapters.base import AdapterError, Segment, Transcript, millis, seconds_to_ms, unique_final

DEFAULT_SPEAKERS = {
    "ch_0": "agent",
    "ch_1": "caller",
    "spk_0": "agent",
    "spk_1": "caller",
    "AGENT": "agent",
    "CUSTOMER": "caller",
    "unknown": "other",
}
#: Exceptions the streaming API can put on the event stream instead of a transcript.
_EXCEPTIONS = (
    "BadRequestException",
    "LimitExceededException",
    "InternalFailureException",
    "ConflictException",
    "ServiceUnavailableException",
)


def read(documents: Iterable[Any]) -> Transcript:
    """The final results of Transcribe streaming documents, as segments in arrival order."""
    segments: list[Segment] = []
    for n, doc in enumerate(documents, start=1):
        where = f"document {n}"
        if not isinstance(doc, dict):
            raise AdapterError(f"{where}: expected a JSON object")
        failed = next((name for name in _EXCEPTIONS if name in doc), None)
        if failed:
            raise AdapterError(f"{where}: the stream reported {failed}")
        if isinstance(doc.get("UtteranceEvent"), dict):
            segments.extend(_utterance(doc["UtteranceEvent"], where))
            continue
        if "UtteranceId" in doc:
            segments.extend(_utterance(doc, where))
            continue
        body = doc.get("TranscriptEvent", doc)
        body = body.get("Transcript", body) if isinstance(body, dict) else body
        results = body.get("Results") if isinstance(body, dict) else None
        if results is None:
            continue  # CategoryEvent and other events carry no transcript
        if not isinstance(results, list):
            raise AdapterError(f"{where}: Results must be a list")
        for i, result in enumerate(results):
            segments.extend(_result(result, f"{where}, Results[{i}]"))
    return Transcript(segments=unique_final(segments))


def _result(result: Any, where: str) -> list[Segment]:
    if not isinstance(result, dict):
        raise AdapterError(f"{where}: expected a result object")
    if result.get("IsPartial", False) is not False:
        return []
    alternatives = result.get("Alternatives") or []
    if not alternatives or not isinstance(alternatives[0], dict):
        return []
    best = alternatives[0]
    text = best.get("Transcript")
    if not isinstance(text, str):
        raise AdapterError(f"{where}: Alternatives[0].Transcript must be a string")
    start = seconds_to_ms(result.get("StartTime"), f"{where}: StartTime")
    end = seconds_to_ms(result.get("EndTime", result.get("StartTime")), f"{where}: EndTime")
    items = [i for i in best.get("Items") or () if isinstance(i, dict)]
    role = result.get("ChannelId") or next((i["Speaker"] for i in items if i.get("Speaker")), None)
    key = str(result.get("ResultId") or f"{start}:{end}:{role}")
    return [Segment(key, str(role or "unknown"), text, start, end, _confidence(items))]


def _utterance(event: dict[str, Any], where: str) -> list[Segment]:
    if event.get("IsPartial", False) is not False:
        return []
    text = event.get("Transcript")
    if not isinstance(text, str):
        raise AdapterError(f"{where}: UtteranceEvent.Transcript must be a string")
    start = millis(event.get("BeginOffsetMillis"), f"{where}: BeginOffsetMillis")
    end = millis(event.get("EndOffsetMillis", start), f"{where}: EndOffsetMillis")
    items = [i for i in event.get("Items") or () if isinstance(i, dict)]
    role = str(event.get("ParticipantRole") or "unknown")
    key = str(event.get("UtteranceId") or f"{start}:{end}:{role}")
    return [Segment(key, role, text, start, end, _confidence(items))]


def _confidence(items: list[dict[str, Any]]) -> float | None:
    values = [
        float(i["Confidence"])
        for i in items
        if isinstance(i.get("Confidence"), int | float) and i.get("Type", "pronunciation") == "pronunciation"
    ]
    if not values:
        return None
    return round(min(1.0, max(0.0, sum(values) / len(values))), 4)
