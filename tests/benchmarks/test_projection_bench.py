"""The Monte Carlo projection's speed (ARCHITECTURE section 5c): timed only under make bench,
where a loaded machine cannot turn it into a failing unit test."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal as D

import pytest

from pensions.projection import project

LIMIT_SECONDS = 0.05


def _bands():
    return project(
        start_value=D("1000000"),
        annual_return=D("0.05"),
        monthly_contribution=D("5000"),
        retirement_year=2066,
        today=dt.date(2026, 12, 1),
        volatility=D("0.15"),
        seed=7,
    )


@pytest.mark.benchmark
def test_a_thousand_paths_over_forty_years():
    _bands()  # numpy's first call loads code
    timings = []
    for _ in range(5):
        began = time.perf_counter()
        _bands()
        timings.append(time.perf_counter() - began)
    best = min(timings)
    print(f"\nprojection, 1,000 paths x 40 years: best {best * 1000:.1f} ms")
    assert best < LIMIT_SECONDS, best
