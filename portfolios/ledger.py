"""The average-cost ledger (ARCHITECTURE section 5): pure, no ORM.

A holding's state is the replay of its transactions in (date, id) order. All amounts are
in the portfolio currency; `gross = quantity x price x exchange_rate`.

Precision: arithmetic runs in a 60-digit context so products and sums of stored values
are exact. The one division per step (average cost) is kept at that precision, and the
cost removed by a sale is quantized to 1e-12 so that every later sum stays exact and the
books balance to the last digit: total_cost - realized_gain == buys - sells - dividends.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Context, Decimal, localcontext

BUY = "BUY"
SELL = "SELL"
DIVIDEND = "DIVIDEND"

ZERO = Decimal("0")
REMOVED_QUANTUM = Decimal("1e-12")
_CONTEXT = Context(prec=60)


@dataclass(frozen=True)
class Entry:
    """One transaction as the ledger sees it."""

    type: str
    date: date
    quantity: Decimal
    price: Decimal
    fees: Decimal = ZERO
    exchange_rate: Decimal = Decimal("1")
    id: int | None = None

    @property
    def gross(self) -> Decimal:
        return self.quantity * self.price * self.exchange_rate


@dataclass(frozen=True)
class Applied:
    """What a transaction stores after replay, and the holding's state just after it (the
    services check every running figure against the columns that store it)."""

    total_amount: Decimal
    average_cost_at_transaction: Decimal
    gross: Decimal = ZERO
    state: HoldingState | None = None


@dataclass(frozen=True)
class HoldingState:
    quantity: Decimal = ZERO
    average_cost: Decimal = ZERO
    total_cost: Decimal = ZERO
    realized_gain: Decimal = ZERO
    dividends: Decimal = ZERO
    fees: Decimal = ZERO


@dataclass(frozen=True)
class Replay:
    state: HoldingState
    applied: list[Applied]  # one per entry, in the order the entries were sorted


class OversellError(ValueError):
    def __init__(self, entry: Entry, held: Decimal):
        self.entry = entry
        self.held = held
        super().__init__(
            f"Cannot sell {entry.quantity} on {entry.date.isoformat()}: "
            f"only {held.normalize():f} held at that point."
        )


class NothingHeldError(OversellError):
    """A dividend on more shares than were ever held up to its date (`held`: the most
    that were): nothing it could be paid on. One after everything was sold is fine, on up
    to the shares held before: a dividend is paid weeks after its ex-date."""


def ordered(entries: Iterable[Entry]) -> list[Entry]:
    """Replay order: by date, then by id (entries not saved yet come last that day)."""
    return sorted(entries, key=lambda e: (e.date, e.id is None, e.id or 0))


def replay(entries: Iterable[Entry], *, dividends_reduce_cost_basis: bool = True) -> Replay:
    """Replay entries (sorted here) and return the final state and per-entry results.

    Raises OversellError for the first SELL that exceeds the quantity held at that point,
    and NothingHeldError (one of them) for a DIVIDEND on more shares than were ever held
    up to its date.
    """
    with localcontext(_CONTEXT):
        quantity = total_cost = realized = dividends = fees = ZERO
        average_cost = ZERO
        peak = ZERO  # the most shares held so far
        applied: list[Applied] = []
        for entry in ordered(entries):
            gross = entry.gross
            fees += entry.fees
            if entry.type == BUY:
                amount = gross + entry.fees
                quantity += entry.quantity
                peak = max(peak, quantity)
                total_cost += amount
                average_cost = total_cost / quantity
            elif entry.type == SELL:
                if entry.quantity > quantity:
                    raise OversellError(entry, quantity)
                amount = gross - entry.fees
                quantity -= entry.quantity
                if quantity == 0:
                    removed = total_cost
                else:
                    # Rounding to the quantum could remove a hair more than a tiny
                    # remaining cost; never take the cost basis below zero.
                    removed = min(
                        (average_cost * entry.quantity).quantize(REMOVED_QUANTUM), total_cost
                    )
                realized += amount - removed
                total_cost -= removed
                if quantity == 0:
                    average_cost = ZERO
            elif entry.type == DIVIDEND:
                if entry.quantity > peak:
                    raise NothingHeldError(entry, peak)
                amount = gross - entry.fees
                dividends += amount
                if dividends_reduce_cost_basis:
                    if amount > total_cost:
                        realized += amount - total_cost
                        total_cost = ZERO
                    else:
                        total_cost -= amount
                    average_cost = total_cost / quantity if quantity else ZERO
            else:
                raise ValueError(f"Unknown transaction type {entry.type!r}")
            state = HoldingState(
                quantity=quantity,
                average_cost=average_cost,
                total_cost=total_cost,
                realized_gain=realized,
                dividends=dividends,
                fees=fees,
            )
            applied.append(Applied(amount, average_cost, gross=gross, state=state))
        return Replay(state=applied[-1].state if applied else HoldingState(), applied=applied)


@dataclass(frozen=True)
class Valuation:
    value: Decimal
    unrealized_gain: Decimal
    unrealized_gain_percent: Decimal | None


def value_holding(state: HoldingState, price_now: Decimal, fx_now: Decimal) -> Valuation:
    """Market value of a holding at a price (instrument currency) and FX (PC per IC)."""
    with localcontext(_CONTEXT):
        value = state.quantity * price_now * fx_now
        gain = value - state.total_cost
        percent = gain / state.total_cost * 100 if state.total_cost else None
        return Valuation(value=value, unrealized_gain=gain, unrealized_gain_percent=percent)


def sum_money(amounts: Sequence[Decimal]) -> Decimal:
    """Sum Decimals in Python (never in SQL: SQLite would sum floats)."""
    with localcontext(_CONTEXT):
        return sum(amounts, ZERO)
