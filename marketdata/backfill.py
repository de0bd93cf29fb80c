"""Closes and exchange rates fetched when something needs them (ARCHITECTURE section 6): a
holding's history when it gets its first transaction or an earlier one, and whatever window
a page or endpoint is about to draw.

The sync functions in marketdata.history only ask for ranges that are not stored; this
module decides how long a request may wait for them. A local provider (demo, offline) is
cheap and runs inline to the end. A remote one (Yahoo) gets HISTORY_FETCH_BUDGET seconds:
no new call starts once they are spent, so a request waits at most the budget plus one
call (each call ends at MARKETDATA_DEADLINE, marketdata.providers.deadline). What is left
goes to the Celery worker when there is one, else to the next page view, and is reported as
missing meanwhile, so a chart can say "fetching history" instead of drawing trade prices as
if they were closes.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial

from django.core.cache import cache
from django.db.models import Max, Min, Q
from django.utils import timezone

from marketdata import history, providers
from marketdata.models import HistoricalExchangeRate, HistoricalStockPrice, Instrument
from marketdata.providers.base import MarketDataError, Provider, fx_symbol

logger = logging.getLogger(__name__)

Pair = tuple[str, str]

# An item a request tried and could not get is not tried again by the requests of the next
# few seconds (the other loaders of the same page, the chart's next poll comes after it):
# one request spends the budget once, however many loaders ask.
RETRY_AFTER = 2
QUEUED_FOR = 60

# Indirection so tests can move time forward without sleeping.
clock = time.monotonic


@dataclass
class Wanted:
    """History to have: each ticker's closes and each pair's rates from its date up to
    `end` (at most yesterday: today's close is not final)."""

    prices: dict[str, date] = field(default_factory=dict)
    pairs: dict[Pair, date] = field(default_factory=dict)
    end: date = field(default_factory=lambda: timezone.localdate() - timedelta(days=1))

    def __post_init__(self) -> None:
        self.end = min(self.end, timezone.localdate() - timedelta(days=1))

    def add_prices(self, ticker: str, since: date) -> None:
        self.prices[ticker] = min(since, self.prices.get(ticker, since))

    def add_pair(self, base: str, target: str, since: date) -> None:
        if base and target and base != target:
            self.pairs[(base, target)] = min(since, self.pairs.get((base, target), since))

    def labels(self) -> list[str]:
        """Tickers and FX symbols (USDNOK=X), as the API reports what is missing."""
        return sorted(self.prices) + sorted(fx_symbol(b, t) for b, t in self.pairs)

    def __bool__(self) -> bool:
        return bool(self.prices or self.pairs)


def missing(wanted: Wanted, *, provider: Provider | None = None) -> Wanted:
    """What of `wanted` a sync would still ask the provider for: two queries (the stored
    extents of every ticker and pair) and cache reads, however many there are."""
    provider = provider or providers.get_provider()
    left = Wanted(end=wanted.end)
    if provider.stored_only or not wanted:
        return left
    prices = {}
    if wanted.prices:
        prices = {
            ticker: (low, high)
            for ticker, low, high in HistoricalStockPrice.objects.filter(
                instrument__ticker__in=wanted.prices
            )
            .order_by()
            .values("instrument__ticker")
            .annotate(low=Min("date"), high=Max("date"))
            .values_list("instrument__ticker", "low", "high")
        }
    rates = {}
    if wanted.pairs:
        condition = Q()
        for base, target in wanted.pairs:
            condition |= Q(base_currency=base, target_currency=target)
        rates = {
            (base, target): (low, high)
            for base, target, low, high in HistoricalExchangeRate.objects.filter(condition)
            .order_by()
            .values("base_currency", "target_currency")
            .annotate(low=Min("date"), high=Max("date"))
            .values_list("base_currency", "target_currency", "low", "high")
        }
    price_keys = {ticker: history.prices_key(provider, ticker) for ticker in wanted.prices}
    pair_keys = {pair: history.fx_key(provider, *pair) for pair in wanted.pairs}
    pieces = history.unfetched_many(
        {
            **{
                price_keys[t]: (since, wanted.end, prices.get(t))
                for t, since in wanted.prices.items()
            },
            **{
                pair_keys[p]: (since, wanted.end, rates.get(p)) for p, since in wanted.pairs.items()
            },
        },
        provider,
    )
    for ticker, since in wanted.prices.items():
        if pieces.get(price_keys[ticker]):
            left.prices[ticker] = since
    for pair, since in wanted.pairs.items():
        if pieces.get(pair_keys[pair]):
            left.pairs[pair] = since
    return left


def _attempt_key(provider: Provider, label: str) -> str:
    return f"history-attempt:{provider.name}:{label}"


def _recently_tried(todo: Wanted, provider: Provider) -> set[str]:
    keys = {_attempt_key(provider, label): label for label in todo.labels()}
    return {keys[key] for key in cache.get_many(list(keys))}


def fetch(
    wanted: Wanted, *, budget: float | None = None, provider: Provider | None = None
) -> Wanted:
    """Fetch what of `wanted` is missing and answer what still is. `budget` (seconds)
    bounds the wait on a remote provider; None waits for everything. A provider failure
    leaves its item missing and never raises."""
    provider = provider or providers.get_provider()
    todo = missing(wanted, provider=provider)
    if not todo:
        return todo
    limited = provider.remote and budget is not None
    skip = _recently_tried(todo, provider) if limited else set()
    instruments = {}
    if set(todo.prices) - skip:
        instruments = {i.ticker: i for i in Instrument.objects.filter(ticker__in=todo.prices)}
    jobs = [
        (ticker, partial(history.sync_prices, instruments[ticker], since, todo.end))
        for ticker, since in sorted(todo.prices.items())
        if ticker in instruments
    ] + [
        (fx_symbol(base, target), partial(history.sync_fx, base, target, since, todo.end))
        # In the order wanted: the instruments' own currencies before the owners' base.
        for (base, target), since in todo.pairs.items()
    ]
    deadline = clock() + (budget or 0)
    for label, job in jobs:
        if label in skip:
            continue
        if limited and clock() >= deadline:
            break
        try:
            job(provider=provider)
        except MarketDataError as exc:
            logger.warning("History of %s not fetched: %s", label, exc)
    left = missing(todo, provider=provider)
    if left and limited:
        cache.set_many(
            {_attempt_key(provider, label): True for label in left.labels()}, RETRY_AFTER
        )
        _queue(left)
    return left


def _queue(left: Wanted) -> None:
    """Hand what is left to the Celery worker, once a minute at most for the same items.
    Without a worker (tasks run eagerly in the caller) the next page view fetches it."""
    from marketdata import tasks

    if tasks.fetch_history.app.conf.task_always_eager:
        return
    digest = hashlib.blake2b("\n".join(left.labels()).encode(), digest_size=16).hexdigest()
    if not cache.add(f"history-queued:{digest}", True, QUEUED_FOR):
        return
    try:
        tasks.fetch_history.delay(
            {ticker: since.isoformat() for ticker, since in left.prices.items()},
            [[base, target, since.isoformat()] for (base, target), since in left.pairs.items()],
            left.end.isoformat(),
        )
    except Exception:
        # A broker that is down must not fail the page; the nightly sync catches up.
        logger.exception("History fetch not queued")
