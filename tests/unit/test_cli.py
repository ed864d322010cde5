"""The ``calmline`` command end to end on a temporary data directory (no server, no network)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from calmline.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CALMLINE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CALMLINE_DATABASE_URL", raising=False)
    return tmp_path / "data"


def write_lines(path: Path, rows: list[object]) -> Path:
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def test_analyze_follows_the_batch_contract_on_mixed_lines(tmp_path: Path) -> None:
    src = write_lines(
        tmp_path / "in.jsonl",
        [
            {"id": "a", "text": "hi, I need to move my appointment to Thursday"},
            {"id": 2, "text": "don't worry, you'll be fine", "speaker": "agent", "call_id": "c1", "seq": 1},
            {"id": "c", "text": "my chest hurts so bad and my left arm is numb", "call_id": "c1", "seq": 2},
            {"id": "d", "text": "i'm not suicidal, i just want my results"},
        ],
    )
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["analyze", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", 2, "c", "d"]
    for r in rows:
        assert set(r) == {"id", "findings", "emotions", "distress", "guardrails", "empathy"}
    assert rows[0]["findings"] == []
    assert [g["level"] for g in rows[1]["guardrails"]] == ["false_reassurance"]
    medical = [f for f in rows[2]["findings"] if f["type"] == "medical_emergency"]
    assert medical and medical[0]["level"] == "emergency" and medical[0]["assertion"] == "present"
    assert all(f["assertion"] != "present" for f in rows[3]["findings"] if f["type"] == "suicide_risk")
    assert "lines/s" in result.output


def test_analyze_stops_on_a_malformed_line_naming_it_without_echoing_text(tmp_path: Path) -> None:
    src = write_lines(
        tmp_path / "in.jsonl",
        [{"id": "a", "text": "ok"}, '{"id": "b", "text": "secret name', {"id": "c", "text": "fine"}],
    )
    result = runner.invoke(app, ["analyze", str(src), "--out", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 1
    assert "line 2" in result.output and "secret" not in result.output


def test_analyze_skip_bad_continues_and_counts(tmp_path: Path) -> None:
    src = write_lines(
        tmp_path / "in.jsonl",
        [{"id": "a", "text": "ok"}, "not json", {"text": "no id"}, {"id": "d", "text": "fine"}],
    )
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["analyze", str(src), "--out", str(out), "--skip-bad"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["a", "d"]
    assert "2 malformed lines skipped" in result.output


def test_analyze_missing_input_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["analyze", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2 and "no such input file" in result.output


def test_simulate_then_replay_and_rebuild_find_no_difference() -> None:
    played = runner.invoke(app, ["simulate", "chest_pain"])
    assert played.exit_code == 0, played.output
    summary = json.loads(played.stdout[played.stdout.index("{") :])
    assert summary["alerts_by_call"][summary["call_id"]] == ["medical_emergency"]
    replay = runner.invoke(app, ["replay"])
    assert replay.exit_code == 0, replay.output
    report = json.loads(replay.stdout.splitlines()[0])
    assert report["call_id"] == summary["call_id"] and report["differences"] == [] and report["outputs"] > 0
    rebuilt = runner.invoke(app, ["rebuild"])
    assert rebuilt.exit_code == 0 and "rebuilt projections" in rebuilt.output


def test_replay_of_an_unknown_call_exits_2() -> None:
    result = runner.invoke(app, ["replay", "no-such-call"])
    assert result.exit_code == 2 and "no call" in result.output


def test_users_add_list_and_api_keys(data_dir: Path) -> None:
    added = runner.invoke(app, ["users", "add", "sue", "--role", "supervisor", "--password", "a-long-pass"])
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["users", "list"])
    assert "sue" in listed.output and "supervisor" in listed.output
    key = runner.invoke(app, ["users", "key", "telephony"])
    assert key.exit_code == 0 and key.stdout.startswith("cl_")
    key_id = key.stdout.strip().split("_")[1]
    assert runner.invoke(app, ["users", "revoke-key", key_id]).exit_code == 0
    bad_role = runner.invoke(app, ["users", "add", "bob", "--role", "wizard", "--password", "a-long-pass"])
    assert bad_role.exit_code == 2 and "unknown role" in bad_role.output
    duplicate = runner.invoke(app, ["users", "add", "sue", "--role", "qa", "--password", "a-long-pass"])
    assert duplicate.exit_code == 2


def test_every_command_has_help() -> None:
    for command in ["serve", "demo", "analyze", "replay", "rebuild", "simulate", "users", "schema"]:
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output, command
