"""Issue 8, defect 3: the series ends at the live valuation. When a period ends today, its
last point is valued with the same quotes and rates as the live table
(portfolios.valuation.summarize), so the chart's last point is the table's total value."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portfolios import valuation
from portfolios.performance_data import performance_for
from tests.factories import (
    HistoricalExchangeRateFactory,
    HistoricalStockPriceFactory,
    InstrumentFactory,
    PortfolioFactory,
    record,
)
from tests.marketdata.conftest import _fresh_breakers, provider  # noqa: F401

D = Decimal
TODAY = timezone.localdate


@pytest.fixture
def live(request):
    """The fake provider, quoting what the test sets in `quotes` (it never reaches out)."""
    fake = request.getfixturevalue("provider")
    quotes: dict[str, Decimal] = {}
    fake.price = lambda symbol: quotes[symbol]
    fake.currency_of["AAPL"] = "USD"
    return quotes


@pytest.fixture
def portfolio(owner):
    return PortfolioFactory(user=owner, currency="NOK")


def test_todays_point_is_the_live_valuation(portfolio, live):
    # 10 EQNR bought at 100; closes 100 up to yesterday; the live quote is 110.5.
    # 2 AAPL bought at 150\u00a0USD (10\u00a0NOK/USD); close 150, USD/NOK 10 yesterday, 10.2 today.
    eqnr = InstrumentFactory(ticker="EQNR.OL")
    aapl = InstrumentFactory(ticker="AAPL", currency="USD")
    start = TODAY() - dt.timedelta(days=10)
    record(portfolio, eqnr, quantity="10", price="100", date=start)
    record(portfolio, aapl, quantity="2", price="150", exchange_rate="10", date=start)
    yesterday = TODAY() - dt.timedelta(days=1)
    for instrument, close in [(eqnr, "100"), (aapl, "150")]:
        HistoricalStockPriceFactory(instrument=instrument, date=start, close=D(close))
        HistoricalStockPriceFactory(instrument=instrument, date=yesterday, close=D(close))
    HistoricalExchangeRateFactory(date=start, rate=D("10"))
    HistoricalExchangeRateFactory(date=TODAY(), rate=D("10.2"))
    live.update({"EQNR.OL": D("110.5"), "AAPL": D("151")})

    result = performance_for(portfolio, start, TODAY())
    summary = valuation.summarize([portfolio])[0]

    # live: 10 x 110.5 + 2 x 151 x 10.2 = 1105 + 3080.4 = 4185.4
    assert summary.total_value == D("4185.4")
    assert result.series[-1].value == result.closing_value == D("4185.4")
    # yesterday, from the stored closes: 10 x 100 + 2 x 150 x 10 = 4000
    assert result.series[-2].value == D("4000")
    # opening 0, 4000 in on start: gain = 4185.4 - 0 - 4000
    assert result.gain == D("185.4")


def test_a_period_ending_before_today_uses_the_stored_closes(portfolio, live):
    eqnr = InstrumentFactory(ticker="EQNR.OL")
    start = TODAY() - dt.timedelta(days=10)
    record(portfolio, eqnr, quantity="10", price="100", date=start)
    HistoricalStockPriceFactory(instrument=eqnr, date=start, close=D("100"))
    live["EQNR.OL"] = D("120")

    result = performance_for(portfolio, start, TODAY() - dt.timedelta(days=1))

    assert result.closing_value == D("1000")


def test_a_new_quote_is_a_new_last_point(portfolio, live):
    eqnr = InstrumentFactory(ticker="EQNR.OL")
    start = TODAY() - dt.timedelta(days=3)
    record(portfolio, eqnr, quantity="10", price="100", date=start)
    live["EQNR.OL"] = D("120")
    assert performance_for(portfolio, start, TODAY()).closing_value == D("1200")
    live["EQNR.OL"] = D("125")
    cache.delete("stock:EQNR.OL")  # the quote's TTL has run out
    assert performance_for(portfolio, start, TODAY()).closing_value == D("1250")


def test_the_charts_last_point_is_the_tables_total(owner_client, portfolio, live):
    eqnr = InstrumentFactory(ticker="EQNR.OL")
    record(portfolio, eqnr, quantity="7", price="100", date=TODAY() - dt.timedelta(days=30))
    HistoricalStockPriceFactory(
        instrument=eqnr, date=TODAY() - dt.timedelta(days=2), close=D("101")
    )
    live["EQNR.OL"] = D("103.25")

    page = owner_client.get(f"/portfolios/{portfolio.pk}/?range=1y").content.decode()

    # 7 x 103.25 = 722.75, in the table and as the chart's last "Market value"
    assert 'id="total-value">722.75\u00a0NOK<' in page
    assert 'Market value <strong class="num">722.75\u00a0NOK</strong>' in page


quantities = st.integers(1, 500).map(D)
prices = st.integers(100, 100_000).map(lambda n: D(n) / 100)
rates = st.integers(800, 1200).map(lambda n: D(n) / 100)


@st.composite
def ledgers(draw):
    """Buys, sales and dividends of a NOK and a USD instrument over the last 40 days,
    never overselling; closes and USD/NOK rates on random days; live quotes."""
    trades, held = [], {"EQNR.OL": D(0), "AAPL": D(0)}
    for offset in sorted(draw(st.lists(st.integers(0, 40), min_size=1, max_size=8))):
        symbol = draw(st.sampled_from(sorted(held)))
        kind = draw(st.sampled_from(["BUY", "BUY", "SELL", "DIVIDEND"]))
        quantity = draw(quantities)
        if kind != "BUY":
            if not held[symbol]:
                continue
            quantity = min(quantity, held[symbol])
        held[symbol] += quantity if kind == "BUY" else -quantity if kind == "SELL" else 0
        trades.append((40 - offset, symbol, kind, quantity, draw(prices), draw(rates)))
    closes = {
        symbol: draw(st.dictionaries(st.integers(1, 60), prices, max_size=10)) for symbol in held
    }
    fx = draw(st.dictionaries(st.integers(0, 60), rates, min_size=1, max_size=10))
    quotes = {symbol: draw(prices) for symbol in held}
    start_ago = draw(st.integers(0, 50))
    return trades, closes, fx, quotes, start_ago


class Rollback(Exception):
    pass


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=ledgers())
def test_the_last_point_is_the_live_valuation_and_gain_adds_up(owner, live, case):
    trades, closes, fx, quotes, start_ago = case
    cache.clear()
    live.clear()
    live.update(quotes)
    try:
        with transaction.atomic():
            portfolio = PortfolioFactory(user=owner, currency="NOK")
            instruments = {
                "EQNR.OL": InstrumentFactory(ticker="EQNR.OL"),
                "AAPL": InstrumentFactory(ticker="AAPL", currency="USD"),
            }
            for ago, symbol, kind, quantity, price, rate in trades:
                usd = symbol == "AAPL"
                record(
                    portfolio,
                    instruments[symbol],
                    kind,
                    quantity=quantity,
                    price=price,
                    exchange_rate=rate if usd else "1",
                    date=TODAY() - dt.timedelta(days=ago),
                )
            for symbol, known in closes.items():
                for ago, close in known.items():
                    HistoricalStockPriceFactory(
                        instrument=instruments[symbol],
                        date=TODAY() - dt.timedelta(days=ago),
                        close=close,
                    )
            for ago, rate in fx.items():
                HistoricalExchangeRateFactory(date=TODAY() - dt.timedelta(days=ago), rate=rate)

            result = performance_for(portfolio, TODAY() - dt.timedelta(days=start_ago), TODAY())
            summary = valuation.summarize([portfolio])[0]

            assert summary.missing_prices == summary.errors == 0
            assert result.series[-1].value == summary.total_value
            flows = sum((point.flow for point in result.series), D(0))
            first, last = result.series[0].value, result.series[-1].value
            assert result.gain == last - first - flows
            raise Rollback
    except Rollback:
        pass
