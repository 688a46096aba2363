"""The API docs page, as a person sees it: a real headless Chromium opens /schema/swagger on a real
`taskflow serve`, and Swagger UI shows every operation and runs one, loading nothing from another host."""

from pathlib import Path
from typing import Any

import httpx
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from infrastructure.settings import Settings
from tests.e2e.browser import console_errors, resources_loaded
from tests.e2e.processes import free_port, servers_environment, taskflow

RENDER_TIMEOUT_SECONDS = 30


def operation_ids(document: dict[str, Any]) -> set[str]:
    """The element ids Swagger UI gives the operations of `document`: operations-<tag>-<operationId>."""
    return {
        f"operations-{operation['tags'][0]}-{operation['operationId']}"
        for path_item in document["paths"].values()
        for operation in path_item.values()
    }


def test_the_docs_page_shows_and_runs_every_operation_from_the_api_alone(
    settings: Settings, tmp_path: Path, browser: WebDriver
) -> None:
    env = servers_environment(settings, PORT=str(free_port()), TASKFLOW_LOG_LEVEL="WARNING")
    with taskflow("serve", env, tmp_path / "serve.log") as (url, _):
        expected = operation_ids(httpx.get(f"{url}/schema/openapi.json", timeout=10).json())
        browser.get(f"{url}/schema/swagger")
        wait = WebDriverWait(browser, RENDER_TIMEOUT_SECONDS)
        wait.until(lambda page: len(page.find_elements(By.CSS_SELECTOR, ".opblock")) >= len(expected))
        shown = {element.get_attribute("id") for element in browser.find_elements(By.CSS_SELECTOR, ".opblock")}
        assert shown == expected
        assert browser.find_element(By.CSS_SELECTOR, ".info .title").text.startswith("TaskFlow")

        # Try it out on GET /health: Swagger UI calls the API from the page, as the CSP allows ('self').
        health = browser.find_element(By.ID, "operations-operations-health")
        health.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()
        wait.until(lambda _: health.find_elements(By.CSS_SELECTOR, ".try-out__btn"))[0].click()
        health.find_element(By.CSS_SELECTOR, ".execute").click()
        status = wait.until(
            lambda _: health.find_elements(By.CSS_SELECTOR, ".live-responses-table tbody .response-col_status")
        )
        assert status[0].text.strip() == "200"

        loaded = resources_loaded(browser)
        assert loaded, "the page loaded nothing?"
        assert all(resource.startswith(f"{url}/") for resource in loaded), loaded
        assert console_errors(browser) == []  # no script, style or fetch refused by the CSP or failed
