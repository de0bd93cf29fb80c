"""Charts answer a pointer, a touch and the keyboard (issue 15): the read-out shows the
nearest day's date and every line's value, the benchmark's included."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from marketdata import history
from marketdata.history import resolve_instrument
from tests.browser.conftest import ARTIFACTS, PHONE, log_in
from tests.factories import PortfolioFactory, record

pytestmark = pytest.mark.browser

DATE = re.compile(r"\d{1,2} \w{3} \d{4}")


@pytest.fixture
def portfolio(user):
    today = timezone.localdate()
    portfolio = PortfolioFactory(
        user=user, name="Aksjesparekonto", currency="NOK", benchmark=resolve_instrument("^OSEBX")
    )
    instrument = resolve_instrument("EQNR.OL")
    day = today - dt.timedelta(days=120)
    history.sync_prices(instrument, day - dt.timedelta(days=10), today)
    price = instrument.prices.filter(date__lte=day).order_by("-date").first().close
    record(portfolio, instrument, quantity="20", price=price, date=day)
    return portfolio


def _chart(page, portfolio):
    page.goto(f"/portfolios/{portfolio.pk}/?range=1y")
    figure = page.locator("#value-chart figure.chart[data-hover]")
    expect(figure).to_be_visible()
    expect(figure.locator("path.series.chart-benchmark")).to_be_visible()
    return figure


def test_hovering_the_chart_shows_the_days_values(page, user, portfolio):
    log_in(page)
    figure = _chart(page, portfolio)
    svg = figure.locator("svg.line-chart")
    box = svg.bounding_box()
    svg.hover(position={"x": box["width"] / 2, "y": box["height"] / 2})
    tip = figure.locator(".chart-tip")
    expect(tip).to_be_visible()
    expect(tip.locator(".chart-tip-date")).to_have_text(DATE)
    expect(tip).to_contain_text("Market value")
    expect(tip).to_contain_text("Net deposits")
    expect(tip).to_contain_text("Benchmark ^OSEBX")
    expect(tip).to_contain_text("NOK")
    expect(figure.locator("line.hover-line")).to_have_attribute("visibility", "visible")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    figure.screenshot(path=str(ARTIFACTS / "chart-hover-desktop.png"))
    expect(page.locator("#benchmark-return")).to_contain_text("^OSEBX")
    page.locator("#value-chart").screenshot(path=str(ARTIFACTS / "chart-benchmark-desktop.png"))
    middle = tip.locator(".chart-tip-date").text_content()
    # Further right is a later day.
    svg.hover(position={"x": box["width"] - 2, "y": box["height"] / 2})
    expect(tip.locator(".chart-tip-date")).not_to_have_text(middle)
    # The mouse leaving takes it away.
    page.mouse.move(0, 0)
    expect(tip).to_be_hidden()
    # The keyboard: focus shows the last day, the left arrow the one before.
    svg.focus()
    expect(tip).to_be_visible()
    last = tip.locator(".chart-tip-date").text_content()
    page.keyboard.press("ArrowLeft")
    expect(tip.locator(".chart-tip-date")).not_to_have_text(last)
    page.keyboard.press("End")
    expect(tip.locator(".chart-tip-date")).to_have_text(last)
    page.keyboard.press("Escape")
    expect(tip).to_be_hidden()


def test_touching_the_chart_on_a_phone_shows_the_days_values(browser, live_server, user, portfolio):
    context = browser.new_context(
        viewport=PHONE, has_touch=True, is_mobile=True, base_url=live_server.url
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    try:
        log_in(page)
        figure = _chart(page, portfolio)
        svg = figure.locator("svg.line-chart")
        svg.scroll_into_view_if_needed()
        box = svg.bounding_box()
        svg.tap(position={"x": box["width"] / 3, "y": box["height"] / 2})
        tip = figure.locator(".chart-tip")
        expect(tip).to_be_visible()
        expect(tip.locator(".chart-tip-date")).to_have_text(DATE)
        expect(tip).to_contain_text("Benchmark ^OSEBX")
        # The day touched (a third of the way), not the last one.
        points = json.loads(figure.get_attribute("data-hover"))["points"]
        expect(tip.locator(".chart-tip-date")).not_to_have_text(points[-1][1])
        # Inside the figure: no sideways page scroll on a phone.
        tip_box, figure_box = tip.bounding_box(), figure.bounding_box()
        assert tip_box["x"] >= figure_box["x"] - 1
        assert tip_box["x"] + tip_box["width"] <= figure_box["x"] + figure_box["width"] + 1
        figure.screenshot(path=str(ARTIFACTS / "chart-touch-mobile.png"))
    finally:
        context.close()
    assert not errors, errors
