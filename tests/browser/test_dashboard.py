from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from financedash.models import Profile
from marketdata import history
from marketdata.history import resolve_instrument
from tests.browser.conftest import log_in, screenshot
from tests.factories import (
    PensionAccountFactory,
    PensionValueEntryFactory,
    PortfolioFactory,
    record,
)

pytestmark = pytest.mark.browser


def test_dashboard_charts_render(page, user):
    Profile.objects.filter(user=user).update(
        retirement_goal_amount=Decimal(2_000_000), retirement_goal_year=2045
    )
    today = timezone.localdate()
    portfolio = PortfolioFactory(user=user, name="Aksjesparekonto", currency="NOK")
    for symbol, quantity, days in (("EQNR.OL", "40", 300), ("DNB.OL", "30", 200)):
        instrument = resolve_instrument(symbol)
        day = today - dt.timedelta(days=days)
        history.sync_prices(instrument, day - dt.timedelta(days=40), today)
        price = instrument.prices.filter(date__lte=day).order_by("-date").first().close
        record(portfolio, instrument, quantity=quantity, price=price, date=day)
    pension = PensionAccountFactory(user=user, name="OTP")
    PensionValueEntryFactory(account=pension, date=today.replace(day=1), value=Decimal(250_000))

    log_in(page)
    expect(page.locator("#net-worth")).to_contain_text("NOK")
    chart = page.locator("#value-chart svg.line-chart")
    expect(chart).to_be_visible()
    line = chart.locator("path.series.chart-primary")
    assert len(line.get_attribute("d")) > 200
    expect(chart.locator("text.tick").first).to_be_visible()
    expect(page.locator(".bars li")).not_to_have_count(0)
    expect(page.get_by_text("Retirement goal")).to_be_visible()
    # Another period comes in place, without a page load.
    page.get_by_role("link", name="3 months").click()
    expect(page.locator("#value-chart .ranges [aria-current=true]")).to_have_text("3 months")
    expect(page.locator("#value-chart path.series.chart-primary")).to_be_visible()
    screenshot(page, "dashboard")


def test_the_chart_range_is_in_the_url_and_survives_back_and_reload(page, user):
    # Issue 8: "the chart range is in the URL (back and reload keep it)".
    today = timezone.localdate()
    portfolio = PortfolioFactory(user=user, name="Aksjesparekonto", currency="NOK")
    instrument = resolve_instrument("EQNR.OL")
    day = today - dt.timedelta(days=400)
    history.sync_prices(instrument, day - dt.timedelta(days=10), today)
    price = instrument.prices.filter(date__lte=day).order_by("-date").first().close
    record(portfolio, instrument, quantity="10", price=price, date=day)
    pension = PensionAccountFactory(user=user, name="OTP")
    PensionValueEntryFactory(account=pension, date=day, value=Decimal(250_000))

    log_in(page)
    current = page.locator("#value-chart .ranges [aria-current=true]")
    expect(current).to_have_text("1 year")
    page.get_by_role("link", name="5 years").click()
    expect(current).to_have_text("5 years")
    page.wait_for_url("**/?range=5y")
    # Pensions are a line of their own, and the period's figures carry their definitions.
    expect(page.locator("#value-chart .legend")).to_contain_text("Pensions")
    expect(page.locator("#period-figures")).to_contain_text("Time-weighted return")
    page.reload()
    expect(current).to_have_text("5 years")
    page.get_by_role("link", name="3 months").click()
    page.wait_for_url("**/?range=3m")
    page.go_back()
    page.wait_for_url("**/?range=5y")
    expect(current).to_have_text("5 years")

    page.goto(f"/portfolios/{portfolio.pk}/?range=max")
    expect(current).to_have_text("All")
    expect(page.locator("#value-chart .legend")).to_contain_text("Net deposits")
    screenshot(page, "portfolio-performance")
