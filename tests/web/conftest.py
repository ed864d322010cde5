from __future__ import annotations

import warnings

import pytest
from fastapi import FastAPI

from calmline.web import mount_static, router

# Starlette's test client warns when it runs on httpx rather than httpx2 (pyproject turns warnings into
# errors): the warning is about the test client's transport, not about calmline.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient


def build_app() -> FastAPI:
    app = FastAPI()
    app.include_router(router)
    mount_static(app)
    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(build_app())
