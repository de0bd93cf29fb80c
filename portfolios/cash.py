"""A portfolio's cash (ARCHITECTURE section 5): pure, no ORM.

balance = Σ DEPOSIT − Σ WITHDRAWAL − Σ BUY cost + Σ SELL proceeds + Σ DIVIDEND amount
          + Σ INTEREST − Σ FEE, in the portfolio currency. A negative balance is credit in use.

Each transaction moves the cash by its `total_amount` (the ledger's cost, proceeds or net
dividend; the amount entered for the cash types) rounded to whole cents, half up: a broker
books every trade in cents, so 12 shares at 126.36 USD × 10.0412 + 15.06 fees
(15,240.732384 NOK) leave the account as 15,240.73, and only this rounding lets a portfolio
agree with the broker's own balance to the cent. Sums of those are exact Decimals.

The daily series and the flow list feed the performance of a cash-tracking portfolio
(section 5b): its external flows are the deposits and withdrawals, and each day's value
includes the cash at that day's end.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

DEPOSIT = "DEPOSIT"
WITHDRAWAL = "WITHDRAWAL"
INTEREST = "INTEREST"
FEE = "FEE"
CASH_TYPES = (DEPOSIT, WITHDRAWAL, INTEREST, FEE)

ZERO = Decimal("0")
CENT = Decimal("0.01")
_CONTEXT = Context(prec=60)

# The sign with which each type's total_amount moves the cash; SPLIT (and anything else)
# moves none.
SIGNS = {
    DEPOSIT: 1,
    WITHDRAWAL: -1,
    INTEREST: 1,
    FEE: -1,
    "BUY": -1,
    "SELL": 1,
    "DIVIDEND": 1,
}


@dataclass(frozen=True)
class Movement:
    """One transaction as the cash sees it: its type, date and stored total_amount."""

    type: str
    date: date
    amount: Decimal
    id: int | None = None  # orders same-day movements, as the ledger replays them


def booked(amount: Decimal) -> Decimal:
    """An amount as the broker books it: whole cents, half up."""
    with localcontext(_CONTEXT):
        return amount.quantize(CENT, ROUND_HALF_UP)


def effect(type: str, amount: Decimal) -> Decimal:
    """How much a transaction of this type and total_amount moves the cash (signed)."""
    sign = SIGNS.get(type, 0)
    if not sign:
        return ZERO
    value = booked(amount)
    return value if sign > 0 else -value


def balance(movements: Iterable[Movement]) -> Decimal:
    """The cash balance after all the movements (order does not matter for the sum)."""
    with localcontext(_CONTEXT):
        return sum((effect(m.type, m.amount) for m in movements), ZERO)


def running_balances(movements: Iterable[Movement]) -> list[tuple[Movement, Decimal]]:
    """Each movement with the balance just after it, in (date, id) order: a transaction
    list's running cash column."""
    ordered = sorted(movements, key=lambda m: (m.date, m.id is None, m.id or 0))
    result = []
    running = ZERO
    with localcontext(_CONTEXT):
        for movement in ordered:
            running += effect(movement.type, movement.amount)
            result.append((movement, running))
    return result


def daily_balances(movements: Iterable[Movement], days: Sequence[date]) -> list[Decimal]:
    """The balance at the end of each of `days` (ascending): every movement on or before
    that day counted, those before the first day included."""
    ordered = sorted(movements, key=lambda m: m.date)
    result: list[Decimal] = []
    running = ZERO
    n = 0
    with localcontext(_CONTEXT):
        for day in days:
            while n < len(ordered) and ordered[n].date <= day:
                running += effect(ordered[n].type, ordered[n].amount)
                n += 1
            result.append(running)
    return result


def external_flows(movements: Iterable[Movement]) -> dict[date, tuple[Decimal, Decimal]]:
    """With cash tracked, the account's external flows: deposits in, withdrawals out, as
    {day: (inflow, outflow)}, both ≥ 0. Trades, dividends, interest and fees stay inside
    the account: they are returns (or costs) of it, not money brought or taken away."""
    flows: dict[date, tuple[Decimal, Decimal]] = {}
    with localcontext(_CONTEXT):
        for m in movements:
            if m.type not in (DEPOSIT, WITHDRAWAL):
                continue
            inflow, outflow = flows.get(m.date, (ZERO, ZERO))
            if m.type == DEPOSIT:
                inflow += booked(m.amount)
            else:
                outflow += booked(m.amount)
            flows[m.date] = (inflow, outflow)
    return flows
