"""Driving the auditor's console in a real Chromium: signing in with the keyboard, waiting for a view, reading how long
it took to show, and the elements the tests look for."""

from typing import Any, Literal

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

WAIT_SECONDS = 20
ADMIN = ("admin@example.com", "admin123")  # `taskflow seed`'s logins
USER = ("user@example.com", "user123")
LOG_ROWS = "table.events tbody tr[data-position]"


def wait(browser: WebDriver, seconds: float = WAIT_SECONDS) -> WebDriverWait[WebDriver]:
    """A wait that looks again when the element it found was replaced meanwhile (a view redrawn)."""
    return WebDriverWait(browser, seconds, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException))


def sign_in(browser: WebDriver, url: str, login: tuple[str, str] = ADMIN, route: str = "") -> None:
    """Open the console (at `route`, e.g. "#/streams/ID") and sign in with the keyboard alone: the email field has
    the focus, Tab moves to the password, Enter submits."""
    browser.get(f"{url}/console{route}")
    wait(browser).until(lambda page: page.switch_to.active_element.get_attribute("id") == "email")
    email, password = login
    ActionChains(browser).send_keys(email, Keys.TAB, password, Keys.ENTER).perform()


def log_rows(browser: WebDriver) -> list[WebElement]:
    """The log's event rows, once its page has been read."""
    rows: list[WebElement] = wait(browser).until(lambda page: page.find_elements(By.CSS_SELECTOR, LOG_ROWS))
    return rows


def shown_in(browser: WebDriver, view: str, times: int = 1) -> float:
    """Milliseconds the `times`-th showing of `view` (log, stream, operations) took, from the start of its route to
    the frame after it was drawn (the console's own performance measure)."""
    script = f"return performance.getEntriesByName('taskflow:{view}').map(entry => entry.duration)"

    def measured(page: WebDriver) -> list[float] | Literal[False]:
        found: list[float] = page.execute_script(script)
        return found if len(found) >= times else False

    durations: list[float] = wait(browser).until(measured)
    return durations[times - 1]


def first_contentful_paint(browser: WebDriver) -> float:
    script = "return performance.getEntriesByName('first-contentful-paint').map(entry => entry.startTime)"
    paints: list[float] = wait(browser).until(lambda page: page.execute_script(script))
    return paints[0]


def text_of(browser: WebDriver, selector: str) -> str:
    """The text of the first element matching `selector`, once there is one."""
    element: WebElement = wait(browser).until(lambda page: page.find_element(By.CSS_SELECTOR, selector))
    return element.text


def stream_link(browser: WebDriver, stream_id: str) -> WebElement:
    link: WebElement = wait(browser).until(
        lambda page: page.find_element(By.CSS_SELECTOR, f'a.stream[href="#/streams/{stream_id}"]')
    )
    return link


def go(browser: WebDriver, route: str) -> None:
    """Move to another view of the signed-in console (as a link would: the page, and its memory, stay)."""
    browser.execute_script("location.hash = arguments[0]", route)


def wide(browser: WebDriver) -> Any:
    """How far the page is wider than the window (0 when nothing needs scrolling sideways)."""
    return browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")


def heading_becomes(browser: WebDriver, text: str) -> None:
    """Wait until the view's heading reads `text`."""
    wait(browser).until(lambda page: page.find_element(By.CSS_SELECTOR, "main h1").text == text)


def state_value(browser: WebDriver, field: str) -> str:
    """What the stream's state panel shows for `field`."""
    xpath = f"//section[contains(@class, 'state')]//dt[text()='{field}']/following-sibling::dd[1]"
    return str(wait(browser).until(lambda page: page.find_element(By.XPATH, xpath)).text)
