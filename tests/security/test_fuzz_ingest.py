"""Fuzzing the ingest parsers (hypothesis): any bytes, any JSON, any batch get a clean answer, never a crash.

``decode_json`` / ``validate_event`` / ``batch_items`` are what ``POST /api/events``, ``/api/events/batch``
and ``/ws/ingest`` run on untrusted input; the transcript adapters parse vendor files. Each must either
return or raise its own error type (which the API turns into a 4xx), and no error message may quote the input.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from calmline.adapters.base import AdapterError
from calmline.api.errors import ApiError, decode_json, validation_error
from calmline.api.ingest import batch_items, validate_event

FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None)
#: Seeded PHI-like text: a phrase, as speech is (a one-word JSON key *is* echoed back as a field name).
MARK = "zq lopez 555 0199"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
EVENT_TYPES = [
    "call.started",
    "utterance",
    "call.ended",
    "call.transferred",
    "supervisor.action",
    "tick",
    "x",
]
event_like = st.fixed_dictionaries(
    {"type": st.sampled_from(EVENT_TYPES), "call_id": st.text(max_size=20) | st.just("c1")},
    optional={
        "seq": st.integers(-5, 10**12) | st.text(max_size=5),
        "text": st.text(max_size=50).map(lambda t: t + MARK),
        "speaker": st.sampled_from(["caller", "agent", MARK]),
        "start_ms": st.integers(-(10**6), 10**9),
        "end_ms": st.integers(-(10**6), 10**9),
        "started_at": st.sampled_from(["2026-01-01T09:00:00Z", MARK, "2026-13-40"]),
        MARK: json_values,
    },
)


def _no_echo(exc: ApiError) -> None:
    assert MARK not in json.dumps(exc.body())


@FUZZ
@given(raw=st.binary(max_size=300))
def test_decode_json_accepts_or_refuses_any_bytes(raw: bytes) -> None:
    try:
        decode_json(raw)
    except ApiError as exc:
        assert exc.status == 400


@FUZZ
@given(data=json_values | event_like)
def test_validate_event_returns_an_event_or_a_clean_422(data: Any) -> None:
    try:
        event = validate_event(data)
    except ApiError as exc:
        assert exc.status in (400, 422)
        _no_echo(exc)
    else:
        assert event.type in EVENT_TYPES


@FUZZ
@given(data=json_values | st.fixed_dictionaries({"events": st.lists(event_like | json_values, max_size=5)}))
def test_batch_items_returns_a_list_or_a_clean_error(data: Any) -> None:
    try:
        items = batch_items(data)
    except ApiError as exc:
        assert exc.status in (400, 413, 422)
        _no_echo(exc)
    else:
        assert isinstance(items, list)


@FUZZ
@given(data=event_like)
def test_pydantic_errors_never_quote_the_input(data: dict[str, Any]) -> None:
    from calmline.events import INPUT_ADAPTER

    try:
        INPUT_ADAPTER.validate_python(data)
    except ValidationError as exc:
        _no_echo(validation_error(exc))


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(docs=st.lists(json_values, max_size=3))
def test_transcript_adapters_refuse_garbage_with_their_own_error(docs: list[Any]) -> None:
    from calmline.adapters import contact_lens, generic, transcribe

    for module in (contact_lens, generic, transcribe):
        try:
            module.read(docs)
        except AdapterError as exc:
            assert MARK not in str(exc)
