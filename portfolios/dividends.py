"""Dividends by month: what the last 12 months paid and what the next 12 are forecast to
pay if every holding pays again what it paid then, and each holding's yield on cost.
Pure: the caller reads the transactions and rates (portfolios.dividends_data).

The window is trailing, by day: a payment counts as received when today - 1 year < its
date <= today, and is forecast to recur on the same day a year later (29 February on 28
February), so every forecast falls in the next 12 months, the rest of this month included.
Calendar months would drop last year's payments of this month (on 1 December a dividend
of 8 December last year was neither received nor forecast). The table buckets both by
month: a row per month the window touches (13 when it starts mid-month), the forecast in
the same month a year on. A payment of `per_share` (in the instrument's currency) on
`quantity` shares is forecast as

    current quantity x per_share / S x rate now x (1 - withholding / gross)

where S is the product of the splits after the payment (a 2-for-1 halves what a share
paid), `rate now` the latest rate from the instrument's currency to the portfolio's, and
the last factor keeps the share of the payment withheld as tax (gross = quantity x
per_share x the payment's own rate; the ledger's dividend amount is gross - withholding).
A holding sold out is forecast to pay nothing. Yield on cost: the trailing 12 months'
dividends received (net of tax) over the holding's total cost (its cost basis), in percent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
CENT = Decimal("0.01")
MONTHS = 12


@dataclass(frozen=True)
class Held:
    """A holding as it stands now."""

    id: int
    symbol: str
    currency: str  # the instrument's: what a dividend's per-share amount is in
    quantity: Decimal
    total_cost: Decimal  # in the portfolio's currency


@dataclass(frozen=True)
class Payment:
    """A DIVIDEND transaction: `per_share` in the instrument's currency, `exchange_rate` to
    the portfolio's, `withholding` (the transaction's fees) in the portfolio's."""

    holding_id: int
    date: date
    quantity: Decimal
    per_share: Decimal
    exchange_rate: Decimal = ONE
    withholding: Decimal = ZERO

    @property
    def gross(self) -> Decimal:
        return self.quantity * self.per_share * self.exchange_rate

    @property
    def net(self) -> Decimal:
        return self.gross - self.withholding


@dataclass(frozen=True)
class Split:
    holding_id: int
    date: date
    factor: Decimal  # new shares per old share


@dataclass(frozen=True)
class Month:
    received_month: date  # the first day of a month the trailing 12 months touch
    received: Decimal
    forecast_month: date  # the same month a year on
    forecast: Decimal


@dataclass(frozen=True)
class HoldingDividends:
    id: int
    symbol: str
    received: Decimal  # in the last 12 months, as booked
    forecast: Decimal | None  # the next 12 months; None when it cannot be converted
    yield_on_cost: Decimal | None  # percent; None without a cost basis


@dataclass
class Forecast:
    months: list[Month] = field(default_factory=list)
    holdings: list[HoldingDividends] = field(default_factory=list)
    received: Decimal = ZERO
    forecast: Decimal = ZERO
    missing: list[str] = field(default_factory=list)  # what the forecast leaves out, and why

    @property
    def empty(self) -> bool:
        return not self.holdings


def add_months(day: date, months: int) -> date:
    """The first day of the month `months` after day's month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def year_on(day: date) -> date:
    """The same day a year later; 29 February falls on 28 February."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return date(day.year + 1, 2, 28)


def year_back(day: date) -> date:
    """The same day a year earlier; 29 February falls on 28 February."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return date(day.year - 1, 2, 28)


def in_window(day: date, today: date) -> bool:
    """Received in the trailing 12 months: paid by today, its forecast still to come."""
    return day <= today < year_on(day)


def window_start(today: date) -> date:
    """The first day of the trailing 12 months that end today."""
    return year_back(today) + timedelta(days=1)


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


def forecast(
    today: date,
    currency: str,
    holdings: Sequence[Held],
    payments: Iterable[Payment],
    splits: Iterable[Split],
    rates: Mapping[str, Decimal],
) -> Forecast:
    """`rates` maps an instrument currency to its latest rate into `currency` (the
    portfolio's; its own is 1 without being given). Payments outside the window and of
    holdings not given are ignored."""
    start = date(window_start(today).year, window_start(today).month, 1)
    rows = (today.year - start.year) * 12 + today.month - start.month + 1
    month_of = {add_months(start, i): i for i in range(rows)}
    received_by_month = [ZERO] * rows
    forecast_by_month = [ZERO] * rows
    received: dict[int, Decimal] = {}
    forecast_of: dict[int, Decimal] = {}
    splits_of: dict[int, list[Split]] = {}
    for split in splits:
        splits_of.setdefault(split.holding_id, []).append(split)
    by_id = {held.id: held for held in holdings}
    unconverted: set[int] = set()
    for payment in sorted(payments, key=lambda p: (p.date, p.holding_id)):
        held = by_id.get(payment.holding_id)
        index = month_of.get(date(payment.date.year, payment.date.month, 1))
        if held is None or index is None or not in_window(payment.date, today):
            continue
        received_by_month[index] += payment.net
        received[held.id] = received.get(held.id, ZERO) + payment.net
        forecast_of.setdefault(held.id, ZERO)
        gross = payment.gross
        if not held.quantity or gross <= 0:
            continue  # sold out, or a payment of nothing: nothing to come
        rate = ONE if held.currency == currency else rates.get(held.currency)
        if rate is None:
            unconverted.add(held.id)
            continue
        factor = ONE
        for split in splits_of.get(held.id, ()):
            if payment.date < split.date <= today:
                factor *= split.factor
        kept = (gross - payment.withholding) / gross
        amount = _cents(held.quantity * payment.per_share / factor * rate * kept)
        forecast_by_month[index] += amount
        forecast_of[held.id] += amount

    result = Forecast()
    for i in range(rows):
        month = add_months(start, i)
        result.months.append(
            Month(month, received_by_month[i], add_months(month, MONTHS), forecast_by_month[i])
        )
    for held in holdings:
        if held.id not in received:
            continue
        cost = held.total_cost
        result.holdings.append(
            HoldingDividends(
                id=held.id,
                symbol=held.symbol,
                received=received[held.id],
                forecast=None if held.id in unconverted else forecast_of[held.id],
                yield_on_cost=received[held.id] / cost * HUNDRED
                if held.quantity and cost > 0
                else None,
            )
        )
        if held.id in unconverted:
            result.missing.append(
                f"{held.symbol}: no {held.currency}→{currency} exchange rate is stored, "
                "so its dividends are not forecast."
            )
    result.received = sum(received_by_month, ZERO)
    result.forecast = sum(forecast_by_month, ZERO)
    return result
