"""The average-cost ledger (ARCHITECTURE section 5): pure, no ORM.

A holding's state is the replay of its transactions in (date, id) order. All amounts are
in the portfolio currency; `gross = quantity x price x exchange_rate`.

Precision: arithmetic runs in a 60-digit context so products and sums of stored values
are exact. The one division per step (average cost) is kept at that precision, and the
cost removed by a sale is quantized to 1e-12 so that every later sum stays exact and the
books balance to the last digit: total_cost - realized_gain == buys - sells - dividends.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Context, Decimal, localcontext

BUY = "BUY"
SELL = "SELL"
DIVIDEND = "DIVIDEND"
# `quantity` = new shares per old share (2 for a 2-for-1 split, 0.1 for 1-for-10).
SPLIT = "SPLIT"

ZERO = Decimal("0")
ONE = Decimal("1")
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
        if self.type == SPLIT:  # its quantity is a factor, not shares: no money moves
            return ZERO
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


class NothingToSplitError(OversellError):
    """A split on a date when no shares are held: there is nothing it could apply to."""

    def __init__(self, entry: Entry):
        self.entry = entry
        self.held = ZERO
        ValueError.__init__(
            self, f"Cannot split on {entry.date.isoformat()}: no shares are held at that point."
        )


def ordered(entries: Iterable[Entry]) -> list[Entry]:
    """Replay order: by date, then by id (entries not saved yet come last that day)."""
    return sorted(entries, key=lambda e: (e.date, e.id is None, e.id or 0))


def replay(entries: Iterable[Entry], *, dividends_reduce_cost_basis: bool = True) -> Replay:
    """Replay entries (sorted here) and return the final state and per-entry results.

    Raises OversellError for the first SELL that exceeds the quantity held at that point,
    NothingHeldError (one of them) for a DIVIDEND on more shares than were ever held
    up to its date, and NothingToSplitError (another) for a SPLIT when nothing is held.
    Quantities after a SPLIT are in post-split shares, and so is every later entry's.
    """
    with localcontext(_CONTEXT):
        quantity = total_cost = realized = dividends = fees = ZERO
        average_cost = ZERO
        peak = ZERO  # the most shares held so far, in the shares of the current date
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
            elif entry.type == SPLIT:
                if not quantity:
                    raise NothingToSplitError(entry)
                amount = ZERO
                quantity *= entry.quantity
                # The peak is compared with later dividends, which count post-split shares.
                peak *= entry.quantity
                average_cost = total_cost / quantity
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


def split_label(factor: Decimal) -> str:
    """ "2:1" for a 2-for-1 split (factor 2), "1:10" for a 1-for-10 (factor 0.1): new
    shares to old, as brokers write them."""
    if factor >= 1:
        return f"{factor.normalize():f}:1"
    with localcontext(_CONTEXT):
        old = ONE / factor
    if old == old.to_integral_value():
        return f"1:{old.to_integral_value():f}"
    return f"{factor.normalize():f}:1"


def missing_splits(
    entries: Iterable[Entry], reported: Iterable[tuple[date, Decimal]], *, within: int = 7
) -> list[tuple[date, Decimal]]:
    """The provider's splits (date, factor) the ledger lacks: dated while shares were held
    (so after the first buy), with no SPLIT of the same factor recorded within `within`
    days of it (brokers book a split a day or two after its ex-date). Without it the
    holding's quantity disagrees with the split-adjusted history from that date on."""
    entries = ordered(entries)
    recorded = [(e.date, e.quantity) for e in entries if e.type == SPLIT]
    missing = []
    for day, factor in sorted(reported):
        if any(f == factor and abs((d - day).days) <= within for d, f in recorded):
            continue
        held = ZERO
        with localcontext(_CONTEXT):
            for entry in entries:
                if entry.date >= day:
                    break
                if entry.type == BUY:
                    held += entry.quantity
                elif entry.type == SELL:
                    held -= entry.quantity
                elif entry.type == SPLIT:
                    held *= entry.quantity
        if held > 0:
            missing.append((day, factor))
    return missing


def later_splits(entries: Iterable) -> Callable[[date], Decimal]:
    """For the chart (ARCHITECTURE 5b): the factor that turns a quantity held at the end
    of a day into today's shares, the product of the SPLIT factors dated after that day.

    Yahoo's closes are split-adjusted (every close before a 2-for-1 split is halved), so a
    day before the split is valued at quantity x factor x adjusted close, which is the
    price of the day as it was traded, and the chart does not jump at the split. Takes
    anything with `type`, `date` and `quantity` (ledger entries, performance trades).
    """
    splits = sorted((e.date, e.quantity) for e in entries if e.type == SPLIT)
    with localcontext(_CONTEXT):
        # after[n]: the product of the factors of splits[n:].
        after = [ONE] * (len(splits) + 1)
        for n in range(len(splits) - 1, -1, -1):
            after[n] = after[n + 1] * splits[n][1]
    dates = [day for day, _ in splits]

    def factor(day: date) -> Decimal:
        return after[bisect_right(dates, day)]

    return factor


def adjusted_quantities(entries: Iterable) -> list[tuple[date, Decimal]]:
    """The shares held after each day that has a BUY, SELL or SPLIT, in today's shares
    (`later_splits`): a split day itself changes nothing, since both sides of it are
    counted in post-split shares. Entries in replay order (`ordered`)."""
    entries = list(entries)
    factor = later_splits(entries)
    steps: list[tuple[date, Decimal]] = []
    held = ZERO
    with localcontext(_CONTEXT):
        for entry in entries:
            if entry.type == BUY:
                held += entry.quantity
            elif entry.type == SELL:
                held -= entry.quantity
            elif entry.type == SPLIT:
                held *= entry.quantity
            else:
                continue
            adjusted = held * factor(entry.date)
            if steps and steps[-1][0] == entry.date:
                steps[-1] = (entry.date, adjusted)
            else:
                steps.append((entry.date, adjusted))
    return steps


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
