"""A frozen copy of portfolios/performance_data.py as it was before the fast read path
(issue 9, item 3), with the cash tracking and splits of issue 11: the reference the new
path is compared with, to the cent. Test-only; no caches (each call computes), otherwise
unchanged.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import groupby
from operator import itemgetter

from django.db.models import Max, Q
from django.utils import timezone

from financedash.lib import versions
from marketdata import fx, history
from marketdata.models import HistoricalExchangeRate, HistoricalStockPrice
from marketdata.providers.base import MarketDataError
from portfolios import cash, valuation
from portfolios.models import Portfolio, Transaction
from tests.portfolios.reference.performance import (
    EARLIEST,
    Household,
    Part,
    Performance,
    Trade,
    carried_forward,
    combine,
    compute_performance,
)

logger = logging.getLogger(__name__)

_DAY = timedelta(days=1)

Daily = list[tuple[date, Decimal]]


@dataclass
class Inputs:
    """What compute_performance takes, as loaded from the database."""

    trades: list[Trade]
    closes: dict[int, Daily]
    fx: dict[str, Daily]
    # Every transaction's cash movement when the portfolio tracks cash (section 5b).
    cash: list[cash.Movement] | None = None


@dataclass(frozen=True)
class Live:
    """Today's quotes and rates of the live valuation: instrument id -> price, and
    currency -> rate into the portfolio's currency."""

    prices: dict[int, Decimal]
    rates: dict[str, Decimal]

    def stamp(self) -> str:
        text = repr(sorted(self.prices.items())) + repr(sorted(self.rates.items()))
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def live_inputs(summary: valuation.PortfolioSummary) -> Live:
    """The quotes and rates the live table valued each holding with."""
    prices, rates = {}, {}
    for row in summary.holdings:
        if row.error is None and row.current_price is not None and row.fx_rate is not None:
            prices[row.instrument_id] = row.current_price
            if row.instrument_currency != summary.currency:
                rates[row.instrument_currency] = row.fx_rate
    return Live(prices, rates)


def performance_for(
    portfolio: Portfolio,
    start: date,
    end: date,
    *,
    summary: valuation.PortfolioSummary | None = None,
) -> Performance:
    """The portfolio's performance, cached until its transactions, any stored price or
    rate, or (for a period ending today) a live quote change (financedash.lib.versions): a
    ten-year series takes a second or two to load. `summary` is the portfolio's live
    valuation when the caller has it already."""
    live = None
    if end == timezone.localdate():
        try:
            live = live_inputs(summary or valuation.summarize([portfolio])[0])
        except Exception:  # a live quote that fails must not fail the history
            logger.exception("Live valuation of portfolio %s failed", portfolio.pk)
    key = ":".join(
        [
            "performance",
            str(portfolio.pk),
            portfolio.currency,
            start.isoformat(),
            end.isoformat(),
            versions.current(versions.portfolio(portfolio.pk)),
            versions.current(versions.MARKET_DATA),
            live.stamp() if live else "-",
        ]
    )
    del key  # the reference computes every time
    return compute_for(portfolio, start, end, live=live)


def compute_for(
    portfolio: Portfolio, start: date, end: date, *, live: Live | None = None
) -> Performance:
    try:
        inputs = load_inputs(portfolio, start, end)
        if live is not None:
            _add_live(inputs, live, end)
        return compute_performance(
            inputs.trades,
            inputs.closes,
            inputs.fx,
            currency=portfolio.currency,
            start=start,
            end=end,
            cash_movements=inputs.cash,
        )
    except (ArithmeticError, ValueError, TypeError) as exc:
        logger.exception("Performance of portfolio %s failed", portfolio.pk)
        return Performance(
            start=start,
            end=end,
            currency=portfolio.currency,
            error=f"The performance could not be computed from the stored data ({exc!r}).",
        )


def load_inputs(portfolio: Portfolio, start: date, end: date) -> Inputs:
    """The portfolio's transactions up to `end`, and the closes and rates they need over
    [start, end] with the last ones before it."""
    trades = [
        Trade(*row)
        # Splits after `end` too: the stored closes are adjusted for them (later_splits).
        # Cash transactions have no instrument: they enter as cash movements, below.
        for row in Transaction.objects.filter(
            Q(date__lte=end) | Q(type=Transaction.Type.SPLIT),
            portfolio=portfolio,
            holding__isnull=False,
        )
        .order_by("date", "id")
        .values_list(
            "date",
            "type",
            "holding__instrument_id",
            "holding__instrument__currency",
            "quantity",
            "price",
            "fees",
            "exchange_rate",
        )
    ]
    closes = load_closes({t.instrument for t in trades}, start, end)
    foreign = {t.currency for t in trades} - {portfolio.currency}
    fx = load_rates(portfolio.currency, foreign, start, end) if foreign else {}
    movements = None
    if portfolio.track_cash:
        movements = [
            cash.Movement(*row)
            for row in Transaction.objects.filter(portfolio=portfolio, date__lte=end)
            .order_by()
            .values_list("type", "date", "total_amount")
        ]
    return Inputs(trades, closes, fx, movements)


def _add_live(inputs: Inputs, live: Live, today: date) -> None:
    """Today's close and rate are the live ones (replacing a close stored for today)."""
    for instrument, price in live.prices.items():
        known = [row for row in inputs.closes.get(instrument, []) if row[0] < today]
        inputs.closes[instrument] = [*known, (today, price)]
    for code, rate in live.rates.items():
        if code in inputs.fx:
            known = [row for row in inputs.fx[code] if row[0] < today]
            inputs.fx[code] = [*known, (today, rate)]


def load_closes(instruments: set[int], start: date, end: date) -> dict[int, Daily]:
    """Each instrument's closes in [start, end] and its last close before start: two
    queries however many instruments."""
    if not instruments:
        return {}
    prices = HistoricalStockPrice.objects.filter(instrument_id__in=instruments)
    before = dict(
        prices.filter(date__lt=start)
        .order_by()
        .values("instrument_id")
        .annotate(last=Max("date"))
        .values_list("instrument_id", "last")
    )
    condition = Q(date__gte=start)
    for instrument, last in before.items():
        condition |= Q(instrument_id=instrument, date=last)
    rows = (
        prices.filter(condition, date__lte=end)
        .order_by("instrument_id", "date")
        .values_list("instrument_id", "date", "close")
    )
    return {
        instrument: [(day, close) for _, day, close in group]
        for instrument, group in groupby(rows, key=itemgetter(0))
    }


def load_rates(target: str, currencies: Iterable[str], start: date, end: date) -> dict[str, Daily]:
    """Daily rates in `target` per unit of each currency over [start, end], with the last
    one before start: two queries. A pair may be stored either way round; the direct one
    wins on a day that has both. A currency with no rate at all maps to []."""
    currencies = set(currencies) - {target}
    if not currencies:
        return {}
    pairs = HistoricalExchangeRate.objects.filter(
        Q(base_currency__in=currencies, target_currency=target)
        | Q(base_currency=target, target_currency__in=currencies)
    )
    before = (
        pairs.filter(date__lt=start)
        .order_by()
        .values("base_currency", "target_currency")
        .annotate(last=Max("date"))
        .values_list("base_currency", "target_currency", "last")
    )
    condition = Q(date__gte=start)
    for base, quote, last in before:
        condition |= Q(base_currency=base, target_currency=quote, date=last)
    rows = pairs.filter(condition, date__lte=end).values_list(
        "base_currency", "target_currency", "date", "rate"
    )
    direct: dict[str, Daily] = defaultdict(list)
    inverse: dict[str, Daily] = defaultdict(list)
    for base, quote, day, rate in rows:
        if quote == target:
            direct[base].append((day, rate))
        else:
            inverse[quote].append((day, rate))
    return {code: fx.pair_series(direct[code], inverse[code], exact=True) for code in currencies}


# The household ---------------------------------------------------------------------------


def _sync_rates(codes: Iterable[str], target: str, start: date, end: date) -> None:
    """Fetch the window's missing rates into the household currency, as far as the
    provider can (history.sync_fx asks only for what is not stored)."""
    for code in codes:
        try:
            history.sync_fx(code, target, start, end)
        except (MarketDataError, ValueError) as exc:
            logger.warning("FX history %s%s not synced: %s", code, target, exc)


def household_performance(
    portfolios: Sequence[Portfolio],
    pension_values: dict[str, list[Decimal]],
    *,
    currency: str,
    start: date,
    end: date,
    summaries: dict[int, valuation.PortfolioSummary] | None = None,
) -> Household:
    """Every portfolio converted at each day's rate into `currency`, and the pensions
    (`pension_values`: currency -> the summed account values on each series day, the
    opening day first, each account at its latest entry on or before the day) beside
    them. A portfolio or pension whose currency has no rate into `currency`, or whose
    performance failed, is left out and named in `missing`."""
    count = (end - start).days + 2
    opening_day = start - _DAY
    if summaries is None and end == timezone.localdate():
        summaries = {s.portfolio.pk: s for s in valuation.summarize(portfolios)}
    summaries = summaries or {}
    codes = {p.currency for p in portfolios} | set(pension_values)
    _sync_rates(codes - {currency}, currency, start, end)
    known = load_rates(currency, codes, start, end)
    # Before a currency's first stored rate, that first rate stands in.
    daily = {
        code: carried_forward(known.get(code, []), opening_day, count, before=EARLIEST)
        for code in codes
    }
    daily[currency] = [Decimal(1)] * count
    parts, missing = [], []
    for portfolio in portfolios:
        rates = daily[portfolio.currency]
        if any(rate is None for rate in rates):
            missing.append(
                f"{portfolio.name}: no {portfolio.currency}→{currency} exchange rate is stored."
            )
            continue
        performance = performance_for(portfolio, start, end, summary=summaries.get(portfolio.pk))
        if performance.error:
            missing.append(f"{portfolio.name}: {performance.error}")
            continue
        parts.append(Part(performance, rates))
    pensions = [Decimal(0)] * count
    for code, values in pension_values.items():
        rates = daily[code]
        if any(rate is None for value, rate in zip(values, rates, strict=True) if value):
            missing.append(f"Pensions in {code}: no {code}→{currency} exchange rate is stored.")
            continue
        pensions = [
            p + (v * r if v else 0) for p, v, r in zip(pensions, values, rates, strict=True)
        ]
    try:
        return combine(
            parts, currency=currency, start=start, end=end, pensions=pensions, missing=missing
        )
    except (ArithmeticError, ValueError, TypeError) as exc:
        logger.exception("Household performance failed")
        return Household(
            start=start,
            end=end,
            currency=currency,
            missing=missing,
            error=f"The performance could not be computed from the stored data ({exc!r}).",
        )
