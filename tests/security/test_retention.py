"""Retention: raw text becomes redacted text, then blank; held calls are kept; the audit chain verifies."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from calmline.cli import app as cli
from calmline.clock import FakeClock
from calmline.engine import CallEngine, load_alert_policy
from calmline.events import CallEnded, CallStarted, SupervisorAction, UtteranceReceived
from calmline.security.retention import (
    HoldError,
    RetentionPolicy,
    hold,
    holds,
    load_policy,
    purge,
    register_policy,
    release,
    run_scheduled,
)
from calmline.service import CallService
from calmline.store.audit import AuditLog
from calmline.store.schema import events, findings

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
POLICY = RetentionPolicy(raw_transcript=30, redacted_transcript=365, findings=400, audit=2190)
WORDS = "hi this is maria lopez my number is five five five one two one two and i want to die"


def _call(service: CallService, call_id: str) -> None:
    service.ingest(
        CallStarted(call_id=call_id, seq=0, started_at=T0, caller_ref="MRN-1234", reason="maria lopez")
    )
    service.ingest(
        UtteranceReceived(call_id=call_id, seq=1, speaker="caller", text=WORDS, start_ms=0, end_ms=900)
    )
    service.ingest(
        SupervisorAction(call_id=call_id, action="note", actor="sup", note="called maria lopez back", at=T0)
    )
    service.ingest(CallEnded(call_id=call_id, seq=2, at=T0 + timedelta(minutes=5)))


@pytest.fixture
def calls(sealed_db: Engine, registry) -> CallService:  # type: ignore[no-untyped-def]
    service = CallService(sealed_db, CallEngine(registry, load_alert_policy()), FakeClock(T0))
    _call(service, "old")
    _call(service, "held")
    return service


def _texts(service: CallService, call_id: str) -> list[str]:
    return [r.payload["text"] for r in service.log.read(call_id) if r.type == "utterance"]


def test_dry_run_changes_nothing(calls: CallService) -> None:
    report = purge(calls.db, POLICY, T0 + timedelta(days=31), dry_run=True)
    assert report.calls["raw_transcript"] == ["held", "old"] and report.calls["redacted_transcript"] == []
    assert _texts(calls, "old") == [WORDS]
    assert AuditLog(calls.db).entries() == []


def test_raw_text_is_redacted_then_blanked_and_held_calls_are_kept(calls: CallService) -> None:
    db = calls.db
    hold(db, "held", "litigation 2026-4", "counsel", T0)
    with pytest.raises(HoldError):
        hold(db, "held", "again", "counsel", T0)
    report = purge(db, POLICY, T0 + timedelta(days=31), actor="retention-test")
    assert report.calls["raw_transcript"] == ["old"] and report.held == ["held"]
    redacted = _texts(calls, "old")[0]
    assert "maria" not in redacted and "five five five" not in redacted and "[NAME_1]" in redacted
    assert "want to die" in redacted  # the clinical content stays reviewable
    rows = calls.log.read("old")
    assert rows[0].payload["caller_ref"] is None and "maria" not in str(rows[0].payload)
    assert "maria" not in str([r.payload for r in rows])
    assert _texts(calls, "held") == [WORDS]
    # Nothing changes twice, and the stored rows stay sealed.
    assert not purge(db, POLICY, T0 + timedelta(days=32)).changed
    with db.connect() as conn:
        stored = conn.execute(select(events.c.payload).where(events.c.type == "utterance")).scalars().all()
    assert stored and all("$enc" in p and "maria" not in p for p in stored)
    # A year later the redacted words go too, and findings after 400 days.
    purge(db, POLICY, T0 + timedelta(days=366))
    assert _texts(calls, "old") == [""]
    with db.connect() as conn:
        assert conn.execute(select(findings.c.call_id).where(findings.c.call_id == "old")).first() is not None
    purge(db, POLICY, T0 + timedelta(days=401))
    with db.connect() as conn:
        assert conn.execute(select(findings.c.call_id).where(findings.c.call_id == "old")).first() is None
        assert (
            conn.execute(select(findings.c.call_id).where(findings.c.call_id == "held")).first() is not None
        )
    # Released, the held call is purged on the next run; the whole history is in a verifiable chain.
    release(db, "held", "case closed", "counsel", T0 + timedelta(days=500))
    assert holds(db) == []
    purge(db, POLICY, T0 + timedelta(days=501))
    assert _texts(calls, "held") == [""]
    log = AuditLog(db)
    assert log.check().ok
    actions = [e.action for e in log.entries()]
    assert (
        actions.count("retention.purge") == 4
        and "retention.hold" in actions
        and "retention.release" in actions
    )
    assert "maria" not in str([e.detail for e in log.entries()])


def test_scheduled_purge_runs_once_per_interval(calls: CallService) -> None:
    register_policy(calls.db, POLICY, interval_s=3600)
    later = T0 + timedelta(days=31)
    first = run_scheduled(calls.db, later)
    assert first is not None and first.calls["raw_transcript"] == ["held", "old"]
    assert run_scheduled(calls.db, later + timedelta(minutes=59)) is None
    assert run_scheduled(calls.db, later + timedelta(hours=1)) is not None


def test_policy_file_is_validated(tmp_path: Path) -> None:
    assert load_policy() == RetentionPolicy()
    good = tmp_path / "retention.yaml"
    good.write_text("raw_transcript: 7\nfindings: 90\n")
    assert load_policy(good).raw_transcript == 7
    good.write_text("raw_transcripts: 7\n")
    with pytest.raises(ValueError, match="raw_transcripts"):
        load_policy(good)


def test_cli_purge_hold_and_audit_verify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALMLINE_DATA_DIR", str(tmp_path))
    for name in ("CALMLINE_DATABASE_URL", "CALMLINE_MASTER_KEY", "CALMLINE_KEYS_FILE"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    assert runner.invoke(cli, ["keys", "init"]).exit_code == 0
    assert (tmp_path / "keys.json").stat().st_mode & 0o777 == 0o600
    held = runner.invoke(cli, ["retention", "hold", "c1", "--reason", "subpoena 7"])
    assert held.exit_code == 0, held.output
    assert runner.invoke(cli, ["retention", "hold", "c1", "--reason", "again"]).exit_code == 2
    dry = runner.invoke(cli, ["retention", "purge", "--dry-run"])
    assert dry.exit_code == 0 and json.loads(dry.stdout)["dry_run"] is True
    assert runner.invoke(cli, ["retention", "release", "c1"]).exit_code == 0
    status = runner.invoke(cli, ["keys", "status"])
    assert status.exit_code == 0 and json.loads(status.stdout)["mode"] == "0o600"
    rotated = runner.invoke(cli, ["keys", "rotate"])
    assert rotated.exit_code == 0, rotated.output
    assert runner.invoke(cli, ["keys", "prune"]).exit_code == 0
    assert runner.invoke(cli, ["audit", "verify"]).exit_code == 0
