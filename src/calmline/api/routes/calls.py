from __future__ import annotations

from typing import Any, Literal, cast

import structlog
from anyio import to_thread
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from calmline.api.deps import Actor, CallReader, ClockDep, Reviewer, ServiceDep, check_roles
from calmline.api.errors import ApiError, not_found, validation_error
from calmline.api.ingest import ingest_one
from calmline.api.views import may_read_text, row_message
from calmline.events import SupervisorAction
from calmline.events.call import CallerRelation, SupervisorActionKind
from calmline.qa import empathy_profile
from calmline.service import CallService
from calmline.telephony import (
    INTERVENTIONS,
    InterventionKind,
    LoggingTelephonyAdapter,
    TelephonyAction,
    TelephonyAdapter,
)
from calmline.web.redaction import redact_timeline

router = APIRouter(prefix="/api/calls", tags=["calls"])
log = structlog.get_logger("calmline.api.calls")

#: What an agent may do on a call; everything else needs supervisor or admin.
AGENT_ACTIONS = frozenset({"note", "protocol_action", "verify_caller", "request_help"})


class ActionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: SupervisorActionKind
    alert_id: str | None = Field(default=None, max_length=160)
    note: str | None = Field(default=None, max_length=2_000)
    outcome: str | None = Field(default=None, max_length=256)
    name: str | None = Field(default=None, max_length=64, description="protocol_action: what was done.")
    step_id: str | None = Field(default=None, max_length=64, description="protocol_action: step checked off.")
    protocol_id: str | None = Field(
        default=None, max_length=64, description="protocol_action: in this protocol."
    )
    relation: CallerRelation | None = Field(default=None, description="verify_caller: who the caller is.")
    method: str | None = Field(default=None, max_length=64, description="verify_caller: how it was checked.")


def _call_or_404(service: CallService, call_id: str) -> dict[str, Any]:
    call = service.projections.get_call(call_id)
    if call is None:
        raise not_found("call")
    return call


@router.get("")
def list_calls(
    _user: CallReader,
    service: ServiceDep,
    status: Literal["active", "ended"] | None = None,
    limit: int = Query(default=200, ge=1, le=1000),
    practice: bool = Query(default=False, description="Include practice calls (agents in training)."),
) -> list[dict[str, Any]]:
    """Calls, most urgent first; practice calls only when asked (agent, supervisor, qa, admin, auditor)."""
    return service.projections.list_calls(status=status, limit=limit, practice=practice)


@router.get("/{call_id}")
def get_call(call_id: str, _user: CallReader, service: ServiceDep) -> dict[str, Any]:
    """One call's summary (roles: agent, supervisor, qa, admin, auditor)."""
    return _call_or_404(service, call_id)


@router.get("/{call_id}/timeline")
def timeline(
    call_id: str,
    user: CallReader,
    service: ServiceDep,
    redaction: Literal["full", "masked"] = Query(
        default="full", description="For roles that may not read the text: replace it, or mask identifiers."
    ),
) -> dict[str, Any]:
    """Every log row of the call in order, inputs and outputs (roles: agent, supervisor, qa, admin, auditor).

    Utterance text is shown as spoken to supervisor, agent and qa. For other roles it is ``[redacted]``, or
    with ``redaction=masked`` PHI-redacted (``calmline.web.redaction.redact_timeline``: typed placeholders,
    evidence spans moved to match; payload ``"masked": true``).
    """
    rows = service.log.read(call_id)
    if not rows:
        raise not_found("call")
    if may_read_text(user):
        return {"call_id": call_id, "events": [row_message(r, show_text=True) for r in rows]}
    if redaction == "masked":
        return {"call_id": call_id, "events": redact_timeline([row_message(r, show_text=True) for r in rows])}
    return {"call_id": call_id, "events": [row_message(r, show_text=False) for r in rows]}


@router.get("/{call_id}/findings")
def findings(call_id: str, _user: CallReader, service: ServiceDep) -> list[dict[str, Any]]:
    """The call's findings (spans only, never text) (roles: agent, supervisor, qa, admin, auditor)."""
    _call_or_404(service, call_id)
    return service.projections.list_findings(call_id)


@router.get("/{call_id}/alerts")
def call_alerts(call_id: str, _user: CallReader, service: ServiceDep) -> list[dict[str, Any]]:
    """The call's alerts, open and most severe first (roles: agent, supervisor, qa, admin, auditor)."""
    _call_or_404(service, call_id)
    return service.projections.list_alerts(call_id=call_id)


@router.get("/{call_id}/empathy")
def empathy(call_id: str, _user: Reviewer, service: ServiceDep) -> dict[str, Any]:
    """How the agent listened on this call, for QA (roles: supervisor, qa, admin, auditor).

    EPITOME mechanisms, questions, validation, talk-overs and long silences, from ``agent.scored`` events.
    """
    _call_or_404(service, call_id)
    scored = [r.payload for r in service.log.read(call_id, kind="output") if r.type == "agent.scored"]
    return {"call_id": call_id, **empathy_profile(scored)}


@router.get("/{call_id}/replay")
def replay(call_id: str, _user: Reviewer, service: ServiceDep) -> dict[str, Any]:
    """Re-derive the call's outputs from its inputs and compare (roles: supervisor, qa, admin, auditor)."""
    _call_or_404(service, call_id)
    report = service.replay(call_id)
    return {
        "call_id": report.call_id,
        "inputs": report.inputs,
        "outputs": report.outputs,
        "differences": list(report.differences),
        "ok": report.ok,
    }


@router.post("/{call_id}/actions", status_code=202, responses={404: {}, 409: {}, 422: {}})
async def act(
    call_id: str, body: ActionRequest, user: Actor, service: ServiceDep, clock: ClockDep, request: Request
) -> JSONResponse:
    """Act on a call as the signed-in user (supervisor, admin; agents: their own kinds, ``AGENT_ACTIONS``).

    Agents may post ``note``, ``protocol_action``, ``verify_caller`` and ``request_help``. A
    ``protocol_action`` records what was done (``name``) or checks a checklist step off (``step_id``);
    ``verify_caller`` records that the caller's identity and authority were checked (relation, method);
    ``request_help`` is the agent asking a supervisor to join. Interventions (listen, whisper, barge,
    take_over, request_transfer) are recorded, then handed to the telephony adapter; the answer's
    ``telephony`` says ``delivered`` or ``failed``. 404 when the call or alert does not exist, 409 when the
    alert is already resolved.
    """
    if body.action not in AGENT_ACTIONS:
        check_roles(user, frozenset({"supervisor", "admin"}))
    await to_thread.run_sync(_check_target, service, call_id, body)
    try:
        event = SupervisorAction(
            call_id=call_id,
            action=body.action,
            actor=user.name[:64],
            alert_id=body.alert_id,
            note=body.note,
            outcome=body.outcome,
            name=body.name,
            step_id=body.step_id,
            protocol_id=body.protocol_id,
            relation=body.relation,
            method=body.method,
            at=clock.now(),
        )
    except ValidationError as exc:
        raise validation_error(exc) from None
    result = await to_thread.run_sync(ingest_one, service, event)
    if event.action in INTERVENTIONS and result.get("status") == "accepted":
        adapter = _telephony(request)
        action = TelephonyAction(call_id, cast(InterventionKind, event.action), event.actor, event.at)
        result["telephony"] = await to_thread.run_sync(_deliver, adapter, action)
    return JSONResponse(result, status_code=202)


def _telephony(request: Request) -> TelephonyAdapter:
    adapter: TelephonyAdapter | None = getattr(request.app.state, "telephony", None)
    return adapter if adapter is not None else LoggingTelephonyAdapter()


def _deliver(adapter: TelephonyAdapter, action: TelephonyAction) -> str:
    """Hand the intervention to the adapter; a failure is logged (no PHI), never fatal (it is in the log)."""
    try:
        adapter.deliver(action)
    except Exception as exc:
        log.error("telephony.failed", call_id=action.call_id, kind=action.kind, error=type(exc).__name__)
        return "failed"
    return "delivered"


def _check_target(service: CallService, call_id: str, body: ActionRequest) -> None:
    _call_or_404(service, call_id)
    if body.alert_id is None:
        return
    alert = service.projections.get_alert(body.alert_id)
    if alert is None or alert["call_id"] != call_id:
        raise not_found("alert")
    if alert["status"] == "resolved" and body.action in ("acknowledge_alert", "resolve_alert"):
        raise ApiError(409, "alert_resolved", "the alert is already resolved")
