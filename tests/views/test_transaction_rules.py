"""Issue 8 through the HTML forms (full page and HTMX): decimal commas read as written
(defect 7) and the services' rules as errors next to their fields (defects 1, 2, 6)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from portfolios.models import Holding, Transaction
from tests.factories import HistoricalExchangeRateFactory, record
from tests.views.conftest import htmx, priced_instrument

D = Decimal
NBSP = "\u00a0"
NNBSP = "\u202f"
pytestmark = pytest.mark.django_db
DAY = dt.date(2024, 1, 3)


def _form(**overrides):
    data = {
        "symbol": "EQNR.OL",
        "type": "BUY",
        "date": DAY.isoformat(),
        "quantity": "5",
        "price": "280",
        "fees": "0",
        "exchange_rate": "",
        "currency": "",
        "notes": "",
    }
    return {**data, **overrides}


@pytest.fixture
def add_url(portfolio):
    return reverse("portfolios:transaction_add", args=[portfolio.pk])


def field_errors(response, name) -> list[str]:
    assert response.status_code == 422
    return response.context["form"].errors[name]


# -- defect 7: decimal commas ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("440,50", "440.50"),  # before: 44050
        ("440.50", "440.50"),
        ("1 234,5", "1234.5"),  # before: 12345
        (f"1{NBSP}234,50", "1234.50"),
        (f"1{NNBSP}234,50", "1234.50"),
        ("1,234.50", "1234.50"),
    ],
)
def test_a_price_is_read_as_written(owner_client, add_url, equinor, typed, stored):
    response = owner_client.post(add_url, _form(price=typed))
    assert response.status_code == 302
    txn = Transaction.objects.get()
    assert txn.price == D(stored)
    assert txn.total_amount == 5 * D(stored)


def test_every_number_of_the_form_takes_a_decimal_comma(owner_client, add_url, portfolio):
    priced_instrument("AAPL", "200", currency="USD")
    # 2,5 x 100,25 USD x 10,5 = 2631.5625 NOK + 12,75 fees = 2644.3125
    data = _form(symbol="AAPL", quantity="2,5", price="100,25", fees="12,75", exchange_rate="10,5")
    assert owner_client.post(add_url, data).status_code == 302
    txn = Transaction.objects.get()
    assert (txn.quantity, txn.price, txn.fees, txn.exchange_rate) == (
        D("2.5"),
        D("100.25"),
        D("12.75"),
        D("10.5"),
    )
    assert txn.total_amount == D("2644.3125")


def test_an_ambiguous_number_is_refused_naming_the_field(owner_client, add_url, equinor):
    response = htmx(owner_client, add_url, _form(price="1,234"), method="post")
    assert field_errors(response, "price") == ["Price: '1,234' is ambiguous: write 1234 or 1.234."]
    assert not Transaction.objects.exists()


def test_the_number_inputs_are_text_so_a_browser_keeps_the_comma(owner_client, add_url):
    body = owner_client.get(add_url).content.decode()
    for name in ("quantity", "price", "fees", "exchange_rate"):
        assert f'type="text" name="{name}"' in body
    assert 'type="number"' not in body
    assert body.count('inputmode="decimal"') >= 4


def test_used_credit_takes_a_decimal_comma(owner_client, portfolio):
    url = reverse("portfolios:credit", args=[portfolio.pk])
    htmx(owner_client, url, {"used_credit": "12 500,50"}, method="post")
    portfolio.refresh_from_db()
    assert portfolio.used_credit == D("12500.50")


def test_the_portfolio_form_takes_a_decimal_comma(owner_client, owner):
    data = {"name": "ASK", "currency": "NOK", "used_credit": "1 000,25"}
    assert owner_client.post(reverse("portfolios:create"), data).status_code == 302
    assert owner.portfolios.get().used_credit == D("1000.25")


def test_the_retirement_goal_takes_a_decimal_comma(owner_client, owner):
    data = {"base_currency": "NOK", "retirement_goal_amount": "5 000 000,50"}
    assert owner_client.post(reverse("settings"), data).status_code == 302
    owner.profile.refresh_from_db()
    assert owner.profile.retirement_goal_amount == D("5000000.50")


# -- defect 1 -------------------------------------------------------------------------------


def test_a_too_large_buy_is_a_form_error_and_saves_nothing(owner_client, add_url, equinor):
    # Before: "Saved", and then every page failed.
    response = owner_client.post(add_url, _form(quantity="2000000", price="60000"))
    assert field_errors(response, "quantity") == [
        "The amount 120,000,000,000 NOK exceeds the largest amount the ledger stores "
        "(99,999,999,999.9999)."
    ]
    assert not Transaction.objects.exists() and not Holding.objects.exists()


# -- defect 6 -------------------------------------------------------------------------------


def test_a_date_before_1900_is_a_form_error(owner_client, add_url, equinor):
    response = owner_client.post(add_url, _form(date="1899-12-31"))
    assert field_errors(response, "date") == ["1899-12-31 is before 1900-01-01: check the year."]


def test_a_rate_other_than_1_in_the_portfolio_currency_is_a_form_error(
    owner_client, add_url, equinor
):
    response = owner_client.post(add_url, _form(exchange_rate="7"))
    assert field_errors(response, "exchange_rate") == [
        "EQNR.OL trades in NOK, the portfolio's own currency: the exchange rate is 1, not 7."
    ]
    assert not Transaction.objects.exists()


def test_a_16_digit_rate_is_rounded(owner_client, add_url):
    priced_instrument("AAPL", "200", currency="USD")
    data = _form(symbol="AAPL", exchange_rate="0.9941099999999999")
    assert owner_client.post(add_url, data).status_code == 302
    assert Transaction.objects.get().exchange_rate == D("0.99411")


def test_a_dividend_on_shares_never_held_is_a_form_error(owner_client, add_url, equinor):
    response = owner_client.post(add_url, _form(type="DIVIDEND", price="5"))
    assert field_errors(response, "quantity") == [
        "Cannot book a dividend on 5 shares on 2024-01-03: no shares were held by that date."
    ]
    assert not Transaction.objects.exists()


def test_editing_the_date_keeps_the_typed_rate(owner_client, portfolio):
    apple = priced_instrument("AAPL", "200", currency="USD")
    HistoricalExchangeRateFactory(date=DAY, rate=D("10.5"))
    txn = record(portfolio, apple, quantity="5", price="280", exchange_rate="9.87", date=DAY)
    url = reverse("portfolios:transaction_edit", args=[txn.pk])
    form = owner_client.get(url).context["form"]
    assert form.initial["exchange_rate"] == D("9.87")
    data = _form(symbol="AAPL", date="2024-02-01", exchange_rate="9.87")
    assert owner_client.post(url, data).status_code == 302
    txn.refresh_from_db()
    assert (txn.date, txn.exchange_rate) == (dt.date(2024, 2, 1), D("9.87"))


# -- defect 2 -------------------------------------------------------------------------------


def test_an_empty_rate_is_the_providers_rate_of_that_date(owner_client, add_url, provider):
    priced_instrument("AAPL", "200", currency="USD")
    provider.currency_of["AAPL"] = "USD"
    provider.closes["USDNOK=X"] = {DAY: D("10.2345")}
    assert owner_client.post(add_url, _form(symbol="AAPL")).status_code == 302
    txn = Transaction.objects.get()
    assert txn.exchange_rate == D("10.2345")
    assert txn.total_amount == D("14328.3")  # 5 x 280 x 10.2345


def test_an_empty_rate_nobody_has_is_an_error_on_the_rate(owner_client, add_url, provider):
    priced_instrument("AAPL", "200", currency="USD")
    provider.currency_of["AAPL"] = "USD"
    response = owner_client.post(add_url, _form(symbol="AAPL"))
    [message] = field_errors(response, "exchange_rate")
    assert message.startswith("No exchange rate USD->NOK on or before 2024-01-03")


def test_today_is_accepted(owner_client, add_url, equinor):
    today = timezone.localdate().isoformat()
    assert owner_client.post(add_url, _form(date=today)).status_code == 302


def test_a_huge_rate_is_a_form_error_on_the_rate(owner_client, add_url):
    priced_instrument("AAPL", "200", currency="USD")
    response = owner_client.post(add_url, _form(symbol="AAPL", exchange_rate="1" + "0" * 80))
    [message] = field_errors(response, "exchange_rate")
    assert message.endswith("is too large: the ledger stores rates below 100,000.")
