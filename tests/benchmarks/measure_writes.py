"""Time the write path at scale: one API POST on a holding with 5,000 transactions, and a
20,000-row generic CSV import (commit). A script, not a test: timings on a shared machine
are figures to report, not assertions. It prints this process's CPU time beside the wall
time: on a loaded machine that is nearer what the code costs (on SQLite the database works
in this process too; PostgreSQL's own work is not in it).

    DATABASE_URL=sqlite:////tmp/writes.sqlite3 .venv/bin/python tests/benchmarks/measure_writes.py

It migrates the database it is given and fills it: give it one of its own.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "financedash.settings")
os.environ.setdefault("MARKETDATA_PROVIDER", "offline")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from marketdata.models import HistoricalExchangeRate, Instrument  # noqa: E402
from portfolios import services  # noqa: E402
from portfolios.imports import import_transactions  # noqa: E402
from portfolios.models import Portfolio, Transaction  # noqa: E402

START = date(2012, 1, 2)
RUNS = int(os.environ.get("RUNS", "5"))


def _days(count: int) -> list[date]:
    return [START + timedelta(days=n) for n in range(count)]


def big_holding(user, instrument) -> Portfolio:
    """A holding with 5,000 transactions: buys, some sales and dividends, one a day."""
    portfolio = Portfolio.objects.create(user=user, name="Big holding", currency="NOK")
    rng, held, entries = random.Random(1), 0, []
    for day in _days(5000):
        kind = "BUY" if held < 50 else rng.choice(("BUY", "BUY", "SELL", "DIVIDEND"))
        quantity = {"BUY": rng.randint(1, 40), "SELL": rng.randint(1, held // 2 or 1)}.get(
            kind, held
        )
        held += quantity if kind == "BUY" else -quantity if kind == "SELL" else 0
        price = Decimal(rng.randint(5000, 20000)) / 100
        entries.append(
            services.NewTransaction(
                instrument=instrument,
                type=kind,
                date=day,
                quantity=Decimal(quantity),
                price=price if kind != "DIVIDEND" else price / 50,
                fees=Decimal("39"),
            )
        )
    services.record_transactions(portfolio, entries)
    return portfolio


def time_posts(client: Client, portfolio: Portfolio, day: date, label: str) -> None:
    timings, cpu, updated = [], [], []
    for _ in range(RUNS):
        body = {
            "portfolio": portfolio.pk,
            "symbol": "BIG.OL",
            "type": "BUY",
            "date": day.isoformat(),
            "quantity": "1",
            "price": "100",
        }
        with CaptureQueriesContext(connection) as queries:
            began, began_cpu = time.perf_counter(), time.process_time()
            response = client.post("/api/v1/transactions", body, content_type="application/json")
            timings.append((time.perf_counter() - began) * 1000)
            cpu.append((time.process_time() - began_cpu) * 1000)
        assert response.status_code == 201, response.content
        updated.append(sum(q["sql"].startswith("UPDATE") for q in queries))
        # Back to 5,000 for the next run.
        services.delete_transaction(Transaction.objects.get(pk=response.json()["id"]))
    print(
        f"POST {label}: p50 {statistics.median(timings):.0f} ms, min {min(timings):.0f}, "
        f"max {max(timings):.0f} ms over {RUNS} runs (this process's CPU: p50 "
        f"{statistics.median(cpu):.0f} ms); {len(queries)} queries, "
        f"{updated[-1]} UPDATE statements"
    )


def import_file(rows: int, instruments: list[Instrument]) -> bytes:
    rng = random.Random(2)
    days = [d for d in _days(3650) if d.weekday() < 5]
    lines = ["date,type,symbol,quantity,price,fees"]
    for n in range(rows):
        instrument = instruments[n % len(instruments)]
        lines.append(
            f"{days[(n * 7) % len(days)].isoformat()},BUY,{instrument.ticker},"
            f"{rng.randint(1, 50)},{rng.randint(100, 900)}.{rng.randint(0, 99):02d},9.5"
        )
    return ("\n".join(lines) + "\n").encode()


def time_import(user, rows: int) -> None:
    instruments = [
        Instrument.objects.get_or_create(
            ticker=f"IMP{n:03d}{'' if n % 3 else '.OL'}",
            defaults={"currency": "NOK" if n % 3 == 0 else "USD", "company_name": f"I {n}"},
        )[0]
        for n in range(60)
    ]
    if not HistoricalExchangeRate.objects.exists():
        HistoricalExchangeRate.objects.bulk_create(
            HistoricalExchangeRate(
                base_currency="USD",
                target_currency="NOK",
                date=day,
                rate=Decimal("10") + Decimal(n % 300) / 100,
            )
            for n, day in enumerate(_days(3700))
        )
    data = import_file(rows, instruments)
    for run in range(max(2, RUNS // 2)):
        portfolio = Portfolio.objects.create(user=user, name=f"Import {run}", currency="NOK")
        with CaptureQueriesContext(connection) as queries:
            began, began_cpu = time.perf_counter(), time.process_time()
            result = import_transactions(
                portfolio=portfolio, data=data, format="generic", dry_run=False
            )
            took = time.perf_counter() - began
            cpu = time.process_time() - began_cpu
        assert result.committed and result.counts["created"] == rows, result.counts
        fx_queries = sum("historicalexchangerate" in q["sql"] for q in queries)
        print(
            f"import {rows} rows (commit): {took:.2f} s, {rows / took:,.0f} rows/s (this "
            f"process's CPU {cpu:.2f} s, {rows / cpu:,.0f} rows/s); "
            f"{len(queries)} queries, {fx_queries} of them for rates"
        )
        portfolio.delete()


def main() -> None:
    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor}")
    user_model = get_user_model()
    user_model.objects.filter(username="writes").delete()
    user = user_model.objects.create_user("writes", password="writes")
    instrument, _ = Instrument.objects.get_or_create(
        ticker="BIG.OL", defaults={"currency": "NOK", "company_name": "Big"}
    )
    began = time.perf_counter()
    portfolio = big_holding(user, instrument)
    print(f"5,000 transactions recorded in one batch: {time.perf_counter() - began:.1f} s")
    client = Client()
    client.force_login(user)
    last = Transaction.objects.filter(portfolio=portfolio).order_by("-date").first().date
    time_posts(client, portfolio, last, "after the last of 5,000")
    time_posts(client, portfolio, last - timedelta(days=30), "30 days before the last")
    time_posts(client, portfolio, START + timedelta(days=2500), "in the middle of 5,000")
    time_import(user, int(os.environ.get("ROWS", "20000")))
    user.delete()


if __name__ == "__main__":
    main()
