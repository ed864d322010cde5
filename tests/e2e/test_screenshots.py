"""The README's screenshots: drawn on every run (into a temporary folder, so the pages are exercised); written
to docs/img only when asked, with ``CALMLINE_SCREENSHOTS=docs/img``.

CALMLINE_SCREENSHOTS=docs/img .venv/bin/pytest tests/e2e/test_screenshots.py
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from tests.e2e.browser_support import Server, browser, post_event, server, signed_in_page, start_imminent_call

if TYPE_CHECKING:
    from playwright.sync_api import Browser

OUT = os.environ.get("CALMLINE_SCREENSHOTS")
pytestmark = [pytest.mark.browser]
__all__ = ["browser", "server"]  # fixtures

CALLS = (
    (
        "c-2041",
        "nurse",
        "ann",
        ["I have a bottle of pills in front of me and I'm going to take them all tonight"],
    ),
    (
        "c-2042",
        "triage",
        "bob",
        ["my dad has crushing chest pain and he's sweating", "he's gone really grey"],
    ),
    (
        "c-2043",
        "pharmacy",
        "cara",
        ["I can't sleep, I feel so alone since the funeral", "nobody calls anymore"],
    ),
    ("c-2044", "general", "dev", ["I need to move my appointment to next week"]),
)


def _say(server: Server, call_id: str, seq: int, text: str, speaker: str = "caller") -> None:
    post_event(
        server,
        {
            "type": "utterance",
            "call_id": call_id,
            "seq": seq,
            "speaker": speaker,
            "start_ms": seq * 4000,
            "end_ms": seq * 4000 + 3000,
            "text": text,
        },
    )


def test_take_the_readme_screenshots(server: Server, browser: Browser, tmp_path: Path) -> None:
    out = Path(OUT) if OUT else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    start = server.clock.now().isoformat()
    for call_id, queue, agent, lines in CALLS:
        if call_id == "c-2041":
            start_imminent_call(server, call_id, agent=agent)
            _say(server, call_id, 2, "don't worry, you'll be fine", speaker="agent")
            _say(server, call_id, 3, "no it won't, nobody would even notice")
            continue
        event = {"type": "call.started", "call_id": call_id, "seq": 0, "queue": queue, "started_at": start}
        post_event(server, {**event, "agent_id": agent})
        for seq, text in enumerate(lines, start=1):
            _say(server, call_id, seq, text)
    problems: list[str] = []
    wall = signed_in_page(server, browser, problems)
    wall.set_viewport_size({"width": 1440, "height": 1000})
    wall.locator("#tiles > li").nth(len(CALLS) - 1).wait_for(timeout=5000)
    wall.locator("#floor", has_text="ann").wait_for(timeout=12000)  # the floor is polled every 5 s
    wall.wait_for_timeout(500)
    wall.screenshot(path=str(out / "wall.png"), full_page=True)

    wall.goto(f"{server.url}/calls/c-2041")
    wall.locator("#call-guardrails .guardrail").first.wait_for(timeout=5000)
    wall.wait_for_timeout(500)
    wall.screenshot(path=str(out / "call-detail.png"), full_page=True)
    wall.close()

    panel = signed_in_page(server, browser, problems, user=("ann", "agent-pass-1"), lands_on="agent")
    panel.set_viewport_size({"width": 1280, "height": 1000})
    panel.locator("#agent-protocols > li").first.wait_for(timeout=5000)
    panel.locator("#agent-guardrails .guardrail").first.wait_for(timeout=5000)
    panel.wait_for_timeout(500)
    panel.screenshot(path=str(out / "agent-panel.png"), full_page=True)
    for name in ("wall.png", "call-detail.png", "agent-panel.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    panel.close()
    assert problems == []
