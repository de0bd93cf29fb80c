"""The household in one currency, for the dashboard: net worth, the day's change, gains,
allocation and the value over time.

Reads go through portfolios.valuation (live values, one batched quote call) and
portfolios.performance_data (daily series); conversion into the user's base currency goes
through marketdata.fx. Nothing here converts at a made-up rate: a portfolio or pension
whose currency has no stored rate into the base currency is left out of the sums and named
in `missing`, so the page can say what the total does not include.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from financedash.lib import versions
from financedash.lib.cache import results
from marketdata import fx
from marketdata.models import HistoricalStockPrice
from pensions.balances import PensionBalance, pension_balances
from pensions.models import PensionValueEntry
from portfolios import ledger, performance_data, valuation
from portfolios.models import Portfolio
from portfolios.performance import Household, carried_forward
from portfolios.valuation import HoldingRow, PortfolioSummary

ZERO = ledger.ZERO
HUNDRED = Decimal(100)
ONE_DAY = timedelta(days=1)


@dataclass
class PortfolioCard:
    summary: PortfolioSummary
    rate: Decimal | None  # base currency per unit of the portfolio's currency
    change_today: Decimal | None = None  # portfolio currency
    change_today_percent: Decimal | None = None


@dataclass
class Overview:
    base_currency: str
    cards: list[PortfolioCard] = field(default_factory=list)
    pensions: list[PensionBalance] = field(default_factory=list)
    portfolios_value: Decimal = ZERO  # holdings, and the cash of those that track it
    cash: Decimal = ZERO  # of that, the cash (negative: credit in use)
    tracks_cash: bool = False
    used_credit: Decimal = ZERO
    pensions_value: Decimal = ZERO
    net_worth: Decimal = ZERO
    total_gain_loss: Decimal = ZERO
    total_gain_loss_percent: Decimal | None = None
    realized_gain: Decimal = ZERO
    dividends: Decimal = ZERO
    total_return: Decimal = ZERO  # PortfolioSummary.total_return, converted and summed
    change_today: Decimal | None = None
    change_today_percent: Decimal | None = None
    goal_amount: Decimal | None = None
    goal_year: int | None = None
    goal_percent: Decimal | None = None  # may pass 100
    goal_years_left: int | None = None
    by_holding: list[tuple[str, Decimal]] = field(default_factory=list)
    by_currency: list[tuple[str, Decimal]] = field(default_factory=list)
    by_portfolio: list[tuple[str, Decimal]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    missing_prices: int = 0
    errors: int = 0  # holdings whose figures could not be computed

    @property
    def empty(self) -> bool:
        return not self.cards and not self.pensions

    @property
    def goal_bar_percent(self) -> Decimal | None:
        """The progress bar's fill: the goal percent held within 0..100."""
        if self.goal_percent is None:
            return None
        return max(ZERO, min(HUNDRED, self.goal_percent))


def _previous_closes(rows: list[HoldingRow]) -> dict[tuple[str, date], Decimal]:
    """(symbol, quote day) -> the close before that day: what the day's change is from.
    One lookup per distinct quote day (usually one), however many holdings."""
    wanted: dict[date, set[str]] = defaultdict(set)
    for row in rows:
        if row.current_price is not None and row.price_as_of is not None:
            wanted[timezone.localdate(row.price_as_of)].add(row.symbol)
    found = {}
    for day, symbols in wanted.items():
        closes = HistoricalStockPrice.objects.latest_closes(symbols, on_or_before=day - ONE_DAY)
        for symbol, (_, close, _) in closes.items():
            found[(symbol, day)] = close
    return found


def _day_change(summary: PortfolioSummary, previous: dict) -> tuple[Decimal | None, Decimal]:
    """(change since the previous close in the portfolio currency, value it applies to).
    Price moves only, at today's exchange rate. None when no holding has both prices."""
    change, base_value, known = ZERO, ZERO, False
    for row in summary.holdings:
        if row.current_value is None or not row.quantity or row.price_as_of is None:
            continue
        close = previous.get((row.symbol, timezone.localdate(row.price_as_of)))
        if close is None or row.fx_rate is None:
            continue
        moved = row.quantity * (row.current_price - close) * row.fx_rate
        change += moved
        base_value += row.current_value - moved
        known = True
    return (change if known else None), base_value


def _percent(part: Decimal | None, whole: Decimal) -> Decimal | None:
    if part is None or not whole:
        return None
    return part / whole * HUNDRED


def build(user, *, base_currency: str, goal_amount=None, goal_year=None) -> Overview:
    overview = Overview(base_currency=base_currency, goal_amount=goal_amount, goal_year=goal_year)
    summaries = valuation.summarize(Portfolio.objects.owned_by(user))
    pensions = pension_balances(user)
    currencies = {s.currency for s in summaries} | {p.account.currency for p in pensions}
    rates = fx.latest_rates((code, base_currency) for code in currencies)
    previous = _previous_closes([row for s in summaries for row in s.holdings])

    day_change, day_base = ZERO, ZERO
    day_known = False
    by_holding: dict[str, Decimal] = defaultdict(Decimal)
    by_currency: dict[str, Decimal] = defaultdict(Decimal)
    for summary in summaries:
        rate = rates.get((summary.currency, base_currency))
        card = PortfolioCard(summary=summary, rate=rate)
        change, applies_to = _day_change(summary, previous)
        card.change_today = change
        card.change_today_percent = _percent(change, applies_to)
        overview.cards.append(card)
        overview.missing_prices += summary.missing_prices
        overview.errors += summary.errors
        if rate is None:
            overview.missing.append(
                f"{summary.name}: no {summary.currency}→{base_currency} exchange rate is stored."
            )
            continue
        overview.portfolios_value += summary.total_value * rate
        if summary.track_cash:
            overview.tracks_cash = True
            overview.cash += summary.cash_balance * rate
            if summary.cash_balance > 0:
                # Cash on hand is part of the allocation; credit in use is a debt, not one.
                by_holding["Cash"] += summary.cash_balance * rate
                by_currency[summary.currency] += summary.cash_balance * rate
        overview.used_credit += summary.used_credit * rate
        overview.total_gain_loss += summary.total_gain_loss * rate
        overview.realized_gain += summary.realized_gain * rate
        overview.dividends += summary.dividends * rate
        overview.total_return += summary.total_return * rate
        if change is not None:
            day_known = True
            day_change += change * rate
            day_base += applies_to * rate
        if summary.total_value > 0:  # a share of the whole: credit beyond the holdings is none
            overview.by_portfolio.append((summary.name, summary.total_value * rate))
        for row in summary.holdings:
            if row.current_value:
                by_holding[row.symbol] += row.current_value * rate
                by_currency[row.price_currency] += row.current_value * rate
    # The percent is over the cost of what could be valued, as valuation.py does per
    # portfolio; cost is in each portfolio's currency, so convert it like the gains.
    converted_cost = ZERO
    for card in overview.cards:
        if card.rate is not None:
            converted_cost += card.rate * sum(
                (r.total_cost for r in card.summary.holdings if r.current_value is not None),
                ZERO,
            )
    overview.total_gain_loss_percent = _percent(
        overview.total_gain_loss if converted_cost else None, converted_cost
    )
    if day_known:
        overview.change_today = day_change
        overview.change_today_percent = _percent(day_change, day_base)

    for balance in pensions:
        overview.pensions.append(balance)
        if balance.value is None:
            continue
        rate = rates.get((balance.account.currency, base_currency))
        if rate is None:
            overview.missing.append(
                f"{balance.account.name}: no {balance.account.currency}→{base_currency} "
                "exchange rate is stored."
            )
            continue
        balance.value_base = balance.value * rate
        overview.pensions_value += balance.value_base

    overview.net_worth = overview.portfolios_value - overview.used_credit + overview.pensions_value
    overview.by_holding = sorted(by_holding.items(), key=lambda item: -item[1])
    overview.by_currency = sorted(by_currency.items(), key=lambda item: -item[1])
    if goal_amount:
        overview.goal_percent = overview.net_worth / goal_amount * HUNDRED
    if goal_year:
        overview.goal_years_left = goal_year - timezone.localdate().year
    return overview


def pension_history(user, start: date, end: date) -> dict[str, list[Decimal]]:
    """Currency -> the user's pension accounts in it, summed, on each day from start - 1
    to end: each account at its latest entry on or before the day (0 before its first).
    One query."""
    count = (end - start).days + 2
    first = start - ONE_DAY
    entries = (
        PensionValueEntry.objects.filter(account__user=user, date__lte=end)
        .order_by("account_id", "date")
        .values_list("account_id", "account__currency", "date", "value")
    )
    totals: dict[str, list[Decimal]] = {}
    by_account: dict[int, tuple[str, list[tuple[date, Decimal]]]] = {}
    for account, code, day, value in entries:
        by_account.setdefault(account, (code, []))[1].append((day, value))
    for code, known in by_account.values():
        values = totals.setdefault(code, [ZERO] * count)
        for k, current in enumerate(carried_forward(known, first, count, before=ZERO)):
            values[k] += current
    return totals


@dataclass(frozen=True)
class PreparedHousehold:
    """What a household performance is computed from, and its cache key."""

    portfolios: list[Portfolio]
    pensions: dict[str, list[Decimal]]
    summaries: dict[int, PortfolioSummary] | None
    key: str


def prepare_household(user, *, currency: str, start: date, end: date) -> PreparedHousehold:
    portfolios = list(Portfolio.objects.owned_by(user))
    pensions = pension_history(user, start, end)
    summaries = None
    if end == timezone.localdate():
        summaries = {s.portfolio.pk: s for s in valuation.summarize(portfolios)}
    key = _household_key(portfolios, pensions, summaries, currency, start, end)
    return PreparedHousehold(portfolios, pensions, summaries, key)


def household_performance(
    user,
    *,
    currency: str,
    start: date,
    end: date,
    prepared: PreparedHousehold | None = None,
) -> Household:
    """The household's performance in `currency` (performance_data.household_performance),
    pensions beside it; cached until a portfolio, any price or rate, a pension value or
    (for a period ending today) a live quote changes."""
    prepared = prepared or prepare_household(user, currency=currency, start=start, end=end)
    result = results.get(prepared.key)
    if result is None:
        result = performance_data.household_performance(
            prepared.portfolios,
            prepared.pensions,
            currency=currency,
            start=start,
            end=end,
            summaries=prepared.summaries,
        )
        # The daily arrays behind the sum are not read again: a ten-year household
        # unpickles in a third of the time without them.
        result = replace(result, flows=None)
        results.set(prepared.key, result, settings.HISTORY_CACHE_TTL)
    return result


def household_response_key(user, *, currency: str, start: date, end: date) -> str:
    """The key of the household's serialised performance, made without computing anything:
    the version stamps of the market data and of each portfolio (with its name and
    currency: the `missing` notes quote them), the pension entries the pension line is
    made of, and for a period ending today the quotes of the live point."""
    portfolios = sorted(Portfolio.objects.owned_by(user), key=lambda p: p.pk)
    names = [versions.MARKET_DATA, *(versions.portfolio(p.pk) for p in portfolios)]
    current = versions.current_many(names)
    entries = (
        PensionValueEntry.objects.filter(account__user=user, date__lte=end)
        .order_by("account_id", "date")
        .values_list("account_id", "account__currency", "date", "value")
    )
    stamps = [current[versions.MARKET_DATA], repr(list(entries))]
    stamps += [
        f"{p.pk}:{p.currency}:{p.name}:{current[versions.portfolio(p.pk)]}" for p in portfolios
    ]
    stamps.append(performance_data.live_fingerprint(portfolios, live=end == timezone.localdate()))
    digest = hashlib.blake2b("\n".join(stamps).encode(), digest_size=16).hexdigest()
    return f"household:{user.pk}:{currency}:{start.isoformat()}:{end.isoformat()}:{digest}"


def _household_key(portfolios, pensions, summaries, currency: str, start: date, end: date):
    # Names and currencies are in the key too: the result's `missing` notes quote them.
    names = [versions.MARKET_DATA, *(versions.portfolio(p.pk) for p in portfolios)]
    current = versions.current_many(names)
    stamps = [current[versions.MARKET_DATA], repr(sorted(pensions.items()))]
    for p in sorted(portfolios, key=lambda p: p.pk):
        stamps.append(f"{p.pk}:{p.currency}:{p.name}:{current[versions.portfolio(p.pk)]}")
        if summaries is not None:
            stamps.append(performance_data.live_inputs(summaries[p.pk]).stamp())
    # Hashed: ten portfolios' stamps are longer than portable cache keys may be.
    digest = hashlib.blake2b("\n".join(stamps).encode(), digest_size=16).hexdigest()
    return f"household:{currency}:{start.isoformat()}:{end.isoformat()}:{digest}"
