"""Loads what portfolios.performance needs for one portfolio: at most three queries
(transactions, closes, FX), however many holdings and days; the arithmetic is there."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Context, Decimal
from itertools import groupby
from operator import itemgetter

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q

from financedash import versions
from marketdata.models import HistoricalExchangeRate, HistoricalStockPrice
from portfolios import backfill
from portfolios.models import Portfolio, Transaction
from portfolios.performance import Performance, Trade, compute_performance

# Closes and rates this far before `start` are loaded so that the last one before the
# period carries into it: it spans weekends and the longest exchange holidays, and funds
# priced once a month. A position whose last close is older than this is valued at its
# last transaction price until a close comes (portfolios.performance).
LOOKBACK = timedelta(days=31)

_INVERSE = Context(prec=60)


def performance_for(portfolio: Portfolio, start: date, end: date) -> Performance:
    """The portfolio's performance, cached until its transactions or any stored price or
    rate change (financedash.versions): a ten-year series takes a second or two to load."""
    backfill.ensure_window([portfolio], start, end)
    key = ":".join(
        [
            "performance",
            str(portfolio.pk),
            start.isoformat(),
            end.isoformat(),
            versions.current(versions.portfolio(portfolio.pk)),
            versions.current(versions.MARKET_DATA),
        ]
    )
    result = cache.get(key)
    if result is None:
        result = compute_for(portfolio, start, end)
        cache.set(key, result, settings.HISTORY_CACHE_TTL)
    return result


def compute_for(portfolio: Portfolio, start: date, end: date) -> Performance:
    trades = [
        Trade(*row)
        for row in Transaction.objects.filter(portfolio=portfolio, date__lte=end)
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
    since = start - LOOKBACK
    closes: dict[int, list[tuple[date, Decimal]]] = {}
    instruments = {t.instrument for t in trades}
    if instruments:
        rows = (
            HistoricalStockPrice.objects.filter(
                instrument_id__in=instruments, date__gte=since, date__lte=end
            )
            .order_by("instrument_id", "date")
            .values_list("instrument_id", "date", "close")
        )
        for instrument_id, group in groupby(rows, key=itemgetter(0)):
            closes[instrument_id] = [(day, close) for _, day, close in group]
    foreign = {t.currency for t in trades} - {portfolio.currency}
    fx = _rates_to(portfolio.currency, foreign, since, end) if foreign else {}
    return compute_performance(
        trades, closes, fx, currency=portfolio.currency, start=start, end=end
    )


def _rates_to(
    target: str, currencies: set[str], since: date, end: date
) -> dict[str, list[tuple[date, Decimal]]]:
    """Daily rates in `target` per unit of each currency. A pair may be stored either way
    round; the direct one wins on a day that has both."""
    direct: dict[str, dict[date, Decimal]] = {}
    inverse: dict[str, dict[date, Decimal]] = {}
    rows = HistoricalExchangeRate.objects.filter(
        Q(base_currency__in=currencies, target_currency=target)
        | Q(base_currency=target, target_currency__in=currencies),
        date__gte=since,
        date__lte=end,
    ).values_list("base_currency", "target_currency", "date", "rate")
    for base, quote, day, rate in rows:
        if quote == target:
            direct.setdefault(base, {})[day] = rate
        else:
            inverse.setdefault(quote, {})[day] = _INVERSE.divide(1, rate)
    return {
        code: sorted((inverse.get(code, {}) | direct.get(code, {})).items()) for code in currencies
    }
