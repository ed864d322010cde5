"""Protocols over HTTP: the library in force, its history, admin changes, and each call's checklists."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from calmline.api.auth import Principal
from calmline.api.deps import CallReader, ClockDep, CurrentUser, ServiceDep, SettingsDep, require_roles
from calmline.api.errors import ApiError, not_found
from calmline.protocol_admin import (
    describe,
    history_rows,
    install_file,
    load_configured,
    publish_library,
    set_enabled,
)
from calmline.protocols.loader import ProtocolError
from calmline.service import CallService
from calmline.store.protocol_sets import ProtocolStore

router = APIRouter(prefix="/api", tags=["protocols"])

#: May change the protocol library.
Admin = Annotated[Principal, Depends(require_roles("admin"))]
#: May read the protocol history (an audit record).
HistoryReader = Annotated[Principal, Depends(require_roles("admin", "auditor", "supervisor", "qa"))]

#: Largest protocol document accepted.
MAX_PROTOCOL_BYTES = 200_000


class ChangeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    why: str = Field(default="", max_length=500, description="Kept in the audit log.")


def _store(service: CallService) -> ProtocolStore:
    if service.protocol_store is None:
        raise ApiError(409, "protocols_not_managed", "this server runs a fixed protocol library")
    return service.protocol_store


def _invalid(exc: ProtocolError) -> ApiError:
    return ApiError(
        422,
        "invalid_protocol",
        f"{exc.file}:{exc.line}: {exc.reason}",
        [{"loc": f"{exc.file}:{exc.line}", "msg": exc.reason}],
    )


@router.get("/protocols")
def list_protocols(_user: CurrentUser, service: ServiceDep) -> dict[str, Any]:
    """The protocols new calls get now, with the id of that protocol set (any signed-in role)."""
    current = service.engine.protocols.current
    return {"protocol_set": current.set_id, "protocols": [describe(p) for p in current.library.protocols]}


@router.get("/protocols/history")
def protocol_history(_user: HistoryReader, service: ServiceDep) -> list[dict[str, Any]]:
    """Every protocol set in force so far: who changed what, when, why (admin, auditor, supervisor, qa)."""
    return history_rows(_store(service))


@router.post("/protocols/{protocol_id}/enable")
def enable_protocol(
    protocol_id: str, body: ChangeRequest, user: Admin, service: ServiceDep, clock: ClockDep
) -> dict[str, Any]:
    """Switch a protocol on for new calls (role: admin; audited)."""
    return _set_enabled(service, protocol_id, True, user, body.why, clock.now())


@router.post("/protocols/{protocol_id}/disable")
def disable_protocol(
    protocol_id: str, body: ChangeRequest, user: Admin, service: ServiceDep, clock: ClockDep
) -> dict[str, Any]:
    """Switch a protocol off for new calls; calls already running keep it (role: admin; audited)."""
    return _set_enabled(service, protocol_id, False, user, body.why, clock.now())


def _set_enabled(
    service: CallService, protocol_id: str, enabled: bool, user: Principal, why: str, at: datetime
) -> dict[str, Any]:
    store = _store(service)
    try:
        pset, changed = set_enabled(
            store, service.engine.protocols, protocol_id, enabled, actor=user.name[:64], why=why, at=at
        )
    except KeyError:
        raise not_found("protocol") from None
    return {"protocol_set": pset.set_id, "changed": changed, "enabled": enabled}


@router.put("/protocols/{protocol_id}", responses={409: {}, 413: {}, 422: {}})
async def put_protocol(
    protocol_id: str,
    request: Request,
    user: Admin,
    service: ServiceDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> dict[str, Any]:
    """Add or replace a protocol from its YAML (role: admin; audited; new calls only).

    The body is the protocol document (``Content-Type: application/yaml``). It is validated first: a mistake
    gives 422 naming the line and the reason, and nothing changes.
    """
    if settings.protocols_dir is None:
        raise ApiError(409, "protocols_dir_not_configured", "set CALMLINE_PROTOCOLS_DIR to edit protocols")
    raw = await request.body()
    if len(raw) > MAX_PROTOCOL_BYTES:
        raise ApiError(413, "too_large", f"a protocol document is at most {MAX_PROTOCOL_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_encoding", "the body must be UTF-8") from None
    store = _store(service)
    return await to_thread.run_sync(
        _install, service, store, settings.protocols_dir, protocol_id, text, user.name[:64], clock.now()
    )


def _install(
    service: CallService,
    store: ProtocolStore,
    folder: Path,
    protocol_id: str,
    text: str,
    actor: str,
    at: datetime,
) -> dict[str, Any]:
    from calmline.protocol_admin import check_intents
    from calmline.protocols.intents import default_matcher
    from calmline.protocols.loader import parse_protocol

    name = f"{protocol_id}.yaml"
    try:
        protocol = parse_protocol(text, name)
        if protocol.id != protocol_id:
            raise ProtocolError(name, 1, f"id {protocol.id!r} does not match the address ({protocol_id!r})")
        check_intents(protocol, text, name, frozenset(default_matcher().rules.intent_ids))
        folder.mkdir(parents=True, exist_ok=True)
        load_configured(folder)  # the rest of the folder must be valid too, or nothing is written
    except ProtocolError as exc:
        raise _invalid(exc) from None
    install_file(folder, text)
    library = load_configured(folder)
    pset, changed = publish_library(
        store,
        service.engine.protocols,
        library,
        actor=actor,
        action="changed",
        why=f"{protocol.id} {protocol.version} uploaded",
        at=at,
    )
    return {"protocol_set": pset.set_id, "changed": changed, "protocol": describe(protocol)}


@router.get("/calls/{call_id}/protocols")
def call_protocols(call_id: str, _user: CallReader, service: ServiceDep) -> dict[str, Any]:
    """The protocols running on a call: steps (due or done), escalation level and deadline (call readers)."""
    if service.projections.get_call(call_id) is None:
        raise not_found("call")
    state = service.state(call_id)
    library = service.engine.library(state)
    items = []
    for inst in state.protocols.instances:
        protocol = library.get(inst.protocol_id)
        if protocol is None:
            continue
        status = dict(inst.steps)
        items.append(
            {
                "id": protocol.id,
                "version": inst.version,
                "title": protocol.title,
                "severity": protocol.severity,
                "status": inst.status,
                "activated_at": inst.activated_at,
                "escalation_level": inst.escalation_level,
                "ack_deadline": inst.next_deadline,
                "acknowledged_by": inst.acknowledged_by,
                "steps": [
                    {
                        "id": s.id,
                        "prompt": s.prompt,
                        "script": list(s.script),
                        "required": s.required,
                        "status": status.get(s.id, "due"),
                    }
                    for s in protocol.steps
                ],
            }
        )
    return {"call_id": call_id, "protocol_set": state.protocol_set, "protocols": items}
