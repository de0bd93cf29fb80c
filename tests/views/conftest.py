from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import (
    HistoricalStockPriceFactory,
    InstrumentFactory,
    PortfolioFactory,
    record,
)

# The fake market-data provider, for the tests that need a remote-looking one.
from tests.marketdata.conftest import _fresh_breakers, provider  # noqa: F401


@pytest.fixture(autouse=True)
def _offline_market_data(settings):
    # Pages ask for quotes, history and search: the offline provider answers from the
    # database, so no test depends on the network.
    settings.MARKETDATA_PROVIDER = "offline"
    settings.LIVE_REFRESH_SECONDS = 30


def htmx(client, url, data=None, method="get", **extra):
    """A request as htmx sends it."""
    return getattr(client, method)(url, data, HTTP_HX_REQUEST="true", **extra)


def priced_instrument(ticker: str, price: str = "100", currency: str = "NOK", day=None):
    instrument = InstrumentFactory(ticker=ticker, currency=currency)
    HistoricalStockPriceFactory(
        instrument=instrument,
        date=day or timezone.localdate() - dt.timedelta(days=1),
        close=Decimal(price),
    )
    return instrument


@pytest.fixture
def portfolio(owner):
    return PortfolioFactory(user=owner, name="Main", currency="NOK")


@pytest.fixture
def equinor():
    return priced_instrument("EQNR.OL", "300")


@pytest.fixture
def buy(portfolio, equinor):
    return record(
        portfolio,
        equinor,
        quantity="10",
        price="250",
        date=timezone.localdate() - dt.timedelta(days=30),
    )


@pytest.fixture
def holding(buy):
    return buy.holding
