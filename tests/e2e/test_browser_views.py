"""Issue 7 in a real browser: the wall's tiles and floor, interventions, the agent panel, history, roles."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from tests.e2e.browser_support import Server, browser, post_event, server, signed_in_page, start_imminent_call

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

pytestmark = pytest.mark.browser
__all__ = ["browser", "server"]  # fixtures

AGENT = ("ann", "agent-pass-1")
QA = ("quinn", "qa-pass-123")
AUDITOR = ("audrey", "auditor-pass")


def say(server: Server, call_id: str, seq: int, text: str, speaker: str = "caller") -> None:
    post_event(
        server,
        {
            "type": "utterance",
            "call_id": call_id,
            "seq": seq,
            "speaker": speaker,
            "start_ms": seq * 3000,
            "end_ms": seq * 3000 + 2000,
            "text": text,
        },
    )


def no_horizontal_scroll(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_wall_tile_shows_tier_sparkline_protocol_progress_and_the_imminent_cue(
    server: Server, browser: Browser
) -> None:
    problems: list[str] = []
    page = signed_in_page(server, browser, problems)
    call_id = "views-wall-1"
    start_imminent_call(server, call_id, agent="ann")
    say(server, call_id, 2, "I can't stop crying, everything is falling apart")
    say(server, call_id, 3, "I just want it to be over")

    tile = page.locator("#tiles > li", has_text=call_id)
    tile.wait_for(state="visible", timeout=3000)
    tile.locator(".badge.tier-imminent", has_text="Suicide risk · IMMINENT").wait_for(timeout=3000)
    tile.locator(".tile-protocol", has_text="Imminent suicide risk").wait_for(timeout=3000)
    assert " steps" in tile.locator(".tile-protocol .progress").inner_text()
    assert "last alert" in tile.locator(".open-alerts").inner_text()
    tile.locator("svg.spark polyline").wait_for(state="attached", timeout=3000)
    assert "ann" in tile.inner_text()
    # Imminent risk with an open alert: first among the tiles, and the banner stays until it is acknowledged.
    assert tile.get_attribute("class") and "imminent" in (tile.get_attribute("class") or "")
    banner = page.locator("#urgent-banner")
    banner.wait_for(state="visible", timeout=3000)
    assert call_id in banner.inner_text()
    assert page.locator("#tiles > li").first.locator("h3").inner_text() in {
        t for t in page.locator("#tiles > li.imminent h3").all_inner_texts()
    }
    # The sound toggle is a real toggle button.
    toggle = page.get_by_role("button", name="Mute alert sound")
    assert toggle.get_attribute("aria-pressed") == "false"
    toggle.click()
    assert toggle.get_attribute("aria-pressed") == "true"
    # The floor lists the agents the routing desk knows (this server has no roster: those seen on calls).
    page.locator("#floor", has_text="ann").wait_for(timeout=12000)  # the floor is polled
    assert problems == []
    page.close()


FLOOR = {
    "config_version": "test-1",
    "agents": [
        {
            "agent_id": "ann",
            "name": "Ann Agent",
            "tier": "senior",
            "crisis_trained": True,
            "status": "busy",
            "exposure_minutes": 75,
            "budget_minutes": 60,
            "cooldown_until": None,
            "consecutive_high": 2,
            "need_break": True,
            "current_call_id": "views-wall-1",
            "debriefs_due": 1,
        },
        {
            "agent_id": "bob",
            "name": "Bob",
            "tier": "junior",
            "crisis_trained": False,
            "status": "available",
            "exposure_minutes": 10,
            "budget_minutes": 60,
            "cooldown_until": None,
            "consecutive_high": 0,
            "need_break": False,
            "current_call_id": None,
            "debriefs_due": 0,
        },
    ],
    "waiting": [
        {"call_id": "w1", "queue": "nurse", "risk": "imminent", "band": "p1", "waited_s": 42},
        {"call_id": "w2", "queue": "nurse", "risk": "none", "band": "p4", "waited_s": 130},
        {"call_id": "w3", "queue": "billing", "risk": "none", "band": "p4", "waited_s": 15},
    ],
    "debriefs": [
        {
            "task_id": "d1",
            "agent_id": "ann",
            "call_id": "x",
            "due_at": "2026-01-01T10:00:00Z",
            "status": "due",
        }
    ],
}


def test_floor_renders_queues_and_agent_wellbeing(server: Server, browser: Browser) -> None:
    problems: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 900})

    def floor(route: Route) -> None:
        route.fulfill(status=200, content_type="application/json", body=json.dumps(FLOOR))

    page.route("**/api/routing/floor", floor)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(f"{server.url}/login")
    page.fill("#username", "sue")
    page.fill("#password", "supervisor-pass")
    page.click("#login-submit")
    page.wait_for_url("**/wall")
    section = page.locator("#floor[data-state='ready']")
    section.wait_for(timeout=5000)
    waiting = section.locator(".waiting-list li")
    assert waiting.all_inner_texts() == [
        "IMMINENT 1 waiting, longest 0:42",
        "NO RISK 2 waiting, longest 2:10",
    ]
    ann = section.locator("tr[data-agent='ann']")
    text = ann.inner_text()
    assert "Ann Agent" in text and "On a call" in text and "75 / 60 min" in text
    assert "asked for a break" in text and "1 debrief due" in text and "over exposure budget" in text
    # Who needs attention first: Ann (over budget, asked for a break) before Bob.
    assert section.locator("tbody tr").first.get_attribute("data-agent") == "ann"
    assert "1 debrief outstanding" in section.inner_text()
    assert problems == []
    page.close()


def test_call_detail_interventions_reach_telephony_and_notes_and_warnings_show(
    server: Server, browser: Browser
) -> None:
    problems: list[str] = []
    page = signed_in_page(server, browser, problems)
    call_id = "views-detail-1"
    start_imminent_call(server, call_id, agent="ann")
    say(server, call_id, 2, "don't worry, you'll be fine", speaker="agent")
    page.goto(f"{server.url}/calls/{call_id}")

    warning = page.locator("#call-guardrails .guardrail").first
    warning.wait_for(timeout=5000)
    assert "False reassurance" in warning.inner_text() or "false reassurance" in warning.inner_text()
    assert "Instead:" in warning.inner_text()

    before = len(server.telephony.actions)
    page.get_by_role("button", name="Barge in").click()
    page.locator("#intervention-status", has_text="sent to the phone system").wait_for(timeout=3000)
    assert [(a.call_id, a.kind, a.actor) for a in server.telephony.actions[before:]] == [
        (call_id, "barge", "sue")
    ]
    page.fill("#note-text", "Caller agreed to stay on the line")
    page.get_by_role("button", name="Save note").click()
    page.locator("#call-actions li", has_text="added a note: Caller agreed").wait_for(timeout=3000)
    page.locator("#call-actions li", has_text="sue barged in").wait_for(timeout=3000)
    # The checklist says who completed a step and when.
    step = page.locator("#call-protocols li.step", has_text="where the caller is")
    step.get_by_role("button", name="Mark done").click()
    done = page.locator("#call-protocols li.step.step-done", has_text="where the caller is")
    done.wait_for(timeout=3000)
    done.locator(".step-when").wait_for(timeout=3000)
    assert done.locator(".step-when").inner_text().startswith("at ")
    assert problems == []
    page.close()


def test_agent_panel_shows_checklist_scripts_warnings_and_asks_for_help(
    server: Server, browser: Browser
) -> None:
    problems: list[str] = []
    page = signed_in_page(server, browser, problems, user=AGENT, lands_on="agent")
    call_id = "views-agent-1"
    start_imminent_call(server, call_id, agent="ann")
    page.locator("#my-calls li", has_text=call_id).wait_for(timeout=3000)
    # A new call is selected as it starts; selecting it again by hand changes nothing.
    page.locator("#my-calls li", has_text=call_id).get_by_role("button").click()
    page.locator("#current-title", has_text=call_id).wait_for(timeout=3000)
    protocol = page.locator("#agent-protocols > li", has_text="Imminent suicide risk")
    protocol.wait_for(timeout=5000)
    assert (
        protocol.get_by_role("list", name="Checklist: Imminent suicide risk").locator("li.step").count() >= 4
    )
    # Script lines are unfolded for the agent.
    assert protocol.locator("details.step-script[open] li").count() >= 1

    say(server, call_id, 2, "calm down, it's probably nothing", speaker="agent")
    page.locator("#agent-guardrails .guardrail").first.wait_for(timeout=3000)
    assert "Instead:" in page.locator("#agent-guardrails").inner_text()

    page.get_by_role("button", name="Request help").click()
    page.locator("#agent-status", has_text="Help requested").wait_for(timeout=3000)
    page.get_by_role("button", name="I need a break").click()
    page.locator("#agent-status", has_text="Break requested").wait_for(timeout=3000)
    page.get_by_role("button", name="I need a break").click()
    page.locator("#agent-status", has_text="Break request withdrawn").wait_for(timeout=3000)
    assert problems == []
    page.close()

    wall = signed_in_page(server, browser, problems)
    wall.locator("#tiles > li.help", has_text=call_id).locator(
        ".help-flag", has_text="ann asked for help"
    ).wait_for(timeout=3000)
    wall.close()


def test_qa_lands_on_history_finds_a_call_by_protocol_and_replays_it(
    server: Server, browser: Browser
) -> None:
    start_imminent_call(server, "views-history-1", agent="ann")
    problems: list[str] = []
    page = signed_in_page(server, browser, problems, user=QA, lands_on="history")
    assert not page.get_by_role("link", name="My calls").is_visible()
    page.locator("#f-protocol option[value='suicide_imminent']").wait_for(state="attached", timeout=3000)
    page.select_option("#f-protocol", "suicide_imminent")
    page.fill("#f-agent", "ann")
    page.get_by_role("button", name="Search").click()
    row = page.locator("#results tr[data-call='views-history-1']")
    row.wait_for(timeout=3000)
    assert "IMMINENT" in row.inner_text() and "Imminent suicide risk" in row.inner_text()
    page.fill("#f-queue", "no-such-queue")
    page.get_by_role("button", name="Search").click()
    page.locator("#results-empty").wait_for(state="visible", timeout=3000)
    page.fill("#f-queue", "")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="views-history-1").click()
    page.wait_for_url("**/calls/views-history-1")
    page.locator("mark").first.wait_for(timeout=5000)
    page.locator("#timeline-details summary").click()
    page.locator("#call-timeline li", has_text="protocol.activated").wait_for(timeout=3000)
    assert page.locator("#call-timeline li").count() > 3
    page.get_by_role("button", name="Check the replay").click()
    page.locator("#replay-result", has_text="Replay matches the log").wait_for(timeout=5000)
    assert page.locator("#interventions").is_hidden()
    assert problems == []
    page.close()


def test_auditor_reads_a_masked_transcript(server: Server, browser: Browser) -> None:
    call_id = "views-masked-1"
    start_imminent_call(server, call_id)
    say(server, call_id, 2, "My name is Maria Lopez and my number is 555 0199")
    problems: list[str] = []
    page = signed_in_page(server, browser, problems, user=AUDITOR, lands_on="history")
    page.goto(f"{server.url}/calls/{call_id}")
    turn = page.locator("#transcript li", has_text="My name is")
    turn.wait_for(timeout=5000)
    text = turn.locator(".utt-text").inner_text()
    assert "Maria" not in text and "555" not in text
    assert "[NAME_1]" in text
    assert page.locator("#masked-note").is_visible()
    assert problems == []
    page.close()


@pytest.mark.parametrize(
    ("user", "path", "lands_on"),
    [(("sue", "supervisor-pass"), "/wall", "wall"), (AGENT, "/agent", "agent"), (QA, "/history", "history")],
)
def test_views_fit_a_tablet_and_are_keyboard_reachable(
    server: Server, browser: Browser, user: tuple[str, str], path: str, lands_on: str
) -> None:
    start_imminent_call(server, f"views-tablet-{lands_on}", agent="ann")
    problems: list[str] = []
    page = signed_in_page(server, browser, problems, user=user, lands_on=lands_on, width=768)
    page.wait_for_timeout(300)  # let the first render land before measuring
    assert no_horizontal_scroll(page)
    # The skip link is the first stop for the keyboard, and it leads to the main content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") in {
        "A",
        "BUTTON",
        "INPUT",
        "SELECT",
        "SUMMARY",
        "H2",
    }
    assert problems == []
    page.close()


def test_an_agent_is_sent_from_the_wall_to_their_panel(server: Server, browser: Browser) -> None:
    problems: list[str] = []
    page = signed_in_page(server, browser, problems, user=AGENT, lands_on="agent")
    page.goto(f"{server.url}/wall")
    page.wait_for_url("**/agent")
    page.get_by_role("link", name="My calls").wait_for(state="visible", timeout=5000)
    assert not page.get_by_role("link", name="Live wall").is_visible()
    assert problems == []
    page.close()
