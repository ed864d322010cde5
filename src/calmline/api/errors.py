"""One error shape for every 4xx, and the request-size guard.

Every error body is ``{"error": code, "detail": message, "fields": [{"loc": "...", "msg": "..."}]}``.
Nothing a client sent is ever echoed back or logged: pydantic puts the offending ``input`` (which may be
transcript text, i.e. PHI) into its errors, so only the location and a message are kept, and a message that
quotes the input is replaced by a generic one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError, WebSocketRequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger("calmline.api")

_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    503: "not_ready",
}
_MAX_LOC = 200
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,39}|\d{1,6}")


class ApiError(Exception):
    """An error the API reports to the client as JSON."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        fields: Sequence[Mapping[str, str]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.fields = [dict(f) for f in fields]
        self.headers = dict(headers) if headers else None

    def body(self) -> dict[str, Any]:
        """The JSON body of this error."""
        return error_body(self.code, self.detail, self.fields)


class PayloadTooLarge(StarletteHTTPException):
    """Raised while a request body is being received, as soon as it passes the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is larger than {limit} bytes")


def error_body(code: str, detail: str, fields: Iterable[Mapping[str, str]] = ()) -> dict[str, Any]:
    """The JSON body of an error."""
    return {"error": code, "detail": detail, "fields": [dict(f) for f in fields]}


def not_found(what: str) -> ApiError:
    """A 404 naming the kind of thing that was not found (not the identifier the client sent)."""
    return ApiError(404, "not_found", f"{what} not found")


# -- pydantic errors, without the input ----------------------------------------------------------------


def clean_errors(errors: Iterable[Mapping[str, Any]], *, skip_loc: int = 0) -> list[dict[str, str]]:
    """Pydantic errors as ``{"loc", "msg"}`` pairs, with the client's input stripped."""
    out: list[dict[str, str]] = []
    for err in errors:
        # A location part can be a key the client chose (an unknown field): only name-like ones are echoed.
        loc_parts = [
            p if _NAME.fullmatch(p) else "<field>" for p in map(str, tuple(err.get("loc", ()))[skip_loc:])
        ]
        if str(err.get("type", "")).startswith("union_tag_"):
            loc_parts.append(str((err.get("ctx") or {}).get("discriminator", "type")).strip("'\""))
        loc = ".".join(loc_parts)[:_MAX_LOC]
        out.append({"loc": loc, "msg": _message(err)})
    return out


def _message(err: Mapping[str, Any]) -> str:
    kind = str(err.get("type", "invalid"))
    ctx = err.get("ctx") or {}
    if kind == "union_tag_invalid":
        expected = ctx.get("expected_tags", "")
        return f"unknown event type; expected one of: {expected}"
    if kind == "union_tag_not_found":
        return "the event type is missing (field 'type')"
    if kind == "extra_forbidden":
        return "unknown field (not allowed)"
    msg = str(err.get("msg", "invalid value"))
    value = err.get("input")
    if isinstance(value, str | bytes) and value and str(value) in msg:
        return f"invalid value ({kind})"
    # value_error messages come from our validators: prefixed by pydantic, never hold input.
    return msg[:300]


def validation_error(exc: ValidationError, *, skip_loc: int = 0, detail: str | None = None) -> ApiError:
    """A 422 for a pydantic ``ValidationError``, naming the fields."""
    fields = clean_errors(exc.errors(include_input=False, include_url=False), skip_loc=skip_loc)
    names = ", ".join(f["loc"] or "(body)" for f in fields[:5])
    return ApiError(422, "validation_error", detail or f"invalid field(s): {names}", fields)


# -- decoding a JSON body ------------------------------------------------------------------------------


def decode_json(raw: bytes | str) -> Any:
    """Parse a UTF-8 JSON document.

    Raises:
        ApiError: 400 ``invalid_encoding`` (not UTF-8) or 400 ``invalid_json`` (not JSON).
    """
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ApiError(
                400, "invalid_encoding", f"the body is not valid UTF-8 (byte {exc.start})"
            ) from None
    else:
        text = raw
    if not text.strip():
        raise ApiError(400, "invalid_json", "the body is empty; a JSON document is expected")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError(
            400, "invalid_json", f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise ApiError(400, "invalid_json", "malformed JSON: nested too deeply") from None


# -- handlers ------------------------------------------------------------------------------------------


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _CODES.get(exc.status_code, "error")
    detail = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        code, detail = "invalid_encoding", "the body is not valid UTF-8"
    elif exc.status_code == 400 and detail == "There was an error parsing the body":
        code = "invalid_body"
    return JSONResponse(error_body(code, detail), status_code=exc.status_code, headers=exc.headers)


async def _request_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return JSONResponse(error_body("invalid_json", "malformed JSON"), status_code=400)
    fields = clean_errors(errors)
    names = ", ".join(f["loc"] for f in fields[:5])
    return JSONResponse(error_body("validation_error", f"invalid field(s): {names}", fields), status_code=422)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Only the exception's type: its message or traceback locals may hold transcript text.
    log.error("request.failed", path=request.url.path, error=type(exc).__name__)
    return JSONResponse(error_body("internal_error", "internal server error"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    """Register the JSON error handlers on ``app``, and the security middleware (headers, cross-site check).

    The middleware reads ``app.state.settings`` (``CALMLINE_ENV``, ``CALMLINE_ALLOWED_ORIGINS``) when present.
    """
    from calmline.security.web import SecurityMiddleware

    settings = getattr(app.state, "settings", None)
    app.add_middleware(
        SecurityMiddleware,
        prod=getattr(settings, "env", "dev") == "prod",
        allowed_origins=tuple(getattr(settings, "allowed_origins", ()) or ()),
    )
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(WebSocketRequestValidationError, _request_validation)
    app.add_exception_handler(Exception, _unexpected)


# -- the body size guard -------------------------------------------------------------------------------


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` with 413, without buffering them.

    The declared ``Content-Length`` is checked before anything is read; bodies without one (chunked) are
    counted as they stream in and cut off as soon as they pass the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._reject(send)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise PayloadTooLarge(self.max_bytes)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except PayloadTooLarge:
            if started:
                raise
            await self._reject(send)

    async def _reject(self, send: Send) -> None:
        body = json.dumps(
            error_body("payload_too_large", f"request body is larger than {self.max_bytes} bytes")
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
