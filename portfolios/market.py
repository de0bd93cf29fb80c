"""What the portfolios need from market data: the quotes of everything held, and the closes
and exchange rates their valuations and performance history use. The periodic jobs
(portfolios.tasks) and the cron commands call these."""

from __future__ import annotations

from datetime import date

from django.db.models import Min

from marketdata import quotes, refresh
from marketdata.models import Instrument
from marketdata.providers.base import Provider
from portfolios import performance_data, push
from portfolios.models import Transaction


def held_symbols() -> list[str]:
    return list(
        Instrument.objects.filter(holdings__quantity__gt=0)
        .distinct()
        .order_by("ticker")
        .values_list("ticker", flat=True)
    )


def refresh_held_quotes(*, provider: Provider | None = None) -> quotes.QuoteBatch:
    """One provider call for every held instrument, bypassing (and refilling) the cache.
    Open sockets (portfolios.live) get the quotes that changed and their portfolios' new
    figures (through Redis: a cron run or the Celery worker is another process)."""
    symbols = held_symbols()
    batch = quotes.quote_batch(symbols, provider=provider, refresh=True)
    push.publish_quotes(batch.quotes)
    # Instruments added by hand get the provider's name once it knows them (after the
    # quotes: a page never waits for this).
    refresh.fill_missing_names(symbols, provider=provider)
    return batch


def _earliest(pairs: dict, key, day: date) -> None:
    pairs[key] = min(day, pairs.get(key, day))


def currency_pairs_in_use() -> dict[tuple[str, str], date]:
    """(base, target) -> first date it is needed: each instrument's currency against its
    portfolio's (what transactions convert at), and each portfolio's currency against its
    owner's base currency (what the totals are shown in)."""
    pairs: dict[tuple[str, str], date] = {}
    # Cash transactions have no instrument: only their portfolio's currency counts.
    by_instrument = (
        Transaction.objects.filter(holding__isnull=False)
        .values("holding__instrument__currency", "portfolio__currency")
        .annotate(first=Min("date"))
    )
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
    """Closes up to yesterday for every instrument with transactions and rates for every
    pair in use, each from its first transaction's date (marketdata.refresh.sync_history)."""
    firsts = dict(
        Transaction.objects.filter(holding__isnull=False)
        .values("holding__instrument")
        .annotate(first=Min("date"))
        .values_list("holding__instrument", "first")
    )
    summary = refresh.sync_history(firsts, currency_pairs_in_use(), provider=provider)
    # The new closes made every cached performance stale: compute them now, in the
    # worker, rather than in the first request of the morning (financedash.signals).
    performance_data.history_synced.send(sender=sync_held_history, summary=summary)
    return summary
