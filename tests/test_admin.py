from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib import admin
from django.urls import reverse

from portfolios import services
from portfolios.models import Holding, Transaction
from tests.factories import (
    HistoricalExchangeRateFactory,
    HistoricalStockPriceFactory,
    InstrumentFactory,
    PensionValueEntryFactory,
    PortfolioFactory,
    UserFactory,
)

D = Decimal


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def holding(db):
    portfolio = PortfolioFactory()
    instrument = InstrumentFactory(ticker="EQNR.OL")
    services.record_transaction(
        portfolio=portfolio,
        instrument=instrument,
        type="BUY",
        date=dt.date(2024, 1, 2),
        quantity=D("10"),
        price=D("300"),
        fees=D("10"),
    )
    return Holding.objects.get(portfolio=portfolio, instrument=instrument)


def _admin_urls() -> list:
    names = []
    for model in admin.site._registry:
        meta = model._meta
        names.append(pytest.param(f"admin:{meta.app_label}_{meta.model_name}", id=meta.label))
    return names


@pytest.mark.parametrize("name", _admin_urls())
def test_every_changelist_and_add_form_renders(admin_client, holding, name):
    HistoricalStockPriceFactory()
    HistoricalExchangeRateFactory()
    PensionValueEntryFactory()
    assert admin_client.get(reverse(f"{name}_changelist")).status_code == 200
    # Holdings come from transactions and JWTs from logins: neither has an add form.
    no_add = {"admin:portfolios_holding", "admin:token_blacklist_outstandingtoken"}
    expected = 403 if name in no_add else 200
    assert admin_client.get(reverse(f"{name}_add")).status_code == expected


def test_holding_page_shows_transactions_inline_and_read_only_figures(admin_client, holding):
    response = admin_client.get(reverse("admin:portfolios_holding_change", args=[holding.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "3010.0000" in body  # total_cost: 10 x 300 + 10 fees
    assert 'name="total_cost"' not in body  # read-only, not an input


def test_portfolio_page_shows_holdings_inline(admin_client, holding):
    url = reverse("admin:portfolios_portfolio_change", args=[holding.portfolio_id])
    assert "EQNR.OL" in admin_client.get(url).content.decode()


def _form(holding, **overrides):
    data = {
        "portfolio": holding.portfolio_id,
        "instrument": holding.instrument_id,
        "type": "SELL",
        "date": "2024-02-01",
        "quantity": "4",
        "price": "320",
        "fees": "5",
        "exchange_rate": "1",
        "notes": "",
    }
    return {**data, **overrides}


def test_adding_a_transaction_goes_through_the_ledger(admin_client, holding):
    response = admin_client.post(reverse("admin:portfolios_transaction_add"), _form(holding))
    assert response.status_code == 302
    holding.refresh_from_db()
    assert holding.quantity == D("6")
    # proceeds 4 x 320 - 5 = 1275; removed 301 x 4 = 1204
    assert holding.realized_gain == D("71")
    sell = Transaction.objects.get(type="SELL")
    assert sell.portfolio_id == holding.portfolio_id
    assert sell.total_amount == D("1275")


def test_an_oversell_in_the_admin_is_a_form_error(admin_client, holding):
    url = reverse("admin:portfolios_transaction_add")
    response = admin_client.post(url, _form(holding, quantity="11"))
    assert response.status_code == 200
    assert "Cannot sell 11 shares on 2024-02-01: only 10 held" in response.content.decode()
    assert Transaction.objects.count() == 1


def test_editing_a_buy_below_a_later_sale_is_a_form_error(admin_client, holding):
    admin_client.post(reverse("admin:portfolios_transaction_add"), _form(holding, quantity="8"))
    buy = Transaction.objects.get(type="BUY")
    url = reverse("admin:portfolios_transaction_change", args=[buy.pk])
    response = admin_client.post(url, _form(holding, type="BUY", date="2024-01-02", quantity="5"))
    assert response.status_code == 200
    assert "would make a later sale oversell" in response.content.decode()
    buy.refresh_from_db()
    assert buy.quantity == D("10")


def test_deleting_a_buy_that_a_sale_needs_shows_an_error(admin_client, holding):
    admin_client.post(reverse("admin:portfolios_transaction_add"), _form(holding))
    buy = Transaction.objects.get(type="BUY")
    url = reverse("admin:portfolios_transaction_delete", args=[buy.pk])
    response = admin_client.post(url, {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert "oversell" in response.content.decode()
    assert Transaction.objects.count() == 2


def test_deleting_the_last_transaction_removes_the_holding(admin_client, holding):
    buy = Transaction.objects.get()
    url = reverse("admin:portfolios_transaction_delete", args=[buy.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not Holding.objects.exists()


def test_bulk_delete_replays_and_is_all_or_nothing(admin_client, holding):
    admin_client.post(reverse("admin:portfolios_transaction_add"), _form(holding))
    buy = Transaction.objects.get(type="BUY")
    url = reverse("admin:portfolios_transaction_changelist")
    response = admin_client.post(
        url, {"action": "delete_with_replay", "_selected_action": [buy.pk]}, follow=True
    )
    assert "Nothing was deleted" in response.content.decode()
    assert Transaction.objects.count() == 2

    ids = list(Transaction.objects.values_list("pk", flat=True))
    admin_client.post(url, {"action": "delete_with_replay", "_selected_action": ids})
    assert not Transaction.objects.exists()
    assert not Holding.objects.exists()


def test_replay_action_repairs_stored_figures(admin_client, holding):
    Holding.objects.filter(pk=holding.pk).update(quantity=D("999"), total_cost=D("1"))
    url = reverse("admin:portfolios_holding_changelist")
    admin_client.post(url, {"action": "replay_selected", "_selected_action": [holding.pk]})
    holding.refresh_from_db()
    assert (holding.quantity, holding.total_cost) == (D("10"), D("3010"))


def test_switching_dividend_treatment_replays_holdings(admin_client, holding):
    services.record_transaction(
        portfolio=holding.portfolio,
        instrument=holding.instrument,
        type="DIVIDEND",
        date=dt.date(2024, 3, 1),
        quantity=D("10"),
        price=D("5"),
    )
    holding.refresh_from_db()
    assert holding.total_cost == D("2960")
    portfolio = holding.portfolio
    url = reverse("admin:portfolios_portfolio_change", args=[portfolio.pk])
    data = {
        "user": portfolio.user_id,
        "name": portfolio.name,
        "description": "",
        "brokerage_firm": "Nordnet",
        "currency": "NOK",
        "used_credit": "0",
        "holdings-TOTAL_FORMS": "1",
        "holdings-INITIAL_FORMS": "1",
        "holdings-MIN_NUM_FORMS": "0",
        "holdings-MAX_NUM_FORMS": "0",
        "holdings-0-id": holding.pk,
        "holdings-0-portfolio": portfolio.pk,
    }  # dividends_reduce_cost_basis unchecked
    assert admin_client.post(url, data).status_code == 302
    holding.refresh_from_db()
    assert holding.total_cost == D("3010")
    assert holding.dividends == D("50")


def test_holding_page_query_count_does_not_grow_with_transactions(admin_client, holding):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("admin:portfolios_holding_change", args=[holding.pk])
    admin_client.get(url)  # one-off lookups (content types, permissions) are cached
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(url).status_code == 200
    for day in range(3, 28):
        services.record_transaction(
            portfolio=holding.portfolio,
            instrument=holding.instrument,
            type="BUY",
            date=dt.date(2024, 1, day),
            quantity=D("1"),
            price=D("300"),
        )
    with CaptureQueriesContext(connection) as many:
        assert admin_client.get(url).status_code == 200
    assert len(many) == len(few)
