"""The projection's inputs read from the database: the start value and the goal. One
function for the API, the projection page and the dashboard, so they show the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.utils import timezone

from financedash.lib.profiles import profile_for
from marketdata import fx
from pensions import projection
from pensions.models import PensionAccount
from portfolios import valuation
from portfolios.models import Portfolio

ZERO = Decimal(0)
DEFAULT_RETURN = Decimal("0.05")
DEFAULT_INFLATION = Decimal("0.02")


@dataclass
class StartValue:
    value: Decimal = ZERO
    currency: str = "NOK"
    missing: list[str] = field(default_factory=list)  # left out: no rate into the currency


def start_value(user, currency: str, *, include_portfolios: bool) -> StartValue:
    """The latest value of every pension account, plus (if asked) each portfolio's net
    value, converted at today's stored rate; anything without a rate is named, not guessed."""
    result = StartValue(currency=currency)
    amounts: list[tuple[str, str, Decimal]] = [
        (a.name, a.currency, a.current_value)
        for a in PensionAccount.objects.owned_by(user).with_current_value()
        if a.current_value is not None
    ]
    if include_portfolios:
        amounts += [
            (s.name, s.currency, s.net_value)
            for s in valuation.summarize(Portfolio.objects.owned_by(user))
        ]
    rates = fx.latest_rates((code, currency) for _, code, _ in amounts)
    for name, code, amount in amounts:
        rate = Decimal(1) if code == currency else rates.get((code, currency))
        if rate is None:
            result.missing.append(f"{name}: no {code}→{currency} exchange rate is stored.")
            continue
        result.value += amount * rate
    return result


@dataclass(frozen=True)
class Inputs:
    annual_return: Decimal = DEFAULT_RETURN
    monthly_contribution: Decimal = ZERO
    retirement_year: int | None = None  # default: the profile's goal year
    inflation: Decimal = DEFAULT_INFLATION
    volatility: Decimal | None = None
    include_portfolios: bool = False
    seed: int = projection.DEFAULT_SEED

    @property
    def annual_return_percent(self) -> Decimal:
        return self.annual_return * 100


@dataclass
class Plan:
    inputs: Inputs
    retirement_year: int
    currency: str
    start: StartValue
    result: projection.Projection


def plan_for(
    user,
    inputs: Inputs,
    *,
    today: date | None = None,
    profile=None,
    start: StartValue | None = None,
) -> Plan:
    """Raises projection.ProjectionError for inputs it cannot use (a past year). A caller
    that has the profile or the start value already (the dashboard's net worth) passes it."""
    today = today or timezone.localdate()
    profile = profile or profile_for(user)
    year = inputs.retirement_year or profile.retirement_goal_year or today.year + 20
    if start is None:
        start = start_value(
            user, profile.base_currency, include_portfolios=inputs.include_portfolios
        )
    result = projection.project(
        start_value=start.value,
        annual_return=inputs.annual_return,
        monthly_contribution=inputs.monthly_contribution,
        retirement_year=year,
        today=today,
        goal=profile.retirement_goal_amount,
        inflation=inputs.inflation,
        volatility=inputs.volatility or None,
        seed=inputs.seed,
    )
    return Plan(inputs, year, profile.base_currency, start, result)


def goal_plan(user, profile, net_worth: Decimal, missing: list[str]) -> Plan | None:
    """The dashboard's goal: today's net worth carried to the goal year at the default
    return, without new contributions; None without a goal or with its year passed."""
    today = timezone.localdate()
    if not profile.retirement_goal_amount or not profile.retirement_goal_year:
        return None
    if profile.retirement_goal_year < today.year:
        return None
    start = StartValue(net_worth, profile.base_currency, list(missing))
    inputs = Inputs(include_portfolios=True)
    try:
        return plan_for(user, inputs, today=today, profile=profile, start=start)
    except projection.ProjectionError:  # a goal year too far ahead: no line, not a failure
        return None
