"""Caller continuity (issue 12): caller references, the caller timeline, safety plans, C-SSRS screening.

Routes only translate: the work is in ``calmline.continuity``. Every timeline and call→caller lookup is
written to the audit log, with who looked and why (the call in hand). docs/CONTINUITY.md, docs/API.md.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from calmline.api import permissions
from calmline.api.auth import Principal
from calmline.api.deps import ClockDep, ServiceDep, SettingsDep, require_roles
from calmline.api.errors import ApiError, not_found
from calmline.continuity import cssrs, safety_plan
from calmline.continuity.identity import CallerBook, CallerError, caller_key, caller_ref_for
from calmline.continuity.timeline import caller_timeline

router = APIRouter(tags=["continuity"])

CallerViewer = Annotated[Principal, Depends(require_roles(*sorted(permissions.CALLER_VIEW)))]
CallerEditor = Annotated[Principal, Depends(require_roles(*sorted(permissions.CALLER_RECORD)))]
CallerAdmin = Annotated[Principal, Depends(require_roles(*sorted(permissions.CALLER_ADMIN)))]
CallerHasher = Annotated[Principal, Depends(require_roles(*sorted(permissions.INGEST)))]
CallerExporter = Annotated[Principal, Depends(require_roles(*sorted(permissions.CALLER_EXPORT)))]
CallerRef = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")]
CallId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RefBody(_Body):
    identifier: str = Field(min_length=1, max_length=64, description="Phone number or patient identifier.")
    kind: Literal["phone", "patient_id"] = "phone"


class MergeBody(_Body):
    into: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")
    reason: str = Field(min_length=3, max_length=200)


class UnlinkBody(_Body):
    reason: str = Field(min_length=3, max_length=200)


class PlanBody(_Body):
    call_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._:\-]{1,128}$")
    plan: safety_plan.SafetyPlan


class ScreeningBody(_Body):
    call_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._:\-]{1,128}$")
    answers: cssrs.ScreenerAnswers


def _fail(exc: CallerError) -> ApiError:
    status = 404 if exc.code == "not_found" else 409
    return ApiError(status, exc.code, exc.detail)


def _known(book: CallerBook, caller_ref: str) -> str:
    if not book.known(caller_ref):
        raise not_found("caller")
    return book.resolve(caller_ref)


@router.post("/api/callers/ref")
def caller_ref(body: RefBody, _key: CallerHasher, settings: SettingsDep) -> dict[str, str]:
    """The pseudonymous ``caller_ref`` of a number or patient id (the raw value is never stored)."""
    try:
        return {"caller_ref": caller_ref_for(caller_key(settings.secret_key), body.identifier, body.kind)}
    except CallerError as exc:
        raise ApiError(422, exc.code, exc.detail) from exc


@router.get("/api/callers/{caller_ref}/timeline")
def timeline(
    caller_ref: CallerRef, user: CallerViewer, service: ServiceDep, clock: ClockDep
) -> dict[str, Any]:
    """A known caller's earlier calls, open follow-ups, safety plan and screenings (never the words)."""
    book = CallerBook(service.db)
    root = _known(book, caller_ref)
    book.audit_lookup(
        actor=user.name, roles=sorted(user.roles), caller_ref=root, at=clock.now(), view="timeline"
    )
    return caller_timeline(service.db, root)


@router.get("/api/calls/{call_id}/caller")
def call_caller(call_id: CallId, user: CallerViewer, service: ServiceDep, clock: ClockDep) -> dict[str, Any]:
    """The caller of this call and their timeline without this call (``caller_ref`` null: not linked)."""
    book = CallerBook(service.db)
    ref = book.caller_of(call_id)
    if ref is None:
        return {"call_id": call_id, "caller_ref": None, "timeline": None}
    book.audit_lookup(
        actor=user.name,
        roles=sorted(user.roles),
        caller_ref=ref,
        at=clock.now(),
        view="call",
        call_id=call_id,
    )
    return {
        "call_id": call_id,
        "caller_ref": ref,
        "timeline": caller_timeline(service.db, ref, exclude_call=call_id),
    }


@router.post("/api/calls/{call_id}/caller/unlink")
def unlink(
    call_id: CallId, body: UnlinkBody, user: CallerAdmin, service: ServiceDep, clock: ClockDep
) -> dict[str, Any]:
    """Remove the call's link to its caller, from every view (audited)."""
    try:
        ref = CallerBook(service.db).unlink(call_id, actor=user.name, reason=body.reason, at=clock.now())
    except CallerError as exc:
        raise _fail(exc) from exc
    return {"call_id": call_id, "unlinked_from": ref}


@router.post("/api/callers/{caller_ref}/merge")
def merge(
    caller_ref: CallerRef, body: MergeBody, user: CallerAdmin, service: ServiceDep, clock: ClockDep
) -> dict[str, Any]:
    """Merge this caller record into ``into`` (the same person under two numbers; audited)."""
    try:
        root = CallerBook(service.db).merge(
            caller_ref, body.into, actor=user.name, reason=body.reason, at=clock.now()
        )
    except CallerError as exc:
        raise _fail(exc) from exc
    return {"caller_ref": root, "merged": caller_ref}


@router.post("/api/callers/{caller_ref}/safety-plan", status_code=201)
def save_plan(
    caller_ref: CallerRef, body: PlanBody, user: CallerEditor, service: ServiceDep, clock: ClockDep
) -> dict[str, Any]:
    """Save a new version of the caller's Stanley–Brown safety plan."""
    root = _known(CallerBook(service.db), caller_ref)
    return safety_plan.SafetyPlans(service.db).save(
        root, body.plan, actor=user.name, at=clock.now(), call_id=body.call_id
    )


@router.get("/api/callers/{caller_ref}/safety-plan")
def get_plan(
    caller_ref: CallerRef, user: CallerViewer, service: ServiceDep, clock: ClockDep
) -> dict[str, Any]:
    """The caller's newest safety plan."""
    book = CallerBook(service.db)
    root = _known(book, caller_ref)
    book.audit_lookup(
        actor=user.name, roles=sorted(user.roles), caller_ref=root, at=clock.now(), view="safety_plan"
    )
    plan = safety_plan.SafetyPlans(service.db).latest(book.aliases(root))
    if plan is None:
        raise not_found("safety plan")
    return plan


@router.get("/api/callers/{caller_ref}/safety-plan/fhir")
def plan_fhir(
    caller_ref: CallerRef, user: CallerExporter, service: ServiceDep, clock: ClockDep
) -> dict[str, Any]:
    """The newest safety plan as a FHIR R4B QuestionnaireResponse."""
    book = CallerBook(service.db)
    root = _known(book, caller_ref)
    book.audit_lookup(
        actor=user.name, roles=sorted(user.roles), caller_ref=root, at=clock.now(), view="safety_plan_fhir"
    )
    plan = safety_plan.SafetyPlans(service.db).latest(book.aliases(root))
    if plan is None:
        raise not_found("safety plan")
    return safety_plan.to_fhir(plan)


@router.get("/api/screenings/cssrs")
def screener_questions(_user: CallerViewer) -> dict[str, Any]:
    """The C-SSRS screener questions, in order (3 to 5 only after a yes to 2; 6b after a yes to 6)."""
    return {
        "instrument": cssrs.INSTRUMENT,
        "questions": [{"id": k, "text": v} for k, v in cssrs.QUESTIONS.items()],
    }


@router.post("/api/callers/{caller_ref}/screenings", status_code=201)
def screen(
    caller_ref: CallerRef, body: ScreeningBody, user: CallerEditor, service: ServiceDep, clock: ClockDep
) -> dict[str, Any]:
    """Record a C-SSRS screener: the tier it implies, and the FHIR QuestionnaireResponse."""
    root = _known(CallerBook(service.db), caller_ref)
    record = cssrs.Screenings(service.db).record(
        root, body.answers, actor=user.name, at=clock.now(), call_id=body.call_id
    )
    return {**record, "fhir": cssrs.to_fhir(record)}
