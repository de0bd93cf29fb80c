"""SPLIT through POST /api/v1/transactions (quantity = new shares per old share)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from portfolios.models import Holding, Transaction
from tests.api.conftest import assert_error
from tests.factories import InstrumentFactory, PortfolioFactory, record

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


def test_a_split_is_posted_with_its_factor_and_no_price(api, portfolio, equinor):
    # 10 bought at 100 (cost 1000); 2:1 -> 20 shares at 50
    record(portfolio, equinor, quantity="10", price="100", date=dt.date(2024, 1, 2))
    body = {
        "portfolio": portfolio.pk,
        "symbol": "EQNR.OL",
        "type": "SPLIT",
        "date": "2024-02-01",
        "quantity": "2",
    }
    response = api.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["type"], data["quantity"], data["price"]) == ("SPLIT", "2.000000", "0.000000")
    assert D(data["total_amount"]) == 0
    holding = Holding.objects.get(portfolio=portfolio, instrument=equinor)
    assert (holding.quantity, holding.average_cost, holding.total_cost) == (
        D("20"),
        D("50"),
        D("1000"),
    )


def test_a_split_with_a_price_is_a_400_naming_price(api, portfolio, equinor):
    record(portfolio, equinor, quantity="10", price="100", date=dt.date(2024, 1, 2))
    body = {
        "portfolio": portfolio.pk,
        "symbol": "EQNR.OL",
        "type": "SPLIT",
        "date": "2024-02-01",
        "quantity": "2",
        "price": "100",
    }
    error = assert_error(api.post(URL, body, format="json"), 400)
    assert list(error["details"]) == ["price"]
    assert Transaction.objects.count() == 1


def test_a_split_with_nothing_held_is_a_400_naming_the_date(api, portfolio, equinor):
    body = {
        "portfolio": portfolio.pk,
        "symbol": "EQNR.OL",
        "type": "SPLIT",
        "date": "2024-02-01",
        "quantity": "0.1",
    }
    error = assert_error(api.post(URL, body, format="json"), 400)
    assert "no shares are held" in error["details"]["date"][0]
    assert not Transaction.objects.exists()


def test_a_buy_still_needs_its_price(api, portfolio, equinor):
    body = {
        "portfolio": portfolio.pk,
        "symbol": "EQNR.OL",
        "type": "BUY",
        "date": "2024-02-01",
        "quantity": "2",
    }
    error = assert_error(api.post(URL, body, format="json"), 400)
    assert list(error["details"]) == ["price"]


def test_the_schema_says_what_a_splits_quantity_is(api):
    schema = api.get("/api/v1/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "new shares per old share" in schema
