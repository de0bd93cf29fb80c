"""The fast read path of the performance history (issue 9, item 3) against the frozen
copy of the implementation it replaced (tests/portfolios/reference): the same figures to
the last digit, not only to the cent, on random ledgers and on a seeded household.

The full-scale comparison (scale 1: 10 portfolios, 20,000 transactions, 391,000 closes,
ten years) was run by hand on 2026-12-01 with the household built by `manage.py
seed_household --scale 1`: the household over ten years and one year and every portfolio
over both and a past period were identical in every series point and every figure.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Context, Decimal

import numpy as np
import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from financedash import overview
from financedash.lib import versions
from financedash.management import household as household_data
from marketdata import fx
from portfolios import api as portfolios_api
from portfolios import backfill, cash, performance_data, services, valuation
from portfolios.api import HouseholdPerformanceSerializer, PerformanceSerializer
from portfolios.ledger import BUY, DIVIDEND, SELL, SPLIT
from portfolios.models import Portfolio, Transaction
from portfolios.performance import (
    Cash,
    Part,
    Trade,
    combine,
    compute_performance,
    decimal_units,
    portfolio_days,
    unit_array,
)
from tests.conftest import bearer
from tests.factories import (
    HistoricalStockPriceFactory,
    InstrumentFactory,
    PensionAccountFactory,
    PensionValueEntryFactory,
    PortfolioFactory,
    record,
)
from tests.portfolios.reference import performance as reference
from tests.portfolios.reference import performance_data as reference_data

D = Decimal
START = dt.date(2024, 3, 1)
FIGURES = (
    "start",
    "end",
    "currency",
    "opening_value",
    "closing_value",
    "deposits",
    "withdrawals",
    "gain",
    "twr",
    "twr_annualized",
    "twr_constant_fx",
    "currency_effect",
    "currency_effect_amount",
    "mwr",
    "xirr",
    "simple_return",
    "dividends",
    "dividends_by_month",
    "dividends_by_year",
    "unvalued_currencies",
    "error",
)


def assert_same(new, old):
    """Every figure and every series point equal as numbers (Decimal ==), and the daily
    flows behind them."""
    for name in FIGURES:
        assert getattr(new, name) == getattr(old, name), name
    assert [tuple(p) for p in new.series] == [tuple(p) for p in old.series]
    if new.flows is not None and old.flows is not None:
        for name in ("inflows", "outflows", "constant_values", "dividends"):
            assert getattr(new.flows, name) == getattr(old.flows, name), name


# Random ledgers ---------------------------------------------------------------------------

amounts = st.decimals(min_value=D("0.01"), max_value=D("5000"), places=4)
# Split factors whose products and inverses terminate: the reference rounds a stand-in
# price divided by 3 at the 60th digit, where the new path's integers are exact.
split_factors = st.sampled_from([D(2), D(4), D(5), D("0.5"), D("0.1"), D("1.25"), D(10)])
cash_types = st.sampled_from([cash.DEPOSIT, cash.DEPOSIT, cash.WITHDRAWAL, cash.INTEREST, cash.FEE])
quantities = st.decimals(min_value=D("0.001"), max_value=D("300"), places=3)
rates = st.decimals(min_value=D("0.05"), max_value=D("15"), places=6)


@st.composite
def ledgers(draw):
    """A portfolio in NOK with instruments in NOK, USD (rates stored direct) and SEK (only
    NOK->SEK stored: the rates are inverted to 60 digits, which round when multiplied),
    closes starting before or inside the period or missing, trades before, inside and
    after it, of every type (splits too), on the same day too; and half of the time the
    portfolio tracks cash: every trade's cash movement (its total_amount, 4 decimals, which
    the cash books to the cent) and deposits, withdrawals, interest and fees."""
    days = draw(st.integers(0, 40))
    end = START + dt.timedelta(days=days)
    keys = draw(st.lists(st.sampled_from(["A", "B", "C"]), min_size=1, max_size=3, unique=True))
    currency_of = {"A": "NOK", "B": "USD", "C": "SEK"}
    if draw(st.booleans()):
        currency_of["A"] = draw(st.sampled_from(["USD", "SEK"]))

    def day():
        return START + dt.timedelta(days=draw(st.integers(-15, days + 3)))

    closes = {}
    for key in keys:
        rows = {day(): draw(amounts) for _ in range(draw(st.integers(0, 12)))}
        closes[key] = sorted(rows.items())
    usd = sorted({day(): draw(rates) for _ in range(draw(st.integers(0, 8)))}.items())
    nok_sek = sorted({day(): draw(rates) for _ in range(draw(st.integers(0, 8)))}.items())
    fx_rates = {
        "USD": fx.pair_series(usd, [], exact=True),
        "SEK": fx.pair_series([], nok_sek, exact=True),
    }
    trades = []
    for _ in range(draw(st.integers(1, 14))):
        key = draw(st.sampled_from(keys))
        kind = draw(st.sampled_from([BUY, BUY, SELL, DIVIDEND, SPLIT]))
        code = currency_of[key]
        trades.append(
            Trade(
                day(),
                kind,
                key,
                code,
                draw(split_factors) if kind == SPLIT else draw(quantities),
                D(0) if kind == SPLIT else draw(amounts),
                D(0) if kind == SPLIT else draw(st.decimals(min_value=0, max_value=30, places=2)),
                D(1) if code == "NOK" else draw(rates),
            )
        )
    movements = None
    if draw(st.booleans()):
        movements = [
            cash.Movement(t.type, t.date, t.amount().quantize(D("0.0001"))) for t in trades
        ]
        movements += [
            cash.Movement(draw(cash_types), day(), draw(amounts))
            for _ in range(draw(st.integers(0, 6)))
        ]
    return trades, closes, fx_rates, end, movements


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledgers())
def test_a_random_ledger_has_the_same_figures_as_before(ledger):
    trades, closes, fx_rates, end, movements = ledger
    kwargs = {"currency": "NOK", "start": START, "end": end, "cash_movements": movements}
    old = reference.compute_performance(trades, closes, fx_rates, **kwargs)
    new = compute_performance(trades, closes, fx_rates, **kwargs)
    assert_same(new, old)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ledgers(), min_size=1, max_size=3), st.data())
def test_a_random_household_has_the_same_figures_as_before(portfolios, data):
    end = START + dt.timedelta(days=10)
    count = (end - START).days + 2
    old_parts, new_parts = [], []
    for trades, closes, fx_rates, _, movements in portfolios:
        # Each portfolio's rate into the household currency: 1, stored ones, or inverted
        # ones of 60 digits.
        kind = data.draw(st.sampled_from(["one", "direct", "inverted"]))
        if kind == "one":
            daily = [D(1)] * count
        else:
            stored = data.draw(st.lists(rates, min_size=count, max_size=count))
            ctx = Context(prec=60)
            daily = stored if kind == "direct" else [ctx.divide(1, r) for r in stored]
        kwargs = {"currency": "NOK", "start": START, "end": end, "cash_movements": movements}
        old = reference.compute_performance(trades, closes, fx_rates, **kwargs)
        old_parts.append(reference.Part(old, daily))
        new_parts.append(Part(portfolio_days(trades, closes, fx_rates, **kwargs), daily))
    pensions = [D(n) for n in range(count)]
    kwargs = {"currency": "NOK", "start": START, "end": end, "pensions": pensions}
    old = reference.combine(old_parts, **kwargs)
    new = combine(new_parts, **kwargs)
    assert_same(new, old)
    assert new.pensions == old.pensions


def test_out_of_shape_values_are_exact_too():
    """Prices, quantities and rates far beyond int64 once scaled go through Python
    integers: still exact."""
    big = D("123456789012.123456")
    trades = [
        Trade(START, BUY, "A", "USD", D("987654321.123456"), big, D("1.5"), D("12.3456789012")),
        Trade(START + dt.timedelta(days=2), SELL, "A", "USD", D("0.000001"), big, D(0), D(1)),
    ]
    closes = {"A": [(START + dt.timedelta(days=1), D("99999999999.999999"))]}
    fx_rates = {"USD": [(START, D("1") / D("3"))]}
    kwargs = {"currency": "NOK", "start": START, "end": START + dt.timedelta(days=3)}
    assert_same(
        compute_performance(trades, closes, fx_rates, **kwargs),
        reference.compute_performance(trades, closes, fx_rates, **kwargs),
    )


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([*cash.CASH_TYPES, BUY, SELL, DIVIDEND, SPLIT]),
            st.integers(0, 30),
            st.integers(0, 6).flatmap(
                lambda places: st.decimals(min_value=D("-5000"), max_value=D("5000"), places=places)
            ),
        ),
        max_size=20,
    )
)
def test_the_loaders_cash_books_each_amount_as_the_cash_module(rows):
    """The loader books the raw total_amounts to the cent in numpy (half up, away from
    zero: 0.005 -> 0.01, -0.005 -> -0.01); the same cents as portfolios.cash.effect."""
    rows = sorted(rows, key=lambda row: row[1])
    rows += [(cash.DEPOSIT, 31, D("0.005")), (cash.WITHDRAWAL, 31, D("-0.005"))]
    movements = [cash.Movement(kind, START + dt.timedelta(days=n), a) for kind, n, a in rows]
    units, scale = decimal_units([m.amount for m in movements])
    loaded = Cash.booked(
        [m.type for m in movements],
        np.array([m.date.toordinal() for m in movements]),
        unit_array(units),
        scale,
    )
    expected = Cash.of(movements)
    for name in ("days", "effects", "deposits", "withdrawals"):
        assert getattr(loaded, name).tolist() == getattr(expected, name).tolist(), name
    assert loaded.deposits.tolist()[-2:] == [1, 0]
    # A withdrawal of -0.005 books -0.01: the cash moves by +0.01, the outflow is -0.01.
    assert loaded.effects.tolist()[-1] == 1 and loaded.withdrawals.tolist()[-1] == -1


# The seeded household --------------------------------------------------------------------


@pytest.fixture
def seeded(db):
    """The benchmark household, shrunk (scale 0.05, two years): deterministic."""
    return household_data.build(scale=0.05, years=2)


def test_the_seeded_household_has_the_same_figures_as_before(seeded):
    user = seeded.user
    portfolios = list(Portfolio.objects.owned_by(user))
    end = seeded.end + dt.timedelta(days=1)  # today: the live point included
    summaries = {s.portfolio.pk: s for s in valuation.summarize(portfolios)}
    for start in (end - dt.timedelta(days=730), end - dt.timedelta(days=365)):
        pensions = overview.pension_history(user, start, end)
        kwargs = {"currency": "NOK", "start": start, "end": end, "summaries": summaries}
        old = reference_data.household_performance(portfolios, pensions, **kwargs)
        new = performance_data.household_performance(portfolios, pensions, **kwargs)
        assert new.missing == old.missing == []
        assert new.pensions == old.pensions
        assert_same(new, old)
        for portfolio in portfolios:
            live = performance_data.live_inputs(summaries[portfolio.pk])
            assert_same(
                performance_data.compute_for(portfolio, start, end, live=live),
                reference_data.compute_for(
                    portfolio,
                    start,
                    end,
                    live=reference_data.live_inputs(summaries[portfolio.pk]),
                ),
            )
    # A past period, without the live point.
    start, past = end - dt.timedelta(days=500), end - dt.timedelta(days=100)
    for portfolio in portfolios:
        assert_same(
            performance_data.compute_for(portfolio, start, past),
            reference_data.compute_for(portfolio, start, past),
        )


def test_a_cash_tracking_portfolio_with_splits_has_the_same_figures_as_before(seeded):
    """Through the loaders: one seeded portfolio tracks cash (deposits, a withdrawal,
    interest and a fee of odd cents, and every trade's total_amount booked to the cent)
    and has a split inside the periods and one after the past period's end."""
    user = seeded.user
    portfolios = list(Portfolio.objects.owned_by(user))
    account = portfolios[0]
    account.track_cash = True
    services.save_portfolio(account)
    holding = account.holdings.filter(quantity__gt=0).select_related("instrument").first()
    end = seeded.end + dt.timedelta(days=1)  # today: the live point included
    ago = [end - dt.timedelta(days=n) for n in (600, 400, 200, 120, 50)]
    for kind, day, amount in (
        ("DEPOSIT", ago[0], "250000.55"),
        ("WITHDRAWAL", ago[2], "1234.56"),
        ("INTEREST", ago[3], "12.34"),
        ("FEE", ago[4], "99.01"),
    ):
        services.record_transaction(portfolio=account, type=kind, date=day, amount=D(amount))
    # Forward splits only: a reverse one 50 days ago could leave a later dividend of the
    # seeded plan (which moves with today's date) on more shares than held.
    for day, factor in ((ago[1], "2"), (ago[4], "3")):
        services.record_transaction(
            portfolio=account, instrument=holding.instrument, type=SPLIT, date=day,
            quantity=D(factor), price=D(0), exchange_rate=None,
        )  # fmt: skip
    portfolios = list(Portfolio.objects.owned_by(user))
    summaries = {s.portfolio.pk: s for s in valuation.summarize(portfolios)}
    for start in (end - dt.timedelta(days=730), end - dt.timedelta(days=365)):
        pensions = overview.pension_history(user, start, end)
        kwargs = {"currency": "NOK", "start": start, "end": end, "summaries": summaries}
        old = reference_data.household_performance(portfolios, pensions, **kwargs)
        new = performance_data.household_performance(portfolios, pensions, **kwargs)
        assert new.missing == old.missing == []
        assert_same(new, old)
    tracking = next(p for p in portfolios if p.pk == account.pk)
    assert tracking.track_cash
    live = performance_data.live_inputs(summaries[account.pk])
    start = end - dt.timedelta(days=730)
    new = performance_data.compute_for(tracking, start, end, live=live)
    old = reference_data.compute_for(
        tracking, start, end, live=reference_data.live_inputs(summaries[account.pk])
    )
    assert new.error is None
    assert_same(new, old)
    # The flows are the deposits and withdrawals only.
    assert new.deposits == D("250000.55") and new.withdrawals == D("1234.56")
    # A past period ending between the two splits.
    past = ago[2]
    assert_same(
        performance_data.compute_for(tracking, start, past),
        reference_data.compute_for(tracking, start, past),
    )


def test_the_household_reads_every_close_once(seeded, django_assert_max_num_queries):
    """However many portfolios hold an instrument, one query reads all closes (and, the
    series cached, none): the household's queries do not grow with its portfolios."""
    user = seeded.user
    portfolios = list(Portfolio.objects.owned_by(user))
    end = seeded.end
    start = end - dt.timedelta(days=365)
    pensions = overview.pension_history(user, start, end)
    kwargs = {"currency": "NOK", "start": start, "end": end}
    performance_data.household_performance(portfolios, pensions, **kwargs)
    versions.bump(versions.MARKET_DATA)
    # Stamps; FX sync extents per currency (two each); rates (cache read, query, write);
    # transactions (cache read, query, write); closes (cache read, query, write).
    with django_assert_max_num_queries(24):
        performance_data.household_performance(portfolios, pensions, **kwargs)
    # After a new transaction only: the inputs come from the shared cache.
    versions.bump(versions.portfolio(portfolios[0].pk))
    with django_assert_max_num_queries(16):
        again = performance_data.household_performance(portfolios, pensions, **kwargs)
    assert again.closing_value > 0


# The serialised API response ---------------------------------------------------------------


@pytest.fixture
def held(owner):
    portfolio = PortfolioFactory(user=owner, currency="NOK")
    instrument = InstrumentFactory(ticker="EQNR.OL")
    day = dt.date.today() - dt.timedelta(days=30)
    HistoricalStockPriceFactory(instrument=instrument, date=day, close=D("100"))
    record(portfolio, instrument, quantity="10", price="100", date=day)
    return portfolio, instrument


def test_the_fast_series_is_what_drf_writes(owner, held):
    portfolio, _ = held
    end = dt.date.today()
    start = end - dt.timedelta(days=365)
    history = backfill.ensure_window([portfolio], start, end)
    result = performance_data.performance_for(portfolio, start, end)
    expected = PerformanceSerializer(result, context={"history": history}).data
    assert portfolios_api.performance_data(result, history) == json.loads(json.dumps(expected))
    assert list(portfolios_api.performance_data(result, history)) == list(expected)
    household = overview.household_performance(owner, currency="NOK", start=start, end=end)
    expected = HouseholdPerformanceSerializer(household, context={"history": history}).data
    fast = portfolios_api.performance_data(household, history, household=True)
    assert json.loads(json.dumps(fast)) == json.loads(json.dumps(expected))


def test_a_cached_response_is_answered_without_computing(owner, held, monkeypatch):
    portfolio, _ = held
    api = bearer(owner)
    urls = ["/api/v1/performance", f"/api/v1/portfolios/{portfolio.pk}/performance"]
    first = [api.get(url).content for url in urls]

    def fail(*args, **kwargs):
        raise AssertionError("computed again")

    monkeypatch.setattr(performance_data, "portfolio_days", fail)
    monkeypatch.setattr(performance_data.results, "get", lambda key: None)
    assert [api.get(url).content for url in urls] == first


@pytest.mark.parametrize("change", ["transaction", "close", "pension"])
def test_a_change_of_any_input_is_answered_at_once(owner, held, change):
    portfolio, instrument = held
    api = bearer(owner)
    urls = ["/api/v1/performance", f"/api/v1/portfolios/{portfolio.pk}/performance"]
    before = [api.get(url).json() for url in urls]
    day = dt.date.today() - dt.timedelta(days=10)
    if change == "transaction":
        record(portfolio, instrument, quantity="5", price="100", date=day)
    elif change == "close":
        HistoricalStockPriceFactory(instrument=instrument, date=day, close=D("120"))
    else:
        PensionValueEntryFactory(
            account=PensionAccountFactory(user=owner), date=day, value=D("5000")
        )
    after = [api.get(url).json() for url in urls]
    if change == "pension":
        assert after[0]["pensions_closing_value"] == "5000.00"
        assert after[1] == before[1]
    else:
        # The day's point moves (today's is the live quote, cached on its own).
        for old, new in zip(before, after, strict=True):
            point = {p["date"]: p["value"] for p in new["series"]}[day.isoformat()]
            assert point == ("1500.00" if change == "transaction" else "1200.00")
            assert {p["date"]: p["value"] for p in old["series"]}[day.isoformat()] == "1000.00"


def test_a_failing_cache_does_not_fail_the_answer(owner, held, monkeypatch):
    portfolio, _ = held
    api = bearer(owner)
    url = f"/api/v1/portfolios/{portfolio.pk}/performance"
    expected = api.get(url).json()

    class Down:
        """A cache whose every call fails (Redis unreachable, without the backend's own
        IGNORE_EXCEPTIONS; the quotes keep their cache)."""

        def __getattr__(self, name):
            def broken(*args, **kwargs):
                raise ConnectionError("cache down")

            return broken

    from financedash.lib import responses

    monkeypatch.setattr(responses, "cache", Down())
    monkeypatch.setattr(performance_data, "cache", Down())
    monkeypatch.setattr(performance_data.results, "get", lambda key: None)
    versions.bump(versions.MARKET_DATA)
    assert api.get(url).json() == expected
    assert api.get("/api/v1/performance").status_code == 200


def test_the_nightly_sync_prewarms_the_default_period(owner, held, monkeypatch):
    portfolio, _ = held
    from portfolios import market

    market.sync_held_history()

    def fail(*args, **kwargs):
        raise AssertionError("computed in the request")

    monkeypatch.setattr(performance_data, "portfolio_days", fail)
    monkeypatch.setattr(performance_data.results, "get", lambda key: None)
    api = bearer(owner)
    for url in ("/api/v1/performance", f"/api/v1/portfolios/{portfolio.pk}/performance"):
        body = api.get(url).json()
        assert body["closing_value"] == "1000.00"


def test_replace_keeps_flows_out_of_the_household_cache(owner, held):
    end = dt.date.today()
    result = overview.household_performance(
        owner, currency="NOK", start=end - dt.timedelta(days=30), end=end
    )
    assert dataclasses.replace(result).flows is None


@pytest.mark.skipif(
    connection.vendor != "sqlite",
    reason="Only SQLite stores an infinite close (PostgreSQL refuses it).",
)
def test_an_unreadable_close_fails_its_portfolio_not_the_household(owner, held):
    """A stored infinity (only raw SQL makes one): the portfolio holding it says its
    figures could not be computed, the household leaves it out and names it."""
    portfolio, instrument = held
    other = PortfolioFactory(user=owner, currency="NOK", name="Other")
    fine = InstrumentFactory(ticker="DNB.OL")
    day = dt.date.today() - dt.timedelta(days=30)
    HistoricalStockPriceFactory(instrument=fine, date=day, close=D("50"))
    record(other, fine, quantity="2", price="50", date=day)
    table = HistoricalStockPriceFactory._meta.model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET close = %s WHERE instrument_id = %s",
            [float("inf"), instrument.pk],
        )
    versions.bump(versions.MARKET_DATA)
    api = bearer(owner)
    body = api.get(f"/api/v1/portfolios/{portfolio.pk}/performance").json()
    assert "could not be computed" in body["error"]
    household = api.get("/api/v1/performance").json()
    assert household["missing"] == [f"{portfolio.name}: {body['error']}"]
    assert household["closing_value"] == "100.00"


def test_an_instruments_new_currency_is_answered_at_once(owner, held):
    """Editing an instrument's currency moves no version stamp: the cached transactions
    take the current currency and the cached responses' keys carry it."""
    from marketdata.models import Instrument
    from tests.factories import HistoricalExchangeRateFactory

    portfolio, instrument = held
    day = dt.date.today() - dt.timedelta(days=60)
    HistoricalExchangeRateFactory(
        base_currency="USD", target_currency="NOK", date=day, rate=D("10")
    )
    api = bearer(owner)
    urls = ["/api/v1/performance", f"/api/v1/portfolios/{portfolio.pk}/performance"]
    before = [api.get(url).json() for url in urls]
    # No stamp moves: the transactions stay cached under the portfolio's.
    Instrument.objects.filter(pk=instrument.pk).update(currency="USD")
    after = [api.get(url).json() for url in urls]
    # 10 x 100 USD at 10 NOK: the value is ten times what it was in NOK.
    for old, new in zip(before, after, strict=True):
        assert old["closing_value"] == "1000.00"
        assert new["closing_value"] == "10000.00"


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite keeps decimals as floats.")
def test_a_float_that_is_not_the_nearest_one_reads_as_the_orm_reads_it(owner, held):
    """SQLite's text-to-float conversion may keep 7.154779 as 7.1547789999999996 (found
    in the benchmark household): the raw read gives the ORM's Decimal all the same."""
    portfolio, _ = held
    table = Transaction._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET exchange_rate = %s", [7.1547789999999996])
    orm = Transaction.objects.filter(portfolio=portfolio).values_list("exchange_rate", flat=True)
    assert list(orm) == [D("7.1547790000")]
    trades = performance_data.load_trades([portfolio.pk], dt.date.today())[portfolio.pk]
    assert trades.decimal("rate", 0) == D("7.154779")
