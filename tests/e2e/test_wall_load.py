"""How long the live wall takes to show 200 live calls: a measurement, recorded, never asserted.

Timed assertions make tests flaky on shared machines; this test checks that all 200 tiles appear and reports
the time (``-s`` prints it; the figure is also a ``record_property`` for the JUnit report). The figure and
how it was taken are in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
import uvicorn
from tests.e2e.browser_support import browser, free_port

from calmline.api.app import create_app
from calmline.api.auth import create_user
from calmline.clock import FakeClock
from calmline.events import parse_input
from calmline.runtime import build_service
from calmline.settings import Settings

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser
__all__ = ["browser"]  # fixture

CALLS = 200
LINES = (
    "hi, I'm calling about my mother's prescription",
    "I've been feeling really low and I can't sleep",
    "honestly I don't see the point of anything anymore",
)


@pytest.fixture(scope="module")
def loaded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = Settings(env="test", data_dir=tmp_path_factory.mktemp("load-data"), port=free_port())
    start = datetime.now(UTC) - timedelta(minutes=10)
    clock = FakeClock(start)
    service = build_service(settings, clock=clock)
    create_user(service.db, "sue", "supervisor-pass", ["supervisor"])
    for n in range(CALLS):
        call_id = f"load-{n:03d}"
        at = (start + timedelta(seconds=n)).isoformat()
        service.ingest(
            parse_input(
                {"type": "call.started", "call_id": call_id, "seq": 0, "queue": f"q{n % 4}", "started_at": at}
            )
        )
        for seq, text in enumerate(LINES[: 1 + n % 3], start=1):
            event = {"type": "utterance", "call_id": call_id, "seq": seq, "speaker": "caller", "text": text}
            service.ingest(parse_input({**event, "start_ms": seq * 4000, "end_ms": seq * 4000 + 3000}))
    app = create_app(settings, service=service, clock=clock, tick_interval_s=5)
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uv.started
    yield f"http://127.0.0.1:{settings.port}"
    uv.should_exit = True
    thread.join(timeout=10)
    service.db.dispose()


def test_wall_shows_200_live_calls_and_reports_the_load_time(
    loaded_server: str, browser: Browser, record_property: Callable[[str, object], None]
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{loaded_server}/login")
    page.fill("#username", "sue")
    page.fill("#password", "supervisor-pass")
    page.click("#login-submit")
    page.wait_for_url("**/wall")
    timings = []
    for _ in range(3):  # the first load warms the server's caches; report each
        page.reload()
        page.locator("#tiles > li").nth(CALLS - 1).wait_for(state="attached", timeout=30000)
        timings.append(round(float(page.evaluate("performance.now()")), 1))
    assert page.locator("#calls-count").inner_text() == str(CALLS)
    assert page.locator("#tiles > li svg.spark polyline").count() > 0
    record_property("wall_load_ms", timings)
    print(f"\nwall with {CALLS} live calls: tiles shown {timings} ms after navigation start")
    page.close()
