"""Issue 8 through the JSON API: the services' rules answer 400 with the field named in
details, and nothing is saved."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from portfolios import services
from portfolios.models import Holding, Transaction
from tests.api.conftest import assert_error
from tests.factories import HistoricalExchangeRateFactory, InstrumentFactory, PortfolioFactory

D = Decimal
pytestmark = pytest.mark.django_db
URL = "/api/v1/transactions"


@pytest.fixture(autouse=True)
def offline(settings):
    settings.MARKETDATA_PROVIDER = "offline"


@pytest.fixture
def portfolio(owner):
    return PortfolioFactory(user=owner, currency="NOK")


@pytest.fixture
def equinor(db):
    return InstrumentFactory(ticker="EQNR.OL", currency="NOK")


@pytest.fixture
def apple(db):
    return InstrumentFactory(ticker="AAPL", currency="USD")


def payload(portfolio, **overrides):
    data = {
        "portfolio": portfolio.pk,
        "symbol": "EQNR.OL",
        "type": "BUY",
        "date": "2024-01-02",
        "quantity": "10",
        "price": "100",
    }
    return {**data, **overrides}


def refused(api, data, field) -> str:
    error = assert_error(api.post(URL, data, format="json"), 400, "validation_error")
    assert list(error["details"]) == [field], error
    assert not Transaction.objects.exists() and not Holding.objects.exists()
    return error["details"][field][0]


def test_a_too_large_buy_is_a_400_and_saves_nothing(api, portfolio, equinor):
    # Before: 500 with the row saved (SQLite), and every later read failing.
    message = refused(api, payload(portfolio, quantity="2000000", price="60000"), "quantity")
    assert message == (
        "The amount 120,000,000,000 NOK exceeds the largest amount the ledger stores "
        "(99,999,999,999.9999)."
    )
    assert api.get(f"/api/v1/portfolios/{portfolio.pk}").status_code == 200


def test_a_too_large_foreign_buy_is_a_400(api, portfolio, apple):
    data = payload(portfolio, symbol="AAPL", quantity="999999999", exchange_rate="10")
    assert "999,999,999,000 NOK" in refused(api, data, "quantity")


def test_an_amount_too_large_because_of_its_fees_names_the_fees(api, portfolio, equinor):
    # Found by QA: 1 x 100 + fees 99,999,999,999.99 = 100,000,000,099.99 was reported on
    # quantity; the fees are the larger part of the amount, so they are the field at fault.
    data = payload(portfolio, quantity="1", price="100", fees="99999999999.99")
    assert refused(api, data, "fees").startswith("The amount 100,000,000,099.99 NOK exceeds")


@pytest.mark.parametrize("day", ["0001-01-01", "1899-12-31"])
def test_dates_before_1900_are_refused(api, portfolio, equinor, day):
    assert "is before 1900-01-01" in refused(api, payload(portfolio, date=day), "date")


def test_a_date_in_the_future_is_refused(api, portfolio, equinor):
    later = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    assert refused(api, payload(portfolio, date=later), "date").startswith(
        "The date is in the future."
    )


def test_a_rate_other_than_1_in_the_portfolio_currency_is_refused(api, portfolio, equinor):
    message = refused(api, payload(portfolio, exchange_rate="7"), "exchange_rate")
    assert message == (
        "EQNR.OL trades in NOK, the portfolio's own currency: the exchange rate is 1, not 7."
    )


def test_a_16_digit_rate_is_rounded_not_refused(api, portfolio, apple):
    response = api.post(
        URL, payload(portfolio, symbol="AAPL", exchange_rate="0.9941099999999999"), format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["exchange_rate"] == "0.9941100000"
    assert Transaction.objects.get().exchange_rate == D("0.99411")


def test_patching_only_the_date_keeps_a_hand_entered_rate(api, portfolio, apple):
    HistoricalExchangeRateFactory(date=dt.date(2024, 1, 2), rate=D("10.5"))
    created = api.post(
        URL, payload(portfolio, symbol="AAPL", exchange_rate="9.87"), format="json"
    ).json()
    response = api.patch(f"{URL}/{created['id']}", {"date": "2024-02-01"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["exchange_rate"] == "9.8700000000"
    assert Transaction.objects.get().exchange_rate == D("9.87")


def test_patching_only_the_date_moves_a_market_rate_to_the_new_day(api, portfolio, apple):
    # Found by QA: a rate the services took from the market (10.5 on 2 January) stayed
    # 10.5 when the date moved to 1 February, whose stored rate is 11.25. A rate that was
    # its day's market rate follows the date; a typed one (above) stays.
    HistoricalExchangeRateFactory(date=dt.date(2024, 1, 2), rate=D("10.5"))
    HistoricalExchangeRateFactory(date=dt.date(2024, 2, 1), rate=D("11.25"))
    created = api.post(URL, payload(portfolio, symbol="AAPL"), format="json").json()
    assert created["exchange_rate"] == "10.5000000000"
    response = api.patch(f"{URL}/{created['id']}", {"date": "2024-02-01"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["exchange_rate"] == "11.2500000000"


def test_the_edit_form_moves_a_market_rate_with_the_date_too(owner_client, portfolio, apple):
    from django.urls import reverse

    HistoricalExchangeRateFactory(date=dt.date(2024, 1, 2), rate=D("10.5"))
    HistoricalExchangeRateFactory(date=dt.date(2024, 2, 1), rate=D("11.25"))
    txn = services.record_transaction(
        portfolio=portfolio,
        instrument=apple,
        type="BUY",
        date=dt.date(2024, 1, 2),
        quantity=D("1"),
        price=D("100"),
        exchange_rate=None,
    )
    form = {
        "symbol": "AAPL",
        "type": "BUY",
        "date": "2024-02-01",
        "quantity": "1",
        "price": "100",
        "fees": "0",
        "exchange_rate": "10,5",
        "currency": "",
        "notes": "",
    }
    response = owner_client.post(reverse("portfolios:transaction_edit", args=[txn.pk]), form)
    assert response.status_code in (200, 302), response.content
    assert Transaction.objects.get().exchange_rate == D("11.25")


def test_a_put_without_a_rate_takes_the_rate_of_the_date(api, portfolio, apple):
    HistoricalExchangeRateFactory(date=dt.date(2024, 1, 2), rate=D("10.5"))
    created = api.post(
        URL, payload(portfolio, symbol="AAPL", exchange_rate="9.87"), format="json"
    ).json()
    body = payload(portfolio, symbol="AAPL", date="2024-02-01")
    response = api.put(f"{URL}/{created['id']}", body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["exchange_rate"] == "10.5000000000"


def test_a_missing_rate_is_fetched_from_the_provider(api, portfolio, apple, provider):
    # Nothing stored: the provider's USD/NOK of 2 January is the default.
    provider.currency_of["AAPL"] = "USD"
    provider.closes["USDNOK=X"] = {dt.date(2024, 1, 2): D("10.2345")}
    response = api.post(URL, payload(portfolio, symbol="AAPL"), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["exchange_rate"] == "10.2345000000"
    assert body["total_amount"] == "10234.5000"  # 10 x 100 x 10.2345


def test_a_missing_rate_the_provider_lacks_too_is_a_field_error(api, portfolio, apple, provider):
    provider.currency_of["AAPL"] = "USD"
    message = refused(api, payload(portfolio, symbol="AAPL"), "exchange_rate")
    assert message.startswith("No exchange rate USD->NOK on or before 2024-01-02")


def test_a_dividend_on_shares_never_held_is_refused(api, portfolio, equinor):
    message = refused(api, payload(portfolio, type="DIVIDEND", price="5"), "quantity")
    assert message == (
        "Cannot book a dividend on 10 shares on 2024-01-02: no shares were held by that date."
    )


@pytest.mark.parametrize("field", ["price", "quantity", "fees", "exchange_rate"])
def test_a_decimal_comma_is_a_clear_400_never_reinterpreted(api, portfolio, apple, field):
    message = refused(api, payload(portfolio, symbol="AAPL", **{field: "440,50"}), field)
    assert message == "A valid number is required: use a dot as the decimal mark, e.g. 440.50."


def test_a_huge_rate_is_a_400_on_the_rate(api, portfolio, apple):
    error = assert_error(
        api.post(URL, payload(portfolio, symbol="AAPL", exchange_rate="1e80"), format="json"), 400
    )
    assert list(error["details"]) == ["exchange_rate"]
    assert not Transaction.objects.exists()
