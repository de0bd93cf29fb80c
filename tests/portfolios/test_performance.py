from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Context, Decimal, localcontext

import pytest
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from hypothesis import given, settings
from hypothesis import strategies as st

from financedash.lib import versions
from marketdata.history import store_prices
from portfolios.ledger import BUY, DIVIDEND, SELL
from portfolios.performance import (
    EARLIEST,
    Point,
    Trade,
    carried_forward,
    compute_performance,
    simple_return,
    time_weighted_return,
    xirr,
)
from portfolios.performance_data import performance_for
from tests.factories import (
    HistoricalExchangeRateFactory,
    HistoricalStockPriceFactory,
    InstrumentFactory,
    PortfolioFactory,
    record,
)

D = Decimal
# The TWR divides at 60 digits; expected figures are computed the same way.
SAME = Context(prec=60)
JAN1 = dt.date(2023, 1, 1)
DEC31 = dt.date(2023, 12, 31)
NEXT_JAN1 = dt.date(2024, 1, 1)  # 365 days after JAN1: XIRR (ACT/365F) = plain yearly return


def trade(kind, day, quantity, price, *, fees="0", rate="1", key="EQNR", currency="NOK"):
    return Trade(day, kind, key, currency, D(quantity), D(price), D(fees), D(rate))


def daily(*pairs):
    return [(day, D(value)) for day, value in pairs]


def days(start, count):
    return [start + dt.timedelta(days=n) for n in range(count)]


def run(trades, closes, fx=None, *, start, end, currency="NOK"):
    return compute_performance(trades, closes, fx or {}, currency=currency, start=start, end=end)


# -- exact cases -----------------------------------------------------------------------


def test_one_buy_and_a_ten_percent_rise_is_a_ten_percent_return():
    # buy 10 x 100 on the first day; the close goes 100 -> 110 by the last day
    result = run(
        [trade(BUY, JAN1, "10", "100")],
        {"EQNR": daily((JAN1, "100"), (dt.date(2023, 6, 1), "110"))},
        start=JAN1,
        end=NEXT_JAN1,
    )

    assert result.twr == D("0.1")
    assert result.twr_constant_fx == D("0.1")
    assert result.currency_effect == 0
    # opening 0, deposits 1000, closing 1100: gain 100 on 1000
    assert (result.opening_value, result.closing_value) == (D("0"), D("1100"))
    assert (result.deposits, result.withdrawals, result.gain) == (D("1000"), D("0"), D("100"))
    assert result.simple_return == D("0.1")
    # -1000 on 2023-01-01, +1100 on 2024-01-01, 365 days apart
    assert result.xirr == pytest.approx(D("0.1"), abs=D("1e-9"))
    # the opening point (the close of the day before start) comes first
    assert result.series[0] == Point(JAN1 - dt.timedelta(days=1), D("0"), D("0"), D("0"))
    assert result.series[1] == Point(JAN1, D("1000"), D("1000"), D("1000"))
    assert result.series[-1] == Point(NEXT_JAN1, D("1100"), D("1000"), D("0"))
    assert len(result.series) == 1 + 366


def test_a_deposit_mid_period_leaves_twr_alone_but_moves_xirr_and_simple_return():
    # 100 -> 110 by the middle of the year (+10 %), 110 -> 99 by the end (-10 %)
    mid = dt.date(2023, 7, 2)
    closes = {"EQNR": daily((JAN1, "100"), (mid - dt.timedelta(days=1), "110"), (DEC31, "99"))}
    first_buy = trade(BUY, JAN1, "10", "100")
    alone = run([first_buy], closes, start=JAN1, end=NEXT_JAN1)
    topped_up = run([first_buy, trade(BUY, mid, "10", "110")], closes, start=JAN1, end=NEXT_JAN1)

    # (1100 / 1000) x (1980 / (1100 + 1100)) - 1 = 1.1 x 0.9 - 1
    assert alone.twr == topped_up.twr == D("-0.01")
    # alone: 990 back for 1000 in; topped up: 1980 back for 2100 in, 1100 of it late
    assert alone.simple_return == D("-0.01")
    assert alone.xirr == pytest.approx(D("-0.01"), abs=D("1e-9"))
    with localcontext(SAME):
        assert topped_up.simple_return == D("-120") / D("2100")
    # the late 1100 took the whole fall: the money-weighted figures are worse
    assert topped_up.xirr < topped_up.simple_return < topped_up.twr
    assert topped_up.series[1 + mid.toordinal() - JAN1.toordinal()] == Point(
        mid, D("2200"), D("2100"), D("1100")
    )


def test_a_sale_is_an_outflow_at_the_end_of_its_day():
    # 10 held at 100 before the period. On the sale day the close is 120 and 5 are sold
    # at 120 with 10 in fees: proceeds 590. That day: (5 x 120 + 590) / 1000 = 1.19.
    # Then 120 -> 132: x 1.1. (A start-of-day outflow would give 600 / (1000 - 590).)
    sale_day = dt.date(2023, 3, 1)
    result = run(
        [
            trade(BUY, dt.date(2022, 12, 1), "10", "100"),
            trade(SELL, sale_day, "5", "120", fees="10"),
        ],
        {"EQNR": daily((dt.date(2022, 12, 30), "100"), (sale_day, "120"), (DEC31, "132"))},
        start=JAN1,
        end=DEC31,
    )

    assert result.opening_value == D("1000")
    assert result.twr == D("0.309")
    assert result.withdrawals == D("590")
    sale_point = result.series[1 + sale_day.toordinal() - JAN1.toordinal()]
    # net deposits: 1000 before the period, 590 taken out
    assert sale_point == Point(sale_day, D("600"), D("410"), D("-590"))
    # gain = 660 + 590 - 0 - 1000 = 250, on the 1000 at risk
    assert result.gain == D("250")
    assert result.simple_return == D("0.25")


def test_a_dividend_is_an_outflow_and_is_summed_by_month_and_year():
    # 100 USD shares at a flat 50; dividends 1 USD per share at 10 NOK/USD less 15 % tax
    # (150 NOK): 1000 - 150 = 850 NOK each; the 2022 one is before the period.
    start, end = dt.date(2023, 1, 1), dt.date(2024, 6, 30)
    payouts = [dt.date(2022, 12, 15), dt.date(2023, 3, 10), dt.date(2023, 3, 24)]
    payouts += [dt.date(2023, 9, 8), dt.date(2024, 3, 8)]
    dividends = [
        trade(DIVIDEND, day, "100", "1", fees="150", rate="10", currency="USD") for day in payouts
    ]
    result = run(
        [trade(BUY, dt.date(2022, 6, 1), "100", "50", rate="10", currency="USD"), *dividends],
        {"EQNR": daily((dt.date(2022, 6, 1), "50"))},
        {"USD": daily((dt.date(2022, 6, 1), "10"))},
        start=start,
        end=end,
    )

    assert result.dividends_by_month == {
        "2023-03": D("1700"),
        "2023-09": D("850"),
        "2024-03": D("850"),
    }
    assert result.dividends_by_year == {2023: D("2550"), 2024: D("850")}
    assert result.dividends == result.withdrawals == D("3400")
    # value flat at 50 000: each payout day is (50 000 + 850) / 50 000
    with localcontext(SAME):
        assert result.twr == (D("50850") / D("50000")) ** 4 - 1
    # net deposits: 50 000 bought, 5 dividends of 850 taken out
    assert result.series[-1].net_deposits == D("50000") - 5 * D("850")
    assert result.currency_effect == 0


def test_an_fx_move_on_a_flat_local_price_is_pure_currency_effect():
    # 100 USD shares at a flat 10 USD, bought at 10 NOK/USD; the dollar goes 10 -> 11 NOK
    result = run(
        [trade(BUY, dt.date(2022, 12, 1), "100", "10", rate="10", currency="USD")],
        {"EQNR": daily((dt.date(2022, 12, 1), "10"))},
        {"USD": daily((dt.date(2022, 12, 1), "10"), (dt.date(2023, 5, 5), "11"))},
        start=JAN1,
        end=DEC31,
    )

    assert (result.opening_value, result.closing_value) == (D("10000"), D("11000"))
    assert result.twr == D("0.1")
    assert result.twr_constant_fx == 0
    assert result.currency_effect == D("0.1")


def test_constant_fx_reprices_the_flows_at_the_opening_rate():
    # 100 bought at 10 USD before the period at 10 NOK/USD; mid-period the price goes to
    # 12 USD and the dollar to 12 NOK, and 100 more are bought at 12 USD (14 400 NOK).
    mid = dt.date(2023, 6, 1)
    result = run(
        [
            trade(BUY, dt.date(2022, 12, 1), "100", "10", rate="10", currency="USD"),
            trade(BUY, mid, "100", "12", rate="12", currency="USD"),
        ],
        {"EQNR": daily((dt.date(2022, 12, 1), "10"), (mid, "12"))},
        {"USD": daily((dt.date(2022, 12, 1), "10"), (mid, "12"))},
        start=JAN1,
        end=DEC31,
    )

    # in NOK: 200 x 12 x 12 = 28 800 at the close on 10 000 + 14 400
    # at a constant 10 NOK/USD: 200 x 12 x 10 = 24 000 on 10 000 + 100 x 12 x 10
    with localcontext(SAME):
        assert result.twr == D("28800") / D("24400") - 1
        assert result.twr_constant_fx == D("24000") / D("22000") - 1
        assert result.currency_effect == result.twr - result.twr_constant_fx


def test_closes_are_carried_over_weekends_and_a_trade_price_stands_in_before_the_first():
    # Bought Friday 2023-01-06 at 100 with 5 in fees; no close until Tuesday (105)
    friday = dt.date(2023, 1, 6)
    result = run(
        [trade(BUY, friday, "10", "100", fees="5")],
        {"EQNR": daily((dt.date(2023, 1, 10), "105"), (dt.date(2023, 1, 11), "104"))},
        start=dt.date(2023, 1, 5),
        end=dt.date(2023, 1, 13),
    )

    assert [p.value for p in result.series] == [
        D(v) for v in ["0", "0", "1000", "1000", "1000", "1000", "1050", "1040", "1040", "1040"]
    ]
    with localcontext(SAME):
        assert result.twr == D("1040") / D("1005") - 1


def test_a_trade_rate_stands_in_before_the_first_fx_rate():
    result = run(
        [trade(BUY, JAN1, "10", "100", rate="9.5", currency="USD")],
        {"EQNR": daily((JAN1, "100"))},
        {"USD": daily((dt.date(2023, 1, 3), "10"))},
        start=JAN1,
        end=dt.date(2023, 1, 3),
    )

    # the opening (31 Dec) held nothing
    assert [p.value for p in result.series] == [D("0"), D("9500"), D("9500"), D("10000")]
    # at constant FX (the first known rate, 9.5 on the buy) the value stays 9500
    assert result.twr_constant_fx == 0
    with localcontext(SAME):
        assert result.currency_effect == D("10000") / D("9500") - 1


def test_returns_are_none_when_nothing_was_held():
    result = run([], {}, start=JAN1, end=DEC31)

    assert result.twr is result.xirr is result.simple_return is result.currency_effect is None
    assert {p.value for p in result.series} == {D(0)}
    assert result.dividends_by_month == {}


def test_a_position_sold_out_stops_counting():
    # up 10 %, sold out at that close, then the price halves: TWR stays 10 %
    result = run(
        [trade(BUY, JAN1, "10", "100"), trade(SELL, dt.date(2023, 2, 1), "10", "110")],
        {"EQNR": daily((JAN1, "100"), (dt.date(2023, 2, 1), "110"), (dt.date(2023, 3, 1), "55"))},
        start=JAN1,
        end=DEC31,
    )

    assert result.twr == D("0.1")
    assert result.closing_value == 0
    assert result.series[-1].net_deposits == D("-100")


def test_transactions_after_the_end_are_ignored():
    result = run(
        [trade(BUY, JAN1, "10", "100"), trade(BUY, NEXT_JAN1, "10", "100")],
        {"EQNR": daily((JAN1, "100"), (DEC31, "120"))},
        start=JAN1,
        end=DEC31,
    )

    assert result.closing_value == D("1200")
    assert result.deposits == D("1000")


def test_an_empty_period_is_rejected():
    with pytest.raises(ValueError, match="ends before it starts"):
        run([], {}, start=DEC31, end=JAN1)


def test_the_building_blocks_by_hand():
    # day 1: +10 % on 100; day 2: 50 in at the start, then 160 + 20 out at the end
    assert (
        time_weighted_return(D("100"), [D("110"), D("160")], [D("0"), D("50")], [D("0"), D("20")])
        == D("1.1") * (D("180") / D("160")) - 1
    )
    assert time_weighted_return(D("0"), [D("0")], [D("0")], [D("0")]) is None
    assert simple_return(D("100"), D("160"), D("50"), D("20")) == D("30") / D("150")
    assert simple_return(D("0"), D("0"), D("0"), D("0")) is None
    assert xirr([(JAN1, D("-100")), (NEXT_JAN1, D("110"))]) == pytest.approx(D("0.1"))
    # all on one day: pyxirr answers inf
    assert xirr([(JAN1, D("-100")), (JAN1, D("110"))]) is None
    assert xirr([(JAN1, D("100")), (NEXT_JAN1, D("110"))]) is None
    assert xirr([]) is None


# -- properties ------------------------------------------------------------------------

PROPERTY_SETTINGS = settings(max_examples=150, deadline=None)
START = dt.date(2024, 1, 1)
quantities = st.decimals(D("0.000001"), D("10000"), places=6)
prices = st.decimals(D("0.01"), D("10000"), places=6)
rates = st.decimals(D("0.01"), D("100"), places=6)
fees = st.decimals(D("0"), D("100"), places=2)


@st.composite
def price_paths(draw, start=START, length=20):
    """Closes on some of `length` days from `start`, always one on the day before."""
    offsets = draw(st.sets(st.integers(0, length - 1), max_size=length))
    path = [(start - dt.timedelta(days=1), draw(prices))]
    path += [(start + dt.timedelta(days=n), draw(prices)) for n in sorted(offsets)]
    return path


@PROPERTY_SETTINGS
@given(
    held=quantities,
    bought_at=prices,
    path=price_paths(),
    quantity=quantities,
    share=st.integers(1, 99),
    fee=fees,
    fee_share=st.integers(0, 100),
    price=prices,
    day=st.integers(0, 19),
)
def test_splitting_a_buy_in_two_same_day_buys_changes_nothing(
    held, bought_at, path, quantity, share, fee, fee_share, price, day
):
    first = (quantity * share / 100).quantize(D("0.000001"))
    second = quantity - first
    first_fee = (fee * fee_share / 100).quantize(D("0.01"))
    when = START + dt.timedelta(days=day)
    end = START + dt.timedelta(days=19)
    before = trade(BUY, START - dt.timedelta(days=30), held, bought_at)
    whole = run(
        [before, trade(BUY, when, quantity, price, fees=fee)], {"EQNR": path}, start=START, end=end
    )
    split = run(
        [
            before,
            trade(BUY, when, first, price, fees=first_fee),
            trade(BUY, when, second, price, fees=fee - first_fee),
        ],
        {"EQNR": path},
        start=START,
        end=end,
    )

    assert split.twr == whole.twr
    assert split.series == whole.series
    assert split.xirr == whole.xirr


@PROPERTY_SETTINGS
@given(
    buys=st.lists(st.tuples(st.integers(1, 60), quantities, prices, fees), min_size=1),
    path=price_paths(length=40),
)
def test_without_flows_twr_is_closing_over_opening_value(buys, path):
    trades = [trade(BUY, START - dt.timedelta(days=ago), q, p, fees=f) for ago, q, p, f in buys]
    end = START + dt.timedelta(days=39)
    result = run(trades, {"EQNR": path}, start=START, end=end)

    with localcontext(SAME):
        assert result.twr == result.closing_value / result.opening_value - 1
    assert result.currency_effect == 0


@st.composite
def portfolios(draw):
    """Random trades in three instruments (two currencies), closes and FX with gaps."""
    window = 30
    first_day = START - dt.timedelta(days=10)
    currencies = {"A": "NOK", "B": "USD", "C": "USD"}
    instruments = st.sampled_from(sorted(currencies))
    kinds = st.sampled_from([BUY, BUY, SELL, DIVIDEND])
    raw = draw(st.lists(st.tuples(st.integers(0, window + 15), instruments, kinds), max_size=25))
    held = dict.fromkeys(currencies, D(0))
    trades = []
    # Never oversell in date order, as the ledger guarantees.
    for offset, key, kind in sorted(raw):
        quantity = draw(quantities)
        if kind == SELL:
            if not held[key]:
                continue
            quantity = min(quantity, held[key])
            held[key] -= quantity
        elif kind == BUY:
            held[key] += quantity
        day = first_day + dt.timedelta(days=offset)
        trades.append(
            Trade(day, kind, key, currencies[key], quantity, draw(prices), draw(fees), draw(rates))
        )

    def path(min_size=0):
        offsets = draw(st.sets(st.integers(0, window + 15), min_size=min_size, max_size=window))
        return [(first_day + dt.timedelta(days=n), draw(prices)) for n in sorted(offsets)]

    closes = {key: path() for key in currencies}
    # At least one rate: a currency with none at all is left out (a test of its own).
    fx = {"USD": path(min_size=1)}
    return trades, closes, fx, START, START + dt.timedelta(days=window - 1)


def brute_force_values(trades, closes, fx, start, end, currency="NOK"):
    """Each day valued from scratch by the module docstring's rule, slowly and plainly."""
    values = []
    day = start - dt.timedelta(days=1)
    while day <= end:
        total = D(0)
        for key in {t.instrument for t in trades}:
            own = [t for t in trades if t.instrument == key and t.date <= day]
            traded = [t for t in own if t.type != DIVIDEND]
            quantity = sum((t.quantity if t.type == BUY else -t.quantity for t in traded), D(0))
            if not quantity:
                continue
            known = [close for close in closes.get(key, []) if close[0] <= day]
            price = known[-1][1] if known else traded[-1].price
            code = own[0].currency
            rate = D(1)
            if code != currency:
                known = [r for r in fx.get(code, []) if r[0] <= day]
                stand_ins = [
                    t.exchange_rate for t in trades if t.currency == code and t.date <= day
                ]
                rate = known[-1][1] if known else stand_ins[-1]
            total += quantity * price * rate
        values.append(total)
        day += dt.timedelta(days=1)
    return values


@PROPERTY_SETTINGS
@given(case=portfolios())
def test_the_incremental_values_match_a_day_by_day_valuation(case):
    trades, closes, fx, start, end = case
    result = run(trades, closes, fx, start=start, end=end)

    with localcontext(SAME):
        expected = brute_force_values(trades, closes, fx, start, end)
    assert [p.value for p in result.series] == expected
    assert result.opening_value == expected[0]


@PROPERTY_SETTINGS
@given(case=portfolios(), rate=rates)
def test_there_is_no_currency_effect_when_the_rates_do_not_move(case, rate):
    trades, closes, _, start, end = case
    trades = [dataclasses.replace(t, exchange_rate=rate) for t in trades]
    result = run(
        trades, closes, {"USD": [(start - dt.timedelta(days=31), rate)]}, start=start, end=end
    )

    assert result.twr_constant_fx == result.twr
    assert result.currency_effect in (0, None)


@PROPERTY_SETTINGS
@given(case=portfolios())
def test_net_deposits_are_the_running_sum_of_flows(case):
    trades, closes, fx, start, end = case
    result = run(trades, closes, fx, start=start, end=end)

    with localcontext(SAME):
        before = sum(
            (t.amount() if t.type == BUY else -t.amount() for t in trades if t.date < start),
            D(0),
        )
        running = before
        for point in result.series:
            running += point.flow
            assert point.net_deposits == running
        assert result.gain == result.closing_value - result.opening_value - (running - before)


# -- loading from the database ---------------------------------------------------------


@pytest.fixture
def portfolio(owner):
    return PortfolioFactory(user=owner, name="Nordnet ASK", currency="NOK")


def test_performance_for_loads_transactions_closes_and_both_fx_directions(portfolio):
    equinor = InstrumentFactory(ticker="EQNR.OL", currency="NOK")
    apple = InstrumentFactory(ticker="AAPL", currency="USD")
    volvo = InstrumentFactory(ticker="VOLV-B.ST", currency="SEK")
    start, end = dt.date(2024, 3, 1), dt.date(2024, 3, 3)
    before = start - dt.timedelta(days=5)  # inside the lookback: carried into the period
    record(portfolio, equinor, quantity="10", price="100", date=before)
    record(portfolio, apple, quantity="2", price="150", exchange_rate="10.5", date=before)
    record(portfolio, volvo, quantity="4", price="250", exchange_rate="1.25", date=start)
    for instrument, close in [(equinor, "101"), (apple, "160"), (volvo, "250")]:
        HistoricalStockPriceFactory(instrument=instrument, date=before, close=D(close))
    HistoricalStockPriceFactory(instrument=equinor, date=end, close=D("111"))
    # USD stored as USD->NOK; SEK stored the other way round, as NOK->SEK
    HistoricalExchangeRateFactory(base_currency="USD", target_currency="NOK", date=before)
    HistoricalExchangeRateFactory(
        base_currency="NOK", target_currency="SEK", date=start, rate=D("0.8")
    )
    # A direct rate wins over an inverse one on the same day
    HistoricalExchangeRateFactory(
        base_currency="NOK", target_currency="USD", date=end, rate=D("0.05")
    )
    HistoricalExchangeRateFactory(
        base_currency="USD", target_currency="NOK", date=end, rate=D("11")
    )

    result = performance_for(portfolio, start, end)

    # opening: 10 x 101 + 2 x 160 x 10.5 = 1010 + 3360; SEK: 4 x 250 x 1.25 = 1250
    assert result.opening_value == D("4370")
    assert [p.value for p in result.series] == [
        D("4370"),
        D("5620"),
        D("5620"),
        D("1110") + D("3520") + D("1250"),
    ]
    # flows at the transactions' own rates
    assert result.deposits == D("1250")
    assert result.series[-1].net_deposits == D("1000") + D("3150") + D("1250")


def test_performance_for_carries_the_last_close_before_the_window_however_old(portfolio):
    # Defect 4 of issue 8: closes older than a fixed 31-day lookback were not loaded, so
    # the trade price stood in. Each instrument's last close before start is loaded now.
    start = dt.date(2024, 3, 1)
    bought = dt.date(2022, 1, 3)
    equinor = InstrumentFactory(ticker="EQNR.OL")
    dnb = InstrumentFactory(ticker="DNB.OL")
    for instrument in (equinor, dnb):
        record(portfolio, instrument, quantity="10", price="100", date=bought)
    HistoricalStockPriceFactory(instrument=equinor, date=start - dt.timedelta(days=31), close=110)
    HistoricalStockPriceFactory(instrument=dnb, date=dt.date(2022, 6, 1), close=D("140"))
    HistoricalStockPriceFactory(instrument=dnb, date=dt.date(2023, 1, 2), close=D("150"))

    result = performance_for(portfolio, start, start)

    # EQNR: 10 x 110; DNB: 10 x 150, its last close (2023), not 100 (the trade price)
    assert result.opening_value == D("2600")


@pytest.mark.parametrize("offset", [1, 30, 31, 32, 200, 400, 700])
def test_a_days_value_does_not_depend_on_the_start(portfolio, offset):
    # Buy 10 at 100; closes 100, then 180, both long before the period: every day of any
    # period after that is worth 10 x 180 = 1,800, and with no flows the TWR is 0.
    equinor = InstrumentFactory(ticker="EQNR.OL")
    record(portfolio, equinor, quantity="10", price="100", date=dt.date(2022, 1, 3))
    HistoricalStockPriceFactory(instrument=equinor, date=dt.date(2022, 1, 3), close=D("100"))
    HistoricalStockPriceFactory(instrument=equinor, date=dt.date(2022, 2, 1), close=D("180"))
    end = dt.date(2024, 6, 1)

    result = performance_for(portfolio, end - dt.timedelta(days=offset), end)

    assert {p.value for p in result.series} == {D("1800")}
    assert result.twr == D("0")


def test_the_last_rate_before_the_window_is_carried_in_either_direction(portfolio):
    apple = InstrumentFactory(ticker="AAPL", currency="USD")
    volvo = InstrumentFactory(ticker="VOLV-B.ST", currency="SEK")
    bought = dt.date(2022, 1, 3)
    record(portfolio, apple, quantity="1", price="100", exchange_rate="9", date=bought)
    record(portfolio, volvo, quantity="1", price="100", exchange_rate="1", date=bought)
    for instrument in (apple, volvo):
        HistoricalStockPriceFactory(instrument=instrument, date=bought, close=D("100"))
    # USD: an old direct rate and a newer inverse one (0.1 NOK->USD = 10 USD->NOK)
    HistoricalExchangeRateFactory(date=dt.date(2022, 5, 2), rate=D("9.5"))
    HistoricalExchangeRateFactory(
        base_currency="NOK", target_currency="USD", date=dt.date(2023, 2, 1), rate=D("0.1")
    )
    HistoricalExchangeRateFactory(
        base_currency="SEK", target_currency="NOK", date=dt.date(2022, 3, 1), rate=D("0.95")
    )
    start = dt.date(2024, 1, 10)

    result = performance_for(portfolio, start, start)

    # 100 x 10 + 100 x 0.95, the trade rates (9 and 1) never used
    assert result.closing_value == D("1095")


def test_a_currency_with_no_rate_at_all_is_left_out_and_named(portfolio):
    # Issue 8: "a currency with no FX rate at all: the chart warns as the live table
    # does, instead of valuing at the trade rate".
    apple = InstrumentFactory(ticker="AAPL", currency="USD")
    equinor = InstrumentFactory(ticker="EQNR.OL")
    day = dt.date(2024, 1, 2)
    record(portfolio, apple, quantity="1", price="100", exchange_rate="10", date=day)
    record(portfolio, equinor, quantity="2", price="50", date=day)

    result = performance_for(portfolio, day, day + dt.timedelta(days=2))

    assert result.unvalued_currencies == ["USD"]
    # EQNR only: 2 x 50 in, worth 100
    assert (result.deposits, result.closing_value) == (D("100"), D("100"))


@pytest.mark.parametrize("count", [2, 20])
def test_performance_for_runs_ten_queries_however_many_holdings(
    portfolio, count, django_assert_num_queries
):
    start, end = dt.date(2024, 1, 1), dt.date(2024, 1, 31)
    for n in range(count):
        instrument = InstrumentFactory(ticker=f"T{n}", currency="USD" if n % 2 else "NOK")
        record(portfolio, instrument, quantity="10", price="100", date=start)
        record(portfolio, instrument, "DIVIDEND", quantity="10", price="2", date=end)
        HistoricalStockPriceFactory(instrument=instrument, date=dt.date(2023, 6, 1), close=90)
        for day in days(start, 31):
            HistoricalStockPriceFactory(instrument=instrument, date=day, close=D(100 + day.day))
    HistoricalExchangeRateFactory(date=dt.date(2023, 5, 1), rate=D("9"))
    for day in days(start, 31):
        HistoricalExchangeRateFactory(date=day, rate=D("10"))

    # The two version stamps of the cache key in one query, then the loads: transactions;
    # the closes' compact series from the shared cache, missing, so read in one query and
    # stored (count + upsert); the same four for the rates. The shared cache's reads and
    # writes are queries when it is the database's (without REDIS_URL), not with Redis.
    in_db = isinstance(caches["default"], DatabaseCache)
    with django_assert_num_queries(10 if in_db else 4):
        result = performance_for(portfolio, start, end)

    assert len(result.series) == 1 + 31
    assert result.dividends_by_month == {"2024-01": D(20 * count)}

    # After a new transaction (the portfolio's stamp moves, the market data's does not),
    # the series come from the shared cache: stamps, transactions, two cache reads.
    versions.bump(versions.portfolio(portfolio.pk))
    with django_assert_num_queries(4 if in_db else 2):
        again = performance_for(portfolio, start, end)
    assert again == result


class TestCache:
    START, END = dt.date(2024, 1, 1), dt.date(2024, 1, 10)

    @pytest.fixture
    def eqnr(self, portfolio):
        instrument = InstrumentFactory(ticker="EQNR.OL")
        record(portfolio, instrument, quantity="10", price="100", date=self.START)
        HistoricalStockPriceFactory(instrument=instrument, date=self.START, close=D("100"))
        return instrument

    def test_a_repeat_is_served_from_the_cache(self, portfolio, eqnr, django_assert_num_queries):
        performance_for(portfolio, self.START, self.END)
        # Only the two version stamps the key is made of, in one query.
        with django_assert_num_queries(1):
            again = performance_for(portfolio, self.START, self.END)
        assert again.closing_value == D("1000")

    def test_a_new_transaction_invalidates_it(self, portfolio, eqnr):
        performance_for(portfolio, self.START, self.END)
        record(portfolio, eqnr, quantity="5", price="100", date=self.END)
        assert performance_for(portfolio, self.START, self.END).closing_value == D("1500")

    def test_a_stored_price_invalidates_it(self, portfolio, eqnr):
        performance_for(portfolio, self.START, self.END)
        store_prices(eqnr, "NOK", [(self.END, D("120"))])
        assert performance_for(portfolio, self.START, self.END).closing_value == D("1200")

    def test_an_admin_price_edit_invalidates_it(self, portfolio, eqnr):
        performance_for(portfolio, self.START, self.END)
        HistoricalStockPriceFactory(instrument=eqnr, date=self.END, close=D("90"))
        assert performance_for(portfolio, self.START, self.END).closing_value == D("900")

    def test_another_portfolio_keeps_its_entry(self, portfolio, eqnr, owner):
        performance_for(portfolio, self.START, self.END)
        other = PortfolioFactory(user=owner)
        record(other, eqnr, quantity="1", price="100", date=self.START)
        assert performance_for(portfolio, self.START, self.END).closing_value == D("1000")


def test_mwr_is_the_periods_own_rate_and_xirr_needs_a_year():
    # Buy 10 x 100 on Jan 1; the close halves to 50 by Jan 2. Over two days the money-
    # weighted return is -50 %; XIRR would annualise it to -100 %, so it is left out.
    jan2 = dt.date(2023, 1, 2)
    fall = run(
        [trade(BUY, JAN1, "10", "100")],
        {"EQNR": daily((JAN1, "100"), (jan2, "50"))},
        start=JAN1,
        end=jan2,
    )
    assert fall.mwr == pytest.approx(D("-0.5"), abs=D("1e-12"))
    assert fall.xirr is None and fall.twr_annualized is None
    assert fall.twr == D("-0.5")
    # Over exactly a year, the period's rate and the yearly one are the same: 1100 / 1000.
    year = run(
        [trade(BUY, JAN1, "10", "100")],
        {"EQNR": daily((JAN1, "100"), (DEC31, "110"))},
        start=JAN1,
        end=NEXT_JAN1,
    )
    assert year.mwr == pytest.approx(D("0.1"), abs=D("1e-12"))
    assert year.xirr == pytest.approx(D("0.1"), abs=D("1e-9"))
    assert year.twr_annualized == year.twr == D("0.1")


def test_a_later_deposit_weighs_in_the_mwr_but_not_the_twr():
    # 1000 in on Jan 1, worth 1100 on Jul 2 when 1100 more goes in; 2200 -> 1980 by the
    # end. TWR: 1.1 x 0.9 - 1 = -1 %. The late money took the whole fall: MWR is worse,
    # and over this exact year it equals XIRR.
    mid = dt.date(2023, 7, 2)
    closes = {"EQNR": daily((JAN1, "100"), (mid - dt.timedelta(days=1), "110"), (DEC31, "99"))}
    result = run(
        [trade(BUY, JAN1, "10", "100"), trade(BUY, mid, "10", "110")],
        closes,
        start=JAN1,
        end=NEXT_JAN1,
    )
    assert result.twr == D("-0.01")
    assert result.mwr < result.twr
    assert result.mwr == pytest.approx(result.xirr, abs=D("1e-9"))


def test_carrying_forward_says_what_stands_before_the_first_known_value():
    # Known on the 3rd (10) and the 5th (12); four days from the 2nd.
    known = [(dt.date(2024, 1, 3), Decimal("10")), (dt.date(2024, 1, 5), Decimal("12"))]
    first = dt.date(2024, 1, 2)

    # A close or rate: nothing before the first (the trade price stands in elsewhere).
    assert carried_forward(known, first, 4) == [None, Decimal("10"), Decimal("10"), Decimal("12")]
    # The household's rates: the first stored rate stands in before it.
    assert carried_forward(known, first, 4, before=EARLIEST) == [Decimal("10")] * 3 + [
        Decimal("12")
    ]
    # A pension account: worth 0 before its first entry.
    assert carried_forward(known, first, 4, before=Decimal(0)) == [
        Decimal(0),
        Decimal("10"),
        Decimal("10"),
        Decimal("12"),
    ]
    # A value from before the window carries into it, whatever `before` says.
    assert carried_forward(known, dt.date(2024, 1, 4), 2, before=Decimal(0)) == [
        Decimal("10"),
        Decimal("12"),
    ]
    assert carried_forward([], first, 2, before=EARLIEST) == [None, None]
    assert carried_forward(known, first, 0) == []
