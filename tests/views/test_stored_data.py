"""Issue 8, defect 1 (read side): no stored row makes a page, an admin list or an API call
fail. The rows are written straight through the ORM, as an older version or a hand edit
left them; the services now refuse them (the write side is tested with the services)."""

from __future__ import annotations

import datetime as dt
from decimal import Context, Decimal, InvalidOperation

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from portfolios.models import Holding, Transaction
from tests.conftest import bearer
from tests.factories import UserFactory, record
from tests.views.conftest import htmx, priced_instrument

D = Decimal
TODAY = timezone.localdate

sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite",
    reason="Only SQLite stores a value outside its column's shape (PostgreSQL refuses it).",
)


def _oversized(portfolio, instrument):
    """BUY 2,000,000 at 60,000: total_amount 120,000,000,000 (12 integer digits), one
    more than MONEY (15 digits, 4 of them decimals) holds; SQLite keeps it as a float."""
    txn = record(
        portfolio, instrument, quantity="1", price="1", date=TODAY() - dt.timedelta(days=40)
    )
    Transaction.objects.filter(pk=txn.pk).update(
        quantity=D("2000000"), price=D("60000"), total_amount=D("120000000000")
    )
    Holding.objects.filter(pk=txn.holding_id).update(
        quantity=D("2000000"), average_cost=D("60000"), total_cost=D("120000000000")
    )
    return txn


@pytest.fixture
def broken(portfolio, equinor, buy):
    """The portfolio holds 10 EQNR (bought at 250, close 300) and one oversized holding."""
    return _oversized(portfolio, priced_instrument("BIG.OL", "60000"))


@sqlite_only
def test_django_alone_cannot_read_such_a_row(broken):
    # The reproduction: Django's stock SQLite converter quantizes to the column's shape.
    # (Imported here: on its own, outside an SQLite run, the module is a circular import.)
    from django.db.backends.sqlite3.base import DatabaseOperations as StockOperations

    column = Transaction._meta.get_field("total_amount").get_col("t")
    strict = StockOperations.get_decimalfield_converter(connection.ops, column)
    with pytest.raises(InvalidOperation):
        strict(1.2e11, column, connection)
    with pytest.raises(InvalidOperation):
        Context(prec=15).create_decimal_from_float(1.2e11).quantize(
            D("0.0001"), context=Context(prec=15)
        )


@sqlite_only
def test_the_row_reads_as_the_stored_float(broken):
    assert Transaction.objects.get(pk=broken.pk).total_amount == D("120000000000")
    assert Holding.objects.get(pk=broken.holding_id).total_cost == D("120000000000")


def _pages(portfolio, broken):
    holding = broken.holding_id
    return [
        reverse("home"),
        reverse("home") + "?range=1y",
        reverse("home") + "?range=max",
        reverse("portfolios:list"),
        reverse("portfolios:detail", args=[portfolio.pk]),
        reverse("portfolios:detail", args=[portfolio.pk]) + "?range=1y",
        reverse("portfolios:detail", args=[portfolio.pk]) + "?range=max",
        reverse("portfolios:holding", args=[holding]),
        reverse("portfolios:holding", args=[holding]) + "?range=max",
        reverse("portfolios:transaction_edit", args=[broken.pk]),
        reverse("portfolios:transaction_delete", args=[broken.pk]),
        reverse("portfolios:holding_delete", args=[holding]),
    ]


@sqlite_only
def test_every_page_renders_and_names_the_holding(owner_client, portfolio, broken):
    for url in _pages(portfolio, broken):
        response = owner_client.get(url)
        assert response.status_code == 200, url
    page = owner_client.get(reverse("portfolios:detail", args=[portfolio.pk])).content.decode()
    assert "The stored total cost (120000000000" in page
    assert "could not be computed" in page
    # The rest renders: EQNR 10 x 300 = 3,000 is the whole market value.
    assert 'id="total-value">3\u202f000.00\u00a0NOK<' in page


@sqlite_only
def test_every_live_part_renders(owner_client, portfolio, broken):
    parts = [
        reverse("dashboard_chart") + "?range=1y",
        reverse("portfolios:holdings", args=[portfolio.pk]),
        reverse("portfolios:chart", args=[portfolio.pk]) + "?range=max",
        reverse("portfolios:holding", args=[broken.holding_id]),
        reverse("portfolios:holding_chart", args=[broken.holding_id]) + "?range=1y",
        reverse("portfolios:holding_transactions", args=[broken.holding_id]),
    ]
    for url in parts:
        assert htmx(owner_client, url).status_code == 200, url


@sqlite_only
def test_the_admin_lists_and_forms_render(client, broken):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    urls = [
        reverse("admin:portfolios_transaction_changelist"),
        reverse("admin:portfolios_holding_changelist"),
        reverse("admin:portfolios_portfolio_changelist"),
        reverse("admin:portfolios_transaction_change", args=[broken.pk]),
        reverse("admin:portfolios_holding_change", args=[broken.holding_id]),
        reverse("admin:portfolios_transaction_delete", args=[broken.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 200, url


@sqlite_only
def test_every_api_read_answers_and_the_row_can_be_deleted(owner, portfolio, broken):
    api = bearer(owner)
    holding = broken.holding_id
    reads = [
        "/api/v1/portfolios",
        f"/api/v1/portfolios/{portfolio.pk}",
        f"/api/v1/portfolios/{portfolio.pk}/holdings",
        f"/api/v1/portfolios/{portfolio.pk}/performance",
        f"/api/v1/portfolios/{portfolio.pk}/performance?start=2000-01-01",
        "/api/v1/performance",
        f"/api/v1/transactions/portfolio/{portfolio.pk}",
        f"/api/v1/holdings/{holding}/transactions",
        f"/api/v1/transactions/{broken.pk}",
    ]
    for url in reads:
        assert api.get(url).status_code == 200, url
    body = api.get(f"/api/v1/portfolios/{portfolio.pk}").json()
    big = next(h for h in body["holdings"] if h["symbol"] == "BIG.OL")
    assert big["total_cost"] == "120000000000.00"
    assert big["current_value"] is None
    assert "out of range" in big["error"]
    # EQNR alone: 10 x 300
    assert body["total_value"] == "3000.00"
    assert api.get(f"/api/v1/transactions/{broken.pk}").json()["total_amount"] == (
        "120000000000.0000"
    )
    # The only transaction of its holding: deleting it removes the holding too.
    assert api.delete(f"/api/v1/transactions/{broken.pk}").status_code == 204
    assert not Holding.objects.filter(pk=holding).exists()


def test_figures_too_large_for_the_response_shape_still_answer(owner, portfolio, buy):
    # In shape on every database (quantity 999,999,999 and price 99,999,999 of 15,6), but
    # the value 999,999,999 x 99,999,999 ~ 1e17 has 19 digits at 2 decimals, more than
    # the response's money shape (17): the response carries it whole instead of failing.
    giant = priced_instrument("GIANT.OL", "99999999")
    txn = record(portfolio, giant, quantity="1", price="1", date=TODAY() - dt.timedelta(days=5))
    Holding.objects.filter(pk=txn.holding_id).update(quantity=D("999999999"))
    api = bearer(owner)
    body = api.get(f"/api/v1/portfolios/{portfolio.pk}").json()
    row = next(h for h in body["holdings"] if h["symbol"] == "GIANT.OL")
    assert row["current_value"] == "99999998900000001.00"
    assert api.get(f"/api/v1/portfolios/{portfolio.pk}/performance").status_code == 200


def test_a_performance_that_cannot_be_computed_is_an_error_state(
    owner, owner_client, portfolio, buy, monkeypatch
):
    def fail(*args, **kwargs):
        raise InvalidOperation("stored data out of range")

    monkeypatch.setattr("portfolios.performance_data.portfolio_days", fail)
    api = bearer(owner)
    body = api.get(f"/api/v1/portfolios/{portfolio.pk}/performance").json()
    assert "could not be computed" in body["error"]
    assert body["series"] == [] and body["twr"] is None
    household = api.get("/api/v1/performance").json()
    assert household["missing"] == [f"{portfolio.name}: {body['error']}"]
    chart = htmx(owner_client, reverse("portfolios:chart", args=[portfolio.pk]), {"range": "1y"})
    assert chart.status_code == 200
    assert "could not be computed" in chart.content.decode()
    assert owner_client.get(reverse("home") + "?range=1y").status_code == 200


@sqlite_only
def test_other_out_of_shape_rows_answer_in_the_api_and_the_edit_page(owner, portfolio, buy):
    """Found by QA: a rate, a pension value, a goal, closes and rates of 1e20 (each outside
    its column's shape, which only SQLite keeps), and a quantity of 1e30 on the very page
    meant to fix it, each made one API call or the edit page answer 500."""
    from marketdata.models import HistoricalExchangeRate, HistoricalStockPrice
    from pensions.models import PensionValueEntry
    from tests.factories import PensionAccountFactory

    huge = D("1e20")
    Transaction.objects.filter(pk=buy.pk).update(exchange_rate=huge)
    account = PensionAccountFactory(user=owner)
    PensionValueEntry.objects.create(account=account, date=TODAY(), value=D("1"))
    PensionValueEntry.objects.filter(account=account).update(value=huge)
    owner.profile.retirement_goal_amount = D("1")
    owner.profile.save()
    type(owner.profile).objects.filter(pk=owner.profile.pk).update(retirement_goal_amount=huge)
    HistoricalStockPrice.objects.filter(instrument=buy.holding.instrument).update(close=huge)
    HistoricalExchangeRate.objects.create(
        base_currency="USD", target_currency="NOK", date=TODAY(), rate=D("10")
    )
    HistoricalExchangeRate.objects.update(rate=huge)
    api = bearer(owner)
    symbol = buy.holding.instrument.ticker
    for path in (
        f"/api/v1/transactions/portfolio/{portfolio.pk}",
        f"/api/v1/transactions/{buy.pk}",
        "/api/v1/pension/accounts",
        f"/api/v1/pension/accounts/{account.pk}/values",
        "/api/v1/auth/me",
        f"/api/v1/stocks/{symbol}/history",
        "/api/v1/exchange-rates/USD/NOK/history",
    ):
        assert api.get(path).status_code == 200, path

    Transaction.objects.filter(pk=buy.pk).update(quantity=D("1e30"))
    from django.test import Client

    client = Client()
    client.force_login(owner)
    response = client.get(reverse("portfolios:transaction_edit", args=[buy.pk]))
    assert response.status_code == 200
