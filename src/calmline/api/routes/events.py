from __future__ import annotations

from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from calmline.api.deps import IngestClient, ServiceDep
from calmline.api.errors import ApiError, decode_json
from calmline.api.ingest import MAX_BATCH, batch_items, ingest_items, ingest_one, log, validate_event

router = APIRouter(prefix="/api/events", tags=["ingest"])

_ONE = {"$ref": "#/components/schemas/InputEvent"}
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed JSON (`invalid_json`) or not UTF-8 (`invalid_encoding`)"},
    413: {"description": "Body over the size limit (`payload_too_large`)"},
    422: {"description": "Invalid event: `fields` names each offending field"},
}


@router.post(
    "",
    status_code=202,
    responses={409: {"description": "Duplicate: this seq is already recorded (nothing changed)"}, **_ERRORS},
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _ONE}}}},
)
async def ingest_event(request: Request, _client: IngestClient, service: ServiceDep) -> JSONResponse:
    """Send one input event (roles: ingest, admin). 202 accepted or held; 409 for a duplicate."""
    try:
        event = validate_event(decode_json(await request.body()))
    except ApiError as exc:
        log.info("event.rejected", error=exc.code, fields=[f["loc"] for f in exc.fields])
        raise
    body = await to_thread.run_sync(ingest_one, service, event)
    if body["status"] == "duplicate":
        # Acknowledged, not stored again: 409 tells a retrying client the event is already there.
        return JSONResponse({**body, "error": "duplicate"}, status_code=409)
    return JSONResponse(body, status_code=202)


@router.post(
    "/batch",
    responses=_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["events"],
                        "properties": {"events": {"type": "array", "maxItems": MAX_BATCH, "items": _ONE}},
                    }
                }
            },
        }
    },
)
async def ingest_batch(request: Request, _client: IngestClient, service: ServiceDep) -> dict[str, Any]:
    """Send up to 1000 events (roles: ingest, admin), each validated and ingested on its own, in order.

    A bad one is reported as ``rejected`` with its errors and does not stop the others.
    """
    items = batch_items(decode_json(await request.body()))
    results = await to_thread.run_sync(ingest_items, service, items)
    return {"results": results}
