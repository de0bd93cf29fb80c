"""A frozen copy of portfolios/performance.py as it was before the fast read path (issue 9,
item 3), with the cash tracking and the split-adjusted chart of issue 11 wired in (the
branch the fast path was merged into): the reference the new one is compared with to the
cent. Test-only.

Performance analytics of one portfolio over a period: pure, no ORM.

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

Flows. The portfolio holds positions, not cash, so every transaction is an external flow,
of the amount the ledger defines (recomputed here at full precision; the stored
total_amount is this rounded to 4 dp):
- BUY, an inflow of quantity x price x exchange_rate + fees;
- SELL, an outflow of quantity x price x exchange_rate - fees;
- DIVIDEND, an outflow of quantity x price x exchange_rate - fees (the cash leaves).
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
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Context, Decimal, localcontext
from itertools import accumulate
from operator import attrgetter, itemgetter
from typing import NamedTuple

import pyxirr

from portfolios import cash
from portfolios.ledger import BUY, DIVIDEND, SELL, SPLIT, ZERO, adjusted_quantities, later_splits

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


# Each figure's definition, as the API schema and the pages show it (ARCHITECTURE 5b).
DEFINITIONS = {
    "value": "Market value at that day's close: quantity held x the last close on or "
    "before the day x the last exchange rate on or before the day, plus the cash balance "
    "at the day's end when the portfolio tracks cash. Today's point is the live "
    "valuation, the same as the holdings table.",
    "net_deposits": "Cumulative external flows since the first transaction "
    "(buys in, sales and dividends out; with cash tracked, deposits in and withdrawals "
    "out), not the cost basis. Value minus net deposits is the all-time gain.",
    "flow": "External flow that day: money in (+, buys incl. fees; with cash tracked, "
    "deposits) or out (−, sale proceeds and dividends; with cash tracked, withdrawals).",
    "series": "One point per day; the first is the opening point, the close of the day "
    "before start.",
    "opening_value": "Value at the close of the day before start.",
    "closing_value": "Value at the close of end (live when end is today).",
    "gain": "Closing value − opening value − net flows in the period "
    "(the chart's last point minus its first minus the flows).",
    "twr": "Daily sub-period returns chained over the period "
    "(inflows at the start of a day, outflows at its end); 0.1 = 10 %. Not annualised.",
    "twr_annualized": "The time-weighted return per year: (1 + twr)^(365 / days) − 1 with "
    "days = end − start; null (—) for periods under 365 days.",
    "mwr": "Money-weighted return of the period (the internal rate of return of the "
    "opening value, the flows and the closing value, over the period, not annualised).",
    "xirr": "The money-weighted return per year (XIRR, ACT/365); null (—) for periods "
    "under 365 days.",
    "simple_return": "Gain / (opening value + deposits).",
    "currency_effect": "The part of the time-weighted return that came from exchange "
    "rates: twr − twr at the opening exchange rates.",
    "currency_effect_amount": "The same as an amount: gain − gain at the opening exchange rates.",
    "dividends": "Dividends received in the period, net of withholding tax.",
    "deposits": "Money put in during the period (buys incl. fees; with cash tracked, deposits).",
    "withdrawals": "Money taken out during the period (sale proceeds and dividends; with "
    "cash tracked, withdrawals).",
    "unvalued_currencies": "Currencies with no exchange rate at all: their holdings are "
    "left out of the series and the returns, as the live table leaves them out.",
    "pensions": "Pension accounts at their latest value on or before each day, converted "
    "at that day's rate: a line of their own, not in the value or the returns (their "
    "contributions are not recorded, so their growth cannot be told from money paid in).",
    "total_return": "Total return = unrealized + realized (+ dividends when they do not "
    "reduce the cost basis; when they do, they are already in the other two).",
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


def compute_performance(
    trades: Iterable[Trade],
    closes: Mapping[Hashable, DailySeries],
    fx: Mapping[str, DailySeries],
    *,
    currency: str,
    start: date,
    end: date,
    cash_movements: Sequence[cash.Movement] | None = None,
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
    if end < start:
        raise ValueError("The period ends before it starts.")
    trades = sorted(trades, key=attrgetter("date"))
    unvalued = sorted({t.currency for t in trades if t.currency != currency} - _known(fx))
    trades = [t for t in trades if t.currency not in unvalued]
    with localcontext(_CONTEXT):
        days = (end - start).days + 1
        # Index 0 is the opening (the day before start), index k is start + (k - 1) days.
        origin = start.toordinal() - 1
        opening_day = start - _DAY

        by_instrument: dict[Hashable, list[Trade]] = {}
        by_currency: dict[str, list[Trade]] = {}
        for trade in trades:
            by_instrument.setdefault(trade.instrument, []).append(trade)
            by_currency.setdefault(trade.currency, []).append(trade)

        # Local-currency value (quantity x close) of each currency's positions, per day.
        local: dict[str, list[Decimal]] = {}
        for key, own in by_instrument.items():
            changes = local.setdefault(own[0].currency, [ZERO] * (days + 1))
            prices = sorted(closes.get(key, ()), key=_FIRST)
            _add_value_changes(changes, own, prices, opening_day, end, origin)
        for code, changes in local.items():
            local[code] = list(accumulate(changes))

        rates: dict[str, list[Decimal | None]] = {}
        constant: dict[str, Decimal] = {}
        for code, own in by_currency.items():
            if code == currency:
                rates[code] = [ONE] * (days + 1)
            else:
                known = sorted(fx.get(code, ()), key=_FIRST)
                first = known[0][0] if known else date.max
                stand_ins = [(t.date, t.exchange_rate) for t in own if t.date < first]
                rates[code] = carried_forward(stand_ins + known, opening_day, days + 1)
            constant[code] = next((r for r in rates[code] if r is not None), ONE)

        values = [ZERO] * (days + 1)
        constant_values = [ZERO] * (days + 1)
        for code, amounts in local.items():
            daily, fixed = rates[code], constant[code]
            for k, amount in enumerate(amounts):
                if amount:
                    values[k] += daily[k] * amount
                    constant_values[k] += fixed * amount

        inflows = [ZERO] * (days + 1)
        outflows = [ZERO] * (days + 1)
        constant_in = [ZERO] * (days + 1)
        constant_out = [ZERO] * (days + 1)
        paid = [ZERO] * (days + 1)
        net_deposits = ZERO
        dividends = ZERO
        by_month: dict[str, Decimal] = {}
        by_year: dict[int, Decimal] = {}
        for trade in trades:
            if trade.date > end:
                break
            if trade.type == SPLIT:  # no money moves
                continue
            amount = trade.amount()
            if trade.date < start:
                net_deposits += amount if trade.type == BUY else -amount
                continue
            k = trade.date.toordinal() - origin
            at_constant_fx = (
                amount if trade.currency == currency else trade.amount(constant[trade.currency])
            )
            if trade.type == BUY:
                inflows[k] += amount
                constant_in[k] += at_constant_fx
            else:
                outflows[k] += amount
                constant_out[k] += at_constant_fx
            if trade.type == DIVIDEND:
                paid[k] += amount
                dividends += amount
                month = f"{trade.date.year:04d}-{trade.date.month:02d}"
                by_month[month] = by_month.get(month, ZERO) + amount
                by_year[trade.date.year] = by_year.get(trade.date.year, ZERO) + amount

        if cash_movements is not None:
            net_deposits = with_cash(
                cash_movements,
                start,
                values=values,
                constant_values=constant_values,
                inflows=inflows,
                outflows=outflows,
                constant_inflows=constant_in,
                constant_outflows=constant_out,
            )

        series = [Point(opening_day, values[0], net_deposits, ZERO)]
        day = start
        for k in range(1, days + 1):
            flow = inflows[k] - outflows[k]
            net_deposits += flow
            series.append(Point(day, values[k], net_deposits, flow))
            day += _DAY

        flows = Flows(inflows, outflows, constant_values, constant_in, constant_out, paid)
        return _returns(
            start=start,
            end=end,
            currency=currency,
            series=series,
            flows=flows,
            dividends_by_month=by_month,
            dividends_by_year=by_year,
            unvalued_currencies=unvalued,
        )


def with_cash(
    movements: Sequence[cash.Movement],
    start: date,
    *,
    values: list[Decimal],
    constant_values: list[Decimal],
    inflows: list[Decimal],
    outflows: list[Decimal],
    constant_inflows: list[Decimal],
    constant_outflows: list[Decimal],
) -> Decimal:
    """Turn a portfolio's daily arrays (index 0 = the day before start) into the
    account's: each day's value gains the cash balance at that day's end (in the
    portfolio currency, so the same at constant FX), and the flows become the deposits
    (in at the start of the day) and withdrawals (out at its end); trades, dividends,
    interest and fees move money inside the account and are no flows. Returns the net
    deposits before start, where the series' second line begins."""
    days = [start - _DAY + timedelta(days=k) for k in range(len(values))]
    for k, balance in enumerate(cash.daily_balances(movements, days)):
        values[k] += balance
        constant_values[k] += balance
    for array in (inflows, outflows, constant_inflows, constant_outflows):
        array[:] = [ZERO] * len(array)
    before = ZERO
    origin = start.toordinal() - 1
    for day, (money_in, money_out) in cash.external_flows(movements).items():
        k = day.toordinal() - origin
        if k < 1:
            before += money_in - money_out
        elif k < len(values):
            inflows[k] = constant_inflows[k] = money_in
            outflows[k] = constant_outflows[k] = money_out
    return before


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
    """One portfolio's performance and its currency's rate into the household currency on
    each series day (index 0: the opening day)."""

    performance: Performance
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
        for performance, rates in parts:
            own = performance.flows
            fixed = rates[0]
            opening_deposits += performance.series[0].net_deposits * fixed
            unvalued.update(performance.unvalued_currencies)
            for k, point in enumerate(performance.series):
                rate = rates[k]
                values[k] += point.value * rate
                inflows[k] += own.inflows[k] * rate
                outflows[k] += own.outflows[k] * rate
                paid[k] += own.dividends[k] * rate
                constant[k] += own.constant_values[k] * fixed
                constant_in[k] += own.constant_inflows[k] * fixed
                constant_out[k] += own.constant_outflows[k] * fixed
        series = []
        net_deposits = opening_deposits
        by_month: dict[str, Decimal] = {}
        by_year: dict[int, Decimal] = {}
        day = start - _DAY
        for k in range(count):
            flow = inflows[k] - outflows[k]
            net_deposits += flow
            series.append(Point(day, values[k], net_deposits, flow))
            if paid[k]:
                month = f"{day.year:04d}-{day.month:02d}"
                by_month[month] = by_month.get(month, ZERO) + paid[k]
                by_year[day.year] = by_year.get(day.year, ZERO) + paid[k]
            day += _DAY
        flows = Flows(inflows, outflows, constant, constant_in, constant_out, paid)
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

    def worth(log_growth: float) -> float:
        return sum(a * math.exp(-t * log_growth) for t, a in flows)

    low, high = -40.0, 40.0  # growth factors from e^-40 to e^40 over the period
    if (worth(low) > 0) == (worth(high) > 0):
        return None
    for _ in range(200):
        middle = (low + high) / 2
        if (worth(middle) > 0) == (worth(low) > 0):
            low = middle
        else:
            high = middle
    return Decimal(repr(math.expm1((low + high) / 2)))


def _add_value_changes(
    changes: list[Decimal],
    trades: Sequence[Trade],
    closes: DailySeries,
    opening_day: date,
    end: date,
    origin: int,
) -> None:
    """Add one instrument's day-over-day change of quantity x price to `changes`.

    q1*p1 - q0*p0 = q0*(p1 - p0) + (q1 - q0)*p1: a price move while the quantity stands
    costs one multiplication, a trade one more, and nothing is rescanned per day. Prices
    of days while nothing is held are skipped in one step.
    """
    # Closes are split-adjusted (Yahoo's): quantities and stand-in trade prices are put
    # in today's shares (ledger.later_splits), so the value does not jump at a split.
    factor = later_splits(trades)
    first_close = closes[0][0] if closes else date.max
    prices = [
        (t.date, t.price / factor(t.date))
        for t in trades
        if t.type in (BUY, SELL) and t.date < first_close
    ]
    prices += closes

    # The position after each trading day, in today's shares.
    steps = adjusted_quantities(trades)

    # Everything up to the opening day lands on index 0.
    s = bisect_right(steps, opening_day, key=_FIRST)
    held = steps[s - 1][1] if s else ZERO
    j = bisect_right(prices, opening_day, key=_FIRST)
    price = prices[j - 1][1] if j else ZERO
    if held:
        changes[0] += held * price

    stop = bisect_right(steps, end, lo=s, key=_FIRST)
    for day, new_held in [*steps[s:stop], (end, None)]:
        hi = bisect_right(prices, day, lo=j, key=_FIRST)
        if held:
            for when, close in prices[j:hi]:
                if close != price:
                    changes[when.toordinal() - origin] += held * (close - price)
                    price = close
        elif hi > j:
            price = prices[hi - 1][1]
        j = hi
        if new_held is not None:
            changes[day.toordinal() - origin] += (new_held - held) * price
            held = new_held


EARLIEST = "earliest"


def carried_forward(
    known: DailySeries, first: date, count: int, *, before: Decimal | str | None = None
) -> list[Decimal | None]:
    """The latest known value on or before each of `count` days from `first` (`known` in
    date order). Before the first known value: `before`, or with `before=EARLIEST` that
    first value itself (None either way when nothing is known)."""
    j = bisect_right(known, first, key=_FIRST)
    if j:
        current = known[j - 1][1]
    elif before == EARLIEST:
        current = known[0][1] if known else None
    else:
        current = before
    carried = [current] if count > 0 else []
    day = first
    for _ in range(count - 1):
        day += _DAY
        while j < len(known) and known[j][0] <= day:
            current = known[j][1]
            j += 1
        carried.append(current)
    return carried


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
