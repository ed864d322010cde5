"""Practice calls (issue 11): scenarios, sessions, the debrief, progress, cohort, and agent support links.

A practice call is an ordinary call (id ``practice-…``, queue ``practice``) run by the live engine; see
``calmline.practice``. Trainees (agents) play their own sessions; trainers (supervisor, qa, admin) read any
scorecard, comment on it and see the cohort. The support links route records nothing about who reads it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from anyio import to_thread
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from calmline.api.auth import Principal
from calmline.api.deps import CurrentUser, ServiceDep, check_roles, require_roles
from calmline.api.errors import ApiError, not_found
from calmline.practice.live import PracticeConflict, PracticeDesk, PracticeNotFound, scenario_summary
from calmline.practice.loader import shipped_scenarios
from calmline.practice.support import load_support
from calmline.service import CallService

router = APIRouter(prefix="/api/practice", tags=["practice"])

TRAINER_ROLES = frozenset({"supervisor", "qa", "admin"})
PRACTICE_ROLES = ("agent", "supervisor", "qa", "admin")
Trainee = Annotated[Principal, Depends(require_roles(*PRACTICE_ROLES))]
Trainer = Annotated[Principal, Depends(require_roles(*sorted(TRAINER_ROLES)))]


class StartRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenario_id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)
    mode: Literal["assist", "assessment"] = "assist"


class AnswerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=2_000)


class CommentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=2_000)


def _desk(service: CallService) -> PracticeDesk:
    return PracticeDesk(service)


def _run(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except PracticeNotFound:
        raise not_found("practice call") from None
    except PracticeConflict as exc:
        raise ApiError(409, "practice_ended", str(exc)) from None


def _own_or_trainer(desk: PracticeDesk, call_id: str, user: Principal) -> None:
    if user.has_any(TRAINER_ROLES):
        return
    if desk.owner(call_id) != user.name:
        raise not_found("practice call")


@router.get("/scenarios")
def list_scenarios(_user: Trainee) -> dict[str, Any]:
    """The practice scenarios (roles: agent, supervisor, qa, admin)."""
    return {"scenarios": [scenario_summary(s) for s in shipped_scenarios().values()]}


@router.post("/sessions", status_code=201)
async def start(body: StartRequest, user: Trainee, service: ServiceDep) -> dict[str, Any]:
    """Start a practice call as the signed-in user; returns the caller's opening words."""
    desk = _desk(service)
    if body.scenario_id not in shipped_scenarios():
        raise not_found("scenario")
    result: dict[str, Any] = await to_thread.run_sync(
        _run, desk.start, body.scenario_id, user.name[:64], body.mode
    )
    return result


def _answer(desk: PracticeDesk, call_id: str, user: Principal, text: str) -> dict[str, Any]:
    if desk.owner(call_id) != user.name:
        raise PracticeNotFound(call_id)  # only the trainee plays their own session
    return desk.answer(call_id, text)


@router.post("/sessions/{call_id}/responses")
async def answer(call_id: str, body: AnswerRequest, user: Trainee, service: ServiceDep) -> dict[str, Any]:
    """The agent's answer; the caller's reply, plus ``assists`` and ``checklist`` unless in assessment mode.

    409 once the call has ended. In assessment mode the guardrail warnings and suggestions are still
    recorded on the call, and shown in the debrief.
    """
    result: dict[str, Any] = await to_thread.run_sync(_run, _answer, _desk(service), call_id, user, body.text)
    return result


def _end(desk: PracticeDesk, call_id: str, user: Principal) -> dict[str, Any]:
    _own_or_trainer(desk, call_id, user)
    return desk.end(call_id)


@router.post("/sessions/{call_id}/end")
async def end(call_id: str, user: Trainee, service: ServiceDep) -> dict[str, Any]:
    """End the practice call (if the caller has not already) and return the scorecard."""
    result: dict[str, Any] = await to_thread.run_sync(_run, _end, _desk(service), call_id, user)
    return result


def _card(desk: PracticeDesk, call_id: str, user: Principal) -> dict[str, Any]:
    _own_or_trainer(desk, call_id, user)
    return desk.scorecard(call_id)


@router.get("/sessions/{call_id}/scorecard")
async def scorecard(call_id: str, user: Trainee, service: ServiceDep) -> dict[str, Any]:
    """The scorecard with evidence (the trainee's own, or any for trainers)."""
    result: dict[str, Any] = await to_thread.run_sync(_run, _card, _desk(service), call_id, user)
    return result


@router.post("/sessions/{call_id}/comments", status_code=201)
async def comment(call_id: str, body: CommentRequest, user: Trainer, service: ServiceDep) -> dict[str, Any]:
    """A trainer's comment (roles: supervisor, qa, admin); kept as a note on the practice call."""
    desk = _desk(service)
    comments = await to_thread.run_sync(_run, desk.comment, call_id, user.name, body.text)
    return {"call_id": call_id, "comments": comments}


@router.get("/progress")
async def progress(
    user: Trainee, service: ServiceDep, agent: str | None = Query(default=None, max_length=64)
) -> dict[str, Any]:
    """An agent's practice scorecards over time (default: the signed-in user's; others' for trainers)."""
    who = agent or user.name
    if who != user.name:
        check_roles(user, TRAINER_ROLES)
    sessions = await to_thread.run_sync(_desk(service).progress, who)
    return {"agent_id": who, "sessions": sessions}


@router.get("/cohort")
async def cohort(_user: Trainer, service: ServiceDep) -> dict[str, Any]:
    """Every agent's latest finished score per scenario, with attempts (roles: supervisor, qa, admin)."""
    result: dict[str, Any] = await to_thread.run_sync(_desk(service).cohort)
    return result


@router.get("/support")
def support(_user: CurrentUser, request: Request) -> dict[str, Any]:
    """Employee-assistance and peer-support links for agents (any signed-in user).

    Never tracked: this route logs nothing about who asked, and the links are plain links.
    """
    path = getattr(request.app.state.settings, "support_file", None)
    return load_support(path).model_dump(mode="json")
