from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portfolios.models import Holding, Transaction
from tests.factories import HistoricalExchangeRateFactory, InstrumentFactory, PortfolioFactory
from tests.views.conftest import htmx, priced_instrument

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def _form(**overrides):
    data = {
        "symbol": "EQNR.OL",
        "type": "BUY",
        "date": (TODAY() - dt.timedelta(days=2)).isoformat(),
        "quantity": "5",
        "price": "280",
        "fees": "10",
        "exchange_rate": "",
        "currency": "",
        "notes": "",
    }
    data.update(overrides)
    return data


def test_add_page_prefills_the_symbol(owner_client, portfolio):
    url = reverse("portfolios:transaction_add", args=[portfolio.pk])
    response = owner_client.get(url, {"symbol": "EQNR.OL"})
    assert response.status_code == 200
    assert b"<html" in response.content
    assert response.context["form"].initial["symbol"] == "EQNR.OL"


def test_add_full_page_records_through_the_ledger(owner_client, portfolio, equinor):
    url = reverse("portfolios:transaction_add", args=[portfolio.pk])
    response = owner_client.post(url, _form(symbol="eqnr.ol"))
    assert response.status_code == 302
    holding = Holding.objects.get(portfolio=portfolio, instrument=equinor)
    assert holding.quantity == 5
    assert holding.total_cost == Decimal("1410")  # 5 x 280 + 10


def test_add_with_htmx_answers_a_fresh_form_and_the_refresh_event(owner_client, portfolio, equinor):
    url = reverse("portfolios:transaction_add", args=[portfolio.pk])
    response = htmx(owner_client, url, _form(), method="post")
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert "Saved: buy of 5 EQNR.OL" in body
    assert 'value="EQNR.OL"' not in body  # the form is empty again
    assert "ledger-changed" in json.loads(response["HX-Trigger"])
    assert Transaction.objects.filter(portfolio=portfolio).count() == 1


def test_oversell_is_an_error_on_quantity(owner_client, buy):
    url = reverse("portfolios:transaction_add", args=[buy.portfolio.pk])
    response = htmx(owner_client, url, _form(type="SELL", quantity="11"), method="post")
    body = response.content.decode()
    assert response.status_code == 422
    assert "Cannot sell 11 shares" in body
    quantity_field = re.search(r'<div class="field has-error">\s*<label for="id_quantity"', body)
    assert quantity_field is not None
    assert Transaction.objects.filter(portfolio=buy.portfolio).count() == 1


def test_unknown_ticker_is_an_error_on_the_ticker(owner_client, portfolio):
    url = reverse("portfolios:transaction_add", args=[portfolio.pk])
    response = owner_client.post(url, _form(symbol="NOPE.XX"))
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert "Unknown symbol" in errors["symbol"][0]
    assert "give its currency" in errors["symbol"][0]


def test_an_unknown_ticker_with_its_currency_is_added_by_hand(owner_client, portfolio):
    url = reverse("portfolios:transaction_add", args=[portfolio.pk])
    response = owner_client.post(url, _form(symbol="FUND.X", currency="nok"))
    assert response.status_code == 302
    assert Holding.objects.get(portfolio=portfolio).instrument.currency == "NOK"


def test_missing_fx_asks_for_the_exchange_rate(owner_client, portfolio):
    priced_instrument("AAPL", "200", currency="USD")
    url = reverse("portfolios:transaction_add", args=[portfolio.pk])
    response = htmx(owner_client, url, _form(symbol="AAPL", price="180"), method="post")
    body = response.content.decode()
    assert response.status_code == 422
    assert "No exchange rate USD-&gt;NOK" in body
    # The optional fields, the exchange rate among them, are open to fill in.
    assert '<details class="more" open>' in body
    response = owner_client.post(url, _form(symbol="AAPL", price="180", exchange_rate="10.5"))
    assert response.status_code == 302
    assert Transaction.objects.get(portfolio=portfolio).exchange_rate == Decimal("10.5")


def test_exchange_rate_defaults_to_the_stored_rate_of_the_day(owner_client, portfolio):
    priced_instrument("AAPL", "200", currency="USD")
    day = TODAY() - dt.timedelta(days=2)
    HistoricalExchangeRateFactory(base_currency="USD", target_currency="NOK", date=day)
    url = reverse("portfolios:transaction_add", args=[portfolio.pk])
    owner_client.post(url, _form(symbol="AAPL", date=day.isoformat()))
    assert Transaction.objects.get(portfolio=portfolio).exchange_rate == Decimal("10.5")


def test_future_dates_and_bad_numbers_are_refused(owner_client, portfolio, equinor):
    url = reverse("portfolios:transaction_add", args=[portfolio.pk])
    tomorrow = (TODAY() + dt.timedelta(days=1)).isoformat()
    response = owner_client.post(url, _form(date=tomorrow, quantity="0", price="-1"))
    assert response.status_code == 422
    assert set(response.context["form"].errors) == {"date", "quantity", "price"}


def test_edit_form_is_inline_for_htmx(owner_client, buy):
    response = htmx(owner_client, reverse("portfolios:transaction_edit", args=[buy.pk]))
    body = response.content.decode()
    assert "<html" not in body
    assert 'class="txns"' in body and 'hx-target="closest .txns"' in body
    assert 'value="EQNR.OL"' in body and 'value="10"' in body


def test_edit_with_htmx_saves_and_sends_the_refresh_event(owner_client, buy):
    url = reverse("portfolios:transaction_edit", args=[buy.pk])
    data = _form(quantity="12", price="250", fees="0", date=buy.date.isoformat())
    response = htmx(owner_client, url, data, method="post")
    assert response.status_code == 204
    assert "ledger-changed" in json.loads(response["HX-Trigger"])
    buy.holding.refresh_from_db()
    assert buy.holding.quantity == 12


def test_edit_that_would_make_a_later_sale_oversell_is_refused(owner_client, buy):
    from tests.factories import record

    record(buy.portfolio, buy.holding.instrument, "SELL", quantity="8", price="300", date=TODAY())
    url = reverse("portfolios:transaction_edit", args=[buy.pk])
    data = _form(quantity="5", price="250", date=buy.date.isoformat())
    response = htmx(owner_client, url, data, method="post")
    assert response.status_code == 422
    assert "later sale oversell" in response.content.decode()
    buy.refresh_from_db()
    assert buy.quantity == 10


def test_edit_full_page_goes_back_to_the_holding(owner_client, buy):
    url = reverse("portfolios:transaction_edit", args=[buy.pk])
    response = owner_client.post(url, _form(quantity="3", date=buy.date.isoformat()))
    assert response["Location"] == reverse("portfolios:holding", args=[buy.holding_id])


def test_delete_the_last_transaction_closes_the_holding(owner_client, buy):
    url = reverse("portfolios:transaction_delete", args=[buy.pk])
    assert b"Delete this transaction?" in owner_client.get(url).content
    response = htmx(owner_client, url, method="post")
    assert response["HX-Redirect"] == reverse("portfolios:detail", args=[buy.portfolio_id])
    assert not Holding.objects.filter(pk=buy.holding_id).exists()


def test_delete_with_htmx_sends_the_refresh_event(owner_client, buy):
    from tests.factories import record

    second = record(buy.portfolio, buy.holding.instrument, quantity="1", price="1", date=TODAY())
    response = htmx(
        owner_client, reverse("portfolios:transaction_delete", args=[second.pk]), method="post"
    )
    assert response.status_code == 204
    assert "ledger-changed" in json.loads(response["HX-Trigger"])


def test_delete_that_would_oversell_is_refused_in_the_list(owner_client, buy):
    from tests.factories import record

    record(buy.portfolio, buy.holding.instrument, "SELL", quantity="8", price="300", date=TODAY())
    url = reverse("portfolios:transaction_delete", args=[buy.pk])
    response = htmx(owner_client, url, method="post")
    body = response.content.decode()
    assert response.status_code == 200
    assert "later sale oversell" in body and 'class="txns"' in body
    assert Transaction.objects.filter(pk=buy.pk).exists()


def test_holding_transactions_fragment(owner_client, buy):
    url = reverse("portfolios:holding_transactions", args=[buy.holding_id])
    response = htmx(owner_client, url)
    body = response.content.decode()
    assert "<html" not in body
    assert f'id="txn-{buy.pk}"' in body
    assert reverse("portfolios:transaction_edit", args=[buy.pk]) in body
    assert reverse("portfolios:transaction_delete", args=[buy.pk]) in body
    assert owner_client.get(url)["Location"] == reverse("portfolios:holding", args=[buy.holding_id])


def test_holding_page_and_its_parts(owner_client, buy):
    url = reverse("portfolios:holding", args=[buy.holding_id])
    page = owner_client.get(url).content.decode()
    assert "<html" in page and "Price history" in page and f'id="txn-{buy.pk}"' in page
    assert '<circle class="marker buy"' in page
    summary = htmx(owner_client, url).content.decode()
    assert "<html" not in summary and 'id="holding-summary"' in summary
    chart = htmx(owner_client, reverse("portfolios:holding_chart", args=[buy.holding_id]))
    assert b"<html" not in chart.content and b'id="price-chart"' in chart.content


def test_delete_holding(owner_client, buy):
    url = reverse("portfolios:holding_delete", args=[buy.holding_id])
    assert b"1 transaction" in owner_client.get(url).content
    response = owner_client.post(url)
    assert response["Location"] == reverse("portfolios:detail", args=[buy.portfolio_id])
    assert not Holding.objects.filter(pk=buy.holding_id).exists()


def test_portfolio_chart_fragment(owner_client, buy):
    url = reverse("portfolios:chart", args=[buy.portfolio_id])
    response = htmx(owner_client, url, {"range": "max"})
    body = response.content.decode()
    assert "<html" not in body and 'class="series chart-primary' in body
    assert "Time-weighted return" in body
    page = owner_client.get(url, {"range": "3m"}, follow=True).content.decode()
    assert "<html" in page and 'class="series chart-primary' in page


def test_htmx_post_passes_csrf_with_the_token_from_the_body(owner, buy):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    page = client.get(reverse("portfolios:detail", args=[buy.portfolio_id])).content.decode()
    headers = json.loads(re.search(r"<body hx-headers='([^']+)'", page).group(1))
    url = reverse("portfolios:transaction_add", args=[buy.portfolio_id])
    refused = client.post(url, _form(), HTTP_HX_REQUEST="true")
    assert refused.status_code == 403
    accepted = client.post(
        url, _form(), HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=headers["X-CSRFToken"]
    )
    assert accepted.status_code == 200
    assert "ledger-changed" in json.loads(accepted["HX-Trigger"])


def test_search_suggests_instruments(owner_client):
    InstrumentFactory(ticker="EQNR.OL", company_name="Equinor ASA")
    url = reverse("portfolios:instrument_search")
    response = htmx(owner_client, url, {"symbol": "eqn"}, HTTP_HX_TARGET="id_symbol_listbox")
    body = response.content.decode()
    assert "<html" not in body
    assert 'role="option"' in body and 'data-value="EQNR.OL"' in body
    assert 'id="id_symbol_listbox-1"' in body
    none = htmx(owner_client, url, {"symbol": "zzzz"}).content.decode()
    assert 'aria-disabled="true"' in none
    page = owner_client.get(url, {"q": "Equinor"}).content.decode()
    assert "<html" in page and "EQNR.OL" in page


def test_a_transaction_in_another_users_portfolio_cannot_be_added(outsider_client, owner):
    theirs = PortfolioFactory(user=owner)
    url = reverse("portfolios:transaction_add", args=[theirs.pk])
    assert outsider_client.post(url, _form()).status_code == 404
