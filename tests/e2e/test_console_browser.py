"""The auditor's console as an admin uses it, in a real headless Chromium, against a real `taskflow serve` on a log
of a million events (built once for the module): signing in, the log and its first paint, a task's stream from the
log and back to version 1, hostile text shown as text, a tampered stream reported broken, a dead letter retried,
live mode, a user refused, a phone's screen. Screenshots go to TASKFLOW_CONSOLE_SCREENSHOTS when it is set (the
docs' are made so), else to a temporary directory."""

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import psycopg
import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from application.payments import Attempted, AttemptRefund, attempt_refund
from application.views import LogQuery
from domain.refunds import RetryPolicy
from infrastructure.bootstrap import open_runtime, payments
from infrastructure.gateway import HttpRefundGateway
from infrastructure.postgres.log_reader import page_query
from infrastructure.settings import Settings
from tests.conftest import TEST_AUDIT_KEY, TEST_SECRET, with_database
from tests.e2e.browser import console_errors, resources_loaded
from tests.e2e.console_page import (
    USER,
    first_contentful_paint,
    go,
    heading_becomes,
    log_rows,
    shown_in,
    sign_in,
    state_value,
    stream_link,
    text_of,
    wait,
    wide,
)
from tests.e2e.helpers import tamper
from tests.e2e.million_events import fill_log
from tests.e2e.processes import free_port, login, servers_environment, taskflow
from tests.gateway import ScriptedGateway, serving

pytestmark = pytest.mark.timeout(300)  # the module's first test also builds the million-event log

FIRST_PAINT_MS = 1000
A_FILLED_TASK = "00000000-0000-4000-a000-000000000000"


@dataclass(frozen=True)
class Console:
    url: str
    settings: Settings
    database_url: str
    screenshots: Path


@pytest.fixture(scope="module")
def million(servers: tuple[str, str], template_database: str) -> Iterator[str]:
    """A migrated database of this module's own whose log holds a million events."""
    admin_url, _ = servers
    name = f"taskflow_console_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    try:
        fill_log(with_database(admin_url, name))
        yield with_database(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def console(million: str, servers: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """`taskflow serve` on the million-event log, seeded with the README's logins (the login limit raised: every
    test signs in)."""
    settings = Settings(
        database_url=million,
        redis_url=servers[1],
        redis_namespace=f"test-{secrets.token_hex(6)}",
        jwt_secret=TEST_SECRET,
        audit_signing_key=TEST_AUDIT_KEY,
    )
    env = servers_environment(
        settings, PORT=str(free_port()), TASKFLOW_LOG_LEVEL="WARNING", TASKFLOW_LOGIN_RATE_LIMIT="1000/minute"
    )
    seeded = subprocess.run(
        [sys.executable, "-m", "cli", "seed"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert seeded.returncode == 0, seeded.stderr
    logs = tmp_path_factory.mktemp("console")
    screenshots = Path(os.environ.get("TASKFLOW_CONSOLE_SCREENSHOTS") or logs)
    with taskflow("serve", env, logs / "serve.log") as (url, _):
        yield Console(url, settings, million, screenshots)


def as_user(console: Console) -> dict[str, str]:
    return login(console.url, *USER)


def new_task(console: Console, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = httpx.post(f"{console.url}/tasks", json=fields, headers=headers, timeout=10)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def change(console: Console, headers: dict[str, str], task_id: str, **fields: Any) -> None:
    response = httpx.patch(f"{console.url}/tasks/{task_id}", json=fields, headers=headers, timeout=10)
    assert response.status_code == 200, response.text


def test_first_paint_is_under_a_second_on_a_million_events(browser: WebDriver, console: Console) -> None:
    sign_in(browser, console.url)
    painted = {"page": first_contentful_paint(browser)}
    rows = log_rows(browser)
    painted["log, newest first"] = shown_in(browser, "log")
    with psycopg.connect(console.database_url) as conn:
        newest = conn.execute("SELECT max(position) FROM events").fetchone()
    assert newest is not None
    assert rows[0].get_attribute("data-position") == str(newest[0])
    assert len(rows) == 50

    browser.find_element(By.LINK_TEXT, "Older").click()
    painted["log, an older page"] = shown_in(browser, "log", 2)
    go(browser, "#/log?type=RefundSucceeded&streamType=refund&order=oldest")
    painted["log, one type, oldest first"] = shown_in(browser, "log", 3)
    assert {row.find_elements(By.TAG_NAME, "td")[2].text for row in log_rows(browser)} == {"RefundSucceeded"}
    go(browser, "#/log?streamType=user")
    painted["log, one stream type"] = shown_in(browser, "log", 4)
    go(browser, f"#/streams/{A_FILLED_TASK}")
    painted["a stream"] = shown_in(browser, "stream")
    print("first paint, ms:", {view: round(ms) for view, ms in painted.items()})
    assert all(ms < FIRST_PAINT_MS for ms in painted.values()), painted
    assert all(resource.startswith(f"{console.url}/") for resource in resources_loaded(browser))
    assert console_errors(browser) == []


def test_a_tasks_stream_from_the_log_back_to_version_1(browser: WebDriver, console: Console) -> None:
    user = as_user(console)
    task = new_task(console, user, title="Quarterly report", priority="LOW", fee={"amount": 1500, "currency": "EUR"})
    change(console, user, task["id"], title="Quarterly report, final", priority="HIGH")
    change(console, user, task["id"], status="COMPLETED")
    sign_in(browser, console.url)
    log_rows(browser)
    browser.save_screenshot(str(console.screenshots / "console-log.png"))

    stream_link(browser, task["id"]).click()
    assert text_of(browser, ".verdict").startswith("Hash chain intact: 3 events")
    assert state_value(browser, "title") == "Quarterly report, final"
    renamed = browser.find_element(By.CSS_SELECTOR, '.timeline li[data-version="2"] table.changes tbody')
    assert [line.text for line in renamed.find_elements(By.TAG_NAME, "tr")] == [
        "title Quarterly report Quarterly report, final",
        "priority LOW HIGH",
    ]
    me = httpx.get(f"{console.url}/auth/me", headers=user, timeout=10).json()
    actor = browser.find_element(
        By.CSS_SELECTOR, f'.timeline li[data-version="1"] .facts a[href="#/streams/{me["id"]}"]'
    )
    wait(browser).until(lambda _: actor.text == f"{me['email']} ({me['name']})")  # who: named, linked to the user
    browser.set_window_size(1280, 1800)
    browser.save_screenshot(str(console.screenshots / "console-stream.png"))

    version = browser.find_element(By.ID, "travel-version")
    version.clear()
    version.send_keys("1", Keys.ENTER)
    wait(browser).until(lambda page: page.find_element(By.ID, "state-heading").text.startswith("State as of version 1"))
    assert state_value(browser, "title") == "Quarterly report"
    assert state_value(browser, "priority") == "LOW"
    items = browser.find_elements(By.CSS_SELECTOR, ".timeline > li")
    assert [item.get_attribute("data-version") for item in items] == ["1"]
    assert console_errors(browser) == []


def test_a_hostile_title_is_shown_as_text(browser: WebDriver, console: Console) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    task = new_task(console, as_user(console), title=hostile, description="<script>alert(2)</script><b>bold</b>")
    sign_in(browser, console.url, route=f"#/log?streamId={task['id']}")
    log_rows(browser)
    stream_link(browser, task["id"]).send_keys(Keys.ENTER)  # a real link: the keyboard follows it
    assert state_value(browser, "title") == hostile
    assert state_value(browser, "description") == "<script>alert(2)</script><b>bold</b>"
    assert hostile in str(browser.find_element(By.CSS_SELECTOR, ".timeline pre").get_attribute("textContent"))
    assert browser.execute_script("return document.querySelectorAll('main img, main script, main b').length") == 0
    with pytest.raises(TimeoutException):
        WebDriverWait(browser, 1).until(expected_conditions.alert_is_present())
    assert console_errors(browser) == []


def test_a_tampered_stream_is_reported_broken_at_the_edited_version(browser: WebDriver, console: Console) -> None:
    user = as_user(console)
    task = new_task(console, user, title="Pay the supplier")
    change(console, user, task["id"], title="Pay the supplier today")
    created = httpx.get(f"{console.url}/tasks/{task['id']}/history", headers=user, timeout=10).json()["data"][0]
    tamper(console.database_url, task["id"], 1, created["data"] | {"title": "Pay the attacker"})
    sign_in(browser, console.url, route=f"#/streams/{task['id']}")
    verdict = text_of(browser, ".verdict.broken")
    assert verdict.startswith("Hash chain BROKEN at version 1"), verdict
    assert state_value(browser, "title") == "Pay the supplier today"


async def fail_for_good(console: Console, refund_id: str) -> Attempted:
    """The refund's first attempt, against a gateway that refuses it (a 400): a dead letter at once."""
    async with serving(ScriptedGateway(script=[400])) as gateway, open_runtime(console.settings) as runtime:
        refunds = HttpRefundGateway(gateway.url, 2.0)
        paying = payments(runtime.deps, refunds, RetryPolicy(1.0, 10.0, 3), lambda: 0.0)
        report = await attempt_refund(AttemptRefund(UUID(refund_id), 1), paying)
        await refunds.aclose()
    return report.result


def test_a_dead_letter_is_retried_from_operations(browser: WebDriver, console: Console) -> None:
    user = as_user(console)
    task = new_task(console, user, title="Paid task", fee={"amount": 2500, "currency": "EUR"})
    refund_id = httpx.post(f"{console.url}/tasks/{task['id']}/refund", headers=user, timeout=10).json()["id"]
    assert asyncio.run(fail_for_good(console, refund_id)) is Attempted.FAILED
    row = f'tr[data-refund="{refund_id}"]'

    sign_in(browser, console.url, route="#/operations")
    letter = wait(browser).until(lambda page: page.find_element(By.CSS_SELECTOR, row))
    assert "gateway answered 400" in letter.text
    projections = text_of(browser, "section[aria-labelledby=projections-heading] table")
    assert "tasks_view" in projections
    assert "inline" in projections
    letter.find_element(By.TAG_NAME, "button").click()
    wait(browser).until(lambda page: "sent back" in page.find_element(By.ID, "status").text)
    wait(browser).until(lambda page: not page.find_elements(By.CSS_SELECTOR, row))
    refund = httpx.get(f"{console.url}/refunds/{refund_id}", headers=user, timeout=10).json()
    assert refund["status"] == "REQUESTED"
    assert console_errors(browser) == []


def test_live_mode_adds_each_new_event_as_it_commits(browser: WebDriver, console: Console) -> None:
    sign_in(browser, console.url)
    log_rows(browser)
    browser.find_element(By.ID, "filter-live").click()
    browser.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
    wait(browser).until(lambda page: "live" in page.find_element(By.ID, "status").text)
    task = new_task(console, as_user(console), title="Committed while watching")
    link = stream_link(browser, task["id"])
    assert "fresh" in str(link.find_element(By.XPATH, "./ancestor::tr").get_attribute("class"))
    assert log_rows(browser)[0].find_element(By.CSS_SELECTOR, "a.stream") == link


def test_a_user_who_is_not_an_admin_is_refused_and_signs_out(browser: WebDriver, console: Console) -> None:
    sign_in(browser, console.url, USER)
    heading_becomes(browser, "Admins only")
    refusal = browser.find_element(By.TAG_NAME, "main").text
    assert "user@example.com" in refusal
    assert "whose role is user" in refusal
    assert not browser.find_element(By.ID, "nav").is_displayed()
    browser.find_element(By.XPATH, "//main//button[text()='Sign out']").click()
    heading_becomes(browser, "Sign in")
    assert any(resource.endswith("/auth/logout") for resource in resources_loaded(browser))


def test_the_session_is_kept_in_memory_only(browser: WebDriver, console: Console) -> None:
    sign_in(browser, console.url)
    log_rows(browser)
    stored = browser.execute_script("return [document.cookie, localStorage.length, sessionStorage.length]")
    assert stored == ["", 0, 0]
    browser.refresh()
    wait(browser).until(lambda page: page.switch_to.active_element.get_attribute("id") == "email")


def test_every_view_fits_a_phone(browser: WebDriver, console: Console) -> None:
    browser.set_window_size(390, 844)
    sign_in(browser, console.url, route=f"#/streams/{A_FILLED_TASK}")
    wait(browser).until(lambda page: page.find_elements(By.CSS_SELECTOR, ".timeline > li"))
    assert wide(browser) <= 0
    go(browser, "#/log")
    log_rows(browser)
    assert wide(browser) <= 0
    go(browser, "#/operations")
    text_of(browser, "section[aria-labelledby=projections-heading] table")
    assert wide(browser) <= 0


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (LogQuery(limit=50, newest_first=True), "events_transaction_position_idx"),
        (LogQuery(limit=50, newest_first=True, before=(str(2**40), 500_000)), "events_transaction_position_idx"),
        (LogQuery(limit=50, after=("0", 500_000)), "events_transaction_position_idx"),
        (LogQuery(limit=50, newest_first=True, types=("RefundSucceeded",)), "events_type_commit_idx"),
        (LogQuery(limit=50, after=("0", 0), types=("UserRegistered",), stream_types=("user",)), "_commit_idx"),
        (LogQuery(limit=50, newest_first=True, stream_types=("refund",)), "events_stream_type_commit_idx"),
        (LogQuery(limit=50, newest_first=True, correlation_id="c", causation_id="c"), "events_correlation_commit_idx"),
    ],
)
def test_every_page_of_the_log_is_one_index_range_in_commit_order(million: str, query: LogQuery, index: str) -> None:
    text, params = page_query(query)
    with psycopg.connect(million) as conn:
        plan = "\n".join(str(row[0]) for row in conn.execute(f"EXPLAIN {text}", params))
    assert index in plan, plan
    assert "Seq Scan" not in plan, plan
    assert "Sort" not in plan, plan  # the index gives the order: a page reads about its own rows


def test_one_streams_events_are_read_by_its_id(million: str) -> None:
    text, params = page_query(LogQuery(limit=50, newest_first=True, stream_id=UUID(A_FILLED_TASK)))
    with psycopg.connect(million) as conn:
        plan = "\n".join(str(row[0]) for row in conn.execute(f"EXPLAIN {text}", params))
    assert "events_stream_version_key" in plan, plan
