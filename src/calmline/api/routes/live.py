from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from calmline.api.auth import Principal
from calmline.api.deps import LIVE_ROLES, ServiceDep, require_roles

router = APIRouter(prefix="/api/live", tags=["live"])

LiveWatcher = Annotated[Principal, Depends(require_roles(*sorted(LIVE_ROLES)))]


@router.get("/position")
def position(_user: LiveWatcher, service: ServiceDep) -> dict[str, int]:
    """The newest log id (roles: supervisor, qa, admin, agent).

    Read it before fetching a snapshot (calls, timeline), then open ``/ws/live?after=<last_id>``: every row
    up to it is in the snapshot, every later one comes over the feed.
    """
    return {"last_id": service.log.last_id()}
