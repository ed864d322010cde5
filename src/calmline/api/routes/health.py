from __future__ import annotations

from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from calmline import observability
from calmline.api.deps import ServiceDep
from calmline.api.errors import error_body

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up. Public."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request, service: ServiceDep) -> JSONResponse:
    """The store answers a ``SELECT 1`` and the bus (Redis, with ``--role api``) answers a PING. Public."""

    def ping() -> None:
        with service.db.connect() as conn:
            conn.execute(text("SELECT 1"))

    try:
        await to_thread.run_sync(ping)
    except Exception as exc:
        return JSONResponse(
            error_body("not_ready", f"store unreachable ({type(exc).__name__})"), status_code=503
        )
    bus: Any = getattr(request.app.state, "bus", None)
    body: dict[str, Any] = {"status": "ready"}
    if bus is not None:  # --role api: the Redis bus must answer too
        if not await to_thread.run_sync(bus.ping):
            return JSONResponse(error_body("not_ready", "bus unreachable"), status_code=503)
        body["bus"] = bus.name
        body["bus_depth"] = await to_thread.run_sync(bus.depth)
        body["dead_letters"] = await to_thread.run_sync(bus.dead_letter_count)  # operators: see SCALING.md
    return JSONResponse(body)


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    """Prometheus metrics (counts and latencies by event type and status; never a call id or text). Public."""
    body, content_type = observability.render()
    return Response(body, media_type=content_type)
