from __future__ import annotations

from anyio import to_thread
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from calmline.api.deps import ServiceDep
from calmline.api.errors import error_body

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up. Public."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(service: ServiceDep) -> JSONResponse:
    """The store answers a ``SELECT 1``. Public."""

    def ping() -> None:
        with service.db.connect() as conn:
            conn.execute(text("SELECT 1"))

    try:
        await to_thread.run_sync(ping)
    except Exception as exc:
        return JSONResponse(
            error_body("not_ready", f"store unreachable ({type(exc).__name__})"), status_code=503
        )
    return JSONResponse({"status": "ready"})
