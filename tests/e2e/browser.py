"""A real headless Chromium for the tests of what a person sees: Debian's `chromium` driven through its
`chromedriver` by Selenium. Missing, the tests that need it skip on a developer's machine and fail in CI
(`CI` set, as `.ci/run` does), so a green CI run has always looked at the pages."""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1024",
)
PAGE_LOAD_TIMEOUT_SECONDS = 30


def _missing(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the browser tests (.ci/run installs what they need)")
    pytest.skip(f"{reason} (`apt-get install chromium chromium-driver`; in CI this fails)")


@contextmanager
def chromium() -> Iterator[WebDriver]:
    """A fresh headless Chromium session (its own profile), closed afterwards; its console is kept for
    `console_errors`."""
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if binary is None or driver is None:
        _missing("chromium or chromedriver is not on PATH")
    with tempfile.TemporaryDirectory(prefix="taskflow-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = binary
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        # An explicit driver: Selenium would otherwise try to download one.
        session = webdriver.Chrome(options=options, service=Service(executable_path=driver))
        session.set_page_load_timeout(PAGE_LOAD_TIMEOUT_SECONDS)
        try:
            yield session
        finally:
            session.quit()


def console_errors(session: WebDriver) -> list[str]:
    """The page's console errors since the last call: a refused script or style (CSP), a failed load."""
    entries: list[dict[str, str]] = session.get_log("browser")  # type: ignore[no-untyped-call]  # unannotated
    return [entry["message"] for entry in entries if entry["level"] == "SEVERE"]


def resources_loaded(session: WebDriver) -> list[str]:
    """Every URL the page has loaded (scripts, styles, images, fetches), as the browser recorded them."""
    urls: list[str] = session.execute_script("return performance.getEntriesByType('resource').map(entry => entry.name)")
    return urls
