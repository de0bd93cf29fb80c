"""p50 server time of the portfolio detail endpoint for a 50-holding portfolio (warm quote
cache, as in steady use: quotes live QUOTE_CACHE_TTL seconds)."""

from __future__ import annotations

import datetime as dt
import statistics
import time
from decimal import Decimal

import pytest

from tests.factories import HistoricalStockPriceFactory, InstrumentFactory, PortfolioFactory, record

pytestmark = [pytest.mark.benchmark, pytest.mark.django_db]


def test_portfolio_detail_p50_with_50_holdings(api, owner, settings):
    settings.MARKETDATA_PROVIDER = "offline"
    portfolio = PortfolioFactory(user=owner)
    for i in range(50):
        instrument = InstrumentFactory(ticker=f"B{i:02d}.OL")
        for day in range(1, 21):  # 20 transactions per holding: 1,000 in all
            record(
                portfolio,
                instrument,
                quantity="1",
                price=str(100 + day),
                date=dt.date(2024, 1, day),
            )
        HistoricalStockPriceFactory(instrument=instrument, close=Decimal("150"))
    url = f"/api/v1/portfolios/{portfolio.pk}"
    assert api.get(url).status_code == 200  # warms the quote cache
    timings = []
    for _ in range(50):
        start = time.perf_counter()
        response = api.get(url)
        timings.append(time.perf_counter() - start)
        assert response.status_code == 200
    p50 = statistics.median(timings) * 1000
    p95 = sorted(timings)[int(len(timings) * 0.95)] * 1000
    print(f"\nGET {url} (50 holdings): p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    assert p50 < 100
