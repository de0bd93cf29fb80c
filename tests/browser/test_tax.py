"""The tax report in a browser (issue 14): the nav link, the year picker, the dashboard's
"tax if sold today" card and a holding's lots, all loaded under the Content-Security-Policy."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from marketdata import history
from marketdata.history import resolve_instrument
from tests.browser.conftest import log_in, screenshot
from tests.factories import PortfolioFactory, record
from tests.tax_rates import published_rates  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("published_rates")]


def test_the_tax_report_and_the_estimates(page, user):
    today = timezone.localdate()
    a = PortfolioFactory(user=user, name="Nordnet", currency="NOK")
    b = PortfolioFactory(user=user, name="DNB", currency="NOK")
    instrument = resolve_instrument("EQNR.OL")
    first = dt.date(today.year - 2, 3, 1)
    history.sync_prices(instrument, first - dt.timedelta(days=10), today)
    record(a, instrument, quantity="10", price="100", date=first)
    record(b, instrument, quantity="10", price="200", date=first + dt.timedelta(days=30))
    record(b, instrument, "SELL", quantity="5", price="250", date=first + dt.timedelta(days=60))

    log_in(page)
    expect(page.locator("#tax-household")).to_contain_text("NOK")
    page.get_by_role("link", name="Tax", exact=True).click()
    page.select_option("#tax-year", str(first.year))
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(f"**/tax/{first.year}/")
    # FIFO: DNB's sale takes Nordnet's older shares: gain 1,250 - 500 = 750.
    expect(page.locator("#tax-sales")).to_contain_text("750.00")
    expect(page.locator("#method-difference")).to_contain_text("average cost")
    screenshot(page, "tax-report")
    page.goto(f"/holdings/{b.holdings.get().pk}/")
    expect(page.locator("#tax-lots table")).to_contain_text(first.isoformat())
