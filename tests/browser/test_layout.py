"""Every page of the app at a phone's width (360 px) and a desktop's (1280 px): nothing makes
the page itself scroll sideways (wide tables scroll inside their own box), and the columns
that matter on a phone are in view. Screenshots of every page go to artifacts/screenshots/.

The household is the demo one (`load_demo`) plus a portfolio, an instrument and a pension
with long names and eight-figure amounts, the content most likely to push a page wider.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from marketdata import history
from marketdata.history import resolve_instrument
from pensions.models import PensionAccount
from portfolios.models import Holding, ImportBatch, Portfolio, Transaction
from tests.browser.conftest import ARTIFACTS
from tests.browser.helpers import SMALL_TARGETS, browser_page, log_in_as_demo, overflow, settle
from tests.factories import (
    InstrumentFactory,
    PensionAccountFactory,
    PensionValueEntryFactory,
    PortfolioFactory,
    record,
)

pytestmark = pytest.mark.browser

PHONE_WIDTH, DESKTOP_WIDTH = 360, 1280
WIDTHS = {"phone": {"width": PHONE_WIDTH, "height": 780}, "desktop": {"width": 1280, "height": 900}}
LONG_PORTFOLIO = "Individuell sparekonto for barnebarna – langsiktig sparing (Skandiabanken)"
LONG_BROKER = "Skandinaviska Enskilda Banken AB (publ), Oslofilialen"
LONG_COMPANY = "Det Norske Oljeselskap og Kraftproduksjonsselskap Holding ASA (publ)"
LONG_NOTE = (
    "Kjøpt etter generalforsamlingen; kurtasje etter Nordnets prisliste for aksjesparekonto, "
    "betalt med overført beløp fra brukskonto nummer 1234.56.78901"
)
# One good row and one a person gets wrong (a price that is not a number): the preview must
# show that row's reason on a phone.
BAD_CSV = b"""date,type,symbol,quantity,price,fees
2024-01-02,BUY,EQNR.OL,10,250,49
2024-03-01,BUY,EQNR.OL,4,two hundred and sixty kroner,49
"""
GOOD_CSV = b"""date,type,symbol,quantity,price,fees,notes
2024-02-01,BUY,DNB.OL,1000,200.50,99,Imported from the bank's yearly statement
"""


@pytest.fixture
def household(transactional_db, settings):
    """The demo household (two years: enough for every chart and the projection), an owner
    who is staff (the nav has Admin too), and the long names and big amounts."""
    settings.ALLOW_REGISTRATION = False
    call_command("load_demo", "--years", "2", stdout=open(os.devnull, "w"))  # noqa: SIM115
    user = get_user_model().objects.get(username="demo")
    today = timezone.localdate()
    portfolio = PortfolioFactory(
        user=user, name=LONG_PORTFOLIO, brokerage_firm=LONG_BROKER, currency="NOK"
    )
    equinor = resolve_instrument("EQNR.OL")
    day = today - dt.timedelta(days=200)
    history.sync_prices(equinor, day - dt.timedelta(days=10), today)
    price = equinor.prices.filter(date__lte=day).order_by("-date").first().close
    # 250 000 shares: a value in the tens of millions.
    record(portfolio, equinor, quantity="250000", price=price, date=day, notes=LONG_NOTE)
    # No stored price: its row says "price unavailable", the widest text the table has.
    obscure = InstrumentFactory(ticker="DETNOR-LONG.OL", company_name=LONG_COMPANY)
    record(portfolio, obscure, quantity="1234567", price="98.76", date=day, fees="1234.56")
    pension = PensionAccountFactory(
        user=user, name="Innskuddspensjon fra tidligere arbeidsgivere (Storebrand Livsforsikring)"
    )
    for months, value in [(13, "31000000.00"), (1, "33450000.00"), (0, "33512345.67")]:
        PensionValueEntryFactory(
            account=pension, date=today - dt.timedelta(days=30 * months), value=Decimal(value)
        )
    return user


def object_urls(user) -> dict[str, str]:
    """A name for the screenshot -> the path of every page that shows one object."""
    portfolio = Portfolio.objects.get(user=user, name=LONG_PORTFOLIO)
    holding = Holding.objects.filter(portfolio=portfolio, instrument__ticker="EQNR.OL").get()
    demo_holding = (
        Holding.objects.filter(portfolio__user=user, portfolio__name="Aksjesparekonto")
        .order_by("pk")
        .first()
    )
    trade = Transaction.objects.filter(holding=holding).first()
    pension = PensionAccount.objects.filter(user=user, name__startswith="Innskudd").get()
    demo_pension = PensionAccount.objects.filter(user=user).order_by("pk").first()
    return {
        "portfolio": f"/portfolios/{portfolio.pk}/",
        "portfolio-demo": f"/portfolios/{demo_holding.portfolio_id}/",
        "portfolio-edit": f"/portfolios/{portfolio.pk}/edit/",
        "portfolio-delete": f"/portfolios/{portfolio.pk}/delete/",
        "portfolio-credit": f"/portfolios/{portfolio.pk}/credit/",
        "portfolio-transactions": f"/portfolios/{portfolio.pk}/transactions/",
        "transaction-add": f"/portfolios/{portfolio.pk}/transactions/new/",
        "cash-add": f"/portfolios/{demo_holding.portfolio_id}/cash/new/",
        "holding": f"/holdings/{holding.pk}/",
        "holding-demo": f"/holdings/{demo_holding.pk}/",
        "holding-delete": f"/holdings/{holding.pk}/delete/",
        "transaction-edit": f"/transactions/{trade.pk}/edit/",
        "transaction-delete": f"/transactions/{trade.pk}/delete/",
        "pension": f"/pensions/{pension.pk}/",
        "pension-demo": f"/pensions/{demo_pension.pk}/",
        "pension-edit": f"/pensions/{pension.pk}/edit/",
        "pension-delete": f"/pensions/{pension.pk}/delete/",
    }


PAGES = {
    "dashboard": "/",
    "portfolios": "/portfolios/",
    "portfolio-new": "/portfolios/new/",
    "transactions": "/transactions/",
    "import": "/import/",
    "imports": "/imports/",
    "pensions": "/pensions/",
    "pension-new": "/pensions/new/",
    "projection": "/pensions/projection/",
    "settings": "/settings/",
    "password": "/password/",
    "password-done": "/password/done/",
    "not-found": "/no-such-page/",
    "api-docs": "/api/v1/docs/",
    "tax": "/tax/",
    "tax-last-year": f"/tax/{dt.date.today().year - 1}/",
}
LOGGED_OUT_PAGES = {"login": "/login/", "first-run": "/setup/"}


def check(page, name: str, path: str, width: str, failures: list, suffix: str = "") -> None:
    page.goto(path)
    settle(page)
    found = overflow(page)
    if found["scroll"] > found["client"]:
        failures.append(f"{name} ({path}) at {width}: {found}")
    # Django's admin has its own stylesheet, made for a desk.
    if width == "phone" and name != "admin" and (small := page.evaluate(SMALL_TARGETS)):
        failures.append(f"{name} ({path}): tap targets under 40 px: {small}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"layout-{name}-{width}{suffix}.png"), full_page=True)


def test_every_page_fits_a_phone_and_a_desktop(browser, live_server, household):
    failures: list[str] = []
    for width, viewport in WIDTHS.items():
        with browser_page(browser, live_server, viewport) as page:
            # Before an owner exists the setup page is the first-run one.
            for name, path in LOGGED_OUT_PAGES.items():
                check(page, name, path, width, failures)
    get_user_model().objects.filter(username="demo").update(is_staff=True, is_superuser=True)
    pages = PAGES | object_urls(household) | {"admin": reverse("admin:index")}
    for width, viewport in WIDTHS.items():
        with browser_page(browser, live_server, viewport) as page:
            log_in_as_demo(page)
            for name, path in pages.items():
                check(page, name, path, width, failures)
            # The nav's last link is on the screen, not scrolled out of it.
            page.goto("/settings/")
            admin = page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin")
            expect(admin).to_be_in_viewport()
    assert not failures, "\n".join(failures)


def test_every_page_fits_a_phone_in_norwegian(browser, live_server, household):
    """Norwegian words run longer than English ones ("Skjermingsfradrag", "Urealisert
    gevinst"): every page again at phone width, the browser asking for Bokmål."""
    failures: list[str] = []
    pages = PAGES | object_urls(household)
    with browser_page(browser, live_server, WIDTHS["phone"], locale="nb-NO") as page:
        log_in_as_demo(page)
        assert page.locator("html").get_attribute("lang") == "nb"
        for name, path in pages.items():
            check(page, name, path, "phone", failures, suffix="-nb")
    assert not failures, "\n".join(failures)


def upload(page, name: str, data: bytes) -> None:
    page.goto("/import/")
    page.select_option("#id_portfolio", label=LONG_PORTFOLIO)
    page.set_input_files("#id_file", files=[{"name": name, "mimeType": "text/csv", "buffer": data}])
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#import-preview")).to_be_visible()
    settle(page)


def test_the_import_preview_shows_an_error_rows_reason_on_a_phone(browser, live_server, household):
    with browser_page(browser, live_server, WIDTHS["phone"]) as page:
        log_in_as_demo(page)
        upload(page, "bad.csv", BAD_CSV)
        error_row = page.locator("#import-preview tbody tr", has_text="error").last
        reason = error_row.locator("span.error:not(.status)")
        expect(reason).to_contain_text("price")
        # In the window without scrolling the table sideways.
        box = reason.bounding_box()
        assert box["x"] >= 0 and box["x"] + min(box["width"], 80) <= PHONE_WIDTH, box
        found = overflow(page)
        assert found["scroll"] <= found["client"], found
        page.screenshot(
            path=str(ARTIFACTS / "layout-import-preview-error-phone.png"), full_page=True
        )

        # A good file, imported: the preview, the result and the undo confirmation.
        upload(page, "good.csv", GOOD_CSV)
        page.get_by_role("button", name="Import 1 transaction").click()
        expect(page.locator(".messages")).to_contain_text("Imported 1 transaction")
        batch = ImportBatch.objects.get(portfolio__name=LONG_PORTFOLIO)
        for path in ("/imports/", f"/imports/{batch.pk}/undo/"):
            page.goto(path)
            settle(page)
            found = overflow(page)
            assert found["scroll"] <= found["client"], (path, found)
        page.screenshot(path=str(ARTIFACTS / "layout-import-undo-phone.png"), full_page=True)


def test_the_holdings_table_shows_value_and_gain_first_on_a_phone(browser, live_server, household):
    with browser_page(browser, live_server, WIDTHS["phone"]) as page:
        log_in_as_demo(page)
        page.goto("/portfolios/")
        page.get_by_role("link", name="Aksjesparekonto").click()
        settle(page)
        # Vertically only: scrolling a cell into view could scroll the table sideways too.
        page.locator("#holdings-h").scroll_into_view_if_needed()
        table = page.locator("#holdings table")
        for heading in ("Holding", "Value", "Unrealized"):
            # The sorted column's name ends in its arrow.
            name = re.compile(rf"^{heading}( [▲▼])?$")
            cell = table.get_by_role("columnheader", name=name)
            expect(cell).to_be_in_viewport(ratio=1)
        # Quantity and the like make room; the holding's own page has them.
        expect(table.get_by_role("columnheader", name="Quantity")).to_be_hidden()
        # The nav wraps: every link in view, none scrolled out of sight.
        page.evaluate("window.scrollTo(0, 0)")
        for link in page.get_by_role("navigation", name="Main").get_by_role("link").all():
            expect(link).to_be_in_viewport(ratio=1)
            assert link.bounding_box()["height"] >= 40
