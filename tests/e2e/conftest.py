"""Real headless Chromium against the real shop (gunicorn, SQLite, seeded catalog).

Debian's /usr/bin/chromium is driven by Playwright's Python package (no `playwright install`: no
downloads). Every page a test opens fails the test on a console error, an uncaught page error or a
failed request, so a broken asset or a CSP violation cannot slip through.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, Request, sync_playwright

from tests.support.live_shop import REPO_ROOT, LiveShop, live_shop

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # tests run as root in a container; the sandbox needs user namespaces
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = REPO_ROOT / "build" / "screenshots"


@pytest.fixture(scope="session")
def shop() -> Iterator[LiveShop]:
    with live_shop() as running:
        yield running


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (scripts/bootstrap.sh does)")
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser, shop: LiveShop) -> Iterator[Page]:
    """A fresh browser context (no cookies) whose every problem is collected and fails the test."""
    context = browser.new_context(base_url=shop.base_url, viewport={"width": 1280, "height": 900})
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console error: {message.text} ({message.location.get('url', '')})")

    def on_request_failed(request: Request) -> None:
        # ERR_ABORTED is the browser cancelling a load because the page navigated on (e.g. the
        # favicon of a page left at once); a missing asset shows up as a console error instead.
        if request.failure != "net::ERR_ABORTED":
            problems.append(f"request failed: {request.method} {request.url}: {request.failure}")

    page = context.new_page()
    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", on_request_failed)
    page.set_default_timeout(15_000)
    yield page
    context.close()
    assert problems == [], "the browser reported problems:\n" + "\n".join(problems)


@pytest.fixture(scope="session")
def screenshots_dir() -> Path:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
