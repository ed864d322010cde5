"""Send a transaction Bundle to a FHIR server: one ``POST`` to its base URL, with the standard library.

``urllib`` rather than an HTTP client package, as for webhooks (D10): one POST with a timeout needs no new
run-time dependency. Plain ``http://`` is refused except to loopback (the bundle carries health data) unless
the caller opts in. Errors name the status and the server's OperationOutcome issue codes; never the bundle.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

FHIR_JSON = "application/fhir+json"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
#: Longest piece of a server's diagnostics quoted in an error.
MAX_DIAGNOSTICS = 200


class FhirPushError(RuntimeError):
    """The server did not accept the bundle (or could not be reached); the message says why."""


@dataclass(frozen=True, slots=True)
class PushResult:
    """The server's answer: HTTP status and, per entry, the status of the transaction-response."""

    status: int
    entries: tuple[str, ...] = ()


def check_url(url: str, *, allow_http: bool = False) -> str:
    """The base URL without a trailing slash; raises ``FhirPushError`` when it is unusable or unsafe."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FhirPushError(f"not an http(s) URL: {safe_url(url)}")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK and not allow_http:
        raise FhirPushError(
            f"refusing plain http to {parts.hostname}: use https (or --allow-http on a trusted network)"
        )
    return url.rstrip("/")


def safe_url(url: str) -> str:
    """The URL without credentials, query or fragment (for messages)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def push_bundle(
    url: str,
    bundle: str | bytes,
    *,
    token: str | None = None,
    timeout_s: float = 30.0,
    allow_http: bool = False,
) -> PushResult:
    """POST a transaction ``bundle`` (FHIR JSON) to the server's base ``url``.

    Raises:
        FhirPushError: refused URL, unreachable server, timeout, or a non-2xx answer.
    """
    base = check_url(url, allow_http=allow_http)
    body = bundle.encode("utf-8") if isinstance(bundle, str) else bundle
    headers = {"Content-Type": f"{FHIR_JSON}; charset=utf-8", "Accept": FHIR_JSON}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(base, data=body, headers=headers, method="POST")
    where = safe_url(base)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # scheme checked above
            status = int(response.status)
            payload = response.read()
    except urllib.error.HTTPError as exc:
        detail = _outcome(exc.read())
        raise FhirPushError(f"{where}: HTTP {exc.code} {exc.reason}{detail}") from None
    except TimeoutError as exc:
        raise FhirPushError(f"{where}: no answer within {timeout_s:g} s") from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise FhirPushError(f"{where}: no answer within {timeout_s:g} s") from exc
        raise FhirPushError(f"{where}: cannot connect ({exc.reason})") from exc
    return PushResult(status, _entry_statuses(payload))


def _outcome(body: bytes) -> str:
    """The issues of an OperationOutcome answer, briefly (empty when the body is something else)."""
    data = _json(body)
    issues = data.get("issue") if isinstance(data, dict) else None
    if not isinstance(issues, list) or not issues:
        return ""
    parts = []
    for issue in issues[:3]:
        if not isinstance(issue, dict):
            continue
        text = str(issue.get("diagnostics") or "")[:MAX_DIAGNOSTICS]
        parts.append(f"{issue.get('severity', '?')}/{issue.get('code', '?')}" + (f" {text}" if text else ""))
    return (": " + "; ".join(parts)) if parts else ""


def _entry_statuses(body: bytes) -> tuple[str, ...]:
    data = _json(body)
    if not isinstance(data, dict):
        return ()
    out = []
    for entry in data.get("entry") or ():
        response = entry.get("response") if isinstance(entry, dict) else None
        if isinstance(response, dict) and response.get("status"):
            out.append(str(response["status"]))
    return tuple(out)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
