"""Encryption at rest: PHI fields are sealed in the log on every backend and read back transparently."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from calmline.clock import FakeClock
from calmline.engine import CallEngine, load_alert_policy
from calmline.events import CallStarted, UtteranceReceived
from calmline.security import install_security, load_keyring, make_cipher, seal_plaintext_rows
from calmline.security.crypto import CipherError, DataKeys, FieldCipher
from calmline.security.keys import (
    KeyringError,
    add_kek,
    file_mode,
    init_key_file,
    parse_master_key,
    read_key_file,
)
from calmline.service import CallService
from calmline.settings import Settings
from calmline.store.db import make_engine, migrate
from calmline.store.log import SqlEventLog, cipher_for, set_cipher
from calmline.store.schema import data_keys, events, held_events
from tests.security.conftest import keyring, master_key_value

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SECRET = "my name is maria lopez and my number is five five five one two one two"


def utt(call_id: str, seq: int, text: str = SECRET) -> UtteranceReceived:
    return UtteranceReceived(
        call_id=call_id, seq=seq, speaker="caller", text=text, start_ms=seq * 1000, end_ms=seq * 1000 + 500
    )


def raw_payloads(db: Engine, table=events) -> list[str]:  # type: ignore[no-untyped-def]
    with db.connect() as conn:
        return [r.payload for r in conn.execute(select(table.c.payload))]


def test_log_seals_phi_fields_and_reads_them_back_on_every_backend(sealed_db: Engine) -> None:
    log = SqlEventLog(sealed_db)
    log.append(
        "c1", CallStarted(call_id="c1", started_at=T0, caller_ref="MRN 4471", reason="chest pain"), (), T0
    )
    log.append("c1", utt("c1", 1), (), T0)
    stored = raw_payloads(sealed_db)
    assert all("maria" not in p and "4471" not in p and "chest pain" not in p for p in stored)
    sealed = json.loads(stored[1])
    assert sealed["$enc"]["k"] == "dk-20260301"  # the data key id is stored with the record
    assert sealed["call_id"] == "c1" and sealed["type"] == "utterance" and "text" not in sealed
    rows = log.read("c1")
    assert rows[1].event() == utt("c1", 1)
    assert rows[0].payload["caller_ref"] == "MRN 4471"
    assert log.read_since(0)[1].payload["text"] == SECRET


def test_held_events_are_sealed_too(sealed_db: Engine) -> None:
    log = SqlEventLog(sealed_db)
    assert log.hold("c1", 5, utt("c1", 5).model_dump(mode="json"), T0)
    assert "maria" not in raw_payloads(sealed_db, held_events)[0]
    assert log.held("c1")[0].payload["text"] == SECRET


def test_rows_without_phi_are_stored_in_clear(sealed_db: Engine) -> None:
    log = SqlEventLog(sealed_db)
    log.append("c1", CallStarted(call_id="c1", started_at=T0), (), T0)
    assert "$enc" not in raw_payloads(sealed_db)[0]


def test_legacy_rows_written_in_clear_stay_readable_and_can_be_sealed(sealed_db: Engine) -> None:
    cipher = cipher_for(sealed_db)
    set_cipher(sealed_db, None)
    SqlEventLog(sealed_db).append("old", utt("old", 1), (), T0)
    set_cipher(sealed_db, cipher)
    log = SqlEventLog(sealed_db)
    assert log.read("old")[0].payload["text"] == SECRET
    assert seal_plaintext_rows(sealed_db) == 1
    assert seal_plaintext_rows(sealed_db) == 0
    assert "maria" not in raw_payloads(sealed_db)[0]
    assert log.read("old")[0].payload["text"] == SECRET


def test_a_sealed_field_moved_to_another_call_does_not_open(sealed_db: Engine, cipher: FieldCipher) -> None:
    sealed = cipher.seal("c1", "utterance", utt("c1", 1).model_dump(mode="json"), T0)
    with pytest.raises(CipherError):
        cipher.open("c2", "utterance", sealed)
    tampered = {**sealed, "$enc": {**sealed["$enc"], "d": sealed["$enc"]["d"][:-4] + "AAA="}}
    with pytest.raises(CipherError):
        cipher.open("c1", "utterance", tampered)


def test_one_data_key_per_day_wrapped_by_the_active_kek(sealed_db: Engine) -> None:
    log = SqlEventLog(sealed_db)
    log.append("c1", utt("c1", 1), (), T0)
    log.append("c1", utt("c1", 2), (), T0 + timedelta(hours=1))
    log.append("c1", utt("c1", 3), (), T0 + timedelta(days=1))
    with sealed_db.connect() as conn:
        rows = conn.execute(select(data_keys.c.key_id, data_keys.c.kek_id, data_keys.c.wrapped)).all()
    assert sorted(r.key_id for r in rows) == ["dk-20260301", "dk-20260302"]
    assert {r.kek_id for r in rows} == {"kek-a"}
    assert all(len(r.wrapped) > 40 for r in rows)


def test_rotation_rewraps_data_keys_and_records_stay_readable(sealed_db: Engine) -> None:
    log = SqlEventLog(sealed_db)
    log.append("c1", utt("c1", 1), (), T0)
    before = raw_payloads(sealed_db)
    # Rotate: a ring holding the new KEK (active) and the old one re-wraps every data key.
    rotated = keyring("kek-b", "kek-a")
    report = DataKeys(sealed_db, rotated).rewrap()
    assert (report.active, report.rewrapped, report.already) == ("kek-b", 1, 0)
    assert raw_payloads(sealed_db) == before  # records untouched
    assert log.read("c1")[0].payload["text"] == SECRET  # the running process still reads (cached key)
    # A fresh process with only the new KEK reads everything; with only the old one it cannot.
    set_cipher(sealed_db, make_cipher(sealed_db, keyring("kek-b")))
    assert SqlEventLog(sealed_db).read("c1")[0].payload["text"] == SECRET
    set_cipher(sealed_db, make_cipher(sealed_db, keyring("kek-a")))
    with pytest.raises(CipherError):
        SqlEventLog(sealed_db).read("c1")
    assert DataKeys(sealed_db, rotated).rewrap().rewrapped == 0  # idempotent


def test_a_wrapped_data_key_changed_in_the_database_is_detected(sealed_db: Engine) -> None:
    SqlEventLog(sealed_db).append("c1", utt("c1", 1), (), T0)
    with sealed_db.begin() as conn:
        conn.execute(update(data_keys).values(kek_id="kek-a", wrapped="AAAA" * 16))
    set_cipher(sealed_db, make_cipher(sealed_db, keyring()))
    with pytest.raises(CipherError):
        SqlEventLog(sealed_db).read("c1")


def test_service_replay_is_transparent(sealed_db: Engine, registry) -> None:  # type: ignore[no-untyped-def]
    service = CallService(sealed_db, CallEngine(registry, load_alert_policy()), FakeClock(T0))
    service.ingest(CallStarted(call_id="c1", seq=0, started_at=T0))
    service.ingest(utt("c1", 1, "i want to die, this is maria lopez"))
    assert service.replay("c1").ok
    assert all("maria" not in p for p in raw_payloads(sealed_db))


# -- key sources ----------------------------------------------------------------------------------------


def test_key_file_is_created_0600_and_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    ring = init_key_file(path)
    assert file_mode(path) == 0o600
    assert read_key_file(path).keys == ring.keys
    with pytest.raises(KeyringError):
        init_key_file(path)
    new = add_kek(path)
    again = read_key_file(path)
    assert again.active == new and set(again.keys) == {ring.active, new}
    assert file_mode(path) == 0o600
    assert "keys" not in repr(again).split("ids=")[0] and str(next(iter(ring.keys.values()))) not in repr(
        again
    )


def test_master_key_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ring = parse_master_key(master_key_value("k2", 2) + "," + master_key_value("k1", 1))
    assert ring.active == "k2" and set(ring.keys) == {"k1", "k2"}
    plain = parse_master_key(master_key_value().split(":", 1)[1])
    assert plain.active.startswith("env-")
    for bad in ("", "not base64!", "k:" + "QUFB"):
        with pytest.raises(KeyringError):
            parse_master_key(bad)
    monkeypatch.setenv("CALMLINE_MASTER_KEY", master_key_value("k9", 9))
    assert load_keyring(Settings(data_dir=tmp_path)).active == "k9"
    assert not (tmp_path / "keys.json").exists()


def test_embedded_store_gets_a_key_file_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(env="test", data_dir=tmp_path)
    db = make_engine(settings.db_url)
    migrate(db)
    try:
        cipher = install_security(db, settings)
        assert cipher is not None and cipher_for(db) is cipher
        assert file_mode(tmp_path / "keys.json") == 0o600
        SqlEventLog(db).append("c1", utt("c1", 1), (), T0)
        assert "maria" not in raw_payloads(db)[0]
        # Another process (the CLI) reads with keys from the environment.
        set_cipher(db, None)
        os.environ["CALMLINE_DATA_DIR"] = str(tmp_path)
        try:
            assert SqlEventLog(db).read("c1")[0].payload["text"] == SECRET
        finally:
            del os.environ["CALMLINE_DATA_DIR"]
    finally:
        set_cipher(db, None)
        db.dispose()


def test_prod_with_a_shared_database_refuses_to_invent_keys(tmp_path: Path) -> None:
    settings = Settings(
        env="prod", data_dir=tmp_path, database_url="postgresql://x/y", secret_key="a-real-secret-value-123"
    )
    with pytest.raises(KeyringError, match="CALMLINE_KEYS_FILE"):
        load_keyring(settings, create=True)


def test_encryption_can_be_switched_off(tmp_path: Path) -> None:
    settings = Settings(env="test", data_dir=tmp_path, encrypt_at_rest=False)
    db = make_engine(settings.db_url)
    migrate(db)
    assert install_security(db, settings) is None and cipher_for(db) is None
    db.dispose()
