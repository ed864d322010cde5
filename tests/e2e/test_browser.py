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
from typing import TYPE_CHECKING

import httpx
import pytest
import uvicorn

from calmline.api.app import create_app
from calmline.api.auth import create_api_key, create_user
from calmline.clock import FakeClock
from calmline.runtime import build_service
from calmline.settings import Settings

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.browser


@dataclass
class Server:
    url: str
    api_key: str
    #: The service's clock (sessions, actions, protocol deadlines); a test moves it to make a deadline pass.
    clock: FakeClock


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    settings = Settings(env="test", data_dir=tmp_path_factory.mktemp("browser-data"), port=_free_port())
    # Shipped analyzers and protocols (build_service's default engine); a clock the test moves by hand.
    clock = FakeClock(datetime.now(UTC))
    service = build_service(settings, clock=clock)
    create_user(service.db, "sue", "supervisor-pass", ["supervisor"])
    key = create_api_key(service.db, "browser-test", ["ingest"])
    # A short tick interval: a deadline the clock has passed fires within a fraction of a second.
    app = create_app(settings, service=service, clock=clock, tick_interval_s=0.1)
    config = uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="warning", lifespan="on")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uv.started, "server did not start"
    yield Server(f"http://127.0.0.1:{settings.port}", key, clock)
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


def _post(server: Server, event: dict[str, object]) -> None:
    response = httpx.post(
        f"{server.url}/api/events",
        json=event,
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=5,
    )
    assert response.status_code in (200, 202), response.text


IMMINENT = "I have a bottle of pills in front of me and I'm going to take them all tonight"


def _start_imminent_call(server: Server, call_id: str) -> None:
    """A call whose first caller turn is imminent suicide risk: a critical alert and the imminent protocol."""
    started = server.clock.now().isoformat()
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
            "text": IMMINENT,
        },
    )


def _signed_in_page(server: Server, browser: Browser, problems: list[str]) -> Page:
    """A page signed in as the supervisor, on the wall; script errors and CSP refusals go to ``problems``."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error" and "Content Security Policy" in msg.text:
            problems.append(msg.text)

    page.on("console", on_console)
    page.goto(f"{server.url}/login")
    page.fill("#username", "sue")
    page.fill("#password", "supervisor-pass")
    page.click("#login-submit")
    page.wait_for_url("**/wall")
    return page


def test_supervisor_sees_an_alert_live_acknowledges_it_and_reads_the_evidence(
    server: Server, browser: Browser
) -> None:
    errors: list[str] = []
    page = _signed_in_page(server, browser, errors)

    call_id = "browser-call-1"
    _start_imminent_call(server, call_id)
    card = page.locator(".alert-card.sev-critical", has_text=call_id)
    card.wait_for(state="visible", timeout=2000)  # the bar: the alert is on the wall within 2 s
    assert "suicide" in card.inner_text().lower()

    card.get_by_role("button", name="Acknowledge").click()
    page.locator(".alert-card.status-acknowledged", has_text=call_id).wait_for(state="visible", timeout=5000)

    page.goto(f"{server.url}/calls/{call_id}")
    mark = page.locator("mark").first
    mark.wait_for(state="visible", timeout=5000)
    assert mark.inner_text().strip() != ""
    assert errors == []
    page.close()


def test_protocol_checklist_and_escalation_countdown_run_live(server: Server, browser: Browser) -> None:
    from playwright.sync_api import expect

    problems: list[str] = []
    page = _signed_in_page(server, browser, problems)
    call_id = "browser-call-protocol"
    _start_imminent_call(server, call_id)

    # The wall's inbox: who must acknowledge now, and a countdown to the escalation that ticks.
    card = page.locator(".alert-card", has_text=call_id)
    chain = card.locator(".alert-chain")
    chain.wait_for(state="visible", timeout=2000)
    assert chain.inner_text().startswith("Notify: supervisor · level 1 · escalates in ")
    timer = card.get_by_role("timer")
    expect(timer).not_to_have_text(timer.inner_text(), timeout=3000)

    # Nobody acknowledges: the deadline passes, the alert moves up its chain, and the card follows live.
    deadline_ms = int(timer.get_attribute("data-deadline") or "0")
    overdue_by = deadline_ms / 1000 - server.clock.now().timestamp() + 1
    server.clock.advance(overdue_by)
    card.locator(".alert-chain", has_text="Notify: clinician · level 2").wait_for(timeout=3000)
    assert "escalates in" in card.get_by_role("timer").inner_text()

    # The call page: the protocol and its checklist, built from the timeline.
    page.goto(f"{server.url}/calls/{call_id}")
    protocol = page.locator("#call-protocols > li", has_text="Imminent suicide risk")
    protocol.wait_for(state="visible", timeout=5000)
    text = protocol.inner_text()
    assert "CRITICAL" in text and "Active" in text and "version 1.1.0" in text
    checklist = protocol.get_by_role("list", name="Checklist: Imminent suicide risk")
    steps = checklist.locator("li.step")
    assert steps.count() >= 4
    location = protocol.locator("li.step", has_text="where the caller is")
    assert "Due" in location.locator(".step-status").inner_text()
    assert "Required" in (location.locator(".step-req").text_content() or "")
    assert protocol.get_by_role("button", name="Mark done").count() == steps.count()
    call_alert = page.locator("#call-alerts .alert-card").first
    assert "Notify: clinician · level 2" in call_alert.locator(".alert-chain").inner_text()
    # The suggested opening line of the protocol, with why and where the wording comes from.
    suggestion = page.locator("#call-suggestions .suggestion").first
    suggestion.wait_for(state="visible", timeout=3000)
    assert "protocol suicide_imminent started" in suggestion.inner_text()
    assert suggestion.locator("cite").inner_text().strip()
    assert "escalates in" in call_alert.get_by_role("timer").inner_text()

    # Check one step off by hand: it turns done, by whom, and stays so when the page is built again.
    location.get_by_role("button", name="Mark done").click()
    done = page.locator("li.step.step-done", has_text="where the caller is")
    done.wait_for(timeout=3000)
    assert done.locator(".step-status").inner_text().strip().endswith("Done by sue")
    assert done.get_by_role("button").count() == 0
    page.reload()
    page.locator("li.step.step-done", has_text="where the caller is").wait_for(timeout=5000)
    assert page.locator("#call-protocols li.step.step-due").count() == steps.count() - 1

    # Verification: not verified yet, the agent records it, and the call says who checked how.
    facts = page.locator("#facts")
    assert "not verified" in facts.inner_text()
    form = page.locator("#verify-form")
    form.locator("#verify-relation").select_option("authorised_representative")
    form.locator("#verify-method").select_option("power_of_attorney")
    form.get_by_role("button", name="Caller verified").click()
    facts.locator("dd", has_text="verified: Authorised representative").wait_for(timeout=3000)
    assert not form.is_visible()
    page.reload()
    page.locator("#facts dd", has_text="Power of attorney").wait_for(timeout=5000)
    assert problems == []
    page.close()
