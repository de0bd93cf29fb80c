from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from marketdata.history import resolve_instrument
from marketdata.providers import demo
from tests.browser.conftest import log_in, screenshot
from tests.factories import PortfolioFactory, record

pytestmark = pytest.mark.browser


def test_create_a_portfolio_buy_with_autocomplete_and_watch_the_price_move(
    page, user, settings, monkeypatch
):
    # Demo quotes move every 30 s and are cached for 60: make both one second so that a
    # refresh is seen within the test's patience. The live server runs in this process.
    monkeypatch.setattr(demo, "QUOTE_BUCKET_SECONDS", 1)
    settings.QUOTE_CACHE_TTL = 1

    log_in(page)
    expect(page.get_by_role("link", name="Create a portfolio")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Portfolios").click()
    page.get_by_role("link", name="New portfolio").click()
    # The form comes inline (HTMX) on the list page.
    expect(page.locator("#new-portfolio #id_name")).to_be_visible()
    page.fill("#id_name", "Aksjesparekonto")
    page.fill("#id_brokerage_firm", "Nordnet")
    page.fill("#id_currency", "NOK")
    page.get_by_role("button", name="Create portfolio").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Aksjesparekonto")

    # The add form is open on an empty portfolio. Type, wait for suggestions, pick by keyboard.
    ticker = page.locator("#id_symbol")
    ticker.click()
    ticker.press_sequentially("EQN", delay=40)
    option = page.locator("#id_symbol_listbox [role=option][data-value='EQNR.OL']")
    expect(option).to_be_visible()
    expect(ticker).to_have_attribute("aria-expanded", "true")
    ticker.press("ArrowDown")
    expect(option).to_have_attribute("aria-selected", "true")
    ticker.press("Enter")
    expect(ticker).to_have_value("EQNR.OL")
    expect(page.locator("#id_symbol_listbox")).to_be_hidden()
    page.fill("#id_date", (timezone.localdate() - dt.timedelta(days=3)).isoformat())
    page.fill("#id_quantity", "10")
    page.fill("#id_price", "250")
    page.get_by_role("button", name="Add transaction").click()
    expect(page.locator("#transaction-form .notice")).to_contain_text("Saved: buy of 10 EQNR.OL")

    # The table and totals refresh on the event the save sent.
    row = page.locator("tr.holding-row", has_text="EQNR.OL")
    expect(row).to_be_visible()
    price = row.locator("td.price")
    first = price.inner_text()
    expect(page.locator("#total-value")).not_to_have_text("0.00 NOK")
    # Then the live refresh (every 2 s here) brings a moved price.
    expect(price).not_to_have_text(first, timeout=15_000)
    screenshot(page, "portfolio")


def test_expand_edit_and_delete_transactions_and_see_an_oversell(page, user):
    portfolio = PortfolioFactory(user=user, name="ASK", currency="NOK")
    equinor = resolve_instrument("EQNR.OL")
    first = record(portfolio, equinor, quantity="10", price="250", date=dt.date(2025, 3, 3))
    record(portfolio, equinor, quantity="5", price="260", date=dt.date(2025, 6, 2))

    log_in(page)
    page.goto(f"/portfolios/{portfolio.pk}/")
    row = page.locator("tr.holding-row", has_text="EQNR.OL")
    expect(row.locator("td").first).to_have_text("15")
    toggle = row.get_by_role("button", name="Transactions of EQNR.OL")
    toggle.click()
    txns = page.locator(f"#txns-row-{first.holding_id}")
    expect(txns).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(txns.locator("tbody tr")).to_have_count(2)

    # Edit the first buy in place: 10 -> 12 shares.
    txns.locator(f"#txn-{first.pk}").get_by_role("link", name="Edit").click()
    form = txns.locator(f"#txn-form-{first.pk}")
    expect(form.locator("#id_quantity")).to_have_value("10")
    form.locator("#id_quantity").fill("12")
    form.get_by_role("button", name="Save").click()
    expect(txns.locator(f"#txn-{first.pk}")).to_contain_text("12")
    expect(row.locator("td").first).to_have_text("17")
    # The live table re-rendered around the open row and kept it open.
    expect(txns).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")

    # Delete the second buy (confirming the dialog).
    page.once("dialog", lambda dialog: dialog.accept())
    txns.locator("tbody tr").filter(has_text="2025-06-02").get_by_role(
        "button", name="Delete"
    ).click()
    expect(txns.locator("tbody tr")).to_have_count(1)
    expect(row.locator("td").first).to_have_text("12")

    # Collapse, then try to sell more than is held.
    toggle.click()
    expect(txns).to_be_hidden()
    page.locator("#add-transaction > summary").click()
    page.fill("#id_symbol", "EQNR.OL")
    page.select_option("#id_type", "SELL")
    page.fill("#id_quantity", "100")
    page.fill("#id_price", "300")
    page.get_by_role("button", name="Add transaction").click()
    error = page.locator("#transaction-form .field.has-error", has=page.locator("#id_quantity"))
    expect(error).to_contain_text(re.compile(r"Cannot sell 100 shares .* only 12 held"))
    expect(row.locator("td").first).to_have_text("12")


def test_a_failed_refresh_shows_an_inline_error(page, user):
    portfolio = PortfolioFactory(user=user, name="Gone soon")
    log_in(page)
    page.goto(f"/portfolios/{portfolio.pk}/")
    expect(page.locator("#holdings")).to_be_visible()
    portfolio.delete()
    # The next live refresh answers 404: the page says so instead of failing silently.
    alert = page.locator(".htmx-error")
    expect(alert).to_contain_text("Not found (HTTP 404)", timeout=8_000)
    alert.get_by_role("button", name="Dismiss").click()
    expect(alert).to_have_count(0)
