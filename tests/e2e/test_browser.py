"""The pages in a real browser: Debian's Chromium driven by Playwright against a real server on loopback."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn

from calmline.api.app import create_app
from calmline.api.auth import create_api_key, create_user
from calmline.runtime import build_service
from calmline.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.browser


@dataclass
class Server:
    url: str
    api_key: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    settings = Settings(env="test", data_dir=tmp_path_factory.mktemp("browser-data"), port=_free_port())
    service = build_service(settings)
    create_user(service.db, "sue", "supervisor-pass", ["supervisor"])
    key = create_api_key(service.db, "browser-test", ["ingest"])
    app = create_app(settings, service=service)
    config = uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="warning", lifespan="on")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uv.started, "server did not start"
    yield Server(f"http://127.0.0.1:{settings.port}", key)
    uv.should_exit = True
    thread.join(timeout=10)
    service.db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Chromium (/usr/bin/chromium) is required for the browser tests when CI=true")
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield chromium
        chromium.close()


def _post(server: Server, event: dict[str, object]) -> None:
    response = httpx.post(
        f"{server.url}/api/events",
        json=event,
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=5,
    )
    assert response.status_code in (200, 202), response.text


def test_supervisor_sees_an_alert_live_acknowledges_it_and_reads_the_evidence(
    server: Server, browser
) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.url}/login")
    page.fill("#username", "sue")
    page.fill("#password", "supervisor-pass")
    page.click("#login-submit")
    page.wait_for_url("**/wall")

    call_id = "browser-call-1"
    started = datetime.now(UTC).isoformat()
    _post(
        server,
        {"type": "call.started", "call_id": call_id, "seq": 0, "queue": "nurse", "started_at": started},
    )
    _post(
        server,
        {
            "type": "utterance",
            "call_id": call_id,
            "seq": 1,
            "speaker": "caller",
            "start_ms": 1000,
            "end_ms": 4000,
            "text": "I have a bottle of pills in front of me and I'm going to take them all tonight",
        },
    )
    card = page.locator(".alert-card.sev-critical")
    card.wait_for(state="visible", timeout=2000)  # the bar: the alert is on the wall within 2 s
    assert "suicide" in card.inner_text().lower()

    card.get_by_role("button", name="Acknowledge").click()
    page.locator(".alert-card.status-acknowledged").wait_for(state="visible", timeout=5000)

    page.goto(f"{server.url}/calls/{call_id}")
    mark = page.locator("mark").first
    mark.wait_for(state="visible", timeout=5000)
    assert mark.inner_text().strip() != ""
    assert errors == []
    page.close()
