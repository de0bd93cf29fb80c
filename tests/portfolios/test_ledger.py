from __future__ import annotations

import datetime as dt
from decimal import Context, Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portfolios.ledger import (
    BUY,
    DIVIDEND,
    SELL,
    SPLIT,
    Entry,
    HoldingState,
    NothingHeldError,
    NothingToSplitError,
    OversellError,
    adjusted_quantities,
    later_splits,
    replay,
    value_holding,
)

D = Decimal
DAY = dt.date(2024, 3, 1)
NEXT_DAY = dt.date(2024, 3, 2)

# The sums below must be exact: products of stored shapes reach 45 significant digits,
# beyond the default 28-digit context.
EXACT = Context(prec=100)


def buy(quantity, price, *, fees="0", rate="1", date=DAY, id=None) -> Entry:
    return Entry(BUY, date, D(quantity), D(price), D(fees), D(rate), id)


def sell(quantity, price, *, fees="0", rate="1", date=DAY, id=None) -> Entry:
    return Entry(SELL, date, D(quantity), D(price), D(fees), D(rate), id)


def dividend(quantity, per_share, *, fees="0", rate="1", date=DAY, id=None) -> Entry:
    return Entry(DIVIDEND, date, D(quantity), D(per_share), D(fees), D(rate), id)


# -- exact cases -----------------------------------------------------------------------


def test_it_puts_buy_fees_in_the_cost_basis():
    # 10 x 100 + 29 fees = 1029; average 1029 / 10 = 102.9
    result = replay([buy("10", "100", fees="29", id=1)])

    assert result.state == HoldingState(
        quantity=D("10"),
        average_cost=D("102.9"),
        total_cost=D("1029"),
        realized_gain=D("0"),
        dividends=D("0"),
        fees=D("29"),
    )
    assert result.applied[0].total_amount == D("1029")
    assert result.applied[0].average_cost_at_transaction == D("102.9")


def test_it_averages_the_cost_of_two_buys_at_different_prices():
    # 10 x 100 + 10 = 1010 (average 101); 10 x 120 + 10 = 1210
    # together 2220 for 20 shares: average 111
    result = replay(
        [buy("10", "100", fees="10", id=1), buy("10", "120", fees="10", date=NEXT_DAY, id=2)]
    )

    assert result.state.quantity == D("20")
    assert result.state.total_cost == D("2220")
    assert result.state.average_cost == D("111")
    assert result.state.fees == D("20")
    assert [a.total_amount for a in result.applied] == [D("1010"), D("1210")]
    assert [a.average_cost_at_transaction for a in result.applied] == [D("101"), D("111")]


def test_it_realizes_gain_on_a_partial_sell_at_average_cost():
    # buy 20 x 100 + 20 = 2020, average 101
    # sell 5 x 130 - 10 = 640 proceeds; removed 5 x 101 = 505; realized 640 - 505 = 135
    # left: 15 shares costing 2020 - 505 = 1515, still 101 each
    result = replay([buy("20", "100", fees="20", id=1), sell("5", "130", fees="10", id=2)])

    assert result.state.quantity == D("15")
    assert result.state.total_cost == D("1515")
    assert result.state.average_cost == D("101")
    assert result.state.realized_gain == D("135")
    assert result.state.fees == D("30")
    assert result.applied[1].total_amount == D("640")
    assert result.applied[1].average_cost_at_transaction == D("101")


def test_it_leaves_exactly_zero_cost_after_selling_everything():
    # buy 3 x 10 + 1 = 31, average 10.333...
    # sell 1 x 12 = 12; removed 10.333333333333 (quantized to 1e-12);
    #   realized 1.666666666667; cost left 20.666666666667
    # sell 2 x 12 - 1 = 23; the last sale removes all that is left: 20.666666666667;
    #   realized += 2.333333333333 -> 4 = 12 + 23 - 31 to the last digit
    result = replay(
        [
            buy("3", "10", fees="1", id=1),
            sell("1", "12", id=2),
            sell("2", "12", fees="1", date=NEXT_DAY, id=3),
        ]
    )

    assert result.state.quantity == 0
    assert result.state.total_cost == 0
    assert result.state.average_cost == 0
    assert result.state.realized_gain == D("4")
    # a partial sale leaves the average (31 / 3, kept at full precision) unchanged
    assert result.applied[1].average_cost_at_transaction.quantize(D("1e-20")) == D(
        "10.33333333333333333333"
    )
    assert result.applied[2].total_amount == D("23")
    assert result.applied[2].average_cost_at_transaction == 0


def test_rounding_never_takes_a_tiny_cost_basis_below_zero():
    # buy 1 x 0.000001 x 0.0000019 = 0.0000000000019 (1.9e-12), average 1.9e-12
    # sell 0.999999: 1.9e-12 x 0.999999 = 1.8999981e-12 rounds to the 1e-12 quantum as
    # 2e-12, more than the cost left; the sale removes only the 1.9e-12 there is.
    # realized = 0.999999 - 0.0000000000019 = 0.9999989999981
    result = replay([buy("1", "0.000001", rate="0.0000019", id=1), sell("0.999999", "1", id=2)])

    assert result.state.quantity == D("0.000001")
    assert result.state.total_cost == 0
    assert result.state.realized_gain == D("0.9999989999981")


def test_a_dividend_reduces_the_cost_basis_when_the_portfolio_says_so():
    # buy 10 x 100 = 1000; dividend 10 x 5 = 50 less 12.5 withholding = 37.5
    # cost 1000 - 37.5 = 962.5; average 96.25
    entries = [buy("10", "100", id=1), dividend("10", "5", fees="12.5", id=2)]

    result = replay(entries, dividends_reduce_cost_basis=True)

    assert result.state.dividends == D("37.5")
    assert result.state.total_cost == D("962.5")
    assert result.state.average_cost == D("96.25")
    assert result.state.realized_gain == 0
    assert result.state.fees == D("12.5")
    assert result.applied[1].total_amount == D("37.5")
    assert result.applied[1].average_cost_at_transaction == D("96.25")


def test_a_dividend_is_income_only_when_the_portfolio_says_so():
    # same as above, but the cost basis stays 1000 (average 100)
    entries = [buy("10", "100", id=1), dividend("10", "5", fees="12.5", id=2)]

    result = replay(entries, dividends_reduce_cost_basis=False)

    assert result.state.dividends == D("37.5")
    assert result.state.total_cost == D("1000")
    assert result.state.average_cost == D("100")
    assert result.state.realized_gain == 0
    assert result.applied[1].total_amount == D("37.5")
    assert result.applied[1].average_cost_at_transaction == D("100")


def test_it_floors_cost_at_zero_and_realizes_the_excess_dividend():
    # buy 2 x 5 = 10; dividend 2 x 8 - 1 = 15 > 10:
    # cost 0, average 0, realized 15 - 10 = 5
    result = replay([buy("2", "5", id=1), dividend("2", "8", fees="1", id=2)])

    assert result.state.quantity == D("2")
    assert result.state.total_cost == 0
    assert result.state.average_cost == 0
    assert result.state.realized_gain == D("5")
    assert result.state.dividends == D("15")


@pytest.mark.parametrize(
    ("reduce", "realized"),
    [
        # buy 10 x 10 = 100; sell 10 x 12 = 120: realized 20, nothing held
        # dividend 10 x 1 = 10 with no cost left: all of it realized -> 30
        (True, D("30")),
        # income only: realized stays 20
        (False, D("20")),
    ],
)
def test_it_accepts_a_dividend_after_everything_is_sold(reduce, realized):
    entries = [
        buy("10", "10", id=1),
        sell("10", "12", id=2),
        dividend("10", "1", date=NEXT_DAY, id=3),
    ]

    result = replay(entries, dividends_reduce_cost_basis=reduce)

    assert result.state.quantity == 0
    assert result.state.total_cost == 0
    assert result.state.average_cost == 0
    assert result.state.dividends == D("10")
    assert result.state.realized_gain == realized
    assert result.applied[2].average_cost_at_transaction == 0


def test_it_converts_foreign_prices_with_the_exchange_rate_but_not_the_fees():
    # buy 10 x 150 USD x 10.5 = 15750 NOK + 99 NOK fees = 15849; average 1584.9
    # sell 4 x 160 x 11 = 7040 - 49 = 6991; removed 4 x 1584.9 = 6339.6;
    #   realized 651.4; cost 9509.4 for 6 shares
    # dividend 6 x 0.5 x 10.8 = 32.4 - 4.86 withholding = 27.54;
    #   cost 9481.86; average 9481.86 / 6 = 1580.31
    result = replay(
        [
            buy("10", "150", fees="99", rate="10.5", id=1),
            sell("4", "160", fees="49", rate="11", date=NEXT_DAY, id=2),
            dividend("6", "0.5", fees="4.86", rate="10.8", date=dt.date(2024, 3, 3), id=3),
        ]
    )

    assert [a.total_amount for a in result.applied] == [D("15849"), D("6991"), D("27.54")]
    assert result.state.quantity == D("6")
    assert result.state.realized_gain == D("651.4")
    assert result.state.total_cost == D("9481.86")
    assert result.state.average_cost == D("1580.31")
    assert result.state.dividends == D("27.54")
    assert result.state.fees == D("152.86")


def test_it_orders_same_day_transactions_by_id():
    # The SELL was entered first (lower id) on the day of the BUY: at that point
    # nothing is held.
    with pytest.raises(OversellError):
        replay([buy("10", "100", id=2), sell("5", "110", id=1)])

    result = replay([sell("5", "110", id=2), buy("10", "100", id=1)])
    assert result.state.quantity == D("5")


def test_it_orders_by_date_before_id():
    result = replay([sell("5", "110", date=NEXT_DAY, id=1), buy("10", "100", id=2)])

    assert result.state.quantity == D("5")
    # applied follows replay order: the BUY (id 2) first
    assert [a.total_amount for a in result.applied] == [D("1000"), D("550")]


def test_it_replays_unsaved_entries_last_on_their_day():
    result = replay([sell("10", "110"), buy("10", "100", id=7)])

    assert result.state.quantity == 0
    assert result.state.realized_gain == D("100")


def test_it_rejects_oversell_and_names_the_entry():
    too_many = sell("10.000001", "110", date=NEXT_DAY, id=3)

    with pytest.raises(OversellError) as caught:
        replay([buy("4", "100", id=1), buy("6", "100", id=2), too_many])

    assert caught.value.entry is too_many
    assert caught.value.held == D("10")
    assert "2024-03-02" in str(caught.value)
    assert "10.000001" in str(caught.value)


def test_it_rejects_a_sell_before_any_buy():
    with pytest.raises(OversellError) as caught:
        replay([sell("1", "100", id=1)])

    assert caught.value.held == 0


def test_it_rejects_an_unknown_type():
    with pytest.raises(ValueError, match="TRANSFER"):
        replay([Entry("TRANSFER", DAY, D("1"), D("1"))])


def test_it_gives_every_entry_its_amount_and_average_cost():
    # buy 10 x 100 + 10 = 1010 (avg 101); buy 10 x 80 + 10 = 810 -> 1820 / 20 = 91
    # sell 5 x 90 - 5 = 445 (avg stays 91); dividend 15 x 2 = 30 -> cost 1820 - 455 - 30
    #   = 1335, avg 89
    result = replay(
        [
            buy("10", "100", fees="10", id=1),
            buy("10", "80", fees="10", id=2),
            sell("5", "90", fees="5", id=3),
            dividend("15", "2", id=4),
        ]
    )

    assert [(a.total_amount, a.average_cost_at_transaction) for a in result.applied] == [
        (D("1010"), D("101")),
        (D("810"), D("91")),
        (D("445"), D("91")),
        (D("30"), D("89")),
    ]
    # realized: 445 - 5 x 91 = -10
    assert result.state.realized_gain == D("-10")


def test_it_returns_an_empty_state_for_no_entries():
    result = replay([])

    assert result.state == HoldingState()
    assert result.applied == []


# -- valuation -----------------------------------------------------------------------


def test_it_values_a_holding_at_the_current_price_and_rate():
    # 10 x 150 x 11 = 16500; gain 16500 - 15000 = 1500; 1500 / 15000 x 100 = 10 %
    state = HoldingState(quantity=D("10"), total_cost=D("15000"))

    valuation = value_holding(state, D("150"), D("11"))

    assert valuation.value == D("16500")
    assert valuation.unrealized_gain == D("1500")
    assert valuation.unrealized_gain_percent == D("10")


def test_it_values_a_loss_as_a_negative_percent():
    # 15 x 80 = 1200 against 1500: -300, -20 %
    valuation = value_holding(HoldingState(quantity=D("15"), total_cost=D("1500")), D("80"), D(1))

    assert valuation.unrealized_gain == D("-300")
    assert valuation.unrealized_gain_percent == D("-20")


def test_it_has_no_gain_percent_without_cost():
    # e.g. after dividends have brought the cost basis to 0
    state = replay([buy("2", "5", id=1), dividend("2", "8", id=2)]).state

    valuation = value_holding(state, D("7"), D("1"))

    assert state.total_cost == 0
    assert valuation.value == D("14")
    assert valuation.unrealized_gain == D("14")
    assert valuation.unrealized_gain_percent is None


# -- properties ------------------------------------------------------------------------

# Within the stored shapes (quantity and price 6 dp, fees 4 dp, rate 10 dp), broad but
# realistic magnitudes.
quantities = st.decimals(D("0.000001"), D("1000000"), places=6)
prices = st.decimals(D("0"), D("100000"), places=6)
fees = st.one_of(st.just(D("0")), st.decimals(D("0"), D("10000"), places=4))
rates = st.one_of(st.just(D("1")), st.decimals(D("0.0001"), D("10000"), places=10))


@st.composite
def histories(draw, max_size: int = 20) -> list[Entry]:
    """A valid history in replay order: sells never exceed what is held at that point.

    Ids are shuffled across days but ascend within a day, so (date, id) order is the
    order generated here.
    """
    size = draw(st.integers(1, max_size))
    day = dt.date(2020, 1, 1)
    held = peak = D(0)
    rows = []
    for _ in range(size):
        day += dt.timedelta(days=draw(st.integers(0, 3)))
        kinds = [BUY, SELL, DIVIDEND] if held else [BUY, DIVIDEND] if rows else [BUY]
        if held >= 10:  # a split leaves at least one share (a reverse one is 1-for-10 at most)
            kinds.append(SPLIT)
        kind = draw(st.sampled_from(kinds))
        if kind == SPLIT:
            # Forward and reverse; later entries count post-split shares.
            quantity = draw(st.sampled_from([D("2"), D("3"), D("0.5"), D("0.1")]))
            held *= quantity
            peak *= quantity
            rows.append((kind, day, quantity, D("0"), D("0"), D("1")))
            continue
        if kind == SELL:
            some = st.decimals(D("0.000001"), held, places=6)
            # After a reverse split a remainder can be finer than any quantity one enters.
            quantity = held if held < D("0.000001") else draw(st.one_of(st.just(held), some))
            held -= quantity
        elif kind == DIVIDEND:
            # Paid on what is held, or after a sale on up to the most ever held.
            quantity = held if held else draw(st.decimals(D("0.000001"), peak, places=6))
        else:
            quantity = draw(quantities)
            held += quantity
            peak = max(peak, held)
        rows.append((kind, day, quantity, draw(prices), draw(fees), draw(rates)))
    ids = draw(st.permutations(range(1, size + 1)))
    entries = []
    for day in sorted({row[1] for row in rows}):
        positions = [i for i, row in enumerate(rows) if row[1] == day]
        for position, id in zip(positions, sorted(ids[i] for i in positions), strict=True):
            entries.append(Entry(*rows[position], id=id))
    return entries


PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)


@PROPERTY_SETTINGS
@given(entries=histories(), reduce=st.booleans())
def test_quantity_and_cost_are_never_negative(entries, reduce):
    for end in range(1, len(entries) + 1):
        state = replay(entries[:end], dividends_reduce_cost_basis=reduce).state
        assert state.quantity >= 0
        assert state.total_cost >= 0


@PROPERTY_SETTINGS
@given(
    entries=histories(),
    reduce=st.booleans(),
    price_now=st.decimals(D("0"), D("100000"), places=6),
    fx_now=rates,
)
def test_the_books_balance_exactly(entries, reduce, price_now, fx_now):
    # value - total_cost + realized (+ dividends when they are income only)
    #   == value + sell proceeds + dividends - buy costs, to the last digit
    state = replay(entries, dividends_reduce_cost_basis=reduce).state
    with localcontext(EXACT):
        value = value_holding(state, price_now, fx_now).value
        buys = sum((e.gross + e.fees for e in entries if e.type == BUY), D(0))
        sells = sum((e.gross - e.fees for e in entries if e.type == SELL), D(0))
        dividends = sum((e.gross - e.fees for e in entries if e.type == DIVIDEND), D(0))

        gain = value - state.total_cost + state.realized_gain
        if not reduce:
            gain += state.dividends

        assert gain == value + sells + dividends - buys
        assert state.dividends == dividends
        assert state.fees == sum((e.fees for e in entries), D(0))


@PROPERTY_SETTINGS
@given(entries=histories(), reduce=st.booleans(), data=st.data())
def test_replay_is_deterministic_and_order_independent(entries, reduce, data):
    first = replay(entries, dividends_reduce_cost_basis=reduce)
    again = replay(entries, dividends_reduce_cost_basis=reduce)
    shuffled = replay(data.draw(st.permutations(entries)), dividends_reduce_cost_basis=reduce)

    assert again == first
    assert shuffled == first


# -- splits (ARCHITECTURE section 5) ----------------------------------------------------


def split(factor, *, date=NEXT_DAY, id=None) -> Entry:
    return Entry(SPLIT, date, D(factor), D("0"), D("0"), D("1"), id)


LATER = dt.date(2024, 3, 3)


def test_a_two_for_one_split_doubles_the_shares_and_halves_the_average_cost():
    # buy 10 x 100 + 10 fees = 1010, average 101
    # split 2-for-1: 20 shares, total cost still 1010, average 1010 / 20 = 50.5
    # sell 15 x 60 - 5 fees = 895 proceeds; removed 15 x 50.5 = 757.5; realized 137.5
    # left 5 shares costing 1010 - 757.5 = 252.5, average 50.5
    result = replay(
        [
            buy("10", "100", fees="10", id=1),
            split("2", id=2),
            sell("15", "60", fees="5", date=LATER, id=3),
        ]
    )

    assert [a.state.quantity for a in result.applied] == [D("10"), D("20"), D("5")]
    assert [a.average_cost_at_transaction for a in result.applied] == [
        D("101"),
        D("50.5"),
        D("50.5"),
    ]
    assert result.applied[1].total_amount == 0  # a split moves no money
    assert result.applied[1].state.total_cost == D("1010")
    assert result.state == HoldingState(
        quantity=D("5"),
        average_cost=D("50.5"),
        total_cost=D("252.5"),
        realized_gain=D("137.5"),
        dividends=D("0"),
        fees=D("15"),
    )


def test_a_sale_that_oversells_only_without_the_split_is_accepted():
    # 10 shares, 2-for-1 -> 20: selling 15 is fine; without the split it is an oversell
    entries = [buy("10", "100", id=1), split("2", id=2), sell("15", "60", date=LATER, id=3)]
    assert replay(entries).state.quantity == D("5")

    with pytest.raises(OversellError) as caught:
        replay([entries[0], entries[2]])
    assert caught.value.held == D("10")


def test_a_one_for_ten_reverse_split_then_a_sale():
    # buy 1000 x 2 + 20 fees = 2020, average 2.02
    # split 1-for-10 (factor 0.1): 100 shares, cost 2020, average 20.2
    # sell 40 x 25 - 10 fees = 990 proceeds; removed 40 x 20.2 = 808; realized 182
    # left 60 shares costing 2020 - 808 = 1212, average 20.2
    result = replay(
        [
            buy("1000", "2", fees="20", id=1),
            split("0.1", id=2),
            sell("40", "25", fees="10", date=LATER, id=3),
        ]
    )

    assert result.applied[1].state.quantity == D("100")
    assert result.applied[1].state.average_cost == D("20.2")
    assert result.state.quantity == D("60")
    assert result.state.total_cost == D("1212")
    assert result.state.average_cost == D("20.2")
    assert result.state.realized_gain == D("182")
    # Selling 101 after the reverse split would oversell the 100 held.
    with pytest.raises(OversellError):
        replay([buy("1000", "2", id=1), split("0.1", id=2), sell("101", "25", date=LATER, id=3)])


def test_a_reverse_split_keeps_fractional_shares_exactly():
    # 1005 shares, 1-for-10: 100.5 shares; cost 1005 x 3 = 3015, average 3015 / 100.5 = 30
    result = replay([buy("1005", "3", id=1), split("0.1", id=2)])

    assert result.state.quantity == D("100.5")
    assert result.state.average_cost == D("30")


def test_a_split_with_nothing_held_is_refused():
    with pytest.raises(NothingToSplitError, match="no shares are held"):
        replay([split("2", date=DAY, id=1), buy("10", "100", date=NEXT_DAY, id=2)])
    with pytest.raises(NothingToSplitError):
        replay([buy("10", "100", id=1), sell("10", "100", id=2), split("2", id=3)])


def test_the_dividend_peak_rule_counts_post_split_shares():
    # 10 held, split 2-for-1 (20), all 20 sold, then a dividend paid on the 20 shares
    # held at its ex-date: fine. On 21: more than were ever held.
    base = [buy("10", "100", id=1), split("2", id=2), sell("20", "60", date=LATER, id=3)]
    paid_later = dt.date(2024, 3, 20)
    assert replay([*base, dividend("20", "1", date=paid_later, id=4)]).state.dividends == D("20")
    with pytest.raises(NothingHeldError) as caught:
        replay([*base, dividend("21", "1", date=paid_later, id=4)])
    assert caught.value.held == D("20")


def test_later_splits_gives_each_day_the_factor_to_todays_shares():
    factor = later_splits(
        [buy("10", "100", date=DAY), split("2", date=NEXT_DAY), split("0.1", date=LATER)]
    )
    assert factor(DAY) == D("0.2")  # 2 x 0.1 still to come
    assert factor(NEXT_DAY) == D("0.1")  # the 2-for-1 is done by the end of its day
    assert factor(LATER) == D("1")


def test_adjusted_quantities_are_flat_across_a_split():
    # 10 bought, 2-for-1 the next day, 5 sold later: 20, 20, 15 in today's shares
    steps = adjusted_quantities(
        [buy("10", "100", date=DAY), split("2", date=NEXT_DAY), sell("5", "60", date=LATER)]
    )
    assert steps == [(DAY, D("20")), (NEXT_DAY, D("20")), (LATER, D("15"))]


def test_missing_splits_are_those_while_held_and_not_recorded_nearby():
    from portfolios.ledger import missing_splits

    entries = [
        buy("10", "100", date=dt.date(2024, 3, 10), id=1),
        split("2", date=dt.date(2024, 5, 3), id=2),  # booked two days after the ex-date
        sell("20", "60", date=dt.date(2024, 7, 1), id=3),
    ]
    reported = [
        (dt.date(2024, 1, 5), D("3")),  # before the first buy: nothing held
        (dt.date(2024, 5, 1), D("2")),  # recorded (within a week)
        (dt.date(2024, 6, 1), D("0.1")),  # held then, not recorded: missing
        (dt.date(2024, 8, 1), D("4")),  # after everything was sold
    ]
    assert missing_splits(entries, reported) == [(dt.date(2024, 6, 1), D("0.1"))]
