"""The pages in a real browser: Debian's Chromium driven by Playwright against a real server on loopback."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from tests.e2e.browser_support import Server, browser, server, signed_in_page, start_imminent_call

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser
__all__ = ["browser", "server"]  # fixtures


def test_supervisor_sees_an_alert_live_acknowledges_it_and_reads_the_evidence(
    server: Server, browser: Browser
) -> None:
    errors: list[str] = []
    page = signed_in_page(server, browser, errors)

    call_id = "browser-call-1"
    start_imminent_call(server, call_id)
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
    page = signed_in_page(server, browser, problems)
    call_id = "browser-call-protocol"
    start_imminent_call(server, call_id)

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
