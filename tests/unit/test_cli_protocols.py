"""``calmline protocols`` end to end on a temporary data directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from calmline.cli import app

runner = CliRunner()
SHIPPED = Path(__file__).resolve().parents[2] / "src" / "calmline" / "resources" / "protocols"


@pytest.fixture(autouse=True)
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CALMLINE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CALMLINE_DATABASE_URL", raising=False)
    monkeypatch.delenv("CALMLINE_PROTOCOLS_DIR", raising=False)
    return tmp_path


def broken_copy(tmp_path: Path) -> tuple[Path, int]:
    text = (SHIPPED / "suicide_imminent.yaml").read_text().replace("ack_within_s: 60", "ack_within_s: soon")
    line = next(i for i, row in enumerate(text.splitlines(), start=1) if "ack_within_s: soon" in row)
    folder = tmp_path / "protocols"
    folder.mkdir(exist_ok=True)
    path = folder / "suicide_imminent.yaml"
    path.write_text(text)
    return path, line


def test_validate_the_shipped_library_and_a_good_file() -> None:
    result = runner.invoke(app, ["protocols", "validate"])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output
    assert runner.invoke(app, ["protocols", "validate", str(SHIPPED / "stroke.yaml")]).exit_code == 0


def test_validate_names_file_line_and_reason(tmp_path: Path) -> None:
    path, line = broken_copy(tmp_path)
    result = runner.invoke(app, ["protocols", "validate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:{line}: escalation.0.ack_within_s:" in result.output


def test_validate_refuses_unknown_intents_and_a_wrong_file_name(tmp_path: Path) -> None:
    text = (SHIPPED / "self_harm.yaml").read_text()
    first_intent = next(row for row in text.splitlines() if "intent:" in row)
    intent = first_intent.split("intent:")[1].strip(" }")
    bad = tmp_path / "self_harm.yaml"
    bad.write_text(text.replace(f"intent: {intent}", "intent: said_the_magic_words", 1))
    result = runner.invoke(app, ["protocols", "validate", str(bad)])
    assert result.exit_code == 1 and "unknown intent 'said_the_magic_words'" in result.output
    renamed = tmp_path / "other.yaml"
    renamed.write_text(text)
    result = runner.invoke(app, ["protocols", "validate", str(renamed)])
    assert result.exit_code == 1 and "does not match the file name" in result.output


def test_configured_folder_is_validated_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, line = broken_copy(tmp_path)
    monkeypatch.setenv("CALMLINE_PROTOCOLS_DIR", str(path.parent))
    result = runner.invoke(app, ["protocols", "validate"])
    assert result.exit_code == 1 and f"{path}:{line}:" in result.output
    assert runner.invoke(app, ["protocols", "reload"]).exit_code == 1  # a broken file is never published


def test_list_disable_enable_and_history() -> None:
    listed = json.loads(runner.invoke(app, ["protocols", "list", "--json"]).output)
    assert {"suicide_imminent", "stroke", "language_barrier"} <= {p["id"] for p in listed["protocols"]}
    result = runner.invoke(
        app, ["protocols", "disable", "grieving_caller", "--actor", "ops-lead", "--why", "pilot"]
    )
    assert result.exit_code == 0, result.output
    after = json.loads(runner.invoke(app, ["protocols", "list", "--json"]).output)
    assert after["protocol_set"] != listed["protocol_set"]
    assert next(p for p in after["protocols"] if p["id"] == "grieving_caller")["enabled"] is False
    assert runner.invoke(app, ["protocols", "enable", "grieving_caller"]).exit_code == 0
    assert runner.invoke(app, ["protocols", "disable", "no_such_protocol"]).exit_code == 2
    history = json.loads(runner.invoke(app, ["protocols", "history", "--json"]).output)
    assert [h["action"] for h in history] == ["loaded", "disabled", "enabled"]
    assert (history[1]["actor"], history[1]["why"], history[1]["changes"]["disabled"]) == (
        "ops-lead",
        "pilot",
        ["grieving_caller"],
    )


def test_test_shows_steps_and_the_escalation_chain_when_nobody_acknowledges(tmp_path: Path) -> None:
    transcript = tmp_path / "call.txt"
    transcript.write_text(
        "caller: I've taken all my pills, the whole bottle\n"
        "agent: Are you safe right now?\n"
        "agent: What is the address where you are right now?\n"
    )
    result = runner.invoke(app, ["protocols", "test", str(transcript), "--json"])
    assert result.exit_code == 0, result.output
    [call] = json.loads(result.output)
    what = [e["what"] for e in call["events"]]
    assert any(w.startswith("protocol suicide_imminent") and "activated" in w for w in what)
    assert any("suicide_imminent.ask_safe_now done (by intent:asked_if_safe_now)" in w for w in what)
    levels = [w for w in what if "escalated" in w and "suicide_risk" not in w]
    assert any("→ clinician (level 2)" in w for w in levels)
    assert any("→ emergency_services (level 3)" in w for w in levels)
    times = [e["t"] for e in call["events"]]
    assert times == sorted(times)


def test_test_accepts_jsonl_a_scenario_and_a_candidate_protocol(tmp_path: Path) -> None:
    lines = tmp_path / "call.jsonl"
    lines.write_text(
        json.dumps({"speaker": "caller", "text": "my husband just collapsed and he's not breathing"}) + "\n"
    )
    assert "medical_emergency" in runner.invoke(app, ["protocols", "test", str(lines)]).output
    scenario = SHIPPED.parent / "scenarios" / "calm_appointment.yaml"
    assert "no protocol activated" in runner.invoke(app, ["protocols", "test", str(scenario)]).output
    path, _ = broken_copy(tmp_path)
    result = runner.invoke(app, ["protocols", "test", str(lines), "--protocol", str(path)])
    assert result.exit_code == 1
    bad = tmp_path / "bad.txt"
    bad.write_text("nurse: hello\n")
    assert runner.invoke(app, ["protocols", "test", str(bad)]).exit_code == 2
