"""The post-call summary is extractive, complete and deterministic, from the call's log alone."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from calmline.clock import FakeClock
from calmline.engine import CallEngine
from calmline.events import CallTransferred, SupervisorAction, UtteranceReceived
from calmline.postcall import REDACTED, call_events, summarize, summary_from_log
from calmline.service import CallService
from calmline.sim.scenario import builtin_ids, load_builtin, schedule
from calmline.testing import run_call
from tests.postcall.conftest import IMMINENT, START, play


def test_summary_of_the_imminent_risk_call_reports_what_happened(service):
    svc, clock = service
    call_id = play(svc, clock, IMMINENT)
    summary = summary_from_log(svc.log, call_id)
    assert summary is not None
    data = summary.to_dict()

    assert data["reason"]["stated"] == "medication query"
    assert [q["text"] for q in data["reason"]["caller_words"]] == [
        "um hi. i wanted to ask, how many of my sertraline is too many",
        "no. not really. i'm not okay.",
    ]
    first = data["risk_findings"][0]
    assert (first["type"], first["level"], first["tier"], first["assertion"]) == (
        "suicide_risk",
        "plan",
        "imminent",
        "present",
    )
    quoted = " ".join(q["text"] for q in first["evidence"])
    assert "pills" in quoted and "tonight" in quoted

    (protocol,) = data["protocols"]
    assert protocol["protocol_id"] == "suicide_imminent"
    done = {s["step_id"] for s in protocol["steps"] if s["status"] == "done"}
    assert {"ask_safe_now", "ask_location"} <= done
    assert protocol["required_done"] == len({s for s in done if s != "warm_transfer"})
    assert protocol["completion"] == round(protocol["required_done"] / protocol["required_total"], 3)

    (alert,) = data["escalations"]
    assert alert["kind"] == "suicide_risk" and alert["severity"] == "critical"
    assert alert["disclosure_at"] == "2026-03-01T14:30:28Z"  # the disclosing turn ends 28 s in
    assert alert["disclosure_to_alert_s"] == 0.0
    assert alert["acknowledged_at"] is None and alert["alert_to_ack_s"] is None

    assert data["disposition"]["status"] == "ended"
    assert data["disposition"]["disposition"] == "completed"
    assert data["disposition"]["duration_s"] == 82.0
    (followup,) = data["followups"]
    assert followup["kind"] == "clinical_callback" and followup["protocol_id"] == "suicide_imminent"
    assert followup["due_by"] == "2026-03-02T14:31:22Z"


@pytest.mark.parametrize("scenario_id", builtin_ids())
def test_every_quote_is_verbatim_from_the_transcript(call_engine: CallEngine, scenario_id: str):
    run = run_call(scenario_id, engine=call_engine, call_id=scenario_id)
    summary = summarize(scenario_id, [*run.inputs, *run.outputs])
    texts = {e.seq: e.text for e in run.inputs if isinstance(e, UtteranceReceived)}
    quotes = [*summary.reason.caller_words, *(q for f in summary.risk_findings for q in f.evidence)]
    for quote in quotes:
        assert quote.text == texts[quote.utterance_seq][quote.start : quote.end]
        assert quote.text.strip()
    expected = load_builtin(scenario_id).expect
    assert {a.kind for a in expected.alerts} <= {e.kind for e in summary.escalations}


def _play_with_ack(svc: CallService, clock: FakeClock, ack_after_s: float) -> str:
    """Play the imminent call; a supervisor acknowledges its alert ``ack_after_s`` after it is raised."""
    call_id = "ack-1"
    ack_at = None
    for offset, event in schedule(load_builtin(IMMINENT), call_id, START):
        due = START + timedelta(seconds=offset)
        if ack_at is not None and due >= ack_at:
            clock.advance((ack_at - clock.now()).total_seconds())
            svc.ingest(
                SupervisorAction(
                    call_id=call_id,
                    action="acknowledge_alert",
                    actor="sam",
                    alert_id=f"{call_id}-A1",
                    at=ack_at,
                )
            )
            ack_at = None
        clock.advance(max(0.0, (due - clock.now()).total_seconds()))
        result = svc.ingest(event)
        raised = [o for o in result.outputs if o["type"] == "alert.raised"]
        if raised:
            ack_at = clock.now() + timedelta(seconds=ack_after_s)
    return call_id


def test_escalation_timing_runs_from_disclosure_to_alert_to_acknowledgement(service):
    svc, clock = service
    call_id = _play_with_ack(svc, clock, 12)
    (alert,) = summarize(call_id, call_events(svc.log, call_id)).escalations
    assert alert.acknowledged_by == "sam"
    assert alert.disclosure_to_alert_s == 0.0
    assert alert.alert_to_ack_s == 12.0
    assert alert.disclosure_to_ack_s == 12.0
    assert alert.escalations == ()


def test_an_unacknowledged_alert_shows_its_escalation(service):
    svc, clock = service
    call_id = play(svc, clock, IMMINENT)
    clock.advance(40)  # past the 60 s acknowledgement deadline
    assert svc.fire_deadlines() == [call_id]
    (alert,) = summarize(call_id, call_events(svc.log, call_id)).escalations
    (step,) = alert.escalations
    assert step.notify == "clinician" and step.escalation_level == 2
    assert alert.acknowledged_at is None


def test_transfers_and_an_active_call_are_reported(service):
    svc, _ = service
    call_id = "xfer-1"
    events = [e for _, e in schedule(load_builtin("chest_pain"), call_id, START)]
    for event in events[:-1]:  # everything but call.ended
        svc.ingest(event)
    active = summarize(call_id, call_events(svc.log, call_id))
    assert active.disposition.status == "active" and active.disposition.ended_at is None
    assert active.followups == ()
    svc.ingest(
        CallTransferred(
            call_id=call_id,
            seq=len(events) - 1,
            to_queue="emergency",
            reason="ambulance",
            at=START + timedelta(seconds=56),
        )
    )
    transfer = summarize(call_id, call_events(svc.log, call_id)).disposition.transfers
    assert [(t.to_queue, t.reason) for t in transfer] == [("emergency", "ambulance")]


def test_the_summary_is_deterministic_and_sorted(service):
    svc, clock = service
    call_id = play(svc, clock, IMMINENT)
    first = summary_from_log(svc.log, call_id)
    again = summarize(call_id, call_events(svc.log, call_id))
    assert first is not None
    assert json.dumps(first.to_dict()) == json.dumps(again.to_dict())
    text = json.dumps(first.to_dict())
    assert text == json.dumps(first.to_dict(), sort_keys=True)


def test_without_text_hides_every_quote_but_keeps_spans(service):
    svc, clock = service
    call_id = play(svc, clock, IMMINENT)
    summary = summary_from_log(svc.log, call_id)
    assert summary is not None
    hidden = summary.without_text()
    quotes = [*hidden.reason.caller_words, *(q for f in hidden.risk_findings for q in f.evidence)]
    assert quotes and {q.text for q in quotes} == {REDACTED}
    assert [q.start for f in hidden.risk_findings for q in f.evidence] == [
        q.start for f in summary.risk_findings for q in f.evidence
    ]
    assert "pills" not in json.dumps(hidden.to_dict())


def test_unknown_call_has_no_summary(service):
    svc, _ = service
    assert summary_from_log(svc.log, "nope") is None
