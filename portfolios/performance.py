"""Performance analytics of one portfolio over a period: pure, no ORM.

Given the portfolio's transactions, daily closes per instrument and daily FX per
instrument currency, compute a daily value series, the time-weighted return (TWR), the
money-weighted return (MWR, and XIRR: the same annualised), a simple return, the currency
effect and dividends by month and year (ARCHITECTURE section 5b; DEFINITIONS below are the
words the API schema and the pages show). Every figure below can be reproduced by hand
from the series and the transactions; these are the definitions.

Amounts are in the portfolio currency (PC). Returns are fractions: 0.1 is 10 %.

Days. The series has one point per calendar day from `start` to `end`, both included:
transactions, dividends above all, can fall on any day, and a calendar-day series needs no
exchange calendar. Weekends and holidays repeat the last close.

Opening. The period opens at the close of the day before `start` (the "opening value"),
so flows on `start` itself are flows of the period like any other day's. The series
starts with that opening point (dated start - 1, flow 0), so that a chart of it shows
where the period's gain is measured from: gain = last value - first value - sum of flows.

Value of a day = sum over instruments of quantity x close x fx, where
- quantity is the position after all of that day's transactions;
- close is the instrument's latest close on or before that day (carried forward; the
  loader passes the last close before the period too). Before an instrument's first
  close, the price of its latest BUY or SELL on or before that day stands in (the last
  transaction price, not the cost basis: it is a market price, and it needs no replay of
  the average-cost ledger);
- fx is PC per unit of the instrument's currency: 1 for the PC itself, else the latest
  rate on or before that day; before the first rate of a currency, the exchange_rate of
  the latest transaction in that currency stands in. A currency with no rate at all is
  not valued at its trade rates: its instruments (values and flows) are left out and
  named in `unvalued_currencies`, as the live table leaves them out of its totals.

Splits. Stored closes are split-adjusted (Yahoo's: every close before a 2-for-1 split is
halved), so the quantity is counted in today's shares: each BUY or SELL counts its
quantity x the factors of the splits that follow it (ledger.adjusted_quantities), and a
stand-in trade price is divided by the factors of the splits dated after its day
(ledger.later_splits). The value does not jump at a split; a split moves no money and is
no flow. Splits after `end` count too (the closes are adjusted for them).

Flows. Without cash tracked the portfolio holds positions, not cash, so every
transaction is an external flow, of the amount the ledger defines (recomputed here at
full precision; the stored total_amount is this rounded to 4 dp):
- BUY, an inflow of quantity x price x exchange_rate + fees;
- SELL, an outflow of quantity x price x exchange_rate - fees;
- DIVIDEND, an outflow of quantity x price x exchange_rate - fees (the cash leaves).
With cash tracked (`cash_movements`, with_cash) the account is measured as a broker
reports it: each day's value adds the cash balance at that day's end (portfolios.cash:
every transaction's total_amount booked in whole cents), and the external flows are the
deposits (in at the start of the day) and withdrawals (out at its end) only; trades,
dividends, interest and fees move money inside the account. Dividends are still summed
by month and year as paid.
A day's `flow` in the series is its inflows minus its outflows (positive: money went in).
Deposits and withdrawals are the period's sums of inflows and outflows.

Net deposits (the series' second line) = all inflows minus all outflows since the
portfolio's first transaction (cumulative external flows), not only within the period,
dividends included as outflows: so value - net deposits is the all-time gain, realized,
unrealized and dividends together, on every day. It goes negative once more came out than
went in. It is not the cost basis.

TWR (ARCHITECTURE section 10: flows in at the start of the day, out at the end). For day
d: r_d = (V_d + out_d) / (V_{d-1} + in_d) - 1, with V_0 the opening value, and
TWR = product of (1 + r_d) - 1. Between flow days the daily factors telescope, so the
product is taken over sub-periods that break at flow days, one division each: a
sub-period starts from V_{d-1} + in_d (a day with an inflow) or V_d (after a day with an
outflow), and ends at V_e + out_e (a day with an outflow) or V_{e-1} (the eve of an
inflow). A sub-period that starts from zero is skipped, there being no return on nothing:
the days before the first buy, and also a dividend paid after everything was sold (it
still counts in XIRR, the simple return and the dividend sums). TWR is None when no
sub-period starts from more than zero.

The period's length is end - start in days; annualised figures need at least 365 of
them (an annualised 3-month return says little and reads like a yearly one).

XIRR (pyxirr, ACT/365F, annualized): the opening value as a payment into the portfolio
on `start`, each day's net flow (buys negative, sells and dividends positive) on its
date, and the closing value as a payment out on `end`. None when there is not both a
negative and a positive payment, when it does not converge, or for a period under 365
days. MWR is the same rate over the period itself, not annualised:
(1 + rate) ^ (days / 365) - 1 (the simple return for a one-day period).
TWR annualised = (1 + TWR) ^ (365 / days) - 1, None under 365 days.

Simple return = (closing value + withdrawals - deposits - opening value)
                / (opening value + deposits); the numerator is the period's `gain`.
None when the denominator is zero.

Currency effect = TWR - TWR at constant FX, where constant FX values every position
with each currency's rate at the opening (or its first known rate, for a currency first
bought during the period) and re-prices the flows of instruments in that currency at the
same rate (quantity x price x rate +/- fees): what the return would have been had the
exchange rates not moved. It is exactly 0 for a portfolio with only PC instruments.
The currency effect amount is gain - gain at constant FX, in PC.

Dividends by month ("YYYY-MM") and by year: sums of the dividend amounts paid within the
period, months and years without dividends left out.

Precision: everything runs in a 60-digit decimal context, so values and flows (products
and sums of stored quantities, prices and rates) are exact; only the TWR divisions and
inverted FX rates round, at the 60th digit. Floats appear only at the pyxirr boundary.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Context, Decimal, localcontext
from itertools import repeat
from operator import attrgetter, itemgetter, mul
from typing import NamedTuple

import numpy as np
import pyxirr
from django.utils.translation import gettext_noop

from portfolios import cash
from portfolios.ledger import BUY, DIVIDEND, SELL, SPLIT, ZERO

ONE = Decimal(1)
_CONTEXT = Context(prec=60)
_DAY = timedelta(days=1)
_FIRST = itemgetter(0)

# (date, close or rate), sorted by date.
DailySeries = Sequence[tuple[date, Decimal]]


@dataclass(frozen=True, slots=True)
class Trade:
    """One transaction as the analytics see it (field order = the loader's columns)."""

    date: date
    type: str
    instrument: Hashable
    currency: str  # the instrument's
    quantity: Decimal
    price: Decimal  # instrument currency; per share for a dividend
    fees: Decimal = ZERO  # portfolio currency
    exchange_rate: Decimal = ONE  # PC per unit of the instrument's currency

    def amount(self, rate: Decimal | None = None) -> Decimal:
        """The ledger's total amount in PC, or the same at another exchange rate."""
        rate = self.exchange_rate if rate is None else rate
        gross = _CONTEXT.multiply(_CONTEXT.multiply(self.quantity, self.price), rate)
        if self.type == BUY:
            return _CONTEXT.add(gross, self.fees)
        if self.type in (SELL, DIVIDEND):
            return _CONTEXT.subtract(gross, self.fees)
        if self.type == SPLIT:  # no money moves
            return ZERO
        raise ValueError(f"Unknown transaction type {self.type!r}")


class Point(NamedTuple):
    date: date
    value: Decimal
    net_deposits: Decimal
    flow: Decimal


class HouseholdPoint(NamedTuple):
    date: date
    value: Decimal  # the portfolios'
    net_deposits: Decimal
    flow: Decimal
    pensions: Decimal


# Each figure's definition, as the API schema and the pages show it (ARCHITECTURE 5b). Marked
# for translation only: the API keeps them in English, the pages translate them
# (portfolios.views.page_definitions).
DEFINITIONS = {
    "value": gettext_noop(
        "Market value at that day's close: quantity held x the last close on or "
        "before the day x the last exchange rate on or before the day, plus the cash balance "
        "at the day's end when the portfolio tracks cash. Today's point is the live "
        "valuation, the same as the holdings table."
    ),
    "net_deposits": gettext_noop(
        "Cumulative external flows since the first transaction "
        "(buys in, sales and dividends out; with cash tracked, deposits in and withdrawals "
        "out), not the cost basis. Value minus net deposits is the all-time gain."
    ),
    "flow": gettext_noop(
        "External flow that day: money in (+, buys incl. fees; with cash tracked, "
        "deposits) or out (−, sale proceeds and dividends; with cash tracked, withdrawals)."
    ),
    "series": gettext_noop(
        "One point per day; the first is the opening point, the close of the day before start."
    ),
    "opening_value": gettext_noop("Value at the close of the day before start."),
    "closing_value": gettext_noop("Value at the close of end (live when end is today)."),
    "gain": gettext_noop(
        "Closing value − opening value − net flows in the period "
        "(the chart's last point minus its first minus the flows)."
    ),
    "twr": gettext_noop(
        "Daily sub-period returns chained over the period "
        "(inflows at the start of a day, outflows at its end); 0.1 = 10 %. Not annualised."
    ),
    "twr_annualized": gettext_noop(
        "The time-weighted return per year: (1 + twr)^(365 / days) − 1 with "
        "days = end − start; null (—) for periods under 365 days."
    ),
    "mwr": gettext_noop(
        "Money-weighted return of the period (the internal rate of return of the "
        "opening value, the flows and the closing value, over the period, not annualised)."
    ),
    "xirr": gettext_noop(
        "The money-weighted return per year (XIRR, ACT/365); null (—) for periods under 365 days."
    ),
    "simple_return": gettext_noop("Gain / (opening value + deposits)."),
    "currency_effect": gettext_noop(
        "The part of the time-weighted return that came from exchange "
        "rates: twr − twr at the opening exchange rates."
    ),
    "currency_effect_amount": gettext_noop(
        "The same as an amount: gain − gain at the opening exchange rates."
    ),
    "dividends": gettext_noop("Dividends received in the period, net of withholding tax."),
    "deposits": gettext_noop(
        "Money put in during the period (buys incl. fees; with cash tracked, deposits)."
    ),
    "withdrawals": gettext_noop(
        "Money taken out during the period (sale proceeds and dividends; with "
        "cash tracked, withdrawals)."
    ),
    "unvalued_currencies": gettext_noop(
        "Currencies with no exchange rate at all: their holdings are "
        "left out of the series and the returns, as the live table leaves them out."
    ),
    "pensions": gettext_noop(
        "Pension accounts at their latest value on or before each day, converted "
        "at that day's rate: a line of their own, not in the value or the returns (their "
        "contributions are not recorded, so their growth cannot be told from money paid in)."
    ),
    "total_return": gettext_noop(
        "Total return = unrealized + realized (+ dividends when they do not "
        "reduce the cost basis; when they do, they are already in the other two)."
    ),
}


@dataclass(frozen=True)
class Flows:
    """The daily arrays behind a Performance, index 0 being the opening day: what a
    household total (combine) needs to add portfolios up at each day's FX."""

    inflows: list[Decimal]
    outflows: list[Decimal]
    constant_values: list[Decimal]
    constant_inflows: list[Decimal]
    constant_outflows: list[Decimal]
    dividends: list[Decimal]


@dataclass(frozen=True)
class Performance:
    start: date
    end: date
    currency: str
    opening_value: Decimal = ZERO  # at the close of the day before start
    closing_value: Decimal = ZERO  # at the close of end
    deposits: Decimal = ZERO
    withdrawals: Decimal = ZERO
    gain: Decimal = ZERO  # closing + withdrawals - deposits - opening
    series: list[Point] = field(default_factory=list)  # the opening point first
    twr: Decimal | None = None
    twr_annualized: Decimal | None = None
    twr_constant_fx: Decimal | None = None
    currency_effect: Decimal | None = None
    currency_effect_amount: Decimal | None = None
    mwr: Decimal | None = None
    xirr: Decimal | None = None
    simple_return: Decimal | None = None
    dividends: Decimal = ZERO
    dividends_by_month: dict[str, Decimal] = field(default_factory=dict)
    dividends_by_year: dict[int, Decimal] = field(default_factory=dict)
    unvalued_currencies: list[str] = field(default_factory=list)
    # Why nothing could be computed (the page shows it instead of the figures).
    error: str | None = None
    flows: Flows | None = field(default=None, repr=False, compare=False)

    @property
    def days(self) -> int:
        return (self.end - self.start).days


# Compact inputs --------------------------------------------------------------------------

_BUY, _SELL, _DIVIDEND, _SPLIT, _OTHER = 0, 1, 2, 3, 4
# The instrument transactions; the cash ones (no instrument) enter as Cash (with_cash),
# so a DEPOSIT, WITHDRAWAL, INTEREST or FEE among the trades is an unknown type.
_KINDS = {BUY: _BUY, SELL: _SELL, DIVIDEND: _DIVIDEND, SPLIT: _SPLIT}
_NEVER = date.max.toordinal() + 1
_INT64 = 2**63 - 1


def _decimal(units: int, scale: int) -> Decimal:
    """units / 10^scale, exactly (60 digits hold any stored amount's units)."""
    return Decimal(units).scaleb(-scale, _CONTEXT)


_FIVES = {5**b: b for b in range(400)}


def decimal_units(values: Sequence[Decimal]) -> tuple[list[int], int]:
    """Decimals as integers at one scale (the most decimals among them), exactly: a
    decimal is n / (2^a 5^b), so at max(a, b) decimals it is a whole number."""
    ratios = []
    scale = 0
    for value in values:
        try:
            n, d = value.as_integer_ratio()
        except (ValueError, OverflowError) as exc:
            raise ValueError("A price, quantity, fee or rate is not a finite number.") from exc
        twos = (d & -d).bit_length() - 1
        fives = _FIVES.get(d >> twos)
        if fives is None:
            raise ValueError("A price, quantity, fee or rate has too many decimals.")
        scale = max(scale, twos, fives)
        ratios.append((n, d))
    factor = 10**scale
    return [n * (factor // d) for n, d in ratios], scale


def unit_array(units: Sequence[int]) -> np.ndarray:
    """int64 when every value fits, else Python integers (object): exact either way."""
    if all(-_INT64 <= n <= _INT64 for n in units):
        return np.array(units, dtype=np.int64)
    return np.array(units, dtype=object)


def _peak(values: np.ndarray) -> int:
    return int(np.abs(values).max()) if len(values) else 0


def _rescale(values: np.ndarray, scale: int, to: int) -> np.ndarray:
    if to == scale:
        return values
    factor = 10 ** (to - scale)
    if values.dtype != object and _peak(values) * factor <= _INT64:
        return values * factor
    return values.astype(object) * factor


def _concat(*arrays: np.ndarray) -> np.ndarray:
    if any(a.dtype == object for a in arrays):
        return np.concatenate([a.astype(object) for a in arrays])
    return np.concatenate([a.astype(np.int64) for a in arrays])


def _take(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """values[index], 0 where index is -1 (nothing on or before that day)."""
    if not len(values):
        return np.zeros(len(index), dtype=np.int64)
    taken = values[np.maximum(index, 0)]
    taken[index < 0] = 0
    return taken


def _multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype != object and b.dtype != object and _peak(a) * _peak(b) <= _INT64:
        return a * b
    return a.astype(object) * b.astype(object)


def _sum_units(parts: Sequence[tuple[np.ndarray, int]]) -> tuple[np.ndarray, int]:
    """The sum of arrays of units at different scales, at the largest scale."""
    scale = max(s for _, s in parts)
    bound = sum(_peak(a) * 10 ** (scale - s) for a, s in parts)
    exact = bound <= _INT64 and all(a.dtype != object for a, _ in parts)
    total = np.zeros(len(parts[0][0]), dtype=np.int64 if exact else object)
    for values, s in parts:
        total = total + (values if exact else values.astype(object)) * 10 ** (scale - s)
    return total, scale


def _to_decimals(units: np.ndarray, scale: int) -> list[Decimal]:
    """Each day's units as a Decimal (exact: n x 10^-scale at 60 digits); a day worth the
    same as the day before (a weekend, a holiday) shares its Decimal."""
    unit = _decimal(1, scale)
    decimals = []
    last, current = 0, ZERO
    with localcontext(_CONTEXT):
        for n in units.tolist():
            if n != last:
                last, current = n, Decimal(n) * unit if n else ZERO
            decimals.append(current)
    return decimals


class Series:
    """One instrument's daily closes, compact: ordinals (ascending) and integer units at
    `scale` decimals. What the loader caches and the arithmetic reads; a list of
    (date, Decimal) is turned into one."""

    __slots__ = ("days", "units", "scale", "error")

    def __init__(self, days: np.ndarray, units: np.ndarray, scale: int, error: str | None = None):
        self.days, self.units, self.scale, self.error = days, units, scale, error

    def __len__(self) -> int:
        return len(self.days)

    def __getstate__(self):
        # Half the bytes through the shared cache: ordinals and most units fit 32 bits.
        units = self.units
        if units.dtype != object and _peak(units) < 2**31:
            units = units.astype(np.int32)
        return (self.days.astype(np.int32), units, self.scale, self.error)

    def __setstate__(self, state):
        days, units, self.scale, self.error = (*state, None)[:4]
        self.days = days.astype(np.int64)
        self.units = units if units.dtype == object else units.astype(np.int64)

    @classmethod
    def unreadable(cls, error: str) -> Series:
        """Stored values that are not numbers: using the series fails with `error`."""
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), 0, error)

    def check(self) -> Series:
        if self.error:
            raise ValueError(f"Unreadable stored values ({self.error}).")
        return self

    @classmethod
    def of(cls, pairs: DailySeries) -> Series:
        pairs = sorted(pairs, key=_FIRST)
        units, scale = decimal_units([value for _, value in pairs])
        days = np.array([day.toordinal() for day, _ in pairs], dtype=np.int64)
        return cls(days, unit_array(units), scale)

    def pairs(self) -> list[tuple[date, Decimal]]:
        self.check()
        return list(
            zip(
                map(date.fromordinal, self.days.tolist()),
                _to_decimals(self.units, self.scale),
                strict=True,
            )
        )

    def replacing(self, day: date, value: Decimal) -> Series:
        """The same up to the day before `day`, then `value` on `day` (today's live close)."""
        keep = int(np.searchsorted(self.days, day.toordinal(), side="left"))
        (units,), scale = decimal_units([value])
        to = max(scale, self.scale)
        values = _concat(
            _rescale(self.units[:keep], self.scale, to),
            _rescale(unit_array([units]), scale, to),
        )
        return Series(np.append(self.days[:keep], day.toordinal()), values, to)


_EMPTY = Series(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), 0)


def _as_series(closes: DailySeries | Series | None) -> Series:
    if closes is None:
        return _EMPTY
    return closes.check() if isinstance(closes, Series) else Series.of(closes)


_CENTS = 2


class Cash:
    """A portfolio's cash movements as columns, what with_cash reads (section 5b): days
    as ordinals (ascending), and in whole cents each movement's effect on the balance and
    the external flow it is (a deposit's in, a withdrawal's out, 0 for the other types).
    Each total_amount is booked as portfolios.cash books it (to the cent, half up), so
    the balance is the stored one to the cent."""

    __slots__ = ("days", "effects", "deposits", "withdrawals", "error")

    def __init__(self, days, effects, deposits, withdrawals, error: str | None = None):
        self.days, self.effects, self.error = days, effects, error
        self.deposits, self.withdrawals = deposits, withdrawals

    def __getstate__(self):
        return (self.days, self.effects, self.deposits, self.withdrawals, self.error)

    def __setstate__(self, state):
        self.days, self.effects, self.deposits, self.withdrawals, self.error = state

    @classmethod
    def of(cls, movements: Iterable[cash.Movement]) -> Cash:
        """From portfolios.cash's movements (any order; same-day order does not matter
        for an end-of-day balance)."""
        ordered = sorted(movements, key=attrgetter("date"))
        with localcontext(_CONTEXT):
            effects = [int(cash.effect(m.type, m.amount).scaleb(_CENTS)) for m in ordered]
        return cls.booked(
            [m.type for m in ordered],
            np.array([m.date.toordinal() for m in ordered], dtype=np.int64),
            unit_array(effects),
            _CENTS,
            signed=True,
        )

    @classmethod
    def booked(
        cls,
        types: Sequence[str],
        days: np.ndarray,
        units: np.ndarray,
        scale: int,
        *,
        signed: bool = False,
    ) -> Cash:
        """From columns in date order: each movement's type and total_amount as integer
        units at `scale` (the loader's raw read), booked to the cent here, half up as
        cash.booked; `signed`: the units are the effects already."""
        if scale <= _CENTS:
            cents = _rescale(units, scale, _CENTS)
        else:
            step = 10 ** (scale - _CENTS)
            magnitude = (np.abs(units) + step // 2) // step
            cents = np.where(units < 0, -magnitude, magnitude)
        kinds = np.array(list(types), dtype=object)
        if signed:
            effects = cents
        else:
            signs = np.array([cash.SIGNS.get(t, 0) for t in types], dtype=np.int64)
            effects = cents * signs
        if effects.dtype != object and _peak(effects) * len(effects) > _INT64:
            # Running sums of these must not overflow: Python integers.
            effects = effects.astype(object)
        zero = np.zeros(len(effects), dtype=effects.dtype)
        deposits = np.where(kinds == cash.DEPOSIT, effects, zero)
        withdrawals = np.where(kinds == cash.WITHDRAWAL, -effects, zero)
        return cls(np.asarray(days, dtype=np.int64), effects, deposits, withdrawals)

    @classmethod
    def unreadable(cls, error: str) -> Cash:
        """Stored amounts that are not numbers: using them fails with `error`."""
        empty = np.zeros(0, dtype=np.int64)
        return cls(empty, empty, empty, empty, error)

    def check(self) -> Cash:
        if self.error:
            raise ValueError(f"Unreadable stored cash amounts ({self.error}).")
        return self


class Trades:
    """Transactions as columns, in date order (same-day order kept): days as ordinals, and
    quantity, price, fees and rate as integer units at a scale per column. The instrument
    transactions only; `cash`, when loaded, is the portfolio's every transaction as its
    cash sees it (with_cash uses it when the portfolio tracks cash)."""

    COLUMNS = ("quantity", "price", "fees", "rate")

    def __init__(
        self,
        days: Sequence[int],
        types: Sequence[str],
        instruments: Sequence[Hashable],
        currencies: Sequence[str],
        units: Mapping[str, Sequence[int]],
        scales: Mapping[str, int],
        decimals: Mapping[str, Sequence[Decimal]] | None = None,
        cash: Cash | None = None,
    ):
        self.days = np.asarray(days, dtype=np.int64)
        self.types = list(types)
        self.kinds = [_KINDS.get(t, _OTHER) for t in self.types]
        self.instruments = list(instruments)
        self.currencies = list(currencies)
        self.units = {name: list(units[name]) for name in self.COLUMNS}
        self.scales = dict(scales)
        self._decimals = decimals
        self.cash = cash
        self._arrays: dict[str, np.ndarray] = {}

    @classmethod
    def of(cls, trades: Iterable[Trade]) -> Trades:
        trades = sorted(trades, key=attrgetter("date"))
        decimals = {
            "quantity": [t.quantity for t in trades],
            "price": [t.price for t in trades],
            "fees": [t.fees for t in trades],
            "rate": [t.exchange_rate for t in trades],
        }
        units, scales = {}, {}
        for name, values in decimals.items():
            units[name], scales[name] = decimal_units(values)
        return cls(
            [t.date.toordinal() for t in trades],
            [t.type for t in trades],
            [t.instrument for t in trades],
            [t.currency for t in trades],
            units,
            scales,
            decimals,
        )

    def __len__(self) -> int:
        return len(self.types)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_arrays"] = {}  # rebuilt on use
        return state

    def without(self, currencies: Iterable[str]) -> Trades:
        gone = set(currencies)
        keep = [i for i, code in enumerate(self.currencies) if code not in gone]
        return Trades(
            self.days[keep],
            [self.types[i] for i in keep],
            [self.instruments[i] for i in keep],
            [self.currencies[i] for i in keep],
            {name: [self.units[name][i] for i in keep] for name in self.COLUMNS},
            self.scales,
            None
            if self._decimals is None
            else {name: [values[i] for i in keep] for name, values in self._decimals.items()},
            self.cash,
        )

    def with_currencies(self, currencies: Sequence[str]) -> Trades:
        return Trades(
            self.days,
            self.types,
            self.instruments,
            currencies,
            self.units,
            self.scales,
            self._decimals,
            self.cash,
        )

    def check_types(self, last: int) -> None:
        for i, kind in enumerate(self.kinds):
            if kind == _OTHER and self.days[i] <= last:
                raise ValueError(f"Unknown transaction type {self.types[i]!r}")

    def day(self, i: int) -> date:
        return date.fromordinal(int(self.days[i]))

    def ints(self, name: str) -> list[int]:
        return self.units[name]

    def decimal(self, name: str, i: int) -> Decimal:
        if self._decimals is not None:
            return self._decimals[name][i]
        return _decimal(self.units[name][i], self.scales[name])

    def column(self, name: str, index: Sequence[int]) -> np.ndarray:
        if name not in self._arrays:
            self._arrays[name] = unit_array(self.units[name])
        return self._arrays[name][np.asarray(index, dtype=np.intp)]


def compute_performance(
    trades: Iterable[Trade] | Trades,
    closes: Mapping[Hashable, DailySeries | Series],
    fx: Mapping[str, DailySeries],
    *,
    currency: str,
    start: date,
    end: date,
    cash_movements: Cash | Iterable[cash.Movement] | None = None,
) -> Performance:
    """Performance of a portfolio in `currency` over [start, end] (module docstring).

    `cash_movements` (every transaction of a portfolio that tracks cash, as
    portfolios.cash sees it) makes it the account's return as a broker reports it
    (section 5b): each day's value includes the cash at its end, and the external flows
    are the deposits and withdrawals only (with_cash).

    `closes` maps an instrument key to its daily closes (instrument currency) and `fx` a
    currency to its daily rates (PC per unit); either may start before `start`, which is
    how a close or rate is carried into the period. Same-day trades keep their order.
    """
    days = portfolio_days(
        trades,
        closes,
        fx,
        currency=currency,
        start=start,
        end=end,
        cash_movements=cash_movements,
    )
    return performance_of(days, currency=currency, start=start, end=end)


def performance_of(days: PortfolioDays, *, currency: str, start: date, end: date) -> Performance:
    """The series and every return of a portfolio's daily values and flows."""
    with localcontext(_CONTEXT):
        series, by_month, by_year = _assemble(
            start, days.values, days.flows, days.opening_net_deposits
        )
        return _returns(
            start=start,
            end=end,
            currency=currency,
            series=series,
            flows=days.flows,
            dividends_by_month=by_month,
            dividends_by_year=by_year,
            unvalued_currencies=days.unvalued_currencies,
        )


@dataclass(frozen=True)
class PortfolioDays:
    """One portfolio's daily values and flows (index 0: the opening day), before any
    return is taken: what a performance or a household total is made of."""

    values: list[Decimal]
    flows: Flows
    opening_net_deposits: Decimal  # all flows before start
    unvalued_currencies: list[str]


def portfolio_days(
    trades: Iterable[Trade] | Trades,
    closes: Mapping[Hashable, DailySeries | Series],
    fx: Mapping[str, DailySeries],
    *,
    currency: str,
    start: date,
    end: date,
    carry=None,
    cash_movements: Cash | Iterable[cash.Movement] | None = None,
) -> PortfolioDays:
    """The daily values and flows of compute_performance, without the returns (and with
    the cash, given `cash_movements`: with_cash).

    Quantities, prices and flows are summed as integers (units at each column's scale) in
    numpy, one array per instrument over the whole period instead of one Decimal per close:
    sums and products of stored decimals are exact either way, so the values are the same
    to the last digit. Decimal takes over where a rate comes in (an inverted rate has 60
    digits and rounds), in the same order of operations as a plain Decimal loop would."""
    if end < start:
        raise ValueError("The period ends before it starts.")
    table = trades if isinstance(trades, Trades) else Trades.of(trades)
    unvalued = sorted(set(table.currencies) - {currency} - _known(fx))
    if unvalued:
        table = table.without(unvalued)
    count = (end - start).days + 2  # index 0 is the opening (the day before start)
    origin = start.toordinal() - 1
    last = end.toordinal()
    opening_day = start - _DAY
    table.check_types(last)

    by_instrument: dict[Hashable, list[int]] = {}
    by_currency: dict[str, list[int]] = {}
    for i, (key, code) in enumerate(zip(table.instruments, table.currencies, strict=True)):
        by_instrument.setdefault(key, []).append(i)
        by_currency.setdefault(code, []).append(i)

    with localcontext(_CONTEXT):
        grid = np.arange(origin, origin + count, dtype=np.int64)
        # Local-currency value (quantity x close) of each currency's positions, per day.
        local: dict[str, list[tuple[np.ndarray, int]]] = {}
        for key, own in by_instrument.items():
            parts = local.setdefault(table.currencies[own[0]], [])
            held = _instrument_value(table, own, _as_series(closes.get(key)), grid)
            if held is not None:
                parts.append(held)

        rates: dict[str, list[Decimal | None]] = {}
        constant: dict[str, Decimal] = {}
        for code, own in by_currency.items():
            if code == currency:
                rates[code] = [ONE] * count
            else:
                source = fx.get(code, ())
                known = sorted(source, key=_FIRST)
                first = known[0][0] if known else date.max
                stand_ins = [
                    (table.day(i), table.decimal("rate", i))
                    for i in own
                    if table.days[i] < first.toordinal()
                ]
                # `carry` (the loader's) shares one carried-forward list per rate series
                # between the portfolios of a request; only without stand-ins, which
                # are the portfolio's own.
                if carry is not None and not stand_ins:
                    rates[code] = carry(source, opening_day, count)
                else:
                    rates[code] = carried_forward(stand_ins + known, opening_day, count)
            constant[code] = next((r for r in rates[code] if r is not None), ONE)

        values = [ZERO] * count
        constant_values = [ZERO] * count
        for code, parts in local.items():
            if not parts:
                continue
            amounts = _to_decimals(*_sum_units(parts))
            daily, fixed = rates[code], constant[code]
            # value += rate x amount on each day with an amount, in this currency order;
            # in the portfolio's own currency the rate is 1 and 1 x amount is amount.
            if code == currency:
                values = [v + a if a else v for v, a in zip(values, amounts, strict=True)]
                constant_values = [
                    v + a if a else v for v, a in zip(constant_values, amounts, strict=True)
                ]
            else:
                values = [
                    v + d * a if a else v for v, d, a in zip(values, daily, amounts, strict=True)
                ]
                constant_values = [
                    v + fixed * a if a else v for v, a in zip(constant_values, amounts, strict=True)
                ]

        flows, opening_deposits = _flows(table, constant, currency, origin, last, count)
        flows = replace(flows, constant_values=constant_values)
        days = PortfolioDays(values, flows, opening_deposits, unvalued)
    if cash_movements is not None:
        days = with_cash(days, cash_movements, start)
    return days


def with_cash(
    days: PortfolioDays, movements: Cash | Iterable[cash.Movement], start: date
) -> PortfolioDays:
    """A portfolio's daily values and flows (index 0: the day before start) as the
    account's (section 5b): each day's value gains the cash balance at that day's end (in
    the portfolio currency, so the same at constant FX), and the flows become the
    deposits (in at the start of the day) and withdrawals (out at its end); trades,
    dividends, interest and fees move money inside the account and are no flows. The
    deposits and withdrawals before start are the opening net deposits. The dividends
    stay as paid (the period's dividends by month and year). Exact: whole cents."""
    book = (movements if isinstance(movements, Cash) else Cash.of(movements)).check()
    count = len(days.values)
    origin = start.toordinal() - 1
    grid = np.arange(origin, origin + count, dtype=np.int64)
    index = np.searchsorted(book.days, grid, side="right") - 1
    balance = _to_decimals(_take(np.cumsum(book.effects), index), _CENTS)
    k = book.days - origin
    within = (k >= 1) & (k < count)
    ins = _daily_sums(k, book.deposits, within & (book.deposits != 0), _CENTS, count)
    outs = _daily_sums(k, book.withdrawals, within & (book.withdrawals != 0), _CENTS, count)
    before = k < 1
    opening = sum(book.deposits[before].tolist()) - sum(book.withdrawals[before].tolist())
    with localcontext(_CONTEXT):
        values = [v + c if c else v for v, c in zip(days.values, balance, strict=True)]
        constant = [
            v + c if c else v for v, c in zip(days.flows.constant_values, balance, strict=True)
        ]
    flows = replace(
        days.flows,
        inflows=ins,
        outflows=outs,
        constant_values=constant,
        constant_inflows=list(ins),
        constant_outflows=list(outs),
    )
    return replace(
        days, values=values, flows=flows, opening_net_deposits=_decimal(int(opening), _CENTS)
    )


def _instrument_value(
    table: Trades, own: list[int], closes: Series, grid: np.ndarray
) -> tuple[np.ndarray, int] | None:
    """Quantity held x price on each day of `grid`, as integer units and their scale.

    The price of a day is the latest close on or before it; before the first close, the
    latest BUY or SELL price on or before it stands in. The quantity is the position after
    all of the day's trades, in today's shares when the instrument has splits (module
    docstring: the closes are split-adjusted)."""
    moves = [i for i in own if table.kinds[i] in (_BUY, _SELL)]
    if not moves:
        return None
    splits = [i for i in own if table.kinds[i] == _SPLIT]
    first_close = closes.days[0] if len(closes) else _NEVER
    stand_ins = [i for i in moves if table.days[i] < first_close]
    if splits and stand_ins:
        # A trade's own price in today's shares: divided by the later splits' factors.
        factor = _later_splits(table, splits)
        with localcontext(_CONTEXT):
            adjusted = [table.decimal("price", i) / factor(int(table.days[i])) for i in stand_ins]
        units, stand_scale = decimal_units(adjusted)
        stand_units = unit_array(units)
    else:
        stand_units, stand_scale = table.column("price", stand_ins), table.scales["price"]
    scale = max(stand_scale, closes.scale)
    price_days = np.concatenate([table.days[stand_ins], closes.days])
    price_units = _concat(
        _rescale(stand_units, stand_scale, scale),
        _rescale(closes.units, closes.scale, scale),
    )
    j = np.searchsorted(price_days, grid, side="right") - 1
    price = _take(price_units, j)

    signed = table.column("quantity", moves)
    sells = [n for n, i in enumerate(moves) if table.kinds[i] == _SELL]
    if sells:
        signed[sells] = -signed[sells]
    quantity_scale = table.scales["quantity"]
    if splits:
        # Each trade's quantity x the factors of the splits after it (same-day order
        # kept): the sum up to a day is ledger.adjusted_quantities' position that day.
        weights, factor = [], ONE
        with localcontext(_CONTEXT):
            for i in reversed(own):
                if table.kinds[i] == _SPLIT:
                    factor *= table.decimal("quantity", i)
                elif table.kinds[i] in (_BUY, _SELL):
                    weights.append(factor)
        units, weight_scale = decimal_units(weights[::-1])
        signed = _multiply(signed, unit_array(units))
        quantity_scale += weight_scale
    if signed.dtype != object and _peak(signed) * len(signed) > _INT64:
        signed = signed.astype(object)  # the running sum must not overflow
    position = np.cumsum(signed)
    h = np.searchsorted(table.days[moves], grid, side="right") - 1
    held = _take(position, h)
    return _multiply(held, price), quantity_scale + scale


def _later_splits(table: Trades, splits: list[int]):
    """ledger.later_splits over ordinals: the product of the factors of the splits dated
    after a day."""
    dated = sorted((int(table.days[i]), table.decimal("quantity", i)) for i in splits)
    after = [ONE] * (len(dated) + 1)
    with localcontext(_CONTEXT):
        for n in range(len(dated) - 1, -1, -1):
            after[n] = after[n + 1] * dated[n][1]
    ordinals = [day for day, _ in dated]

    def factor(ordinal: int) -> Decimal:
        return after[bisect_right(ordinals, ordinal)]

    return factor


def _flows(
    table: Trades, constant: dict[str, Decimal], currency: str, origin: int, last: int, count: int
) -> tuple[Flows, Decimal]:
    """Each day's inflows, outflows and dividends (exact: integer units of the ledger's
    amount quantity x price x exchange_rate +/- fees, summed per day in numpy), the same
    at constant FX, and the net flows before the period (the opening net deposits)."""
    scales = table.scales
    gross_scale = scales["quantity"] + scales["price"] + scales["rate"]
    scale = max(gross_scale, scales["fees"])
    n = int(np.searchsorted(table.days, last, side="right"))  # nothing after `last`
    days = table.days[:n]
    kinds = np.asarray(table.kinds[:n], dtype=np.int8)

    def column(name: str) -> np.ndarray:
        # Python integers (object): a product of three columns' units outgrows int64.
        return np.array(table.ints(name)[:n], dtype=object)

    gross = column("quantity") * column("price") * column("rate") * 10 ** (scale - gross_scale)
    fee = column("fees") * 10 ** (scale - scales["fees"])
    buy = kinds == _BUY
    # A split moves no money: it is no flow.
    moving = buy | (kinds == _SELL) | (kinds == _DIVIDEND)
    amount = np.where(buy, gross + fee, gross - fee) if n else gross
    before_start = days <= origin
    before = sum(np.where(buy, amount, -amount)[before_start & moving].tolist()) if n else 0
    k = days - origin
    within = ~before_start & moving
    ins = _daily_sums(k, amount, buy & within, scale, count)
    outs = _daily_sums(k, amount, ~buy & within, scale, count)
    dividends = _daily_sums(k, amount, (kinds == _DIVIDEND) & within, scale, count)

    constant_in, constant_out = ins, outs
    codes = table.currencies
    abroad = np.array([code != currency for code in codes[:n]], dtype=bool)
    if (abroad & within).any():
        # At constant FX the amounts are Decimal: a rate may be an inverted one of 60
        # digits, whose products round; on a day with such a trade they are added in
        # trade order as the definition reads. Other days' sums are exact: the same.
        constant_in, constant_out = list(ins), list(outs)
        marked = np.isin(k, np.unique(k[abroad & within])) & within
        for day in np.unique(k[marked]).tolist():
            constant_in[day] = constant_out[day] = ZERO
        unit = _decimal(1, scale)
        with localcontext(_CONTEXT):
            for i in np.flatnonzero(marked).tolist():
                is_buy = bool(buy[i])
                if codes[i] == currency:
                    at_constant = Decimal(amount[i]) * unit
                else:
                    gross_at = _CONTEXT.multiply(
                        _CONTEXT.multiply(table.decimal("quantity", i), table.decimal("price", i)),
                        constant[codes[i]],
                    )
                    fees_at = table.decimal("fees", i)
                    at_constant = (
                        _CONTEXT.add(gross_at, fees_at)
                        if is_buy
                        else _CONTEXT.subtract(gross_at, fees_at)
                    )
                target = constant_in if is_buy else constant_out
                target[int(k[i])] += at_constant
    flows = Flows(ins, outs, [], constant_in, constant_out, dividends)
    return flows, _decimal(before, scale)


def _daily_sums(
    k: np.ndarray, amounts: np.ndarray, mask: np.ndarray, scale: int, count: int
) -> list[Decimal]:
    """The amounts summed per day index (k in ascending order), as Decimals."""
    daily = [ZERO] * count
    chosen = k[mask]
    if not len(chosen):
        return daily
    starts = np.flatnonzero(np.concatenate([[True], chosen[1:] != chosen[:-1]]))
    sums = np.add.reduceat(amounts[mask], starts)
    unit = _decimal(1, scale)
    with localcontext(_CONTEXT):
        for day, units in zip(chosen[starts].tolist(), sums.tolist(), strict=True):
            daily[day] = Decimal(units) * unit
    return daily


def _assemble(
    start: date, values: Sequence[Decimal], flows: Flows, opening_deposits: Decimal
) -> tuple[list[Point], dict[str, Decimal], dict[int, Decimal]]:
    """The series (the opening point first) with net deposits carried from
    `opening_deposits`, and the dividends by month and year: one loop for a portfolio and
    a household."""
    series = []
    net_deposits = opening_deposits
    by_month: dict[str, Decimal] = {}
    by_year: dict[int, Decimal] = {}
    day = start - _DAY
    inflows, outflows, paid = flows.inflows, flows.outflows, flows.dividends
    for k, value in enumerate(values):
        flow = inflows[k] - outflows[k] if k else ZERO
        net_deposits += flow
        series.append(Point(day, value, net_deposits, flow))
        if paid[k]:
            month = f"{day.year:04d}-{day.month:02d}"
            by_month[month] = by_month.get(month, ZERO) + paid[k]
            by_year[day.year] = by_year.get(day.year, ZERO) + paid[k]
        day += _DAY
    return series, by_month, by_year


def _known(fx: Mapping[str, DailySeries]) -> set[str]:
    return {code for code, known in fx.items() if known}


def _returns(
    *,
    start: date,
    end: date,
    currency: str,
    series: list[Point],
    flows: Flows,
    cls: type[Performance] | None = None,
    **extra,
) -> Performance:
    """Every return of a series and its flows (series[0] is the opening point)."""
    with localcontext(_CONTEXT):
        values = [p.value for p in series]
        opening, closing = values[0], values[-1]
        inflows, outflows = flows.inflows, flows.outflows
        deposits, withdrawals = sum(inflows, ZERO), sum(outflows, ZERO)
        gain = closing + withdrawals - deposits - opening
        twr = time_weighted_return(opening, values[1:], inflows[1:], outflows[1:])
        constant = flows.constant_values
        twr_constant_fx = time_weighted_return(
            constant[0], constant[1:], flows.constant_inflows[1:], flows.constant_outflows[1:]
        )
        constant_gain = (
            constant[-1]
            + sum(flows.constant_outflows, ZERO)
            - sum(flows.constant_inflows, ZERO)
            - constant[0]
        )
        payments = [(start, -opening)] if opening else []
        payments += [(p.date, -p.flow) for p in series[1:] if p.flow]
        payments.append((end, closing))
        period_days = (end - start).days
        rate = xirr(payments)
        simple = simple_return(opening, closing, deposits, withdrawals)
        return (cls or Performance)(
            start=start,
            end=end,
            currency=currency,
            opening_value=opening,
            closing_value=closing,
            deposits=deposits,
            withdrawals=withdrawals,
            gain=gain,
            series=series,
            twr=twr,
            twr_annualized=annualized(twr, period_days),
            twr_constant_fx=twr_constant_fx,
            currency_effect=(
                None if twr is None or twr_constant_fx is None else twr - twr_constant_fx
            ),
            currency_effect_amount=gain - constant_gain,
            mwr=simple if period_days == 0 else money_weighted(payments, start, end),
            xirr=rate if period_days >= YEAR else None,
            simple_return=simple,
            dividends=sum(flows.dividends, ZERO),
            flows=flows,
            **extra,
        )


YEAR = 365


@dataclass(frozen=True)
class Household(Performance):
    """Several portfolios in one currency, and the pension accounts beside them.

    The returns are the portfolios' only: pension contributions are not recorded, so a
    pension's growth cannot be told from money paid in. Pensions are a line of their own
    (`pensions`, one value per series point) and in the totals."""

    pensions: list[Decimal] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def series_with_pensions(self) -> list[HouseholdPoint]:
        return [
            HouseholdPoint(*point, pensions)
            for point, pensions in zip(self.series, self.pensions, strict=True)
        ]

    @property
    def pensions_opening_value(self) -> Decimal:
        return self.pensions[0] if self.pensions else ZERO

    @property
    def pensions_closing_value(self) -> Decimal:
        return self.pensions[-1] if self.pensions else ZERO


class Part(NamedTuple):
    """One portfolio's daily values and flows and its currency's rate into the household
    currency on each series day (index 0: the opening day)."""

    days: PortfolioDays
    rates: Sequence[Decimal]


def combine(
    parts: Iterable[Part],
    *,
    currency: str,
    start: date,
    end: date,
    pensions: Sequence[Decimal] | None = None,
    missing: Sequence[str] = (),
) -> Household:
    """The household's performance in `currency`: each portfolio's values and flows
    converted at each day's rate, constant FX at each currency's opening rate, and the
    returns of the sum (module docstring). Net deposits start from the portfolios' own at
    the opening rate and add each day's converted flows, so gain = last - first - flows
    holds for the sum as it does for each portfolio."""
    count = (end - start).days + 2
    values, inflows, outflows = [ZERO] * count, [ZERO] * count, [ZERO] * count
    constant, constant_in, constant_out = [ZERO] * count, [ZERO] * count, [ZERO] * count
    paid = [ZERO] * count
    opening_deposits = ZERO
    unvalued: set[str] = set()
    with localcontext(_CONTEXT):
        for days, rates in parts:
            own = days.flows
            fixed = rates[0]
            opening_deposits += days.opening_net_deposits * fixed
            unvalued.update(days.unvalued_currencies)
            columns = (
                (values, days.values, rates),
                (inflows, own.inflows, rates),
                (outflows, own.outflows, rates),
                (paid, own.dividends, rates),
                (constant, own.constant_values, None),
                (constant_in, own.constant_inflows, None),
                (constant_out, own.constant_outflows, None),
            )
            ones = all(rate == ONE for rate in rates)
            for total, amounts, daily in columns:
                # A zero adds nothing, and x * 1 is x: the sums are the same as adding
                # every product, in the same order, with less to do.
                if daily is None:
                    factor = fixed
                    same = fixed == ONE
                else:
                    same = ones
                if same:
                    total[:] = [t + a if a else t for t, a in zip(total, amounts, strict=True)]
                elif daily is None:
                    total[:] = [
                        t + a * factor if a else t for t, a in zip(total, amounts, strict=True)
                    ]
                else:
                    total[:] = [
                        t + a * r if a else t for t, a, r in zip(total, amounts, daily, strict=True)
                    ]
        flows = Flows(inflows, outflows, constant, constant_in, constant_out, paid)
        series, by_month, by_year = _assemble(start, values, flows, opening_deposits)
        return _returns(
            start=start,
            end=end,
            currency=currency,
            series=series,
            flows=flows,
            cls=Household,
            dividends_by_month=by_month,
            dividends_by_year=by_year,
            unvalued_currencies=sorted(unvalued),
            pensions=list(pensions) if pensions is not None else [ZERO] * count,
            missing=list(missing),
        )


def annualized(growth: Decimal | None, period_days: int) -> Decimal | None:
    """(1 + growth)^(365 / days) - 1, or None for a period under a year."""
    if growth is None or period_days < YEAR:
        return None
    with localcontext(_CONTEXT):
        return (ONE + growth) ** (Decimal(YEAR) / period_days) - ONE


def money_weighted(
    payments: Sequence[tuple[date, Decimal]], start: date, end: date
) -> Decimal | None:
    """The rate r over the whole period at which the payments (negative: into the
    portfolio) are worth nothing: sum of amount x (1 + r)^-(days from start / period days)
    = 0. The same rate as XIRR, taken over the period instead of a year; solved here
    rather than de-annualised from XIRR, whose yearly figure for a short period is so
    large or so close to -100 % that floats lose it (a 50 % fall over two days annualises
    to -100 %). None when there is no root (not both signs) or the period has no length."""
    span = (end - start).days
    flows = [((day - start).days / span, float(amount)) for day, amount in payments if amount]
    if span <= 0 or not any(a < 0 for _, a in flows) or not any(a > 0 for _, a in flows):
        return None

    # sum(a * exp(-t * g)), term by term in the same order, in C loops (map).
    times = [-t for t, _ in flows]
    amounts = [a for _, a in flows]

    def worth(log_growth: float) -> float:
        return sum(map(mul, amounts, map(math.exp, map(mul, times, repeat(log_growth)))))

    low, high = -40.0, 40.0  # growth factors from e^-40 to e^40 over the period
    if (worth(low) > 0) == (worth(high) > 0):
        return None
    for _ in range(200):
        middle = (low + high) / 2
        if middle in (low, high):
            # low and high are adjacent floats: every further step would leave them as
            # they are, so the answer is the one the full 200 steps give.
            break
        if (worth(middle) > 0) == (worth(low) > 0):
            low = middle
        else:
            high = middle
    return Decimal(repr(math.expm1((low + high) / 2)))


EARLIEST = "earliest"


def carried_forward(
    known: DailySeries, first: date, count: int, *, before: Decimal | str | None = None
) -> list[Decimal | None]:
    """The latest known value on or before each of `count` days from `first` (`known` in
    date order). Before the first known value: `before`, or with `before=EARLIEST` that
    first value itself (None either way when nothing is known)."""
    if count <= 0:
        return []
    fill = (known[0][1] if known else None) if before == EARLIEST else before
    if not known:
        return [fill] * count
    days = np.fromiter((day.toordinal() for day, _ in known), dtype=np.int64, count=len(known))
    grid = np.arange(first.toordinal(), first.toordinal() + count, dtype=np.int64)
    values = [value for _, value in known]
    index = np.searchsorted(days, grid, side="right") - 1
    return [values[i] if i >= 0 else fill for i in index.tolist()]


def time_weighted_return(
    opening: Decimal,
    values: Sequence[Decimal],
    inflows: Sequence[Decimal],
    outflows: Sequence[Decimal],
) -> Decimal | None:
    """Chain-linked daily returns, inflows at the start of a day, outflows at its end.

    `values`, `inflows` and `outflows` are per day; `opening` is the value before the first.
    """
    with localcontext(_CONTEXT):
        growth = ONE
        measured = False
        base = opening  # what the running sub-period grows from
        previous = opening
        for value, inflow, outflow in zip(values, inflows, outflows, strict=True):
            if inflow:
                # An inflow ends the running sub-period at yesterday's close.
                if base:
                    growth *= previous / base
                    measured = True
                base = previous + inflow
            if outflow:
                # An outflow ends it at today's close, the cash taken out counted in.
                if base:
                    growth *= (value + outflow) / base
                    measured = True
                base = value
            previous = value
        if base:
            growth *= previous / base
            measured = True
        return growth - ONE if measured else None


def simple_return(
    opening: Decimal, closing: Decimal, deposits: Decimal, withdrawals: Decimal
) -> Decimal | None:
    """(closing + withdrawals - deposits - opening) / (opening + deposits)."""
    with localcontext(_CONTEXT):
        at_risk = opening + deposits
        if not at_risk:
            return None
        return (closing + withdrawals - deposits - opening) / at_risk


def xirr(payments: Sequence[tuple[date, Decimal]]) -> Decimal | None:
    """Annualized money-weighted return of dated payments (negative: into the portfolio)."""
    amounts = [float(amount) for _, amount in payments]
    if not any(a < 0 for a in amounts) or not any(a > 0 for a in amounts):
        return None
    try:
        rate = pyxirr.xirr([day for day, _ in payments], amounts)
    except pyxirr.InvalidPaymentsError:
        return None
    # pyxirr answers None when it does not converge, inf when all payments share a date.
    if rate is None or not math.isfinite(rate):
        return None
    return Decimal(str(rate))
