"""Transcript adapters: what contact-center platforms emit for real-time transcripts → calmline events.

``adapt(fmt, documents, options)`` reads the documents of one call in a platform format (``contact-lens``,
``transcribe`` or ``generic``) and returns its input events, ready for ``POST /api/events/batch`` or
``CallService.ingest``. ``docs/ADAPTERS.md`` describes the formats and the speaker mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, Literal

from calmline.adapters import contact_lens, generic, transcribe
from calmline.adapters.base import (
    AdapterError,
    AdaptOptions,
    Segment,
    Transcript,
    parse_speaker_options,
    read_documents,
    to_events,
)
from calmline.events import ExternalCallInput

Format = Literal["contact-lens", "transcribe", "generic"]

#: Format name → (reader, default speaker mapping).
FORMATS: Mapping[str, tuple[Callable[[Iterable[Any]], Transcript], Mapping[str, str]]] = MappingProxyType(
    {
        "contact-lens": (contact_lens.read, contact_lens.DEFAULT_SPEAKERS),
        "transcribe": (transcribe.read, transcribe.DEFAULT_SPEAKERS),
        "generic": (generic.read, generic.DEFAULT_SPEAKERS),
    }
)


def adapt(fmt: str, documents: Iterable[Any], options: AdaptOptions | None = None) -> list[ExternalCallInput]:
    """The calmline input events of one call given in format ``fmt``."""
    if fmt not in FORMATS:
        raise AdapterError(f"unknown format {fmt!r} (one of: {', '.join(FORMATS)})")
    reader, speakers = FORMATS[fmt]
    return to_events(reader(documents), options or AdaptOptions(), speakers)


__all__ = [
    "FORMATS",
    "AdaptOptions",
    "AdapterError",
    "Format",
    "Segment",
    "Transcript",
    "adapt",
    "parse_speaker_options",
    "read_documents",
    "to_events",
]
