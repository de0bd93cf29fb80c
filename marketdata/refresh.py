"""What the periodic jobs do, callable from Celery, from management commands (cron) and on
demand: refresh the quotes of everything held, and sync the closes and exchange rates that
valuations and performance history need."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from django.db.models import Min
from django.utils import timezone

from marketdata import history, quotes, resilience
from marketdata.models import Instrument
from marketdata.providers.base import MarketDataError, Provider
from portfolios.models import Transaction

logger = logging.getLogger(__name__)


def held_symbols() -> list[str]:
    return list(
        Instrument.objects.filter(holdings__quantity__gt=0)
        .distinct()
        .order_by("ticker")
        .values_list("ticker", flat=True)
    )


def refresh_held_quotes(*, provider: Provider | None = None) -> quotes.QuoteBatch:
    """One provider call for every held instrument, bypassing (and refilling) the cache."""
    return quotes.quote_batch(held_symbols(), provider=provider, refresh=True)


def _earliest(pairs: dict, key, day: date) -> None:
    pairs[key] = min(day, pairs.get(key, day))


def currency_pairs_in_use() -> dict[tuple[str, str], date]:
    """(base, target) -> first date it is needed: each instrument's currency against its
    portfolio's (what transactions convert at), and each portfolio's currency against its
    owner's base currency (what the totals are shown in)."""
    pairs: dict[tuple[str, str], date] = {}
    by_instrument = Transaction.objects.values(
        "holding__instrument__currency", "portfolio__currency"
    ).annotate(first=Min("date"))
    for row in by_instrument:
        base, target = row["holding__instrument__currency"], row["portfolio__currency"]
        if base != target:
            _earliest(pairs, (base, target), row["first"])
    by_owner = Transaction.objects.values(
        "portfolio__currency", "portfolio__user__profile__base_currency"
    ).annotate(first=Min("date"))
    for row in by_owner:
        base, target = row["portfolio__currency"], row["portfolio__user__profile__base_currency"]
        if target and base != target:
            _earliest(pairs, (base, target), row["first"])
    return pairs


def sync_held_history(*, provider: Provider | None = None) -> dict:
    """Closes up to yesterday for every instrument with transactions, and rates for every
    pair in use, each from the first date it is needed. One failure does not stop the rest.
    A background job: it waits for the rate limiter rather than skip instruments."""
    with resilience.patient():
        return _sync_held_history(provider)


def _sync_held_history(provider: Provider | None) -> dict:
    yesterday = timezone.localdate() - timedelta(days=1)
    firsts = dict(
        Transaction.objects.values("holding__instrument")
        .annotate(first=Min("date"))
        .values_list("holding__instrument", "first")
    )
    summary = {"instruments": 0, "prices": 0, "pairs": 0, "rates": 0, "errors": []}
    for instrument in Instrument.objects.filter(pk__in=firsts).order_by("ticker"):
        start = min(firsts[instrument.pk], yesterday)
        try:
            summary["prices"] += history.sync_prices(
                instrument, start, yesterday, provider=provider
            )
            summary["instruments"] += 1
        except MarketDataError as exc:
            logger.warning("Closes of %s not synced: %s", instrument.ticker, exc)
            summary["errors"].append(f"{instrument.ticker}: {exc}")
    for (base, target), first in sorted(currency_pairs_in_use().items()):
        try:
            summary["rates"] += history.sync_fx(
                base, target, min(first, yesterday), yesterday, provider=provider
            )
            summary["pairs"] += 1
        except MarketDataError as exc:
            logger.warning("Rates %s->%s not synced: %s", base, target, exc)
            summary["errors"].append(f"{base}->{target}: {exc}")
    return summary


RECENT_RATES = timedelta(days=14)


def fetch_missing_rates(pairs) -> int:
    """The request path's fallback for pairs with no stored rate (a new currency, no worker
    running yet): fetch the last two weeks of each. A pair already covered costs nothing,
    and a provider that fails or does not quote the pair leaves it missing."""
    yesterday = timezone.localdate() - timedelta(days=1)
    received = 0
    for base, target in sorted(pairs):
        try:
            received += history.sync_fx(base, target, yesterday - RECENT_RATES, yesterday)
        except MarketDataError as exc:
            logger.warning("Rates %s->%s not fetched on demand: %s", base, target, exc)
    return received
