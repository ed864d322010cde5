"""Issue 11 in a real browser: an agent completes a practice scenario and reads the debrief."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from tests.e2e.browser_support import Server, browser, server, signed_in_page

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser
__all__ = ["browser", "server"]  # fixtures

AGENT = ("ann", "agent-pass-1")
ANSWERS = [
    "I can help with that. It sounds like things have felt really pointless and exhausting lately, "
    "that must be really hard.",
    "Thank you for telling me. Sometimes when people feel like this they think about suicide. "
    "Are you thinking about suicide?",
    "I'm really glad you told me. Do you have the tablets with you now, and are you safe right now?",
    "I can connect you to a crisis counsellor now and I'll stay on the line with you while we do.",
]


def test_agent_completes_a_practice_scenario_and_sees_the_debrief(server: Server, browser: Browser) -> None:
    problems: list[str] = []
    page = signed_in_page(server, browser, problems, user=AGENT, lands_on="agent")
    page.locator("#support-links li", has_text="Employee assistance programme").wait_for(timeout=15000)
    page.goto(f"{server.url}/practice")
    option = page.locator("#scenario-select option[value='suicidal_guarded']")
    option.wait_for(state="attached", timeout=15000)
    page.select_option("#scenario-select", "suicidal_guarded")
    page.click("#start-button")
    page.locator("#transcript li", has_text="pointless").wait_for(timeout=15000)
    for i, answer in enumerate(ANSWERS):
        page.fill("#answer", answer)
        page.click("#send-button")
        page.locator("#transcript li.turn-caller").nth(i + 1).wait_for(timeout=15000)
        if i == 1:
            assert "killing myself" in page.locator("#transcript li.turn-caller").nth(2).inner_text()
            page.locator("#assist-checklist li", has_text="suicide").first.wait_for(timeout=15000)
    page.locator("#debrief").wait_for(state="visible", timeout=15000)
    score = int(page.locator("#debrief-score").inner_text())
    assert score >= 60
    assert "Asked directly at turn 2" in page.locator("#debrief-suicide").inner_text()
    assert "asked directly about suicide" in page.locator("#debrief-moments").inner_text()
    page.locator("#progress li", has_text="Guarded caller").wait_for(timeout=15000)
    assert problems == []
    page.close()
