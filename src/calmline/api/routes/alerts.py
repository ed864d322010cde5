from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query

from calmline.api.deps import Reviewer, ServiceDep
from calmline.api.errors import not_found
from calmline.practice import is_practice_call

router = APIRouter(prefix="/api/alerts", tags=["alerts"])


@router.get("")
def list_alerts(
    _user: Reviewer,
    service: ServiceDep,
    status: Literal["open", "raised", "acknowledged", "escalated", "resolved"] | None = None,
    limit: int = Query(default=500, ge=1, le=1000),
) -> list[dict[str, Any]]:
    """Alerts across calls, open and most severe first (roles: supervisor, qa, admin, auditor).

    ``open`` means raised, escalated or acknowledged.
    """
    rows = service.projections.list_alerts(status=status, limit=limit)
    return [a for a in rows if not is_practice_call(a.get("call_id"))]  # training calls stay off the inbox


@router.get("/{alert_id}")
def get_alert(alert_id: str, _user: Reviewer, service: ServiceDep) -> dict[str, Any]:
    """One alert (roles: supervisor, qa, admin, auditor)."""
    alert = service.projections.get_alert(alert_id)
    if alert is None:
        raise not_found("alert")
    return alert
