"""Event validation at the edge, and the exported JSON Schema staying in step with the models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from calmline.events import UtteranceReceived, parse_input
from calmline.schema_export import export_schemas

ROOT = Path(__file__).resolve().parents[2]


def test_parse_input_dispatches_on_type() -> None:
    event = parse_input(
        {
            "type": "utterance",
            "call_id": "c-1",
            "seq": 3,
            "speaker": "agent",
            "text": "hi",
            "start_ms": 0,
            "end_ms": 10,
        }
    )
    assert isinstance(event, UtteranceReceived) and event.speaker == "agent"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (
            {
                "type": "utterance",
                "call_id": "c",
                "seq": 1,
                "speaker": "caller",
                "text": "x",
                "start_ms": 0,
                "end_ms": 1,
                "colour": "red",
            },
            "colour",
        ),
        (
            {
                "type": "utterance",
                "call_id": "c",
                "seq": -1,
                "speaker": "caller",
                "text": "x",
                "start_ms": 0,
                "end_ms": 1,
            },
            "seq",
        ),
        (
            {
                "type": "utterance",
                "call_id": "c",
                "seq": 1,
                "speaker": "robot",
                "text": "x",
                "start_ms": 0,
                "end_ms": 1,
            },
            "speaker",
        ),
        ({"type": "call.started", "call_id": "c", "started_at": "2026-01-01T09:00:00"}, "started_at"),
        (
            {"type": "call.started", "call_id": "bad id with spaces", "started_at": "2026-01-01T09:00:00Z"},
            "call_id",
        ),
        (
            {
                "type": "utterance",
                "call_id": "c",
                "seq": 1,
                "speaker": "caller",
                "text": "x",
                "start_ms": 5,
                "end_ms": 1,
            },
            "end_ms",
        ),
    ],
)
def test_invalid_events_are_rejected_naming_the_problem(payload: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_input(payload)
    assert field in str(info.value)


def test_unknown_event_type_is_rejected() -> None:
    with pytest.raises(ValidationError, match="tag"):
        parse_input({"type": "call.exploded", "call_id": "c"})


def test_events_are_frozen() -> None:
    event = parse_input({"type": "tick", "call_id": "c", "at": "2026-01-01T09:00:00Z"})
    with pytest.raises(ValidationError):
        event.call_id = "other"  # type: ignore[misc]


def test_committed_json_schemas_match_the_models(tmp_path: Path) -> None:
    written = export_schemas(tmp_path)
    for path in written:
        committed = ROOT / "docs" / "schema" / path.name
        assert committed.is_file(), f"docs/schema/{path.name} missing: run `make schema`"
        assert json.loads(committed.read_text()) == json.loads(path.read_text()), f"{path.name} is stale"
