"""The retirement projection (ARCHITECTURE section 5c): pure, Decimal in and out.

Monthly compounding at r = (1 + annual_return)^(1/12) - 1 over the n months from the month
after today through December of the retirement year; each contribution is paid at the end
of its month. numpy floats appear only inside the Monte Carlo bands, which are estimates
anyway; every figure returned is rounded to the cent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Context, Decimal, localcontext

import numpy as np

ZERO = Decimal(0)
ONE = Decimal(1)
CENT = Decimal("0.01")
# Enough digits that 40 years of compounding on a large balance loses nothing at the cent.
_CONTEXT = Context(prec=40)
PATHS = 1000
DEFAULT_SEED = 1
MAX_YEARS = 100


class ProjectionError(ValueError):
    """Inputs the projection cannot use; `errors` maps each field to its message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class YearPoint:
    year: int
    months: int  # from today to the end of this year (0 when today is in December)
    value: Decimal
    value_real: Decimal
    p10: Decimal | None = None
    p50: Decimal | None = None
    p90: Decimal | None = None


@dataclass(frozen=True)
class Projection:
    start_value: Decimal
    months: int
    final_value: Decimal
    final_value_real: Decimal
    goal: Decimal | None
    surplus: Decimal | None
    required_monthly_contribution: Decimal | None
    years: list[YearPoint]


def months_until(today: date, retirement_year: int) -> int:
    """The months from the month after today through December of the retirement year."""
    if retirement_year < today.year:
        raise ProjectionError(
            {"retirement_year": f"{retirement_year} is in the past: use {today.year} or later."}
        )
    if retirement_year > today.year + MAX_YEARS:
        raise ProjectionError(
            {"retirement_year": f"At most {MAX_YEARS} years ahead ({today.year + MAX_YEARS})."}
        )
    return (retirement_year - today.year) * 12 + (12 - today.month)


def monthly_rate(annual_return: Decimal) -> Decimal:
    if annual_return <= -ONE:
        raise ProjectionError({"annual_return": "Must be above -1 (a loss of everything)."})
    with localcontext(_CONTEXT):
        return (ONE + annual_return) ** (ONE / 12) - ONE


def value_after(start: Decimal, contribution: Decimal, rate: Decimal, months: int) -> Decimal:
    """S(1+r)^m + C((1+r)^m - 1)/r, or S + mC when r = 0: unrounded."""
    with localcontext(_CONTEXT):
        if rate == 0:
            return start + contribution * months
        growth = (ONE + rate) ** months
        return start * growth + contribution * (growth - ONE) / rate


def required_contribution(start: Decimal, goal: Decimal, rate: Decimal, months: int):
    """The monthly contribution that makes the final value equal the goal, floored at 0 and
    rounded up to the cent (so that it reaches the goal, where rounding down would fall a
    little short). None when no month is left and the goal is not reached already."""
    with localcontext(_CONTEXT):
        shortfall = goal - value_after(start, ZERO, rate, months)
        if shortfall <= 0:
            return ZERO.quantize(CENT)
        if months == 0:
            return None
        if rate == 0:
            needed = shortfall / months
        else:
            needed = shortfall * rate / ((ONE + rate) ** months - ONE)
        return needed.quantize(CENT, ROUND_CEILING)


def real(value: Decimal, inflation: Decimal, months: int) -> Decimal:
    """The value in today's money: value / (1+i)^(months/12)."""
    if inflation <= -ONE:
        raise ProjectionError({"inflation": "Must be above -1."})
    with localcontext(_CONTEXT):
        return value / (ONE + inflation) ** (Decimal(months) / 12)


def _cents(value: Decimal) -> Decimal:
    with localcontext(_CONTEXT):
        return value.quantize(CENT, ROUND_HALF_UP)


def project(
    *,
    start_value: Decimal,
    annual_return: Decimal,
    monthly_contribution: Decimal,
    retirement_year: int,
    today: date,
    goal: Decimal | None = None,
    inflation: Decimal = ZERO,
    volatility: Decimal | None = None,
    seed: int | None = DEFAULT_SEED,
    paths: int = PATHS,
) -> Projection:
    errors = {}
    if monthly_contribution < 0:
        errors["monthly_contribution"] = "Must be 0 or more."
    if volatility is not None and volatility < 0:
        errors["volatility"] = "Must be 0 or more."
    if errors:
        raise ProjectionError(errors)
    months = months_until(today, retirement_year)
    rate = monthly_rate(annual_return)
    real(ONE, inflation, 0)  # checks the inflation rate before any work

    points = [
        (year, months - (retirement_year - year) * 12)
        for year in range(today.year, retirement_year + 1)
    ]
    bands = (
        _bands(
            start_value, monthly_contribution, rate, volatility, [m for _, m in points], seed, paths
        )
        if volatility
        else None
    )
    years = []
    for index, (year, m) in enumerate(points):
        value = value_after(start_value, monthly_contribution, rate, m)
        band = bands[index] if bands is not None else (None, None, None)
        years.append(
            YearPoint(
                year=year,
                months=m,
                value=_cents(value),
                value_real=_cents(real(value, inflation, m)),
                p10=band[0],
                p50=band[1],
                p90=band[2],
            )
        )
    final = value_after(start_value, monthly_contribution, rate, months)
    surplus = None
    required = None
    if goal is not None:
        surplus = _cents(final) - goal
        required = required_contribution(start_value, goal, rate, months)
    return Projection(
        start_value=_cents(start_value),
        months=months,
        final_value=_cents(final),
        final_value_real=_cents(real(final, inflation, months)),
        goal=goal,
        surplus=surplus,
        required_monthly_contribution=required,
        years=years,
    )


def _bands(
    start: Decimal,
    contribution: Decimal,
    rate: Decimal,
    volatility: Decimal,
    marks: list[int],
    seed: int | None,
    paths: int,
) -> list[tuple[Decimal, Decimal, Decimal]]:
    """p10/p50/p90 of `paths` simulated balances at each month count in `marks`.

    Monthly log returns are normal with sigma_m = sigma/sqrt(12) and mean ln(1+r) -
    sigma_m^2/2, so a month's expected growth is exactly 1+r: the mean path is the
    deterministic one, while the median sits a little below it.
    """
    horizon = max(marks)
    sigma = float(volatility) / math.sqrt(12)
    mu = math.log1p(float(rate)) - sigma * sigma / 2
    # float32 draws take half the time of float64 ones; the balances still add up in float64.
    shocks = np.random.default_rng(seed).standard_normal((horizon, paths), dtype=np.float32)
    growth = np.exp(shocks * np.float32(sigma) + np.float32(mu))
    rows = {m: i for i, m in enumerate(marks)}
    at = np.empty((len(marks), paths))
    values = np.full(paths, float(start))
    paid = float(contribution)
    if 0 in rows:
        at[rows[0]] = values
    for month in range(horizon):
        values = values * growth[month] + paid
        if month + 1 in rows:
            at[rows[month + 1]] = values
    bands = np.percentile(at, [10, 50, 90], axis=1).T
    return [tuple(_cents(Decimal(repr(float(x)))) for x in row) for row in bands]
