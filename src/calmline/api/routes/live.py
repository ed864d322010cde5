from __future__ import annotations

from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Depends

from calmline.api.auth import Principal
from calmline.api.deps import LIVE_ROLES, Reviewer, ServiceDep, require_roles
from calmline.practice import is_practice_call
from calmline.service import CallService
from calmline.web.board import board_entry

router = APIRouter(prefix="/api/live", tags=["live"])

LiveWatcher = Annotated[Principal, Depends(require_roles(*sorted(LIVE_ROLES)))]


@router.get("/position")
def position(_user: LiveWatcher, service: ServiceDep) -> dict[str, int]:
    """The newest log id (roles: supervisor, qa, admin, agent).

    Read it before fetching a snapshot (calls, timeline), then open ``/ws/live?after=<last_id>``: every row
    up to it is in the snapshot, every later one comes over the feed.
    """
    return {"last_id": service.log.last_id()}


@router.get("/board")
async def board(_user: Reviewer, service: ServiceDep) -> dict[str, Any]:
    """The live wall's snapshot (roles: supervisor, qa, admin, auditor).

    ``{"last_id", "calls": [...]}``: every active call's summary (as ``GET /api/calls``) with its distress
    trajectory, the highest risk tier per type, the protocol running and its progress, when the last alert
    was raised and whether the agent asked for help. ``last_id`` is read first: open ``/ws/live?after=`` it.
    """
    return await to_thread.run_sync(_board, service)


def _board(service: CallService) -> dict[str, Any]:
    last_id = service.log.last_id()
    calls = service.projections.list_calls(status="active", limit=1000)
    out = []
    for call in calls:
        if is_practice_call(call["call_id"]):  # practice calls are training, never on the operational wall
            continue
        rows = [r for r in service.log.read(call["call_id"]) if r.type != "utterance"]
        out.append({**call, **board_entry(call["call_id"], rows)})
    return {"last_id": last_id, "calls": out}
