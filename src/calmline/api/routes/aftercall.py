"""After the call: QA scorecards and calibration, reports, follow-up tasks, patient feedback.

Routes only translate: the work is in ``calmline.aftercall``. Practice calls never appear in calibration,
reports or feedback lists; their own scorecard says ``"practice": true``.
"""

from __future__ import annotations

import base64
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from calmline.aftercall.common import CallFilter, has_site_column, is_practice
from calmline.aftercall.feedback import MAX_COMMENT, FeedbackBook
from calmline.aftercall.followups import FollowupDesk, FollowupError
from calmline.aftercall.qa_form import ScorecardForm, load_form, score_call
from calmline.aftercall.qa_reviews import QaReviews, scorecard
from calmline.aftercall.report_render import chart_png, render_html, render_pdf
from calmline.aftercall.reports import build_report
from calmline.api.auth import Principal
from calmline.api.deps import ClockDep, ServiceDep, require_roles
from calmline.api.errors import ApiError, not_found
from calmline.postcall import call_events
from calmline.store.schema import calls

router = APIRouter(tags=["aftercall"])

QA_ROLES = ("qa", "supervisor", "admin")
REPORT_ROLES = ("supervisor", "admin")
FOLLOWUP_READ_ROLES = ("supervisor", "admin", "qa", "auditor", "agent")
FOLLOWUP_MANAGE_ROLES = ("supervisor", "admin")
FOLLOWUP_OUTCOME_ROLES = ("supervisor", "admin", "agent")
FEEDBACK_IN_ROLES = ("ingest", "admin")
FEEDBACK_READ_ROLES = ("supervisor", "qa", "admin", "auditor")

QaUser = Annotated[Principal, Depends(require_roles(*QA_ROLES))]
ReportUser = Annotated[Principal, Depends(require_roles(*REPORT_ROLES))]
FollowupReader = Annotated[Principal, Depends(require_roles(*FOLLOWUP_READ_ROLES))]
FollowupManager = Annotated[Principal, Depends(require_roles(*FOLLOWUP_MANAGE_ROLES))]
FollowupWorker = Annotated[Principal, Depends(require_roles(*FOLLOWUP_OUTCOME_ROLES))]
FeedbackSender = Annotated[Principal, Depends(require_roles(*FEEDBACK_IN_ROLES))]
FeedbackReader = Annotated[Principal, Depends(require_roles(*FEEDBACK_READ_ROLES))]

DateFrom = Annotated[date | None, Query(alias="from", description="Started on or after (UTC day).")]
DateTo = Annotated[date | None, Query(alias="to", description="Started on or before (UTC day).")]
Site = Annotated[str | None, Query(max_length=64)]
Queue = Annotated[str | None, Query(max_length=64)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OverrideBody(_Body):
    score: float | None = Field(ge=0.0, le=1.0, description="0..1, or null: not applicable.")
    comment: str = Field(min_length=1, max_length=4000)


class AssignBody(_Body):
    assignee: str | None = Field(default=None, max_length=64)
    team: str | None = Field(default=None, max_length=64)


class OutcomeBody(_Body):
    outcome: str = Field(min_length=1, max_length=32)
    note: str | None = Field(default=None, max_length=4000)


class FeedbackBody(_Body):
    call_id: str = Field(pattern=r"^[A-Za-z0-9._:\-]{1,128}$")
    csat: int | None = Field(default=None, ge=1, le=5)
    comment: str | None = Field(default=None, max_length=MAX_COMMENT)
    source: str = Field(default="survey", pattern=r"^[A-Za-z0-9._\-]{1,64}$")
    external_id: str | None = Field(default=None, min_length=1, max_length=128)


def _filter(date_from: date | None, date_to: date | None, site: str | None, queue: str | None) -> CallFilter:
    if site and not has_site_column():
        raise ApiError(
            422,
            "validation_error",
            "calls carry no site on this installation",
            [{"loc": "site", "msg": "unsupported"}],
        )
    if date_from and date_to and date_to < date_from:
        raise ApiError(
            422, "validation_error", "'to' is before 'from'", [{"loc": "to", "msg": "before from"}]
        )
    return CallFilter(date_from, date_to, site, queue)


def _form(request: Request) -> ScorecardForm:
    form: ScorecardForm | None = getattr(request.app.state, "qa_form", None)
    if form is None:
        form = request.app.state.qa_form = load_form()
    return form


def _desk(request: Request, service: ServiceDep) -> FollowupDesk:
    desk: FollowupDesk | None = getattr(request.app.state, "followup_desk", None)
    if desk is None:
        webhooks = None
        path = getattr(request.app.state.settings, "webhooks_file", None)
        if path is not None:
            from calmline.webhooks import load_webhooks

            webhooks = load_webhooks(path)
        desk = request.app.state.followup_desk = FollowupDesk(service.db, webhooks=webhooks)
    return desk


FormDep = Annotated[ScorecardForm, Depends(_form)]
DeskDep = Annotated[FollowupDesk, Depends(_desk)]


# -- QA ------------------------------------------------------------------------------------------------------


def _card(service: ServiceDep, form: ScorecardForm, call_id: str) -> dict[str, Any]:
    with service.db.connect() as conn:
        row = conn.execute(select(calls).where(calls.c.call_id == call_id)).mappings().first()
    if row is None:
        raise not_found("call")
    auto = score_call(form, call_id, call_events(service.log, call_id))
    reviews = QaReviews(service.db).for_call(call_id, form.form_id)
    return scorecard(form, auto, reviews, practice=is_practice(call_id, row))


@router.get("/api/qa/form")
def qa_form(_user: QaUser, form: FormDep) -> dict[str, Any]:
    """The QA form in force (roles: qa, supervisor, admin)."""
    return form.model_dump(mode="json")


@router.get("/api/qa/calls/{call_id}")
def qa_scorecard(call_id: str, _user: QaUser, service: ServiceDep, form: FormDep) -> dict[str, Any]:
    """The call's scorecard: automatic scores with evidence, overrides, effective scores and total."""
    return _card(service, form, call_id)


@router.post("/api/qa/calls/{call_id}/items/{item_id}")
def qa_override(
    call_id: str,
    item_id: str,
    body: OverrideBody,
    user: QaUser,
    service: ServiceDep,
    form: FormDep,
    clock: ClockDep,
) -> dict[str, Any]:
    """Override one item's score with a comment (stored and audited); answers the updated scorecard."""
    card = _card(service, form, call_id)
    item = next((i for i in card["items"] if i["item_id"] == item_id), None)
    if item is None:
        raise not_found("scorecard item")
    try:
        QaReviews(service.db).override(
            call_id=call_id,
            form=form,
            item_id=item_id,
            reviewer=user.name,
            score=body.score,
            auto_score=item["auto_score"],
            comment=body.comment,
            at=clock.now(),
        )
    except ValueError as exc:
        raise ApiError(422, "validation_error", str(exc), [{"loc": "body.comment", "msg": str(exc)}]) from exc
    return _card(service, form, call_id)


@router.get("/api/qa/calibration")
def qa_calibration(
    _user: QaUser,
    service: ServiceDep,
    form: FormDep,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    site: Site = None,
    queue: Queue = None,
) -> dict[str, Any]:
    """Agreement per item between reviewers and with the automatic score (real calls only)."""
    return QaReviews(service.db).calibration(form, _filter(date_from, date_to, site, queue))


# -- reports -------------------------------------------------------------------------------------------------


@router.get("/api/reports", response_model=None)
def report(
    user: ReportUser,
    service: ServiceDep,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    site: Site = None,
    queue: Queue = None,
    format: Literal["json", "html", "pdf"] = "json",
    charts: bool = Query(default=False, description="JSON only: each chart as a base64 PNG (`png`)."),
) -> Any:
    """The operations report (roles: supervisor, admin; agents are named for supervisors only)."""
    flt = _filter(date_from, date_to, site, queue)
    rep = build_report(service.db, flt, named_agents=user.has_any({"supervisor"}))
    if format == "html":
        headers = {
            "Content-Disposition": 'attachment; filename="calmline-report.html"',
            "Cache-Control": "no-store",
        }
        return Response(render_html(rep), media_type="text/html; charset=utf-8", headers=headers)
    if format == "pdf":
        headers = {
            "Content-Disposition": 'attachment; filename="calmline-report.pdf"',
            "Cache-Control": "no-store",
        }
        return Response(render_pdf(rep), media_type="application/pdf", headers=headers)
    out = rep.to_dict()
    if charts:
        for section, model in zip(out["sections"], rep.sections, strict=True):
            if model.chart is not None:
                section["png"] = base64.b64encode(chart_png(model.chart, model.title)).decode("ascii")
    return out


# -- follow-ups ----------------------------------------------------------------------------------------------


def _followup_error(exc: FollowupError) -> ApiError:
    if exc.code == "not_found":
        return not_found("follow-up")
    if exc.code == "closed":
        return ApiError(409, "followup_closed", exc.detail)
    return ApiError(422, "validation_error", exc.detail, [{"loc": "body.outcome", "msg": exc.detail}])


def _own_only(user: Principal) -> bool:
    return not user.has_any({"supervisor", "admin", "qa", "auditor"})


@router.get("/api/followups")
def list_followups(
    user: FollowupReader,
    desk: DeskDep,
    clock: ClockDep,
    status: Literal["open", "done"] | None = None,
    overdue: bool | None = None,
    assignee: str | None = Query(default=None, max_length=64),
    call_id: str | None = Query(default=None, max_length=160),
    limit: int = Query(default=200, ge=1, le=1000),
) -> dict[str, Any]:
    """Follow-up tasks, soonest due first; agents see only the tasks assigned to them."""
    now = clock.now()
    desk.sync(now)
    if _own_only(user):
        assignee = user.name
    items = desk.list(now, status=status, overdue=overdue, assignee=assignee, call_id=call_id, limit=limit)
    return {"followups": items, "count": len(items), "outcomes": sorted(desk.policy.outcomes)}


@router.get("/api/followups/{followup_id}")
def get_followup(followup_id: str, user: FollowupReader, desk: DeskDep, clock: ClockDep) -> dict[str, Any]:
    """One follow-up task."""
    task = desk.get(followup_id, clock.now())
    if task is None or (_own_only(user) and task["assignee"] != user.name):
        raise not_found("follow-up")
    return task


@router.post("/api/followups/{followup_id}/assign")
def assign_followup(
    followup_id: str, body: AssignBody, user: FollowupManager, desk: DeskDep, clock: ClockDep
) -> dict[str, Any]:
    """Assign the task to a user and/or a team (roles: supervisor, admin)."""
    try:
        return desk.assign(
            followup_id, assignee=body.assignee, team=body.team, actor=user.name, now=clock.now()
        )
    except FollowupError as exc:
        raise _followup_error(exc) from exc


@router.post("/api/followups/{followup_id}/complete")
def complete_followup(
    followup_id: str, body: OutcomeBody, user: FollowupWorker, desk: DeskDep, clock: ClockDep
) -> dict[str, Any]:
    """Record a contact attempt's outcome; a closing outcome completes the task (agents: their own tasks)."""
    now = clock.now()
    if _own_only(user):
        task = desk.get(followup_id, now)
        if task is None or task["assignee"] != user.name:
            raise not_found("follow-up")
    try:
        return desk.record_outcome(
            followup_id, outcome=body.outcome, note=body.note, actor=user.name, now=now
        )
    except FollowupError as exc:
        raise _followup_error(exc) from exc


# -- patient feedback ----------------------------------------------------------------------------------------


@router.post("/api/feedback", status_code=201)
def post_feedback(
    body: FeedbackBody, user: FeedbackSender, service: ServiceDep, desk: DeskDep, clock: ClockDep
) -> Any:
    """Record one post-call survey answer (roles: ingest key, admin).

    A repeat of ``source`` + ``external_id`` answers 200 with the stored answer and ``"duplicate": true``. A
    comment that shows risk (``"risk": true``) opens a caring-contact follow-up (``followup_id``).
    """
    book = FeedbackBook(service.db, service.engine.registry)
    try:
        result = book.record(
            call_id=body.call_id,
            csat=body.csat,
            comment=body.comment,
            source=body.source,
            external_id=body.external_id,
            received_by=user.name,
            at=clock.now(),
        )
    except KeyError as exc:
        raise not_found("call") from exc
    if not result.created:
        from fastapi.responses import JSONResponse

        return JSONResponse({**result.feedback, "duplicate": True}, status_code=200)
    if result.feedback["risk"]:
        result.feedback["followup_id"] = desk.open_from_feedback(
            body.call_id, result.feedback["id"], clock.now()
        )
    return result.feedback


@router.get("/api/feedback")
def list_feedback(
    _user: FeedbackReader,
    service: ServiceDep,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    site: Site = None,
    queue: Queue = None,
    limit: int = Query(default=200, ge=1, le=1000),
) -> dict[str, Any]:
    """Feedback on real calls (comments redacted), newest first."""
    items = FeedbackBook(service.db).list(_filter(date_from, date_to, site, queue), limit=limit)
    return {"feedback": items, "count": len(items)}


@router.get("/api/calls/{call_id}/feedback")
def call_feedback(call_id: str, _user: FeedbackReader, service: ServiceDep) -> dict[str, Any]:
    """The call's feedback (comments redacted)."""
    if service.projections.get_call(call_id) is None:
        raise not_found("call")
    items = FeedbackBook(service.db).for_call(call_id)
    return {"feedback": items, "count": len(items)}
