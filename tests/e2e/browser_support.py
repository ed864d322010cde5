"""Shared by the browser tests: a real server on loopback (shipped analyzers and protocols, a fake clock, a
recording telephony adapter, one user per role) and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import uvicorn

from calmline.api.app import create_app
from calmline.api.auth import create_api_key, create_user
from calmline.clock import FakeClock
from calmline.runtime import build_service
from calmline.settings import Settings
from calmline.telephony import RecordingTelephonyAdapter

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page

CHROMIUM = Path("/usr/bin/chromium")


@dataclass
class Server:
    url: str
    api_key: str
    #: The service's clock (sessions, actions, protocol deadlines); a test moves it to make a deadline pass.
    clock: FakeClock
    #: Where the supervisors' interventions went.
    telephony: RecordingTelephonyAdapter


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    settings = Settings(env="test", data_dir=tmp_path_factory.mktemp("browser-data"), port=free_port())
    # Shipped analyzers and protocols (build_service's default engine); a clock the test moves by hand.
    clock = FakeClock(datetime.now(UTC))
    service = build_service(settings, clock=clock)
    create_user(service.db, "sue", "supervisor-pass", ["supervisor"])
    create_user(service.db, "ann", "agent-pass-1", ["agent"])
    create_user(service.db, "quinn", "qa-pass-123", ["qa"])
    create_user(service.db, "audrey", "auditor-pass", ["auditor"])
    key = create_api_key(service.db, "browser-test", ["ingest"])
    telephony = RecordingTelephonyAdapter()
    # A short tick interval: a deadline the clock has passed fires within a fraction of a second.
    app = create_app(settings, service=service, clock=clock, tick_interval_s=0.1, telephony=telephony)
    config = uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="warning", lifespan="on")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uv.started, "server did not start"
    yield Server(f"http://127.0.0.1:{settings.port}", key, clock, telephony)
    uv.should_exit = True
    thread.join(timeout=10)
    service.db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
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


def post_event(server: Server, event: dict[str, object]) -> None:
    response = httpx.post(
        f"{server.url}/api/events",
        json=event,
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=5,
    )
    assert response.status_code in (200, 202), response.text


IMMINENT = "I have a bottle of pills in front of me and I'm going to take them all tonight"


def start_imminent_call(server: Server, call_id: str, agent: str | None = None) -> None:
    """A call whose first caller turn is imminent suicide risk: a critical alert and the imminent protocol."""
    started = server.clock.now().isoformat()
    start: dict[str, object] = {
        "type": "call.started",
        "call_id": call_id,
        "seq": 0,
        "queue": "nurse",
        "started_at": started,
    }
    if agent:
        start["agent_id"] = agent
    post_event(server, start)
    post_event(
        server,
        {
            "type": "utterance",
            "call_id": call_id,
            "seq": 1,
            "speaker": "caller",
            "start_ms": 1000,
            "end_ms": 4000,
            "text": IMMINENT,
        },
    )


def signed_in_page(
    server: Server,
    browser: Browser,
    problems: list[str],
    *,
    user: tuple[str, str] = ("sue", "supervisor-pass"),
    lands_on: str = "wall",
    width: int = 1280,
) -> Page:
    """A page signed in (as the supervisor by default) on the user's home view; script errors and CSP
    refusals go to ``problems``."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error" and "Content Security Policy" in msg.text:
            problems.append(msg.text)

    page.on("console", on_console)
    page.goto(f"{server.url}/login")
    page.fill("#username", user[0])
    page.fill("#password", user[1])
    page.click("#login-submit")
    page.wait_for_url(f"**/{lands_on}")
    return page
