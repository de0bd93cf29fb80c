"""The cash balance after each transaction of a portfolio that tracks cash (ARCHITECTURE
section 5): pure, no ORM.

balance = deposits - withdrawals - buy costs + sell proceeds + dividend amounts + interest
- fees. Each transaction's stored `total_amount` is already its cash amount in the
portfolio currency (a buy's cost with fees, a sale's proceeds after fees, a dividend after
withholding, a cash transaction's amount), so the type only gives the direction. Each
moves the cash by that amount in whole cents, half up, as a broker books it: the rule of
the cash services (portfolios.cash on h3's branch, whose `effect` this mirrors until the
two are merged into one), so the last row's balance is the portfolio's stored balance.

The transaction list computes this from the rows rather than reading a stored figure per
row: only the portfolio's current balance is stored (Portfolio.cash_balance).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal(0)
CENT = Decimal("0.01")

# The direction each type moves cash in; SPLIT moves none.
CASH_SIGN = {
    "DEPOSIT": 1,
    "WITHDRAWAL": -1,
    "BUY": -1,
    "SELL": 1,
    "DIVIDEND": 1,
    "INTEREST": 1,
    "FEE": -1,
    "SPLIT": 0,
}


def cash_effect(kind: str, total_amount: Decimal) -> Decimal:
    return total_amount.quantize(CENT, ROUND_HALF_UP) * CASH_SIGN.get(kind, 0)


def running_balances(rows: Iterable[tuple[int, date, str, Decimal]]) -> dict[int, Decimal]:
    """(id, date, type, total_amount) of every transaction of one portfolio, in any order
    -> the balance just after each, by id. Applied in the ledger's order, (date, id)."""
    balance = ZERO
    balances = {}
    for pk, _day, kind, amount in sorted(rows, key=lambda row: (row[1], row[0])):
        balance += cash_effect(kind, amount)
        balances[pk] = balance
    return balances
