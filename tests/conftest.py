"""Fixtures for the cross-service tests: a real headless Chromium (Debian's)."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from support.mosquitto import mosquitto, new_mosquitto  # noqa: F401  (fixtures)
from support.services import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from support.timing import scaled


@pytest.fixture(scope="module")  # Playwright's sync API holds an event loop while it runs
def browser() -> Iterator[Browser]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator:
    """`new_page(**context_options)`: a page in a fresh context; its errors are collected."""
    contexts = []

    def make(**options) -> Page:
        options.setdefault("viewport", {"width": 1100, "height": 760})
        context = browser.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(scaled(15) * 1000)
        page.errors = []
        page.on("pageerror", lambda err: page.errors.append(str(err)))
        return page

    yield make
    for context in contexts:
        context.close()
