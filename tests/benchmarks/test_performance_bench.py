from __future__ import annotations

import datetime as dt
import random
import time
from decimal import Decimal

import pytest

from portfolios.ledger import BUY, DIVIDEND, SELL
from portfolios.performance import Series, Trade, Trades, compute_performance

# ARCHITECTURE section 10: household scale.
INSTRUMENTS = 200
TRANSACTIONS = 20_000
START = dt.date(2015, 1, 1)
END = dt.date(2024, 12, 31)
CURRENCIES = ["NOK", "NOK", "USD", "EUR"]
LIMIT_SECONDS = 1.0


def business_days(start, end):
    day = start
    while day <= end:
        if day.weekday() < 5:
            yield day
        day += dt.timedelta(days=1)


def random_walk(rng, days, start_price):
    price = start_price
    walk = []
    for day in days:
        price = max(1.0, price * (1 + rng.gauss(0.0003, 0.015)))
        walk.append((day, Decimal(f"{price:.6f}")))
    return walk


def household(rng):
    days = list(business_days(START - dt.timedelta(days=31), END))
    closes = {n: random_walk(rng, days, rng.uniform(20, 500)) for n in range(INSTRUMENTS)}
    fx = {"USD": random_walk(rng, days, 9.0), "EUR": random_walk(rng, days, 10.0)}
    trading = [d for d in days if d >= START]
    trades = []
    per_instrument = TRANSACTIONS // INSTRUMENTS
    for n in range(INSTRUMENTS):
        currency = CURRENCIES[n % len(CURRENCIES)]
        prices = dict(closes[n])
        rates = dict(fx.get(currency, ()))
        held = Decimal(0)
        for day in sorted(rng.sample(trading, per_instrument)):
            kind = rng.choices([BUY, SELL, DIVIDEND], weights=[5, 3, 2])[0]
            if kind != BUY and not held:
                kind = BUY
            quantity = Decimal(rng.randint(1, 50))
            if kind == SELL:
                quantity = min(quantity, held)
            held += quantity if kind == BUY else -quantity if kind == SELL else 0
            price = Decimal("2.5") if kind == DIVIDEND else prices[day]
            rate = rates.get(day, Decimal(1))
            if kind == DIVIDEND:
                quantity = held
            trades.append(Trade(day, kind, n, currency, quantity, price, Decimal("9.9"), rate))
    rng.shuffle(trades)
    return trades, closes, fx


@pytest.mark.benchmark
def test_performance_of_a_household_over_ten_years():
    trades, closes, fx = household(random.Random(20240101))
    assert len(trades) == TRANSACTIONS
    prices = sum(len(c) for c in closes.values())

    # The loader hands the arithmetic compact series (ordinals and integer units, kept in
    # the shared cache: portfolios.performance_data); made once here, outside the timing.
    began = time.perf_counter()
    compact = {key: Series.of(rows) for key, rows in closes.items()}
    table = Trades.of(trades)
    converted = time.perf_counter() - began
    timings = []
    for _ in range(3):
        began = time.perf_counter()
        result = compute_performance(table, compact, fx, currency="NOK", start=START, end=END)
        timings.append(time.perf_counter() - began)
    began = time.perf_counter()
    same = compute_performance(trades, closes, fx, currency="NOK", start=START, end=END)
    from_lists = time.perf_counter() - began
    assert same == result

    best = min(timings)
    print(
        f"\nperformance: {TRANSACTIONS} transactions, {INSTRUMENTS} instruments, "
        f"{prices} closes, {len(result.series)} days: best {best * 1000:.0f} ms "
        f"(runs: {', '.join(f'{t * 1000:.0f}' for t in timings)} ms); from Decimal lists "
        f"{from_lists * 1000:.0f} ms (converting them: {converted * 1000:.0f} ms)"
    )
    assert result.twr is not None
    assert result.xirr is not None
    assert best < LIMIT_SECONDS
