"""Property-based requests from the OpenAPI schema (schemathesis): no operation answers with a server error.

Each operation is called with a few generated requests (derandomized: the same ones every run) by a principal
the matrix allows on it, so the handlers themselves are exercised, not only the role checks.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calmline.api import auth
from calmline.api.permissions import KEY_SCOPES, PERMISSIONS
from calmline.service import CallService

schemathesis = pytest.importorskip("schemathesis")

MAX_EXAMPLES = 4


def test_no_operation_answers_with_a_server_error(
    app: FastAPI, service: CallService, tokens: dict[str, str]
) -> None:
    creds = {**tokens, **{s: auth.create_api_key(service.db, f"{s}-key", [s]) for s in KEY_SCOPES}}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = 0
    calls: list[int] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/api/auth/logout":
            continue  # it would end the session the other operations use
        roles = PERMISSIONS.get((operation.method.upper(), operation.path))
        headers = {} if roles is None else {"Authorization": f"Bearer {creds[sorted(roles)[0]]}"}
        operations += 1

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(), auth_headers=st.just(headers))
        def run(case: object, auth_headers: dict[str, str]) -> None:
            response = case.call(headers=auth_headers)  # type: ignore[attr-defined]
            calls.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")  # type: ignore[attr-defined]

        run()
    assert operations >= 30 and len(calls) >= 2 * operations
    assert not failures, failures
