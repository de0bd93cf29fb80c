"""What the periodic jobs do, callable from Celery, from management commands (cron) and on
demand: sync the closes and exchange rates asked for. What is asked for (the instruments and
currency pairs the portfolios use) is the caller's to say (portfolios.market): market data
knows nothing of portfolios."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from django.utils import timezone

from marketdata import history, resilience
from marketdata.models import Instrument
from marketdata.providers.base import MarketDataError, Provider

logger = logging.getLogger(__name__)


def sync_history(
    firsts: dict[int, date],
    pairs: dict[tuple[str, str], date],
    *,
    provider: Provider | None = None,
) -> dict:
    """Closes up to yesterday for each instrument (by pk) and rates for each (base, target)
    pair, each from the first date it is needed. One failure does not stop the rest.
    A background job: it waits for the rate limiter rather than skip instruments."""
    with resilience.patient():
        return _sync_history(firsts, pairs, provider)


def _sync_history(firsts, pairs, provider: Provider | None) -> dict:
    yesterday = timezone.localdate() - timedelta(days=1)
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
    for (base, target), first in sorted(pairs.items()):
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
