"""/api/docs in real headless Chromium: Swagger UI renders every operation from the bundled assets
under the shop's CSP, with no console error (a CSP violation would be one)."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from tests.support.live_shop import live_shop

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_swagger_ui_renders_every_operation_without_console_errors():
    with live_shop(seed=False) as shop, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        try:
            page = browser.new_page()
            problems: list[str] = []
            page.on(
                "console", lambda message: problems.append(message.text) if message.type == "error" else None
            )
            page.on("pageerror", lambda error: problems.append(str(error)))
            external: list[str] = []
            page.on(
                "request", lambda r: external.append(r.url) if not r.url.startswith(shop.base_url) else None
            )
            page.goto(shop.url("/api/docs"))
            page.wait_for_selector(".opblock", timeout=30_000)
            document = page.evaluate("fetch('/api/openapi.json').then(r => r.json())")
            operations = sum(len(item) for item in document["paths"].values())
            assert page.locator(".opblock").count() == operations
            assert problems == []
            assert [url for url in external if not url.startswith("data:")] == []
        finally:
            browser.close()
