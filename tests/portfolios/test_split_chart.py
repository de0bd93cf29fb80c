"""The chart across a split (issue 11 item 2, ARCHITECTURE 5b): closes are split-adjusted,
so a day before the split is valued in post-split shares and the line does not jump."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from portfolios.performance import Trade, compute_performance
from portfolios.performance_data import performance_for
from tests.factories import HistoricalStockPriceFactory, InstrumentFactory, PortfolioFactory, record

D = Decimal
DAY1, DAY2, DAY3, DAY4 = (dt.date(2024, 3, d) for d in (4, 5, 6, 7))


def test_the_value_is_flat_across_a_split_when_the_adjusted_close_is_flat():
    # 10 bought at 100 on DAY1; 2:1 on DAY3. Adjusted closes: 50 every day (the 100 of
    # before the split, halved). Every day is worth 20 x 50 = 1000: before the split the
    # 10 shares held count as 10 x 2 = 20 of today's.
    trades = [
        Trade(DAY1, "BUY", "X", "NOK", D("10"), D("100")),
        Trade(DAY3, "SPLIT", "X", "NOK", D("2"), D("0")),
    ]
    closes = {"X": [(day, D("50")) for day in (DAY1, DAY2, DAY3, DAY4)]}
    result = compute_performance(trades, closes, {}, currency="NOK", start=DAY1, end=DAY4)

    assert [p.value for p in result.series[1:]] == [D("1000")] * 4
    # A split moves no money: the only flow is the buy.
    assert [p.flow for p in result.series[1:]] == [D("1000"), 0, 0, 0]
    assert result.twr == 0


def test_a_reverse_split_after_the_period_still_rescales_it():
    # 1000 bought at 2; 1:10 on DAY4, after the period ends on DAY2. Adjusted close 20:
    # the 1000 shares are 100 of today's, worth 100 x 20 = 2000.
    trades = [
        Trade(DAY1, "BUY", "X", "NOK", D("1000"), D("2")),
        Trade(DAY4, "SPLIT", "X", "NOK", D("0.1"), D("0")),
    ]
    closes = {"X": [(DAY1, D("20")), (DAY2, D("20"))]}
    result = compute_performance(trades, closes, {}, currency="NOK", start=DAY1, end=DAY2)
    assert [p.value for p in result.series[1:]] == [D("2000"), D("2000")]


@pytest.mark.django_db
def test_the_portfolio_series_reads_splits_after_its_end(settings, owner):
    settings.MARKETDATA_PROVIDER = "offline"
    portfolio = PortfolioFactory(user=owner)
    instrument = InstrumentFactory(ticker="SPLT.OL")
    for day in (DAY1, DAY2, DAY3, DAY4):
        HistoricalStockPriceFactory(instrument=instrument, date=day, close=D("50"))
    record(portfolio, instrument, quantity="10", price="100", date=DAY1)
    record(portfolio, instrument, "SPLIT", quantity="2", price="0", date=DAY4)

    result = performance_for(portfolio, DAY1, DAY2)
    assert [p.value for p in result.series[1:]] == [D("1000"), D("1000")]
