from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from calmline.web.routes import CONTENT_SECURITY_POLICY
from tests.web.conftest import TestClient, build_app

PAGES = ["/login", "/wall", "/calls/call-0001", "/agent", "/history"]


class _Tags(HTMLParser):
    """Collects every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.ids.extend(value for name, value in attrs if name == "id" and value)


def parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


def test_root_redirects_to_the_wall(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/wall"


@pytest.mark.parametrize("path", PAGES)
def test_page_is_html_with_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    html = response.text
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert '<html lang="en">' in html
    assert 'name="viewport"' in html


@pytest.mark.parametrize("path", PAGES)
def test_page_has_no_inline_script_style_or_handlers(client: TestClient, path: str) -> None:
    tags = parse(client.get(path).text).tags
    scripts = [attrs for tag, attrs in tags if tag == "script"]
    assert scripts, "every page loads its module"
    for attrs in scripts:
        assert attrs.get("src"), "inline <script> would be blocked by the CSP"
        assert attrs.get("type") == "module"
    assert not [tag for tag, _ in tags if tag == "style"]
    for tag, attrs in tags:
        assert "style" not in attrs, f"inline style on <{tag}>"
        assert not [name for name in attrs if name.startswith("on")], f"inline handler on <{tag}>"


@pytest.mark.parametrize("path", PAGES)
def test_page_references_only_local_assets_that_exist(client: TestClient, path: str) -> None:
    html = client.get(path).text
    assert not re.search(r"https?://", html)
    for tag, attrs in parse(html).tags:
        for name in ("src", "href"):
            url = attrs.get(name)
            if not url or url.startswith("#"):
                continue
            assert url.startswith("/") and not url.startswith("//"), f"<{tag} {name}={url}> is not local"
            if url.startswith("/static/"):
                assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("path", PAGES)
def test_page_ids_are_unique(client: TestClient, path: str) -> None:
    ids = parse(client.get(path).text).ids
    assert len(ids) == len(set(ids))


def test_pages_have_a_skip_link_and_landmarks(client: TestClient) -> None:
    for path in PAGES:
        html = client.get(path).text
        assert 'class="skip-link" href="#main"' in html
        assert '<main id="main"' in html


def test_wall_has_the_live_regions_and_containers_its_script_uses(client: TestClient) -> None:
    html = client.get("/wall").text
    parsed = parse(html)
    for element_id in ("tiles", "alert-list", "announcer", "polite", "connection", "logout", "inbox-count"):
        assert element_id in parsed.ids
    announcer = next(attrs for tag, attrs in parsed.tags if attrs.get("id") == "announcer")
    assert announcer.get("aria-live") == "assertive"
    assert announcer.get("role") == "alert"


def test_call_page_carries_the_call_id_in_a_data_attribute(client: TestClient) -> None:
    html = client.get("/calls/c-17:a.b_c").text
    assert 'data-call-id="c-17:a.b_c"' in html
    parsed = parse(html)
    for element_id in ("transcript", "distress-chart", "call-protocols", "call-alerts", "findings", "facts"):
        assert element_id in parsed.ids


def test_call_page_has_a_protocols_list_and_a_polite_live_region(client: TestClient) -> None:
    parsed = parse(client.get("/calls/call-0001").text)
    # Who must acknowledge first, then the checklist, then the distress trend.
    order = [
        parsed.ids.index(i) for i in ("call-alerts", "call-protocols", "call-suggestions", "distress-chart")
    ]
    assert order == sorted(order)
    protocols = next(tag for tag, attrs in parsed.tags if attrs.get("id") == "call-protocols")
    assert protocols == "ol", "the protocols are a list, for screen readers"
    polite = next(attrs for _, attrs in parsed.tags if attrs.get("id") == "polite")
    assert polite.get("aria-live") == "polite"
    assert polite.get("role") == "status"


@pytest.mark.parametrize("bad", ["%3Cscript%3Ealert(1)%3C%2Fscript%3E", "a%20b", "x" * 129, "%22onmouseover"])
def test_call_page_refuses_ids_a_call_cannot_have(client: TestClient, bad: str) -> None:
    response = client.get(f"/calls/{bad}")
    assert response.status_code == 404
    assert "<script>alert" not in response.text


def test_login_page_has_a_labelled_form(client: TestClient) -> None:
    html = client.get("/login").text
    assert '<label for="username">' in html and '<label for="password">' in html
    assert 'autocomplete="current-password"' in html
    assert 'role="alert"' in html
    # No action attribute: the script posts JSON; a plain submit would send the password in a URL.
    form = next(attrs for tag, attrs in parse(html).tags if tag == "form")
    assert "action" not in form


def test_pages_honour_a_reverse_proxy_prefix() -> None:
    client = TestClient(build_app(), root_path="/calmline")
    html = client.get("/calmline/wall").text
    assert 'href="/calmline/static/css/calmline.css"' in html
    assert 'src="/calmline/static/js/wall.js"' in html
    assert 'content="/calmline"' in html
    response = client.get("/calmline/", follow_redirects=False)
    assert response.headers["location"] == "/calmline/wall"


def test_wall_has_a_pinned_urgent_banner_a_sound_toggle_and_the_floor(client: TestClient) -> None:
    parsed = parse(client.get("/wall").text)
    for element_id in ("urgent-banner", "sound-toggle", "floor", "floor-body", "spark-template"):
        assert element_id in parsed.ids
    toggle = next(attrs for _, attrs in parsed.tags if attrs.get("id") == "sound-toggle")
    assert toggle.get("aria-pressed") == "false", "the mute control is a toggle button"
    # The sparkline template is an inline <svg> (cloned by the script, so it is in the SVG namespace).
    assert any(tag == "svg" and attrs.get("class") == "spark" for tag, attrs in parsed.tags)


def test_agent_panel_has_the_buttons_and_panels_its_script_fills(client: TestClient) -> None:
    parsed = parse(client.get("/agent").text)
    for element_id in (
        "help-button",
        "break-button",
        "my-calls",
        "agent-protocols",
        "agent-guardrails",
        "agent-suggestions",
        "verify-form",
        "announcer",
        "polite",
    ):
        assert element_id in parsed.ids


def test_history_form_labels_every_filter(client: TestClient) -> None:
    html = client.get("/history").text
    parsed = parse(html)
    for name, element_id in (
        ("from", "f-from"),
        ("to", "f-to"),
        ("queue", "f-queue"),
        ("agent", "f-agent"),
        ("risk", "f-risk"),
        ("protocol", "f-protocol"),
        ("status", "f-status"),
    ):
        assert f'<label for="{element_id}">' in html
        control = next(attrs for _, attrs in parsed.tags if attrs.get("id") == element_id)
        assert control.get("name") == name


def test_navigation_offers_each_view_to_its_roles(client: TestClient) -> None:
    items = {
        attrs.get("data-roles"): attrs for tag, attrs in parse(client.get("/wall").text).tags if tag == "li"
    }
    assert "agent" in items and "supervisor admin qa auditor" in items
    assert all("hidden" in attrs for key, attrs in items.items() if key)


def test_call_page_has_interventions_notes_guardrails_routing_and_timeline(client: TestClient) -> None:
    parsed = parse(client.get("/calls/call-0001").text)
    for element_id in (
        "intervention-buttons",
        "note-form",
        "call-guardrails",
        "call-actions",
        "call-routing",
        "call-timeline",
        "replay-check",
    ):
        assert element_id in parsed.ids
