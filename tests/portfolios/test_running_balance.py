"""The running cash balance of the transaction list (pure)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from portfolios.cash import Movement, effect
from portfolios.cash import running_balances as _running

D = Decimal


def running_balances(rows):
    """(id, date, type, total_amount) rows -> the balance after each, by id."""
    movements = [Movement(kind, day, amount, pk) for pk, day, kind, amount in rows]
    return {m.id: after for m, after in _running(movements)}


DAY = dt.date(2024, 1, 2)


def test_each_type_moves_cash_its_way():
    assert effect("DEPOSIT", D("100")) == D("100")
    assert effect("WITHDRAWAL", D("100")) == D("-100")
    assert effect("BUY", D("100")) == D("-100")
    assert effect("SELL", D("100")) == D("100")
    assert effect("DIVIDEND", D("100")) == D("100")
    assert effect("INTEREST", D("100")) == D("100")
    assert effect("FEE", D("100")) == D("-100")
    assert effect("SPLIT", D("0")) == D("0")


def test_amounts_are_booked_in_whole_cents_half_up():
    # 12 x 126.36 USD x 10.0412 + 15.06 = 15,240.732384 NOK leaves the account as 15,240.73;
    # a dividend of 10.005 arrives as 10.01.
    assert effect("BUY", D("15240.732384")) == D("-15240.73")
    assert effect("DIVIDEND", D("10.005")) == D("10.01")


def test_balances_run_in_ledger_order_whatever_the_input_order():
    # (id, date, type, total_amount): deposit 1,000 on day 1; on day 2 the buy (id 3)
    # before the fee (id 5); a withdrawal on day 3 takes it below zero.
    rows = [
        (5, DAY + dt.timedelta(days=1), "FEE", D("25")),
        (9, DAY + dt.timedelta(days=2), "WITHDRAWAL", D("500")),
        (1, DAY, "DEPOSIT", D("1000")),
        (3, DAY + dt.timedelta(days=1), "BUY", D("600.004")),
    ]
    # 1,000 -> 1,000 - 600.00 = 400.00 -> 400 - 25 = 375 -> 375 - 500 = -125 (credit in use)
    assert running_balances(rows) == {1: D("1000"), 3: D("400"), 5: D("375"), 9: D("-125")}
