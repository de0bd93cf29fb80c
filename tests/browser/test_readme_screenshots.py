"""The README's screenshots: the dashboard, a portfolio and the retirement projection of the
demo household, light and dark, at a desktop's width, and the dashboard on a phone.

Every test run takes them (into artifacts/screenshots/readme/, so the pages they show keep
rendering); `make screenshots` sets SCREENSHOTS_DIR=docs/screenshots to replace the
committed ones. Viewport-sized, not full-page, so the files stay small.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.helpers import browser_page, log_in_as_demo, overflow, settle

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
# Each page down to the end of its chart: (path, the element the shot ends with).
PAGES = {
    "dashboard": ("/", "#value-chart svg.line-chart"),
    "portfolio": (None, "#value-chart svg.line-chart"),
    "projection": ("/pensions/projection/", "svg.line-chart"),
}


def output_dir() -> Path:
    configured = os.environ.get("SCREENSHOTS_DIR")
    directory = Path(configured) if configured else ARTIFACTS / "readme"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def portfolio_path(page) -> str:
    page.goto("/portfolios/")
    return page.get_by_role("link", name="Aksjesparekonto").get_attribute("href")


def shoot(page, path: str, file: Path, until: str | None = None) -> None:
    page.goto(path)
    settle(page)
    # The charts are drawn (the dashboard's comes in after the page).
    expect(page.locator("svg.line-chart").first).to_be_visible(timeout=30_000)
    found = overflow(page)
    assert found["scroll"] <= found["client"], (path, found)
    if until is None:
        page.screenshot(path=str(file))
        return
    box = page.locator(until).first.bounding_box()  # the page is scrolled to its top
    height = box["y"] + box["height"] + 90  # and the legend under it
    width = page.viewport_size["width"]
    clip = {"x": 0, "y": 0, "width": width, "height": height}
    page.screenshot(path=str(file), full_page=True, clip=clip)


def test_readme_screenshots(browser, live_server, transactional_db):
    call_command("load_demo", "--years", "3", stdout=open(os.devnull, "w"))  # noqa: SIM115
    directory = output_dir()
    for scheme in ("light", "dark"):
        with browser_page(browser, live_server, DESKTOP, color_scheme=scheme) as page:
            log_in_as_demo(page)
            for name, (path, until) in PAGES.items():
                file = directory / f"{name}-{scheme}.png"
                shoot(page, path or portfolio_path(page), file, until)
    # Twice the pixels, as a phone has them: the one shot small enough to afford it.
    with browser_page(browser, live_server, PHONE, device_scale_factor=2) as page:
        log_in_as_demo(page)
        shoot(page, "/", directory / "dashboard-phone.png")
    for name in [f"{n}-{scheme}.png" for n in PAGES for scheme in ("light", "dark")]:
        assert (directory / name).stat().st_size > 10_000, name
