from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from pensions.projection import (
    ProjectionError,
    monthly_rate,
    months_until,
    project,
    required_contribution,
    value_after,
)

# 1 December: the months counted are January..December of the next year, so a one-year
# horizon is exactly 12 months and (1 + r)^12 is exactly 1 + annual_return.
DEC_1 = date(2026, 12, 1)


def test_months_run_from_the_month_after_today_through_december():
    assert months_until(date(2026, 3, 15), 2027) == 9 + 12  # April..December, then a year
    assert months_until(DEC_1, 2026) == 0
    assert months_until(DEC_1, 2066) == 480


def test_zero_return_adds_the_contributions():
    # 100,000 + 21 months x 1,000 = 121,000; at the end of 2026 (9 months) 109,000.
    # Goal 150,000: (150,000 - 100,000) / 21 = 2,380.952... rounded up to 2,380.96.
    p = project(
        start_value=D("100000"),
        annual_return=D("0"),
        monthly_contribution=D("1000"),
        retirement_year=2027,
        today=date(2026, 3, 15),
        goal=D("150000"),
    )
    assert p.months == 21
    assert p.final_value == D("121000.00")
    assert [(y.year, y.value) for y in p.years] == [(2026, D("109000.00")), (2027, D("121000.00"))]
    assert p.surplus == D("-29000.00")
    assert p.required_monthly_contribution == D("2380.96")
    assert p.years[0].p50 is None  # no volatility, no bands


def test_five_percent_with_contributions():
    # r = 1.05^(1/12) - 1 = 0.00407412378364830...
    # final = 100,000 x 1.05 + 1,000 x (1.05 - 1) / r = 105,000 + 12,272.5846... = 117,272.58
    assert monthly_rate(D("0.05")).quantize(D("1E-15")) == D("0.004074123783648")
    p = project(
        start_value=D("100000"),
        annual_return=D("0.05"),
        monthly_contribution=D("1000"),
        retirement_year=2027,
        today=DEC_1,
        goal=D("130000"),
    )
    assert p.final_value == D("117272.58")
    assert p.surplus == D("-12727.42")
    # The closed form is the month-by-month path: value x (1 + r) + C at each month's end.
    r, value = monthly_rate(D("0.05")), D("100000")
    for _ in range(12):
        value = value * (1 + r) + 1000
    assert value.quantize(D("0.01")) == D("117272.58")
    assert [(y.year, y.months, y.value) for y in p.years] == [
        (2026, 0, D("100000.00")),
        (2027, 12, D("117272.58")),
    ]


def test_the_required_contribution_reaches_the_goal_to_the_cent():
    # (130,000 - 105,000) x r / 0.05 = 2,037.0619...: 2,037.07 reaches the goal, a cent less
    # does not.
    r = monthly_rate(D("0.05"))
    needed = required_contribution(D("100000"), D("130000"), r, 12)
    assert needed == D("2037.07")
    assert value_after(D("100000"), needed, r, 12).quantize(D("0.01")) >= D("130000")
    assert value_after(D("100000"), needed - D("0.01"), r, 12) < D("130000")
    # At 0 %, 21 x 1,000 closes 121,000 - 100,000 exactly.
    p = project(
        start_value=D("100000"),
        annual_return=D("0"),
        monthly_contribution=D("1000"),
        retirement_year=2027,
        today=date(2026, 3, 15),
        goal=D("121000"),
    )
    assert p.required_monthly_contribution == D("1000.00")
    assert p.surplus == D("0.00")


def test_a_goal_already_reached_needs_nothing():
    p = project(
        start_value=D("200000"),
        annual_return=D("0.03"),
        monthly_contribution=D("0"),
        retirement_year=2030,
        today=DEC_1,
        goal=D("150000"),
    )
    assert p.required_monthly_contribution == D("0.00")
    assert p.surplus > 0


def test_inflation_gives_values_in_todays_money():
    # 102,000 in a year at 2 % inflation is 102,000 / 1.02 = 100,000 today; in two years
    # 102,000 / 1.0404 = 98,039.22.
    p = project(
        start_value=D("102000"),
        annual_return=D("0"),
        monthly_contribution=D("0"),
        retirement_year=2028,
        today=DEC_1,
        inflation=D("0.02"),
    )
    assert [y.value_real for y in p.years] == [D("102000.00"), D("100000.00"), D("98039.22")]
    assert p.final_value == D("102000.00")
    assert p.final_value_real == D("98039.22")


def test_a_retirement_year_in_the_past_is_an_error():
    with pytest.raises(ProjectionError) as info:
        project(
            start_value=D("1"),
            annual_return=D("0"),
            monthly_contribution=D("0"),
            retirement_year=2025,
            today=DEC_1,
        )
    assert set(info.value.errors) == {"retirement_year"}


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("annual_return", {"annual_return": D("-1")}),
        ("inflation", {"inflation": D("-1.5")}),
        ("monthly_contribution", {"monthly_contribution": D("-1")}),
        ("volatility", {"volatility": D("-0.1")}),
    ],
)
def test_impossible_rates_name_their_field(field, kwargs):
    args = {
        "start_value": D("1"),
        "annual_return": D("0.05"),
        "monthly_contribution": D("0"),
        "retirement_year": 2030,
        "today": DEC_1,
        **kwargs,
    }
    with pytest.raises(ProjectionError) as info:
        project(**args)
    assert field in info.value.errors


def _bands(**kwargs):
    args = {
        "start_value": D("1000000"),
        "annual_return": D("0.05"),
        "monthly_contribution": D("5000"),
        "retirement_year": 2066,
        "today": DEC_1,
        "volatility": D("0.15"),
        "seed": 7,
        **kwargs,
    }
    return project(**args)


def test_the_same_seed_gives_the_same_bands():
    first, again, other = _bands(), _bands(), _bands(seed=8)
    assert [(y.p10, y.p50, y.p90) for y in first.years] == [
        (y.p10, y.p50, y.p90) for y in again.years
    ]
    assert first.years[-1].p50 != other.years[-1].p50


def test_percentiles_are_ordered_and_start_at_todays_value():
    p = _bands()
    assert (p.years[0].p10, p.years[0].p90) == (D("1000000.00"), D("1000000.00"))
    for y in p.years[1:]:
        assert y.p10 < y.p50 < y.p90
    assert all(isinstance(y.p50, D) and y.p50 == y.p50.quantize(D("0.01")) for y in p.years)


def test_at_low_volatility_the_median_follows_the_deterministic_path():
    p = _bands(volatility=D("0.01"))
    for y in p.years[1:]:
        assert abs(y.p50 - y.value) / y.value < D("0.02")
