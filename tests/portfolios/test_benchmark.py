"""The benchmark line (portfolios.benchmark) worked by hand: pure, no database."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portfolios.benchmark import simulate
from portfolios.performance import Point

D = Decimal
OPENING = date(2024, 1, 1)  # the opening point: the close of the day before the period


def _series(opening_value, flows):
    """Performance points from the opening day on: flows[k] on day k (k >= 1). The
    portfolio's own values do not matter to the benchmark, only its opening value."""
    points = [Point(OPENING, D(opening_value), D(opening_value), D(0))]
    for k, flow in enumerate(flows, start=1):
        points.append(Point(OPENING + timedelta(days=k), D(0), D(0), D(flow)))
    return points


def test_deposits_bought_at_each_days_close():
    # Index 100 (opening day and day 1), 110 (day 2), 121 (day 3); 1,000 in on day 1 and
    # 500 on day 3:
    #   day 1: 1,000 buys 10 units at 100             -> 1,000
    #   day 2: 10 units x 110                         -> 1,100
    #   day 3: 10 x 121 = 1,210, and 500 buys 500/121 -> 1,710
    # TWR: the index's own moves while money was in it, 110/100 x 121/110 - 1 = 0.21.
    line = simulate(_series(0, [1000, 0, 500]), [D(100), D(100), D(110), D(121)], days=2)
    assert line.values == [D(0), D(1000), D(1100), D(1710)]
    assert line.twr == D("0.21")
    assert line.twr_annualized is None  # under a year
    assert line.missing_from is None


def test_rebased_to_the_opening_value_and_withdrawals_sell_at_the_close():
    # Opening value 2,000 invested at 50 (40 units); day 1 at 55: 2,200; day 2 at 44:
    # 1,760, then 760 out -> 1,000; day 3 at 55: 1,000 x 55/44 = 1,250.
    # TWR: 55/50 x 44/55 x 55/44 - 1 = 0.1 (the index from 50 to 55).
    line = simulate(_series(2000, [0, -760, 0]), [D(50), D(55), D(44), D(55)], days=3)
    assert line.values == [D(2000), D(2200), D(1000), D(1250)]
    assert line.twr == D("0.1")


def test_it_cannot_sell_more_than_it_holds():
    # 1,000 in at 100; day 2 the index halves (500) and 800 comes out: it empties (0),
    # day 3's move (50 -> 60) is not counted, day 4's 300 in at 60 grows to 330 at 66.
    # TWR: 50/100 (day 2) x 66/60 (day 5) - 1 = 0.5 x 1.1 - 1 = -0.45.
    closes = [D(100), D(100), D(50), D(60), D(60), D(66)]
    line = simulate(_series(0, [1000, -800, 0, 300, 0]), closes, days=5)
    assert line.values == [D(0), D(1000), D(0), D(0), D(300), D(330)]
    assert line.twr == D("-0.45")


def test_nothing_invested_has_no_return():
    line = simulate(_series(0, [0, 0]), [D(10), D(11), D(12)], days=2)
    assert line.values == [D(0), D(0), D(0)]
    assert line.twr is None


def test_a_close_missing_where_money_is_invested_leaves_the_line_out():
    # No close before day 2, but 1,000 went in on day 1: no price to buy at.
    line = simulate(_series(0, [1000, 0]), [None, None, D(10)], days=2)
    assert line.values == [] and line.twr is None
    assert line.missing_from == OPENING + timedelta(days=1)
    # Before the first flow a missing close is harmless.
    line = simulate(_series(0, [0, 1000]), [None, None, D(10)], days=2)
    assert line.values == [D(0), D(0), D(1000)]


def test_a_year_or_more_is_annualised():
    # 365 days, index from 100 to 121 throughout: twr 0.21, a year exactly, same.
    closes = [D(100)] + [D(100)] * 364 + [D(121)]
    line = simulate(_series(1000, [0] * 365), closes, days=365)
    assert line.twr == D("0.21")
    assert line.twr_annualized == D("0.21")


def test_one_close_per_point():
    with pytest.raises(ValueError):
        simulate(_series(0, [1]), [D(1)], days=1)


@given(
    st.lists(
        st.tuples(
            st.decimals(min_value=1, max_value=1000, places=2),
            st.decimals(min_value=0, max_value=10_000, places=2),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_deposits_only_the_twr_is_the_index_return(days):
    # Deposits only (never emptied): the TWR is last close / first close - 1, whatever
    # was put in when, as long as money was in from the start.
    closes = [D(100)] + [close for close, _ in days]
    line = simulate(_series(1000, [flow for _, flow in days]), closes, days=len(days))
    assert abs(line.twr - (closes[-1] / closes[0] - 1)) < D("1e-50")
