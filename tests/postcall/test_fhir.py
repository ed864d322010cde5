"""FHIR export: the imminent-risk call as a validated Bundle, masking, references, determinism, push."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from typer.testing import CliRunner

from calmline.cli import app
from calmline.clock import FakeClock
from calmline.events import UtteranceReceived
from calmline.fhir import (
    CallMasker,
    FhirExportError,
    FhirPushError,
    PatientLink,
    build_bundle,
    bundle_json,
    push_bundle,
)
from calmline.fhir.bundle import urn
from calmline.postcall import call_events
from calmline.runtime import build_service
from calmline.settings import Settings
from calmline.sim.scenario import load_builtin, schedule
from tests.postcall.conftest import IMMINENT, START, play


def _resources(bundle: Bundle) -> dict[str, list[dict[str, Any]]]:
    data = json.loads(bundle_json(bundle))
    out: dict[str, list[dict[str, Any]]] = {}
    for entry in data["entry"]:
        out.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    return out


@pytest.fixture
def imminent(service) -> tuple[str, list[Any]]:
    svc, clock = service
    call_id = play(svc, clock, IMMINENT)
    return call_id, call_events(svc.log, call_id)


def test_the_imminent_risk_bundle_validates_and_carries_risk_assessment_and_task(imminent):
    call_id, events = imminent
    bundle = build_bundle([(call_id, events)], patient=PatientLink("Patient/123"))
    again = Bundle.model_validate(json.loads(bundle_json(bundle)))  # what a receiver parses validates too
    assert again.type == "collection"
    res = _resources(bundle)
    assert sorted(res) == ["Communication", "Encounter", "Flag", "RiskAssessment", "Task"]

    (risk,) = res["RiskAssessment"]
    assert risk["status"] == "final" and risk["subject"] == {"reference": "Patient/123"}
    qualitative = risk["prediction"][0]["qualitativeRisk"]
    assert qualitative["coding"][0]["code"] == "high" and qualitative["text"] == "imminent"
    assert risk["basis"] == [{"reference": urn(call_id, "transcript")}]
    assert any("pills" in n["text"] and "tonight" in n["text"] for n in risk["note"])

    (task,) = res["Task"]
    assert (task["status"], task["intent"], task["priority"]) == ("requested", "order", "asap")
    assert task["for"] == {"reference": "Patient/123"}
    assert task["code"]["coding"][0]["code"] == "clinical_callback"
    assert task["restriction"]["period"]["end"] == "2026-03-02T14:31:22Z"
    assert task["reasonReference"] == {"reference": urn(call_id, "suicide-risk")}

    (encounter,) = res["Encounter"]
    assert encounter["status"] == "finished" and encounter["class"]["code"] == "VR"
    assert encounter["period"] == {"start": "2026-03-01T14:30:00Z", "end": "2026-03-01T14:31:22Z"}
    (flag,) = res["Flag"]
    assert flag["status"] == "active" and flag["category"][0]["coding"][0]["code"] == "safety"


def test_the_transcript_and_quotes_are_redacted_with_one_pseudonym_map(imminent):
    call_id, events = imminent
    res = _resources(build_bundle([(call_id, events)]))
    (comm,) = res["Communication"]
    lines = [p["contentString"] for p in comm["payload"]]
    assert len(lines) == 17
    assert any("[ADDRESS_1]" in line for line in lines)
    assert not any("Alder Road" in line or "Chris" in line for line in lines)
    assert "Alder Road" not in bundle_json(build_bundle([(call_id, events)]))


def test_a_quote_is_cut_from_the_redacted_utterance():
    text = "hi this is maria lopez and i want to die"
    utterance = UtteranceReceived(call_id="q", seq=1, speaker="caller", text=text, start_ms=0, end_ms=900)
    mask = CallMasker("callback on 555 1212", [utterance])
    assert mask.reason == "callback on [PHONE_1]"
    assert mask.utterance(1) == "hi this is [NAME_1] and i want to die"
    assert mask.quote(1, text.index("lopez"), len(text)) == "[NAME_1] and i want to die"  # starts inside it
    assert mask.quote(1, text.index("i want"), len(text)) == "i want to die"


def test_export_is_byte_for_byte_reproducible(imminent):
    call_id, events = imminent
    first = bundle_json(build_bundle([(call_id, events)]))
    assert first == bundle_json(build_bundle([(call_id, list(events))]))
    assert json.loads(first)["timestamp"] == "2026-03-01T14:31:22Z"  # from the log, not the clock


def test_patient_reference_from_mapping_identifier_or_call(imminent):
    call_id, events = imminent
    unlinked = _resources(build_bundle([(call_id, events)]))["RiskAssessment"][0]["subject"]
    assert unlinked["identifier"] == {"system": "urn:calmline:caller-of-call", "value": call_id}
    assert PatientLink(by_caller_ref={"c-9": "Patient/9"}).for_call("x", "c-9") == {"reference": "Patient/9"}
    by_ref = PatientLink().for_call("x", "c-9")
    assert by_ref["identifier"] == {"system": "urn:calmline:caller-ref", "value": "c-9"}
    with pytest.raises(FhirExportError):
        PatientLink("123")


def test_a_call_without_risk_has_no_risk_assessment_or_flag(service):
    svc, clock = service
    call_id = play(svc, clock, "calm_appointment")
    res = _resources(build_bundle([(call_id, call_events(svc.log, call_id))]))
    assert sorted(res) == ["Communication", "Encounter"]


def test_transaction_bundle_uses_conditional_updates(imminent):
    call_id, events = imminent
    bundle = build_bundle([(call_id, events)], bundle_type="transaction")
    data = json.loads(bundle_json(bundle))
    assert data["type"] == "transaction"
    first = data["entry"][0]["request"]
    assert first == {"method": "PUT", "url": f"Encounter?identifier=urn:calmline:call-id|{call_id}"}
    assert all(e["request"]["method"] == "PUT" for e in data["entry"])
    Bundle.model_validate(data)


# -- push -------------------------------------------------------------------------------------------


class _FakeFhir(ThreadingHTTPServer):
    """A FHIR server on loopback that answers from a queue; its state is its own (no class globals)."""

    daemon_threads = False  # server_close() waits for a handler still sleeping (the timeout test)

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answers: list[tuple[int, dict[str, Any]]] = []
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.delay_s = 0.0
        self.url = f"http://127.0.0.1:{self.server_address[1]}/fhir"


class _Handler(BaseHTTPRequestHandler):
    server: _FakeFhir

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((dict(self.headers), body))
        time.sleep(self.server.delay_s)
        status, payload = self.server.answers.pop(0)
        raw = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (the timeout test)
            pass

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def fhir_server() -> Iterator[_FakeFhir]:
    server = _FakeFhir()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_push_posts_the_transaction_and_reads_entry_statuses(imminent, fhir_server):
    call_id, events = imminent
    body = bundle_json(build_bundle([(call_id, events)], bundle_type="transaction"), indent=None)
    response = {"resourceType": "Bundle", "type": "transaction-response", "entry": [
        {"response": {"status": "201 Created"}}, {"response": {"status": "200 OK"}}]}  # fmt: skip
    fhir_server.answers.append((200, response))
    result = push_bundle(fhir_server.url, body, token="t0ken", timeout_s=5)
    assert result.status == 200 and result.entries == ("201 Created", "200 OK")
    headers, sent = fhir_server.received[0]
    assert headers["Content-Type"].startswith("application/fhir+json")
    assert headers["Authorization"] == "Bearer t0ken"
    assert json.loads(sent)["type"] == "transaction"


def test_push_reports_the_servers_outcome_on_error(fhir_server):
    outcome = {"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "processing", "diagnostics": "bad reference"}]}  # fmt: skip
    fhir_server.answers.append((400, outcome))
    with pytest.raises(FhirPushError, match=r"HTTP 400 .*error/processing bad reference"):
        push_bundle(fhir_server.url, "{}", timeout_s=5)


def test_push_times_out_clearly(fhir_server):
    fhir_server.delay_s = 0.4
    fhir_server.answers.append((200, {}))
    with pytest.raises(FhirPushError, match=r"no answer within 0\.2 s"):
        push_bundle(fhir_server.url, "{}", timeout_s=0.2)


def test_push_refuses_plain_http_off_loopback_and_reports_refused_connections():
    with pytest.raises(FhirPushError, match="refusing plain http"):
        push_bundle("http://fhir.example.org/r4", "{}")
    with pytest.raises(FhirPushError, match="not an http"):
        push_bundle("ftp://127.0.0.1/x", "{}")
    server = _FakeFhir()
    port = server.server_address[1]
    server.server_close()  # nothing listens there now
    with pytest.raises(FhirPushError, match="cannot connect"):
        push_bundle(f"http://127.0.0.1:{port}/fhir", "{}", timeout_s=2)


# -- CLI --------------------------------------------------------------------------------------------


@pytest.fixture
def store_with_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call_engine) -> list[str]:
    """A configured store (CALMLINE_DATA_DIR) holding the imminent call and an active one."""
    monkeypatch.setenv("CALMLINE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CALMLINE_DATABASE_URL", raising=False)
    clock = FakeClock(START)
    svc = build_service(Settings(), clock, engine=call_engine)
    try:
        ended = play(svc, clock, IMMINENT)
        first = next(e for _, e in schedule(load_builtin("chest_pain"), "active-1", clock.now()))
        svc.ingest(first)  # started, never ended
    finally:
        svc.db.dispose()
    return [ended, "active-1"]


def test_cli_export_writes_every_ended_call(store_with_calls, tmp_path: Path):
    ended, active = store_with_calls
    out = tmp_path / "bundle.json"
    result = CliRunner().invoke(app, ["fhir", "export", "--out", str(out), "--patient-ref", "Patient/123"])
    assert result.exit_code == 0, result.output
    bundle = Bundle.model_validate_json(out.read_text())
    ids = {
        e.resource.identifier[0].value for e in bundle.entry if e.resource.get_resource_type() == "Encounter"
    }
    assert ids == {ended}
    one = CliRunner().invoke(app, ["fhir", "export", "--call", active, "--out", str(tmp_path / "a.json")])
    assert one.exit_code == 0, one.output
    assert '"in-progress"' in (tmp_path / "a.json").read_text()
    unknown = CliRunner().invoke(app, ["fhir", "export", "--call", "nope", "--out", str(out)])
    assert unknown.exit_code == 2 and "no call" in unknown.output
    bad_ref = CliRunner().invoke(app, ["fhir", "export", "--out", str(out), "--patient-ref", "123"])
    assert bad_ref.exit_code == 2 and "Patient/123" in bad_ref.output


def test_cli_push_sends_one_transaction_per_call(store_with_calls, fhir_server):
    ended, _ = store_with_calls
    fhir_server.answers.append((200, {"resourceType": "Bundle", "type": "transaction-response", "entry": []}))
    result = CliRunner().invoke(app, ["fhir", "push", "--url", fhir_server.url, "--call", ended])
    assert result.exit_code == 0, result.output
    assert "1 of 1 call(s) sent" in result.output
    (_, body), = fhir_server.received  # fmt: skip
    assert json.loads(body)["type"] == "transaction"
    fhir_server.answers.append(
        (500, {"resourceType": "OperationOutcome", "issue": [{"severity": "fatal", "code": "exception"}]})
    )
    failed = CliRunner().invoke(app, ["fhir", "push", "--url", fhir_server.url])
    assert failed.exit_code == 1 and "HTTP 500" in failed.output
