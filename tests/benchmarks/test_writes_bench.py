"""The write path against the household: one API POST on its busiest holding, and a CSV
import of 20,000 rows (dry run, then commit) into a new portfolio. Rows go to the table of
`make bench` beside the pages; tests/benchmarks/measure_writes.py times the same on a
holding of 5,000 transactions, outside pytest."""

from __future__ import annotations

import random
import statistics
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portfolios import services
from portfolios.imports import import_transactions
from portfolios.models import Portfolio, Transaction
from tests.benchmarks.conftest import SMALL, Timing
from tests.benchmarks.test_household_bench import _percentile
from tests.conftest import bearer

pytestmark = [pytest.mark.benchmark, pytest.mark.django_db]

POSTS = 3 if SMALL else 10
IMPORT_ROWS = 1000 if SMALL else 20_000


@pytest.mark.parametrize("where", ["after the last", "in the middle"])
def test_post_on_the_busiest_holding(where, household, bench_results, settings):
    settings.MARKETDATA_PROVIDER = "offline"
    holding = household.big_holding
    dates = list(
        Transaction.objects.filter(holding=holding).order_by("date").values_list("date", flat=True)
    )
    day = dates[-1] if where == "after the last" else dates[len(dates) // 2]
    client = bearer(household.user)
    body = {
        "portfolio": holding.portfolio_id,
        "symbol": holding.instrument.ticker,
        "type": "BUY",
        "date": day.isoformat(),
        "quantity": "1",
        "price": "100",
    }
    timings, queries = [], 0
    for _ in range(POSTS):
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            response = client.post("/api/v1/transactions", body, format="json")
            timings.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 201, response.content
        queries = len(captured)
        # Back to the household as it was for the next POST.
        services.delete_transaction(Transaction.objects.get(pk=response.json()["id"]))
    bench_results.append(
        Timing(
            name=f"POST transaction on the busiest holding ({len(dates)}), {where}",
            provider="offline",
            requests=len(timings),
            p50_ms=statistics.median(timings),
            p95_ms=_percentile(timings, 0.95),
            queries=queries,
            status=201,
            size_kb=len(response.content) / 1024,
        )
    )


def _csv(household, rows: int) -> bytes:
    rng = random.Random(3)
    holdings = list(
        household.big_portfolio.holdings.select_related("instrument").order_by("pk")[:40]
    )
    days = list(
        Transaction.objects.filter(portfolio=household.big_portfolio)
        .order_by("date")
        .values_list("date", flat=True)
        .distinct()
    )
    lines = ["date,type,symbol,quantity,price,fees"]
    for n in range(rows):
        lines.append(
            f"{days[(n * 7) % len(days)].isoformat()},BUY,"
            f"{holdings[n % len(holdings)].instrument.ticker},{rng.randint(1, 50)},"
            f"{rng.randint(100, 900)}.{rng.randint(0, 99):02d},9.5"
        )
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry run", "commit"])
def test_import_rows(dry_run, household, bench_results, settings):
    settings.MARKETDATA_PROVIDER = "offline"
    data = _csv(household, IMPORT_ROWS)
    portfolio = Portfolio.objects.create(user=household.user, name="Bench import", currency="NOK")
    with CaptureQueriesContext(connection) as captured:
        began = time.perf_counter()
        result = import_transactions(
            portfolio=portfolio, data=data, format="generic", dry_run=dry_run
        )
        took = time.perf_counter() - began
    assert result.counts["created"] == IMPORT_ROWS, result.counts
    bench_results.append(
        Timing(
            name=f"import {IMPORT_ROWS} CSV rows, {'dry run' if dry_run else 'commit'}",
            provider="offline",
            requests=1,
            p50_ms=took * 1000,
            p95_ms=took * 1000,
            queries=len(captured),
            status=200,
            size_kb=len(data) / 1024,
            rows_per_s=IMPORT_ROWS / took,
        )
    )
