"""Privacy mode: one switch per browser (a cookie) hides every amount on every page, and
only amounts (percentages stay). The sweep renders every HTML page and partial with the
cookie and scans it for digits beside a currency; the same pages without the cookie must
show amounts, so that the sweep cannot pass by finding nothing to hide."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from financedash.lib.privacy import MASK, hiding
from financedash.middleware import PRIVACY_COOKIE
from financedash.templatetags.money import compact_money, format_money, money, signed_money
from portfolios import services
from tests.factories import (
    HistoricalExchangeRateFactory,
    PensionAccountFactory,
    PensionValueEntryFactory,
    PortfolioFactory,
    record,
)
from tests.views.conftest import priced_instrument
from tests.views.test_access import PAGES, _object_urls

pytestmark = pytest.mark.django_db

# An amount beside its currency (code, "kr" or a sign), as the issue asks...
WITH_CURRENCY = re.compile(r"\d[\d\s\u00a0\u202f.,]*\s?(NOK|USD|EUR|GBP|kr|\$)|[$€£]\s?\d")
# ...and the columns and axes that print amounts without one (the currency is in the
# header): two decimals that are no percentage, or a compact axis label (850 k, 1.25 M).
BARE = re.compile(
    r"(?<![\d.,])\d{1,3}(?:[\u00a0\u202f ]\d{3})*[.,]\d{2}(?![.,]?\d)(?![\u00a0 ]?%)"
    r"|\d\u00a0(k|M|bn)\b"
)
# What a reader sees: the text, and the attributes a browser shows (tooltips, labels,
# confirmations). Form fields' values are not scanned (an edit form shows what it edits).
SHOWN_ATTRIBUTES = re.compile(r'(?:title|aria-label|hx-confirm)="([^"]*)"')


def _visible(body: str) -> str:
    # Sample files in the import page's format notes and the forms' help texts show how to
    # write a number: documentation, not amounts.
    body = re.sub(r"<(pre|code)\b.*?</\1>", " ", body, flags=re.S)
    body = re.sub(r'<small class="help".*?</small>', " ", body, flags=re.S)
    return " ".join([re.sub(r"<[^>]*>", " ", body), *SHOWN_ATTRIBUTES.findall(body)])


def _amount(body: str):
    text = _visible(body)
    return WITH_CURRENCY.search(text) or BARE.search(text)


TODAY = timezone.localdate()


@pytest.fixture
def household(owner, buy):
    """A NOK portfolio with cash, a trade and a dividend; a USD one (the $ sign); a
    pension with values; a retirement goal (the dashboard's and the projection's amounts)."""
    portfolio = buy.portfolio
    portfolio.track_cash = True
    portfolio.save()
    services.record_transaction(
        portfolio=portfolio,
        type="DEPOSIT",
        date=TODAY - dt.timedelta(days=40),
        amount=Decimal("5000"),
    )
    record(
        portfolio,
        buy.holding.instrument,
        "DIVIDEND",
        quantity="10",
        price="7.5",
        date=TODAY - dt.timedelta(days=10),
    )
    usd = PortfolioFactory(user=owner, name="US", currency="USD")
    apple = priced_instrument("AAPL", "200", currency="USD")
    record(usd, apple, quantity="2", price="150", date=TODAY - dt.timedelta(days=20))
    HistoricalExchangeRateFactory(
        base_currency="USD", target_currency="NOK", date=TODAY, rate=Decimal("10")
    )
    account = PensionAccountFactory(user=owner, name="IPS")  # no digit beside its currency
    PensionValueEntryFactory(account=account, date=TODAY - dt.timedelta(days=400))
    PensionValueEntryFactory(account=account, date=TODAY - dt.timedelta(days=5), value=120000)
    owner.profile.retirement_goal_amount = Decimal("6000000")
    owner.profile.retirement_goal_year = TODAY.year + 20
    owner.profile.save()
    return buy, account


def _urls(household) -> list[str]:
    buy, account = household
    urls = [reverse(name) for name in PAGES]
    urls += [
        url
        for method, url in _object_urls(buy.portfolio, buy.holding, buy, account, None)
        if method == "get"
    ]
    return urls


def _responses(client, household, urls):
    """(name, body) of every HTML page and partial: full pages, the HTMX partials the
    pages load (holdings, charts, lists) and an import preview."""
    buy, _ = household
    found = []
    for url in urls:
        if "/export/" in url or url.endswith("/backup/"):
            continue  # files (CSV, JSON): not affected by privacy mode
        for extra in ({}, {"HTTP_HX_REQUEST": "true"}):
            query = {"range": "1y"} if "chart" in url else {}
            response = client.get(url, query, **extra)
            if response.status_code in (301, 302):
                continue  # a partial asked for as a page: it redirects to its page
            assert response.status_code == 200, url
            found.append((f"{url} htmx={bool(extra)}", response.content.decode()))
    upload = SimpleUploadedFile(
        "t.csv", b"date,type,symbol,quantity,price,fees\n2024-01-02,BUY,EQNR.OL,10,250,49\n"
    )
    response = client.post(
        reverse("portfolios:import"),
        {"portfolio": buy.portfolio.pk, "format": "generic", "file": upload},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    found.append(("import preview", response.content.decode()))
    return found


# Pages whose plain rendering shows amounts (the others are forms and lists of names).
WITH_AMOUNTS = (
    "/ htmx=False",
    "/dashboard/chart/ htmx=True",
    "/portfolios/ htmx=False",
    "/transactions/ htmx=False",
    "/pensions/ htmx=False",
    "/pensions/projection/ htmx=False",
    "import preview",
)


def test_privacy_mode_hides_every_amount_on_every_page(client, owner, household):
    client.force_login(owner)
    urls = _urls(household)
    shown = dict(_responses(client, household, urls))
    buy, account = household
    with_amounts = (
        *WITH_AMOUNTS,
        f"/portfolios/{buy.portfolio.pk}/ htmx=False",
        f"/portfolios/{buy.portfolio.pk}/holdings/ htmx=True",
        f"/portfolios/{buy.portfolio.pk}/chart/ htmx=True",
        f"/portfolios/{buy.portfolio.pk}/transactions/ htmx=False",
        f"/portfolios/{buy.portfolio.pk}/cash/ htmx=True",
        f"/portfolios/{buy.portfolio.pk}/dividends/ htmx=True",
        f"/holdings/{buy.holding.pk}/ htmx=False",
        f"/holdings/{buy.holding.pk}/chart/ htmx=True",
        f"/pensions/{account.pk}/ htmx=False",
    )
    for name in with_amounts:
        assert _amount(shown[name]), f"{name} shows no amount without privacy mode"
    assert "$" in shown["/portfolios/ htmx=False"]  # the symbol form is swept too

    client.cookies[PRIVACY_COOKIE] = "1"
    hidden = dict(_responses(client, household, urls))
    assert set(hidden) == set(shown), set(hidden) ^ set(shown)
    for name, body in hidden.items():
        leak = _amount(body)
        assert leak is None, f"{name} shows {leak.string[max(0, leak.start() - 80) : leak.end()]!r}"
    for name in with_amounts:
        assert MASK in hidden[name], name
    # Percentages stay: the portfolio's return and allocation shares are still there.
    assert re.search(r"\d\u00a0%", hidden[f"/portfolios/{buy.portfolio.pk}/ htmx=False"])
    assert re.search(r"\d\u00a0%", hidden["/ htmx=False"])


def test_the_toggle_flips_the_cookie_and_returns_to_the_page(owner_client, buy):
    page = reverse("portfolios:detail", args=[buy.portfolio.pk])
    body = owner_client.get(page).content.decode()
    assert 'aria-pressed="false"' in body and "Hide amounts" in body

    response = owner_client.post(reverse("privacy_toggle"), {"next": page})
    assert response.status_code == 302 and response["Location"] == page
    cookie = response.cookies[PRIVACY_COOKIE]
    assert cookie.value == "1" and cookie["httponly"] and cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) >= 300 * 24 * 3600  # remembered, not per session
    body = owner_client.get(page).content.decode()
    assert 'aria-pressed="true"' in body and "Show amounts" in body
    assert "2\u202f500.00\u00a0NOK" not in body and MASK in body

    response = owner_client.post(reverse("privacy_toggle"), {"next": page})
    assert response.cookies[PRIVACY_COOKIE].value == ""  # deleted
    assert "2\u202f500.00\u00a0NOK" in owner_client.get(page).content.decode()


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", ""])
def test_the_toggle_never_redirects_off_the_site(owner_client, target):
    response = owner_client.post(reverse("privacy_toggle"), {"next": target})
    assert response["Location"] == "/"


def test_the_toggle_is_a_post(owner_client):
    assert owner_client.get(reverse("privacy_toggle")).status_code == 405


def test_a_saved_cash_message_hides_its_amount(owner_client, owner):
    portfolio = PortfolioFactory(user=owner, currency="NOK", track_cash=True)
    owner_client.cookies[PRIVACY_COOKIE] = "1"
    response = owner_client.post(
        reverse("portfolios:cash_add", args=[portfolio.pk]),
        {"type": "DEPOSIT", "date": TODAY.isoformat(), "amount": "1234", "notes": ""},
        follow=True,
    )
    body = response.content.decode()
    assert f"Saved: deposit of {MASK} on" in body
    assert "1234" not in body


def test_the_api_is_not_affected(owner_client, buy):
    owner_client.cookies[PRIVACY_COOKIE] = "1"
    response = owner_client.get(f"/api/v1/portfolios/{buy.portfolio.pk}/holdings")
    assert response.status_code == 200
    assert MASK not in response.content.decode()
    assert '"2500' in response.content.decode()  # the cost basis, 10 x 250


def test_the_money_filters_mask_while_hidden():
    amount = Decimal("1234.5")
    assert money(amount, "NOK") == "1\u202f234.50\u00a0NOK"
    with hiding():
        assert format_money(amount, "NOK") == MASK
        assert money(amount, "USD") == MASK
        assert signed_money(-amount, "NOK") == MASK
        assert compact_money(Decimal("1250000"), "NOK") == MASK
    assert compact_money(Decimal("1250000")) == "1.25\u00a0M"
