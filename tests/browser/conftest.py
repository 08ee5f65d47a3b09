"""Browser tests: Playwright's Python package drives Debian's Chromium (scripts/ensure-chromium
installs it; nothing is downloaded at run time) against pytest-django's live server, which
serves the app from this process on the test database (so the data is committed:
transactional tests).

Every page a test opens is watched for console errors and uncaught exceptions, which fail
the test; screenshots go to var/test-artifacts/browser/.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

# Playwright's sync API keeps an event loop in this thread; Django's ORM, used by the test
# code between browser steps, would otherwise refuse to run next to it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

CHROMIUM = os.environ.get("KAM_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
ARTIFACTS = Path(settings.BASE_DIR) / "var" / "test-artifacts" / "browser"
PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run scripts/ensure-chromium (make test does).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


class WatchedPage:
    """A page plus the console errors and page errors it has seen."""

    def __init__(self, page: Page, name: str) -> None:
        self.page = page
        self.name = name
        self.errors: list[str] = []
        self.not_found_expected = False
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))

    def expect_not_found(self) -> None:
        """The test is about to open pages that answer 404: Chromium logs each as an error."""
        self.not_found_expected = True

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        if self.not_found_expected and "status of 404" in message.text:
            return
        self.errors.append(f"console: {message.text} ({message.location.get('url', '')})")

    def shot(self, label: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.name}--{re.sub(r'[^a-z0-9-]+', '-', label.lower())}.png"
        self.page.evaluate("window.scrollTo(0, 0)")  # else the sticky top bar lands mid-page
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def open_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Any]:
    """open_page() -> a WatchedPage in a fresh context (its own cookies); the test fails
    if any page it opened logged a console error or threw."""
    pages: list[WatchedPage] = []
    contexts = []

    def make(locale: str = "en-US") -> WatchedPage:
        context = browser.new_context(locale=locale, viewport={"width": 1440, "height": 900})
        contexts.append(context)
        page = WatchedPage(context.new_page(), f"{request.node.name}-{len(pages)}")
        pages.append(page)
        return page

    yield make
    errors = [f"{page.name}: {error}" for page in pages for error in page.errors]
    # Stop the pages' polling, and give a request the live server may still be answering
    # time to end: the database flush after the test takes every table's lock and would
    # deadlock with it.
    for page in pages:
        page.page.goto("about:blank")
    if pages:
        pages[0].page.wait_for_timeout(500)
    for context in contexts:
        context.close()
    assert not errors, "the browser saw errors:\n" + "\n".join(errors)


def log_in(watched: WatchedPage, base_url: str, email: str, password: str = PASSWORD) -> None:
    page = watched.page
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(lambda url: "/login/" not in url)
