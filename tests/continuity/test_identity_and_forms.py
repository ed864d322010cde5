"""Caller references (keyed hash), the C-SSRS screener triage and the safety plan, with their FHIR export."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from calmline.continuity import cssrs, safety_plan
from calmline.continuity.identity import CallerError, caller_key, caller_ref_for

KEY = caller_key("test-secret")
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_caller_ref_is_a_keyed_hash_that_ignores_formatting() -> None:
    ref = caller_ref_for(KEY, "+44 7700 900123")
    assert ref == caller_ref_for(KEY, "+44-7700-900-123")
    assert ref.startswith("cr_") and len(ref) == 67
    assert "7700" not in ref and "900123" not in ref
    assert ref != caller_ref_for(caller_key("another-secret"), "+44 7700 900123")
    assert ref != caller_ref_for(KEY, "+44 7700 900123", "patient_id")


def test_caller_ref_refuses_an_empty_identifier() -> None:
    with pytest.raises(CallerError):
        caller_ref_for(KEY, "n/a")


@pytest.mark.parametrize(
    ("answers", "tier"),
    [
        ({"q1": False, "q2": False, "q6": False}, "none"),
        ({"q1": True, "q2": False, "q6": False}, "low"),
        ({"q1": True, "q2": True, "q3": False, "q4": False, "q5": False, "q6": False}, "low"),
        ({"q1": True, "q2": True, "q3": True, "q4": False, "q5": False, "q6": False}, "moderate"),
        ({"q1": False, "q2": False, "q6": True, "q6_recent": False}, "moderate"),
        ({"q1": True, "q2": True, "q3": True, "q4": True, "q5": False, "q6": False}, "high"),
        ({"q1": True, "q2": True, "q3": True, "q4": False, "q5": True, "q6": False}, "high"),
        ({"q1": False, "q2": False, "q6": True, "q6_recent": True}, "high"),
    ],
)
def test_cssrs_screener_triage(answers: dict[str, bool], tier: str) -> None:
    assert cssrs.triage(cssrs.ScreenerAnswers.model_validate(answers)) == tier


@pytest.mark.parametrize(
    "answers",
    [
        {"q1": True, "q2": True, "q6": False},  # 3 to 5 missing after a yes to 2
        {"q1": False, "q2": False, "q3": True, "q6": False},  # 3 asked after a no to 2
        {"q1": False, "q2": False, "q6": True},  # recency missing
    ],
)
def test_cssrs_screener_flow_is_enforced(answers: dict[str, bool]) -> None:
    with pytest.raises(ValidationError):
        cssrs.ScreenerAnswers.model_validate(answers)


def test_cssrs_exports_a_valid_questionnaire_response() -> None:
    answers = cssrs.ScreenerAnswers(q1=True, q2=False, q6=False)
    record = {
        "screening_id": 7,
        "caller_ref": "cr_x",
        "answers": answers.model_dump(mode="json"),
        "tier": cssrs.triage(answers),
        "created_at": AT.isoformat(),
    }
    qr = cssrs.to_fhir(record)
    assert qr["resourceType"] == "QuestionnaireResponse" and qr["status"] == "completed"
    assert [i["linkId"] for i in qr["item"]] == ["q1", "q2", "q6", "triage"]
    assert qr["item"][-1]["answer"][0]["valueCoding"]["code"] == "low"
    assert qr["subject"]["identifier"]["value"] == "cr_x"


PLAN = safety_plan.SafetyPlan(
    warning_signs=("not sleeping", "staying in my room"),
    internal_coping=("walk the dog",),
    help_contacts=("my brother",),
    professionals=("GP surgery", "Samaritans 116 123"),
    environment_safety=("tablets kept by my brother",),
    reasons_for_living=("my brother's kids",),
)


def test_safety_plan_needs_an_entry() -> None:
    with pytest.raises(ValidationError):
        safety_plan.SafetyPlan()


def test_safety_plan_exports_a_valid_questionnaire_response() -> None:
    record = {
        "plan_id": 3,
        "caller_ref": "cr_x",
        "version": 2,
        "created_at": AT.isoformat(),
        "plan": PLAN.model_dump(mode="json"),
    }
    qr = safety_plan.to_fhir(record)
    assert qr["resourceType"] == "QuestionnaireResponse"
    assert [i["linkId"] for i in qr["item"]] == [
        "warning_signs",
        "internal_coping",
        "help_contacts",
        "professionals",
        "environment_safety",
        "reasons_for_living",
    ]
    assert qr["identifier"]["value"] == "cr_x/v2"
