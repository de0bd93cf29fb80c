"""Playwright (sync API) driving Debian's Chromium against pytest-django's live_server.

The tests skip, saying why, only when /usr/bin/chromium is missing (and fail under CI,
where .ci/run installs it).
Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.helpers import browser_page
from tests.factories import PASSWORD, UserFactory

# Playwright's sync API runs an event loop in this thread; Django would otherwise refuse
# the ORM calls the tests make to set up data.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is not installed (apt-get install chromium); .ci/run installs it"
        # In CI a missing browser is a failure, not a quiet skip of the browser suite.
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def _demo_market_data(settings):
    settings.MARKETDATA_PROVIDER = "demo"
    settings.LIVE_REFRESH_SECONDS = 2


@pytest.fixture
def page(browser, live_server):
    # Fails on JavaScript errors and on anything the Content-Security-Policy blocks.
    with browser_page(browser, live_server, DESKTOP) as page:
        yield page


@pytest.fixture
def user(transactional_db):
    return UserFactory(username="alice")


def log_in(page, username: str = "alice") -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/")


def screenshot(page, name: str) -> None:
    """The page at desktop and at phone width, full length, under artifacts/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(150)
    page.screenshot(path=str(ARTIFACTS / f"{name}-mobile.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
