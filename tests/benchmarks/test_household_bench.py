"""Every page, partial and GET endpoint against a household at ARCHITECTURE section 10 scale
(10 portfolios, 200 holdings, 20,000 transactions, 10 years of daily prices).

Run with `make bench` (add PYTEST_ARGS=--reuse-db on PostgreSQL to keep the household
between runs). Each case is asked once to warm up (quotes, the performance cache), then
timed through the Django test client REQUESTS times, or fewer when that would take more
than BUDGET_SECONDS; its query count is taken from one more request, untimed (capturing
queries slows the cursor down). "cold" cases invalidate every cached performance result
and serialised response before each request, as a new transaction in every portfolio
does (each portfolio's version stamp moves), while the quote cache and the compact price
series stay warm, as the nightly import leaves them after its pre-warm: what is timed is
the computation itself. "cold inputs" cases move the market-data stamp instead, as a
close import without the pre-warm does: the ten years of closes are read again too.
Every case runs with the offline provider (quotes are the last stored close) and with the
demo provider (generated live quotes for its catalogue, stored closes for the rest).

Times include the test client and the test's database transaction, a few milliseconds
more per page than a real server. The assertion is loose on purpose (a regression alarm,
not a target): the real figures go in the table printed at the end and written to
artifacts/bench.txt.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from financedash.lib import versions
from financedash.management.household import Household
from portfolios.models import Portfolio
from tests.benchmarks.conftest import SMALL, Timing
from tests.conftest import bearer

pytestmark = [pytest.mark.benchmark, pytest.mark.django_db]

# BENCH_SCALE=small (CI): a few requests per case, enough to keep every case working.
REQUESTS = 3 if SMALL else 20
COLD_REQUESTS = 2 if SMALL else 5
MIN_REQUESTS = 2 if SMALL else 5
# Seconds of timed requests per case: a page that has become slow is timed fewer times
# (never under MIN_REQUESTS), so that the whole run stays within a few minutes.
BUDGET_SECONDS = 3.0
LIMIT_MS = 250
# A ten-year performance series computed from scratch: seconds of arithmetic over every
# day and every transaction, cached afterwards (portfolios.performance_data).
COLD_LIMIT_MS = 5000
ADMIN_INLINE_LIMIT_MS = 1500


@dataclass(frozen=True)
class Case:
    name: str
    url: Callable[[Household], str]
    api: bool = False
    htmx: bool = False
    cold: bool = False
    inputs: bool = False  # cold with the price series read again (the market-data stamp)
    limit_ms: float = LIMIT_MS


def ten_years(h: Household) -> str:
    return (h.end - timedelta(days=3652)).isoformat()


CASES = [
    # Pages ---------------------------------------------------------------------------
    Case("dashboard", lambda h: "/"),
    Case("dashboard chart 1y (HX)", lambda h: "/dashboard/chart/?range=1y", htmx=True),
    Case(
        "dashboard chart 1y (HX, cold)",
        lambda h: "/dashboard/chart/?range=1y",
        htmx=True,
        cold=True,
        limit_ms=COLD_LIMIT_MS,
    ),
    Case("dashboard chart max (HX)", lambda h: "/dashboard/chart/?range=max", htmx=True),
    Case(
        "dashboard chart max (HX, cold)",
        lambda h: "/dashboard/chart/?range=max",
        htmx=True,
        cold=True,
        limit_ms=COLD_LIMIT_MS * 3,
    ),
    Case("portfolio list", lambda h: "/portfolios/"),
    Case("portfolio detail (largest)", lambda h: f"/portfolios/{h.big_portfolio.pk}/"),
    Case(
        "holdings partial (HX)",
        lambda h: f"/portfolios/{h.big_portfolio.pk}/holdings/?sort=-value",
        htmx=True,
    ),
    Case(
        "portfolio chart 1y (HX)",
        lambda h: f"/portfolios/{h.big_portfolio.pk}/chart/?range=1y",
        htmx=True,
    ),
    Case(
        "portfolio chart max (HX)",
        lambda h: f"/portfolios/{h.big_portfolio.pk}/chart/?range=max",
        htmx=True,
    ),
    Case(
        "portfolio chart max (HX, cold)",
        lambda h: f"/portfolios/{h.big_portfolio.pk}/chart/?range=max",
        htmx=True,
        cold=True,
        limit_ms=COLD_LIMIT_MS,
    ),
    Case("portfolio new form", lambda h: "/portfolios/new/"),
    Case("portfolio edit form", lambda h: f"/portfolios/{h.big_portfolio.pk}/edit/"),
    Case("used credit form", lambda h: f"/portfolios/{h.big_portfolio.pk}/credit/"),
    Case("portfolio delete confirm", lambda h: f"/portfolios/{h.big_portfolio.pk}/delete/"),
    Case("holding page (busiest)", lambda h: f"/holdings/{h.big_holding.pk}/"),
    Case("holding summary (HX)", lambda h: f"/holdings/{h.big_holding.pk}/", htmx=True),
    Case(
        "holding chart max (HX)",
        lambda h: f"/holdings/{h.big_holding.pk}/chart/?range=max",
        htmx=True,
    ),
    Case(
        "holding transactions (HX)",
        lambda h: f"/holdings/{h.big_holding.pk}/transactions/",
        htmx=True,
    ),
    Case(
        "holding transactions, older page (HX)",
        lambda h: f"/holdings/{h.big_holding.pk}/transactions/?page=3",
        htmx=True,
    ),
    Case("holding delete confirm", lambda h: f"/holdings/{h.big_holding.pk}/delete/"),
    Case(
        "transaction add form",
        lambda h: f"/portfolios/{h.big_portfolio.pk}/transactions/new/",
    ),
    Case(
        "transaction add form (HX)",
        lambda h: f"/portfolios/{h.big_portfolio.pk}/transactions/new/",
        htmx=True,
    ),
    Case("transaction edit form", lambda h: f"/transactions/{h.transaction.pk}/edit/"),
    Case(
        "transaction edit form (HX)",
        lambda h: f"/transactions/{h.transaction.pk}/edit/",
        htmx=True,
    ),
    Case("transaction delete confirm", lambda h: f"/transactions/{h.transaction.pk}/delete/"),
    Case("instrument search (HX)", lambda h: "/instruments/search/?symbol=hh0", htmx=True),
    Case("import page", lambda h: "/import/"),
    Case("pensions list", lambda h: "/pensions/"),
    Case("pension detail", lambda h: f"/pensions/{h.pension.pk}/"),
    Case("pension edit form", lambda h: f"/pensions/{h.pension.pk}/edit/"),
    Case("settings", lambda h: "/settings/"),
    Case("health", lambda h: "/health"),
    # Admin ---------------------------------------------------------------------------
    Case("admin index", lambda h: "/admin/"),
    Case("admin transactions", lambda h: "/admin/portfolios/transaction/"),
    Case(
        "admin transactions of a portfolio",
        lambda h: f"/admin/portfolios/transaction/?portfolio__id__exact={h.big_portfolio.pk}",
    ),
    Case(
        "admin transaction change",
        lambda h: f"/admin/portfolios/transaction/{h.transaction.pk}/change/",
    ),
    Case("admin holdings", lambda h: "/admin/portfolios/holding/"),
    Case(
        "admin holding change (busiest)",
        lambda h: f"/admin/portfolios/holding/{h.big_holding.pk}/change/",
        # The admin's inline lists every one of the holding's transactions (Django
        # inlines do not paginate): hundreds of form rows for the busiest holding.
        limit_ms=ADMIN_INLINE_LIMIT_MS,
    ),
    Case(
        "admin portfolio change (largest)",
        lambda h: f"/admin/portfolios/portfolio/{h.big_portfolio.pk}/change/",
    ),
    Case("admin prices", lambda h: "/admin/marketdata/historicalstockprice/"),
    Case(
        "admin prices search",
        lambda h: f"/admin/marketdata/historicalstockprice/?q={h.symbol}",
    ),
    Case("admin exchange rates", lambda h: "/admin/marketdata/historicalexchangerate/"),
    Case("admin instruments", lambda h: "/admin/marketdata/instrument/"),
    Case("admin pension values", lambda h: "/admin/pensions/pensionvalueentry/"),
    # JSON API ------------------------------------------------------------------------
    Case("api portfolios", lambda h: "/api/v1/portfolios", api=True),
    Case("api portfolio (largest)", lambda h: f"/api/v1/portfolios/{h.big_portfolio.pk}", api=True),
    Case("api portfolio (USD)", lambda h: f"/api/v1/portfolios/{h.foreign_portfolio.pk}", api=True),
    Case("api holdings", lambda h: f"/api/v1/portfolios/{h.big_portfolio.pk}/holdings", api=True),
    Case(
        "api performance 1y",
        lambda h: f"/api/v1/portfolios/{h.big_portfolio.pk}/performance",
        api=True,
    ),
    Case(
        "api performance 1y (cold)",
        lambda h: f"/api/v1/portfolios/{h.big_portfolio.pk}/performance",
        api=True,
        cold=True,
        limit_ms=COLD_LIMIT_MS,
    ),
    Case(
        "api performance 10y",
        lambda h: f"/api/v1/portfolios/{h.big_portfolio.pk}/performance?start={ten_years(h)}",
        api=True,
    ),
    Case(
        "api performance 10y (cold)",
        lambda h: f"/api/v1/portfolios/{h.big_portfolio.pk}/performance?start={ten_years(h)}",
        api=True,
        cold=True,
        limit_ms=COLD_LIMIT_MS,
    ),
    Case(
        "api transactions of a portfolio",
        lambda h: f"/api/v1/transactions/portfolio/{h.big_portfolio.pk}",
        api=True,
    ),
    Case(
        "api transactions of a portfolio, a late page",
        lambda h: f"/api/v1/transactions/portfolio/{h.big_portfolio.pk}?page={2 if SMALL else 40}",
        api=True,
    ),
    Case(
        "api transactions of a holding",
        lambda h: f"/api/v1/holdings/{h.big_holding.pk}/transactions",
        api=True,
    ),
    Case("api transaction", lambda h: f"/api/v1/transactions/{h.transaction.pk}", api=True),
    Case("api quote", lambda h: f"/api/v1/stocks/{h.symbol}", api=True),
    Case("api stock search", lambda h: "/api/v1/stocks/search?q=HH0", api=True),
    Case("api stock history 1y", lambda h: f"/api/v1/stocks/{h.symbol}/history", api=True),
    Case(
        "api stock history 10y",
        lambda h: f"/api/v1/stocks/{h.symbol}/history?start={ten_years(h)}",
        api=True,
    ),
    Case("api fx history USD/NOK 1y", lambda h: "/api/v1/exchange-rates/USD/NOK/history", api=True),
    Case(
        "api fx history USD/NOK 10y",
        lambda h: f"/api/v1/exchange-rates/USD/NOK/history?start={ten_years(h)}",
        api=True,
    ),
    Case(
        "api fx history NOK/USD 10y (inverted)",
        lambda h: f"/api/v1/exchange-rates/NOK/USD/history?start={ten_years(h)}",
        api=True,
    ),
    Case(
        "api household performance 10y",
        lambda h: f"/api/v1/performance?start={ten_years(h)}",
        api=True,
    ),
    Case(
        "api household performance 10y (cold)",
        lambda h: f"/api/v1/performance?start={ten_years(h)}",
        api=True,
        cold=True,
        limit_ms=COLD_LIMIT_MS * 3,
    ),
    Case(
        "api household performance 10y (cold inputs)",
        lambda h: f"/api/v1/performance?start={ten_years(h)}",
        api=True,
        cold=True,
        inputs=True,
        limit_ms=COLD_LIMIT_MS * 3,
    ),
    Case("api currencies", lambda h: "/api/v1/currencies", api=True),
    Case("api me", lambda h: "/api/v1/auth/me", api=True),
]

PROVIDERS = ("offline",) if SMALL else ("offline", "demo")
PARAMS = [
    pytest.param(provider, case, id=f"{provider}-{case.name}")
    for provider in PROVIDERS
    for case in CASES
]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@pytest.mark.parametrize(("provider", "case"), PARAMS)
def test_household(provider, case, household, bench_results, settings, client):
    settings.MARKETDATA_PROVIDER = provider
    if case.api:
        client = bearer(household.user)
    else:
        client.force_login(household.user)
    url = case.url(household)
    headers = {"HTTP_HX_REQUEST": "true"} if case.htmx else {}

    stamps = [versions.portfolio(p.pk) for p in Portfolio.objects.owned_by(household.user)]

    def invalidate():
        if case.inputs:
            versions.bump(versions.MARKET_DATA)
        else:
            for stamp in stamps:
                versions.bump(stamp)

    def ask():
        if case.cold:
            invalidate()
        began = time.perf_counter()
        response = client.get(url, **headers)
        return response, time.perf_counter() - began

    response, _ = ask()  # warm-up: quotes, history coverage, cached performance
    assert response.status_code == 200, (url, response.status_code, response.content[:500])
    # The test process holds far more long-lived objects than a web worker (pytest, the
    # whole suite's modules): frozen, its garbage collections stay out of the timings.
    gc.collect()
    gc.freeze()
    timings: list[float] = []
    try:
        while len(timings) < (COLD_REQUESTS if case.cold else REQUESTS) and (
            len(timings) < MIN_REQUESTS or sum(timings) < BUDGET_SECONDS * 1000
        ):
            response, took = ask()
            assert response.status_code == 200
            timings.append(took * 1000)
    finally:
        gc.unfreeze()
    if case.cold:
        invalidate()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
    result = Timing(
        name=case.name,
        provider=provider,
        requests=len(timings),
        p50_ms=statistics.median(timings),
        p95_ms=_percentile(timings, 0.95),
        queries=len(queries),
        status=response.status_code,
        size_kb=len(response.content) / 1024,
    )
    bench_results.append(result)
    if not SMALL:  # CI's reduced run checks that every case works, not how fast
        assert result.p50_ms < case.limit_ms, f"{case.name}: p50 {result.p50_ms:.0f} ms"
