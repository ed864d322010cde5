from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from calmline.web.routes import STATIC_DIR
from tests.web.conftest import TestClient

ASSETS = sorted(p for p in STATIC_DIR.rglob("*") if p.is_file())
JS = [p for p in ASSETS if p.suffix == ".js"]
CSS = [p for p in ASSETS if p.suffix == ".css"]
URL = re.compile(r"https?://[^\s'\")]*", re.IGNORECASE)
#: A standalone SVG file must name its XML namespace; it is an identifier, never fetched.
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


def url_of(path: Path) -> str:
    return "/static/" + path.relative_to(STATIC_DIR).as_posix()


def test_the_static_tree_holds_the_expected_assets() -> None:
    names = {url_of(p) for p in ASSETS}
    for needed in (
        "/static/css/calmline.css",
        "/static/js/wall.js",
        "/static/js/call.js",
        "/static/js/login.js",
    ):
        assert needed in names
    assert all(p.suffix in TYPES for p in ASSETS), "an asset type without an explicit content type"


@pytest.mark.parametrize("path", ASSETS, ids=lambda p: p.name)
def test_static_file_is_served_with_its_content_type(client: TestClient, path: Path) -> None:
    response = client.get(url_of(path))
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == TYPES[path.suffix]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-cache"
    assert response.content == path.read_bytes()


@pytest.mark.parametrize("path", ASSETS, ids=lambda p: p.name)
def test_static_file_names_no_remote_url(client: TestClient, path: Path) -> None:
    text = client.get(url_of(path)).text
    found = set(URL.findall(text))
    if path.suffix == ".svg":
        found.discard(SVG_NAMESPACE)
    assert not found, f"{path.name} refers to {sorted(found)}: calmline runs offline"


def test_static_file_revalidates_with_an_etag(client: TestClient) -> None:
    first = client.get("/static/js/wall.js")
    again = client.get("/static/js/wall.js", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("bad", ["/static/../routes.py", "/static/%2e%2e/routes.py", "/static/js/nope.js"])
def test_static_mount_serves_nothing_outside_its_folder(client: TestClient, bad: str) -> None:
    assert client.get(bad).status_code == 404


def test_css_loads_nothing_remote() -> None:
    for path in CSS:
        text = path.read_text(encoding="utf-8")
        assert "@import" not in text
        assert "@font-face" not in text
        assert not re.search(r"url\(\s*['\"]?(?!data:)[a-z]+:", text)


@pytest.mark.parametrize("path", JS, ids=lambda p: p.name)
def test_js_never_writes_html_from_data(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in text, f"{path.name} uses {sink}"
    assert "localStorage" not in text and "sessionStorage" not in text, (
        "the session stays in its HttpOnly cookie"
    )
    assert "setAttribute('style'" not in text, "inline style attributes are blocked by the CSP"


@pytest.mark.parametrize("path", JS, ids=lambda p: p.name)
def test_js_imports_resolve_to_local_modules(client: TestClient, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for target in re.findall(r"^\s*(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'", text, flags=re.M | re.S):
        assert target.startswith("./"), f"{path.name} imports {target}"
        resolved = (path.parent / target).resolve()
        assert resolved.is_file(), f"{path.name} imports missing {target}"
        assert client.get(url_of(resolved)).status_code == 200


NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node is not installed")
@pytest.mark.parametrize("path", JS, ids=lambda p: p.name)
def test_js_module_parses(path: Path) -> None:
    assert NODE is not None
    result = subprocess.run(
        [NODE, "--input-type=module", "--check"],
        input=path.read_text(encoding="utf-8"),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_js_unit_tests_pass() -> None:
    assert NODE is not None
    suite = Path(__file__).parent / "js" / "modules.test.mjs"
    result = subprocess.run(
        [NODE, "--test", str(suite)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
