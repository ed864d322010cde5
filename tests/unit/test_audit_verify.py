"""The audit chain detects an edited, a deleted and a reordered row, and (with an anchor) a cut tail."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select, update
from typer.testing import CliRunner

from calmline.cli import app
from calmline.settings import Settings
from calmline.store.audit import Anchor, AuditLog
from calmline.store.db import make_engine, migrate
from calmline.store.schema import audit_log

runner = CliRunner()
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """A SQLite store in CALMLINE_DATA_DIR with five audit entries (ids 1..5)."""
    monkeypatch.setenv("CALMLINE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CALMLINE_DATABASE_URL", raising=False)
    monkeypatch.delenv("CALMLINE_AUDIT_ANCHORS", raising=False)
    settings = Settings()
    settings.ensure_data_dir()
    db = make_engine(settings.db_url)
    migrate(db)
    log = AuditLog(db)
    with db.begin() as conn:
        for k in range(5):
            log.append(
                conn,
                at=T0 + timedelta(minutes=k),
                actor="admin",
                action="protocol.disable" if k % 2 else "protocol.enable",
                subject=f"protocol:p{k}",
                detail={"why": f"change {k}"},
            )
    return db


def verify(*extra: str) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", "verify", *extra])
    return result.exit_code, result.output


def test_verify_an_intact_log_exits_zero(store: Engine) -> None:
    code, output = verify()
    assert code == 0, output
    assert "intact: 5 rows" in output
    assert AuditLog(store).verify() == []


def test_verify_names_an_edited_row(store: Engine) -> None:
    with store.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.id == 3).values(actor="mallory"))
    code, output = verify()
    assert code == 1
    assert "row id 3 (position 3): edited" in output
    assert AuditLog(store).verify() == [3]


def test_verify_names_an_edited_row_whose_hash_was_recomputed(store: Engine) -> None:
    from calmline.store.audit import _digest

    with store.begin() as conn:
        row = conn.execute(select(audit_log).where(audit_log.c.id == 2)).one()
        forged = _digest(
            row.prev_hash, row.at.replace(tzinfo=UTC), "mallory", row.action, row.subject, row.detail
        )
        conn.execute(update(audit_log).where(audit_log.c.id == 2).values(actor="mallory", hash=forged))
    code, output = verify()
    assert code == 1
    assert "row id 2 (position 2): edited" in output


def test_verify_names_a_deleted_row(store: Engine) -> None:
    with store.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.id == 2))
    code, output = verify("--json")
    assert code == 1
    report = json.loads(output)
    assert report["ok"] is False
    assert report["problems"][0] == {
        "position": 2,
        "id": 3,
        "kind": "deleted",
        "detail": "ids 2..2 are missing before it",
    }


def test_verify_names_the_first_row_deleted(store: Engine) -> None:
    with store.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.id == 1))
    code, output = verify()
    assert code == 1
    assert "row id 2 (position 1): deleted" in output


def test_verify_names_a_reordered_pair(store: Engine) -> None:
    with store.begin() as conn:  # swap the ids of rows 3 and 4
        conn.execute(update(audit_log).where(audit_log.c.id == 3).values(id=99))
        conn.execute(update(audit_log).where(audit_log.c.id == 4).values(id=3))
        conn.execute(update(audit_log).where(audit_log.c.id == 99).values(id=4))
    code, output = verify()
    assert code == 1
    assert "row id 3 (position 3): reordered" in output


def test_anchor_then_truncate_the_tail_is_detected(store: Engine, tmp_path: Path) -> None:
    result = runner.invoke(app, ["audit", "anchor"])
    assert result.exit_code == 0, result.output
    anchors = tmp_path / "data" / "audit-anchors.jsonl"
    anchor = Anchor.from_json(anchors.read_text().splitlines()[-1])
    assert (anchor.count, anchor.last_id) == (5, 5)
    assert verify()[0] == 0
    with store.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.id >= 4))
    code, output = verify()
    assert code == 1
    assert "truncated" in output
    assert "id 5, 5 rows" in output


def test_anchor_catches_a_rewritten_chain(store: Engine, tmp_path: Path) -> None:
    anchors = tmp_path / "anchors.jsonl"
    assert runner.invoke(app, ["audit", "anchor", "--anchors", str(anchors)]).exit_code == 0
    from calmline.store.audit import GENESIS, _digest

    with store.begin() as conn:  # edit row 2 and recompute every hash after it: the chain alone looks fine
        prev = GENESIS
        for row in conn.execute(select(audit_log).order_by(audit_log.c.id)).all():
            actor = "mallory" if row.id == 2 else row.actor
            digest = _digest(prev, row.at.replace(tzinfo=UTC), actor, row.action, row.subject, row.detail)
            conn.execute(
                update(audit_log)
                .where(audit_log.c.id == row.id)
                .values(actor=actor, prev_hash=prev, hash=digest)
            )
            prev = digest
    assert AuditLog(store).verify() == []
    code, output = verify("--anchors", str(anchors))
    assert code == 1
    assert "row id 5 (position 5): rewritten" in output
