"""A benchmark line: what the portfolio's own deposits and withdrawals would have become
in an index (issue 15; pure, no ORM).

Given a performance series (the opening point first, then one point per day with that
day's external flow, section 5b) and the index's close on each of those days in the
series' currency (the close x that day's exchange rate, both carried forward from the
last known day), the benchmark

- opens with the portfolio's opening value, invested at the opening day's close (so both
  lines start at the same point: the benchmark is rebased to the portfolio's start);
- on each day, grows by the index's move since the day before, then takes the day's
  net flow in (or out) at that day's close:
      value_d = value_{d-1} x close_d / close_{d-1} + flow_d;
  that is units x close, with flow_d / close_d units bought (or sold) on day d;
- cannot sell what it does not hold: a withdrawal larger than its value empties it
  (value 0), and it grows again from the next deposit.

Its time-weighted return chains the index's own daily moves over the days money was in
it (the flows trade at the day's close, so they carry no return that day):
    twr = product over days d with value_{d-1} > 0 of close_d / close_{d-1} - 1,
None when nothing was ever invested. Over a period that was invested throughout it is
simply the index's return in the series' currency: last close / opening close - 1.

Everything runs in the 60-digit context of portfolios.performance: value_{d-1} x close_d
is exact, only the division rounds, at the 60th digit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, localcontext

from django.utils.translation import gettext_noop

from portfolios.ledger import ZERO
from portfolios.performance import _CONTEXT, ONE, Point, annualized

# The words the API schema and the pages use (as DEFINITIONS in portfolios.performance).
SYMBOL_HELP = gettext_noop(
    "Ticker of the index or instrument the performance chart compares with, e.g. ^OSEBX "
    "(Oslo Børs) or ^GSPC (S&P 500); null for none."
)
VALUE_HELP = gettext_noop(
    "What the same deposits and withdrawals would have been worth in the benchmark: the "
    "opening value and each day's external flow invested at that day's close of the "
    "benchmark (converted at that day's exchange rate), withdrawals sold at it."
)
TWR_HELP = gettext_noop(
    "The benchmark's time-weighted return over the period: its own daily moves, in the "
    "chart's currency, chained over the days money was in it. 0.1 = 10 %."
)


@dataclass(frozen=True)
class Line:
    """The benchmark beside one performance: a value per series point, or `missing_from`
    (the first day that needed a close the index does not have) and no values."""

    values: list[Decimal] = field(default_factory=list)
    twr: Decimal | None = None
    twr_annualized: Decimal | None = None
    missing_from: date | None = None


def simulate(series: Sequence[Point], closes: Sequence[Decimal | None], *, days: int) -> Line:
    """The benchmark line over `series` (module docstring), `closes` holding the index's
    close in the series' currency on each series day (None before its first close).
    `days` is the period's length (end - start), for the annualised return."""
    if len(closes) != len(series):
        raise ValueError("one close per series point is needed")
    if not series:
        return Line()
    values: list[Decimal] = []
    growth, measured = ONE, False
    with localcontext(_CONTEXT):
        value, previous = ZERO, None
        for k, point in enumerate(series):
            close = closes[k]
            flow = point.value if k == 0 else point.flow
            if close is None:
                if value or flow:
                    return Line(missing_from=point.date)
                values.append(ZERO)
                continue
            if close <= 0:
                raise ValueError(f"the benchmark's close on {point.date} is not positive")
            if value and previous is not None:
                value = value * close / previous
                growth *= close / previous
                measured = True
            value = max(value + flow, ZERO)
            values.append(value)
            previous = close
        twr = growth - ONE if measured else None
    return Line(values, twr, annualized(twr, days))
