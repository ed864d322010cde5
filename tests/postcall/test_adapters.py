"""Transcript adapters: platform files become calmline events that calmline reads exactly like native ones."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from calmline.adapters import AdapterError, AdaptOptions, adapt, read_documents
from calmline.cli import app
from calmline.events import CallEnded, CallStarted, UtteranceReceived
from calmline.service import CallService
from calmline.sim.scenario import load_builtin, schedule
from tests.postcall.conftest import IMMINENT, START, new_service

FIXTURES = Path(__file__).parents[1] / "fixtures" / "adapters"
CONTACT_LENS = FIXTURES / "contact_lens_active_ideation.jsonl"
TRANSCRIBE = FIXTURES / "transcribe_chest_pain.json"
GENERIC = FIXTURES / "generic_calm_appointment.json"


def _findings(svc: CallService, call_id: str) -> list[tuple[str, str, str | None, tuple[str, ...]]]:
    """(type, level, tier, evidence words) of every finding on the call, in order."""
    texts: dict[int, str] = {}
    out = []
    for row in svc.log.read(call_id):
        if row.type == "utterance":
            texts[row.payload["seq"]] = row.payload["text"]
        elif row.type == "finding":
            f = row.payload["finding"]
            words = tuple(texts[f["utterance_seq"]][a:b] for a, b in f["evidence"])
            out.append((f["type"], f["level"], f.get("tier"), words))
    return out


def _alerts(svc: CallService, call_id: str) -> list[tuple[str, str]]:
    return [
        (r.payload["kind"], r.payload["severity"]) for r in svc.log.read(call_id) if r.type == "alert.raised"
    ]


def _native(call_engine, scenario_id: str) -> tuple[CallService, str]:
    svc, _ = new_service(call_engine)
    call_id = f"native-{scenario_id}"
    for _, event in schedule(load_builtin(scenario_id), call_id, START):
        svc.ingest(event)
    return svc, call_id


def _adapted(call_engine, fmt: str, path: Path, **options: Any) -> tuple[CallService, str]:
    svc, _ = new_service(call_engine)
    events = adapt(
        fmt, read_documents(path), AdaptOptions(call_id=f"adapted-{fmt}", started_at=START, **options)
    )
    for event in events:
        assert svc.ingest(event).status == "accepted"
    return svc, f"adapted-{fmt}"


@pytest.mark.parametrize(
    ("fmt", "path", "scenario_id"),
    [
        ("contact-lens", CONTACT_LENS, IMMINENT),
        ("transcribe", TRANSCRIBE, "chest_pain"),
        ("generic", GENERIC, "calm_appointment"),
    ],
)
def test_a_platform_file_replays_with_the_same_findings_as_the_native_call(
    call_engine, fmt, path, scenario_id
):
    native, native_id = _native(call_engine, scenario_id)
    adapted, adapted_id = _adapted(call_engine, fmt, path)
    assert _findings(adapted, adapted_id) == _findings(native, native_id)
    assert _alerts(adapted, adapted_id) == _alerts(native, native_id)
    assert adapted.replay(adapted_id).ok
    if scenario_id != "calm_appointment":
        assert _findings(native, native_id) and _alerts(native, native_id)


def test_contact_lens_drops_partials_and_repeats_and_numbers_events_stably():
    events = adapt("contact-lens", read_documents(CONTACT_LENS), AdaptOptions(started_at=START))
    scenario = load_builtin(IMMINENT)
    assert isinstance(events[0], CallStarted) and isinstance(events[-1], CallEnded)
    assert [e.seq for e in events] == list(range(len(events)))
    utterances = [e for e in events if isinstance(e, UtteranceReceived)]
    assert [(u.speaker, u.text) for u in utterances] == [(t.speaker, t.text) for t in scenario.turns]
    assert utterances[5].start_ms == 22_000 and utterances[5].end_ms == 28_000
    assert events[0].call_id == "c0ffee00-0000-4000-8000-000000000001"  # ContactId when no --call-id
    assert events[0].language == "en"  # en-US
    assert events[-1].at == START + timedelta(milliseconds=utterances[-1].end_ms)
    again = adapt("contact-lens", read_documents(CONTACT_LENS), AdaptOptions(started_at=START))
    assert [e.model_dump() for e in again] == [e.model_dump() for e in events]


def test_speaker_mapping_is_configurable():
    docs = read_documents(TRANSCRIBE)
    default = adapt("transcribe", docs, AdaptOptions(call_id="c", started_at=START))
    swapped = adapt(
        "transcribe",
        docs,
        AdaptOptions(call_id="c", started_at=START, speakers={"ch_0": "caller", "CH_1": "agent"}),
    )
    pairs = [(a.speaker, b.speaker) for a, b in zip(default[1:-1], swapped[1:-1], strict=True)]
    assert set(pairs) == {("agent", "caller"), ("caller", "agent")}
    assert all(u.confidence is not None for u in default[1:-1])
    with pytest.raises(AdapterError, match="caller, agent or other"):
        adapt("transcribe", docs, AdaptOptions(call_id="c", started_at=START, speakers={"ch_0": "nurse"}))


def test_transcribe_call_analytics_utterance_events_are_read():
    docs = [
        {"UtteranceEvent": {"UtteranceId": "u1", "IsPartial": True, "ParticipantRole": "CUSTOMER",
                            "BeginOffsetMillis": 100, "EndOffsetMillis": 900, "Transcript": "my chest"}},
        {"UtteranceEvent": {"UtteranceId": "u1", "IsPartial": False, "ParticipantRole": "CUSTOMER",
                            "BeginOffsetMillis": 100, "EndOffsetMillis": 1900,
                            "Transcript": "my chest hurts"}},
        {"CategoryEvent": {"MatchedCategories": []}},
    ]  # fmt: skip
    events = adapt("transcribe", docs, AdaptOptions(call_id="c", started_at=START, end=False))
    assert [(e.type, getattr(e, "text", None)) for e in events] == [
        ("call.started", None),
        ("utterance", "my chest hurts"),
    ]
    assert events[1].speaker == "caller"


@pytest.mark.parametrize(
    ("fmt", "docs", "options", "message"),
    [
        ("contact-lens", [{"Segments": []}], AdaptOptions(call_id="c"), "no start time"),
        ("transcribe", [], AdaptOptions(started_at=START), "no call id"),
        ("generic", [{"segments": [{"speaker": "caller", "txt": "x"}]}], AdaptOptions(), "segments.0.txt"),
        ("transcribe", [{"BadRequestException": {"Message": "x"}}], AdaptOptions(), "BadRequestException"),
        (
            "contact-lens",
            [{"Segments": [{"Transcript": {"Content": "x"}}]}],
            AdaptOptions(),
            "BeginOffsetMillis",
        ),
        ("sip", [], AdaptOptions(), "unknown format"),
    ],
)
def test_bad_input_is_reported_without_the_text(fmt, docs, options, message):
    with pytest.raises(AdapterError, match=message):
        adapt(fmt, docs, options)


def test_contact_lens_failed_session_and_generic_jsonl(tmp_path: Path):
    failed = adapt(
        "contact-lens",
        [{"ContactId": "k1", "EventType": "FAILED"}],
        AdaptOptions(started_at=START),
    )
    assert failed[-1].disposition == "analysis_failed"  # type: ignore[union-attr]
    lines = tmp_path / "t.jsonl"
    lines.write_text(
        '{"started_at": "2026-03-01T14:30:00Z", "call_id": "g1"}\n'
        '{"speaker": "caller", "text": "hello", "start_ms": 0, "end_ms": 800}\n'
        '{"speaker": "caller", "text": "hel", "start_ms": 0, "end_ms": 300, "final": false}\n'
    )
    events = adapt("generic", read_documents(lines))
    assert [e.type for e in events] == ["call.started", "utterance", "call.ended"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"speaker": "caller"}\n{"speaker": "secret words\n')
    with pytest.raises(AdapterError, match=r"bad.jsonl:2: not JSON") as info:
        read_documents(bad)
    assert "secret" not in str(info.value)


def test_cli_adapt_writes_events_and_ingests_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CALMLINE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CALMLINE_DATABASE_URL", raising=False)
    out = tmp_path / "events.jsonl"
    args = ["adapt", "contact-lens", str(CONTACT_LENS), "--call-id", "cl-1", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--started-at", "2026-03-01T14:30:00Z"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["seq"] for r in rows] == list(range(19))
    assert rows[0]["call_id"] == "cl-1" and rows[-1]["type"] == "call.ended"
    missing = CliRunner().invoke(app, args)
    assert missing.exit_code == 2 and "--started-at" in missing.output
    again = tmp_path / "again.jsonl"
    ingest = [*args[:-1], str(again), "--started-at", "2026-03-01T14:30:00Z", "--ingest"]
    result = CliRunner().invoke(app, ingest)
    assert result.exit_code == 0, result.output
    assert "19 accepted" in result.output
    assert again.read_bytes() == out.read_bytes()
