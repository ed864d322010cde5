"""Common base for every calmline event.

Events are frozen pydantic models: they are the wire format (ingest payloads, the log, the live feed) and
their JSON Schema is exported to ``docs/schema/``, so one model serves as the only schema (see
``docs/DECISIONS.md``). Unknown fields are rejected so a typo in an integration fails loudly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

#: Identifier of a call as given by the telephony side. Printable, no spaces, bounded.
CallId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")]


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a timezone (e.g. 2026-01-01T10:00:00Z)")
    return value


#: A timezone-aware timestamp.
Timestamp = Annotated[datetime, AfterValidator(_aware)]


class Event(BaseModel):
    """Base of all events: frozen, strict about unknown fields, versioned by ``v``."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)

    type: str = Field(description="The event's wire type, e.g. ``utterance``.")
    v: int = Field(default=1, ge=1, le=1, description="Schema version of this event type.")
