"""The Stanley–Brown safety plan: captured during or after a suicide-risk call, stored per caller, versioned.

The plan is the caller's own words about how they will stay safe, so it is PHI: its content is sealed with
the event log's field cipher (AES-GCM, per-day data keys; D18) when encryption at rest is on. Each save is a
new version; the newest is the one shown on the next call. Export: a FHIR R4B ``QuestionnaireResponse``
(one item per section, validated by ``fhir.resources``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Engine, func, insert, select

from calmline.store.audit import AuditLog
from calmline.store.log import cipher_for
from calmline.store.projections import utc
from calmline.store.schema import safety_plans

#: FHIR identifiers and the questionnaire the export answers.
CALLER_REF_SYSTEM = "urn:calmline:caller-ref"
SAFETY_PLAN_QUESTIONNAIRE = "urn:calmline:questionnaire:stanley-brown-safety-plan"
#: The sealing context (the cipher binds a ciphertext to a stream and a type; this is the type).
_SEAL_TYPE = "supervisor.action"
_SEAL_FIELD = "note"

Items = tuple[str, ...]
_ITEM = Field(default=(), max_length=20)

#: Section -> the prompt on the form and in the FHIR export (Stanley & Brown, paraphrased).
SECTIONS: dict[str, str] = {
    "warning_signs": "Warning signs that a crisis may be developing",
    "internal_coping": "Things I can do on my own to take my mind off my problems",
    "social_distraction": "People and social settings that provide distraction",
    "help_contacts": "People I can ask for help",
    "professionals": "Professionals or agencies I can contact during a crisis, including crisis lines",
    "environment_safety": "Making the environment safe (limiting access to lethal means)",
    "reasons_for_living": "The one thing most important to me and worth living for",
}


class SafetyPlan(BaseModel):
    """The seven sections of the plan, each a short list in the caller's words."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    warning_signs: Items = _ITEM
    internal_coping: Items = _ITEM
    social_distraction: Items = _ITEM
    help_contacts: Items = _ITEM
    professionals: Items = _ITEM
    environment_safety: Items = _ITEM
    reasons_for_living: Items = _ITEM

    @model_validator(mode="after")
    def _sane(self) -> SafetyPlan:
        entries = [e for name in SECTIONS for e in getattr(self, name)]
        if not entries:
            raise ValueError("a safety plan needs at least one entry")
        if any(not e or len(e) > 300 for e in entries):
            raise ValueError("each entry is 1 to 300 characters")
        return self


class SafetyPlans:
    """Versioned plans per caller (the caller reference as resolved by ``CallerBook``)."""

    def __init__(self, db: Engine) -> None:
        self.db = db
        self.audit = AuditLog(db)

    def save(
        self, caller_ref: str, plan: SafetyPlan, *, actor: str, at: datetime, call_id: str | None = None
    ) -> dict[str, Any]:
        """Store a new version of the caller's plan; returns its record (with the content)."""
        with self.db.begin() as conn:
            last = conn.execute(
                select(func.max(safety_plans.c.version)).where(safety_plans.c.caller_ref == caller_ref)
            ).scalar()
            version = int(last or 0) + 1
            content = self._seal(caller_ref, version, plan, at)
            new_id = conn.execute(
                insert(safety_plans).values(
                    caller_ref=caller_ref,
                    version=version,
                    call_id=call_id,
                    created_at=at,
                    created_by=actor,
                    content=content,
                )
            ).inserted_primary_key
            self.audit.append(
                conn,
                at=at,
                actor=actor,
                action="safety_plan.saved",
                subject=f"caller:{caller_ref}",
                detail={"version": version, "call_id": call_id},
            )
        plan_id = int(new_id[0]) if new_id else 0
        return _record(plan_id, caller_ref, version, call_id, at, actor, plan)

    def latest(self, refs: list[str]) -> dict[str, Any] | None:
        """The newest plan of any of ``refs`` (a caller and the records merged into it), or None."""
        if not refs:
            return None
        with self.db.connect() as conn:
            row = conn.execute(
                select(safety_plans)
                .where(safety_plans.c.caller_ref.in_(refs))
                .order_by(safety_plans.c.created_at.desc(), safety_plans.c.plan_id.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        plan = self._open(row.caller_ref, row.version, row.content)
        return _record(
            row.plan_id,
            row.caller_ref,
            row.version,
            row.call_id,
            utc(row.created_at) or row.created_at,
            row.created_by,
            plan,
        )

    def exists(self, refs: list[str]) -> bool:
        """Whether any of ``refs`` has a plan (no decryption)."""
        with self.db.connect() as conn:
            found = conn.execute(
                select(safety_plans.c.plan_id).where(safety_plans.c.caller_ref.in_(refs)).limit(1)
            )
            return found.first() is not None

    def _seal(self, caller_ref: str, version: int, plan: SafetyPlan, at: datetime) -> dict[str, Any]:
        payload = {_SEAL_FIELD: json.dumps(plan.model_dump(mode="json"), separators=(",", ":"))}
        cipher = cipher_for(self.db)
        return cipher.seal(_stream(caller_ref, version), _SEAL_TYPE, payload, at) if cipher else payload

    def _open(self, caller_ref: str, version: int, content: Any) -> SafetyPlan:
        stored = content if isinstance(content, dict) else json.loads(content)
        cipher = cipher_for(self.db)
        if cipher is not None:
            stored = cipher.open(_stream(caller_ref, version), _SEAL_TYPE, stored)
        return SafetyPlan.model_validate_json(stored[_SEAL_FIELD])


def _stream(caller_ref: str, version: int) -> str:
    return f"safety_plan:{caller_ref}:{version}"


def _record(
    plan_id: int, caller_ref: str, version: int, call_id: str | None, at: datetime, by: str, plan: SafetyPlan
) -> dict[str, Any]:
    return {
        "plan_id": plan_id,
        "caller_ref": caller_ref,
        "version": version,
        "call_id": call_id,
        "created_at": at.isoformat(),
        "created_by": by,
        "plan": plan.model_dump(mode="json"),
    }


def to_fhir(record: dict[str, Any]) -> dict[str, Any]:
    """A saved plan as a FHIR R4B ``QuestionnaireResponse`` (validated), one item per non-empty section."""
    plan = record["plan"]
    items = [
        {"linkId": name, "text": prompt, "answer": [{"valueString": entry} for entry in plan[name]]}
        for name, prompt in SECTIONS.items()
        if plan.get(name)
    ]
    resource = QuestionnaireResponse.model_validate(
        {
            "resourceType": "QuestionnaireResponse",
            "id": f"safety-plan-{record['plan_id']}",
            "identifier": {
                "system": "urn:calmline:safety-plan",
                "value": f"{record['caller_ref']}/v{record['version']}",
            },
            "questionnaire": SAFETY_PLAN_QUESTIONNAIRE,
            "status": "completed",
            "subject": {"identifier": {"system": CALLER_REF_SYSTEM, "value": record["caller_ref"]}},
            "authored": record["created_at"],
            "item": items,
        }
    )
    out: dict[str, Any] = json.loads(resource.model_dump_json(exclude_none=True))
    return out
