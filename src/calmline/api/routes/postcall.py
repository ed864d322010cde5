"""After the call: the extractive post-call summary of one call."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from calmline.api.deps import CallReader, ServiceDep
from calmline.api.errors import not_found
from calmline.api.views import may_read_text
from calmline.postcall import summary_from_log

router = APIRouter(prefix="/api/calls", tags=["postcall"])


@router.get("/{call_id}/summary")
def call_summary(call_id: str, user: CallReader, service: ServiceDep) -> dict[str, Any]:
    """The call's post-call summary (roles: agent, supervisor, qa, admin, auditor).

    Reason, risk findings with the caller's words, protocols and their completion, alert timing, disposition
    and follow-ups, all taken from the call's log. Quoted words are ``[redacted]`` unless the caller holds
    supervisor, agent or qa.
    """
    summary = summary_from_log(service.log, call_id) if service.projections.get_call(call_id) else None
    if summary is None:
        raise not_found("call")
    if not may_read_text(user):
        summary = summary.without_text()
    return summary.to_dict()
