"""What the periodic jobs do, callable from Celery, from management commands (cron) and on
demand: sync the closes and exchange rates asked for. What is asked for (the instruments and
currency pairs the portfolios use) is the caller's to say (portfolios.market): market data
knows nothing of portfolios."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from django.core.cache import cache
from django.utils import timezone

from marketdata import history, providers, resilience
from marketdata.models import Instrument
from marketdata.providers.base import MarketDataError, Provider, ProviderUnavailable

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
    tickers = Instrument.objects.filter(pk__in=firsts).values_list("ticker", flat=True)
    summary["names"] = fill_missing_names(tickers, provider=provider)
    return summary


# A symbol whose name the provider did not give is asked again a day later, not on every
# refresh: the refreshes run every few minutes and share the provider's rate limit.
NAME_RETRY_SECONDS = 24 * 3600
# At most this many provider calls per refresh (a large import by hand lacks many names):
# the rest are named by the next refreshes.
NAMES_PER_REFRESH = 10


def _name_tried_key(provider: Provider, ticker: str) -> str:
    return f"name-tried:{provider.name}:{ticker}"


def fill_missing_names(tickers, *, provider: Provider | None = None) -> int:
    """Give the instruments among `tickers` that lack a company name (created by hand, or
    while the provider was down) the provider's name, and its exchange and ISIN where they
    are blank too; the currency is never changed. Called by the background refreshes, never
    by a page. Returns how many were named; a failure leaves the rest for a later refresh."""
    provider = provider or providers.get_provider()
    if provider.stored_only:
        return 0
    unnamed = list(
        Instrument.objects.filter(ticker__in=list(tickers), company_name="").order_by("ticker")
    )
    if not unnamed:
        return 0
    tried = cache.get_many([_name_tried_key(provider, i.ticker) for i in unnamed])
    named = 0
    for instrument in [i for i in unnamed if _name_tried_key(provider, i.ticker) not in tried][
        :NAMES_PER_REFRESH
    ]:
        try:
            info = resilience.call(provider, "get_info", instrument.ticker)
        except ProviderUnavailable as exc:
            logger.info("Names not refreshed (%s): %s", instrument.ticker, exc)
            break  # the provider is down or over its limit: the next refresh tries again
        except MarketDataError as exc:
            logger.info("No name for %s: %s", instrument.ticker, exc)
            cache.set(_name_tried_key(provider, instrument.ticker), True, NAME_RETRY_SECONDS)
            continue
        name = (info.name or "").strip()
        if not name or name.upper() == instrument.ticker:
            # Yahoo answers the symbol itself when it has no name.
            cache.set(_name_tried_key(provider, instrument.ticker), True, NAME_RETRY_SECONDS)
            continue
        changes = {"company_name": name[:200]}
        if not instrument.exchange and info.exchange:
            changes["exchange"] = info.exchange[:64]
        if not instrument.isin and info.isin:
            changes["isin"] = info.isin
        # An update of the blank row only: a name typed in the admin meanwhile stands.
        named += Instrument.objects.filter(pk=instrument.pk, company_name="").update(**changes)
    return named


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
