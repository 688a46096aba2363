"""The console's files as the API serves them: from the package, under a CSP of this origin only, with nothing that
turns text into markup and nothing from another host (tests/e2e/test_console_browser.py looks at the pages)."""

import fnmatch
import re
import tomllib
from pathlib import Path

from api.console import CONSOLE_FILES
from tests.e2e.helpers import Client

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(CONSOLE_FILES.glob("*.js"))
# Every way a script could make markup or code out of a string.
SINKS = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|srcdoc|setHTML")


async def test_the_page_and_its_files_are_served_under_a_policy_of_this_origin_only(client: Client) -> None:
    page = await client.get("/console")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "style-src 'self';" in policy
    assert "connect-src 'self';" in policy
    assert "unsafe" not in policy
    assert "require-trusted-types-for 'script'" in policy
    assert page.headers["referrer-policy"] == "no-referrer"
    referenced = re.findall(r'(?:src|href)="(/console/[^"]+)"', page.text)
    imported = {
        f"/console/{name}" for script in SCRIPTS for name in re.findall(r'from "\./([^"]+)"', script.read_text())
    }
    assert {"/console/app.js", "/console/console.css"} <= set(referenced)
    for path in {*referenced, *imported}:
        response = await client.get(path)
        assert response.status_code == 200, path
        kind = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml"}[path.rsplit(".", 1)[1]]
        assert response.headers["content-type"].startswith(kind), path
        assert response.headers["content-security-policy"] == policy
    missing = await client.get("/console/missing.js")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_no_script_makes_markup_from_text_or_loads_from_another_host() -> None:
    assert SCRIPTS
    for path in [*SCRIPTS, CONSOLE_FILES / "index.html", CONSOLE_FILES / "console.css"]:
        text = path.read_text()
        assert not SINKS.search(text), path.name
        assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text), f"{path.name} names another host"


def test_the_files_ship_in_the_package() -> None:
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    patterns = settings.get("api", [])
    for path in CONSOLE_FILES.iterdir():
        relative = path.relative_to(ROOT / "api").as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative
