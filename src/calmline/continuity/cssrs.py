"""Behavioural-health intake: the C-SSRS screener (six yes/no questions) and the triage tier it implies.

The questions are the Columbia Suicide Severity Rating Scale screener, paraphrased. Questions 3 to 5 are
asked only when question 2 is "yes"; question 6 (any suicidal behaviour) is followed by "was it in the past
three months?". The triage follows the screener's published rules:

* **high** — yes to 4 (intent) or 5 (plan with intent), or yes to 6 within the past three months;
* **moderate** — yes to 3 (method), or yes to 6 longer ago than three months;
* **low** — yes to 1 (wish to be dead) or 2 (thoughts of killing oneself) only;
* **none** — no to every question.

A screening is stored against the caller (``caller_screenings``) and exported as a FHIR R4B
``QuestionnaireResponse`` (validated). Clinical judgement decides; the tier is what the screener implies.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from pydantic import BaseModel, ConfigDict, model_validator
from sqlalchemy import Engine, insert, select

from calmline.continuity.safety_plan import CALLER_REF_SYSTEM
from calmline.store.audit import AuditLog
from calmline.store.projections import utc
from calmline.store.schema import caller_screenings

INSTRUMENT = "cssrs-screener"
QUESTIONNAIRE = "urn:calmline:questionnaire:cssrs-screener"
ScreeningTier = Literal["none", "low", "moderate", "high"]

#: linkId -> the question as asked (paraphrased; past month unless said otherwise).
QUESTIONS: dict[str, str] = {
    "q1": "In the past month, have you wished you were dead or wished you could go to sleep and not wake up?",
    "q2": "In the past month, have you had any actual thoughts of killing yourself?",
    "q3": "Have you been thinking about how you might do this?",
    "q4": "Have you had these thoughts and had some intention of acting on them?",
    "q5": "Have you started to work out or worked out the details of how to kill yourself, and do you "
    "intend to carry out this plan?",
    "q6": "Have you ever done anything, started to do anything, or prepared to do anything to end your life?",
    "q6_recent": "Was this within the past three months?",
}


class ScreenerAnswers(BaseModel):
    """The answers; ``None`` where a question was skipped by the screener's own flow."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    q1: bool
    q2: bool
    q3: bool | None = None
    q4: bool | None = None
    q5: bool | None = None
    q6: bool
    q6_recent: bool | None = None

    @model_validator(mode="after")
    def _flow(self) -> ScreenerAnswers:
        if self.q2 and None in (self.q3, self.q4, self.q5):
            raise ValueError("questions 3 to 5 are asked when question 2 is yes")
        if not self.q2 and any((self.q3, self.q4, self.q5)):
            raise ValueError("questions 3 to 5 are skipped when question 2 is no")
        if self.q6 and self.q6_recent is None:
            raise ValueError("question 6 yes: say whether it was within the past three months")
        if not self.q6 and self.q6_recent:
            raise ValueError("q6_recent applies only when question 6 is yes")
        return self


def triage(answers: ScreenerAnswers) -> ScreeningTier:
    """The tier the screener's rules imply (see the module docstring)."""
    if answers.q4 or answers.q5 or (answers.q6 and answers.q6_recent):
        return "high"
    if answers.q3 or answers.q6:
        return "moderate"
    if answers.q1 or answers.q2:
        return "low"
    return "none"


class Screenings:
    """Screenings per caller."""

    def __init__(self, db: Engine) -> None:
        self.db = db
        self.audit = AuditLog(db)

    def record(
        self, caller_ref: str, answers: ScreenerAnswers, *, actor: str, at: datetime, call_id: str | None
    ) -> dict[str, Any]:
        """Store one screening; returns its record with the tier."""
        tier = triage(answers)
        with self.db.begin() as conn:
            new_id = conn.execute(
                insert(caller_screenings).values(
                    caller_ref=caller_ref,
                    call_id=call_id,
                    instrument=INSTRUMENT,
                    answers=answers.model_dump(mode="json"),
                    tier=tier,
                    created_at=at,
                    created_by=actor,
                )
            ).inserted_primary_key
            self.audit.append(
                conn,
                at=at,
                actor=actor,
                action="screening.recorded",
                subject=f"caller:{caller_ref}",
                detail={"instrument": INSTRUMENT, "tier": tier, "call_id": call_id},
            )
        sid = int(new_id[0]) if new_id else 0
        return _record(sid, caller_ref, call_id, answers.model_dump(mode="json"), tier, at, actor)

    def of(self, refs: list[str]) -> list[dict[str, Any]]:
        """Every screening of the callers ``refs``, newest first."""
        with self.db.connect() as conn:
            rows = conn.execute(
                select(caller_screenings)
                .where(caller_screenings.c.caller_ref.in_(refs))
                .order_by(caller_screenings.c.created_at.desc(), caller_screenings.c.screening_id.desc())
            ).all()
        return [
            _record(
                r.screening_id,
                r.caller_ref,
                r.call_id,
                r.answers,
                r.tier,
                utc(r.created_at) or r.created_at,
                r.created_by,
            )
            for r in rows
        ]


def _record(
    sid: int, ref: str, call_id: str | None, answers: Any, tier: str, at: datetime, by: str
) -> dict[str, Any]:
    return {
        "screening_id": sid,
        "caller_ref": ref,
        "call_id": call_id,
        "instrument": INSTRUMENT,
        "answers": answers if isinstance(answers, dict) else json.loads(answers),
        "tier": tier,
        "created_at": at.isoformat(),
        "created_by": by,
    }


def to_fhir(record: dict[str, Any]) -> dict[str, Any]:
    """A screening as a FHIR R4B ``QuestionnaireResponse`` (validated); the tier is the last item."""
    answers = record["answers"]
    items: list[dict[str, Any]] = [
        {"linkId": key, "text": text, "answer": [{"valueBoolean": bool(answers[key])}]}
        for key, text in QUESTIONS.items()
        if answers.get(key) is not None
    ]
    items.append(
        {
            "linkId": "triage",
            "text": "Triage tier implied by the screener",
            "answer": [{"valueCoding": {"system": "urn:calmline:cssrs-tier", "code": record["tier"]}}],
        }
    )
    resource = QuestionnaireResponse.model_validate(
        {
            "resourceType": "QuestionnaireResponse",
            "id": f"cssrs-{record['screening_id']}",
            "questionnaire": QUESTIONNAIRE,
            "status": "completed",
            "subject": {"identifier": {"system": CALLER_REF_SYSTEM, "value": record["caller_ref"]}},
            "authored": record["created_at"],
            "item": items,
        }
    )
    out: dict[str, Any] = json.loads(resource.model_dump_json(exclude_none=True))
    return out
