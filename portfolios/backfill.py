"""What market history the portfolios need, fetched when they need it (ARCHITECTURE
section 6): after a write that gives a holding earlier transactions than its stored closes,
and before a chart or a performance figure is computed for a window.

Without this, nothing stores a holding's closes until someone opens its page, and every
chart values the holding at its trade price: a flat line that contradicts the live table.
How long a request may wait is marketdata.backfill's business; this module says what to
ask for: each instrument's closes from its first transaction, its currency's rate into the
portfolio's, and (for the household) the portfolio's currency into the owner's base one.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from financedash.lib import versions
from marketdata import backfill, providers
from marketdata.models import Instrument
from portfolios.models import Portfolio, Transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HistoryStatus:
    """Whether a window's closes and rates are all stored; `missing` names the tickers and
    FX symbols (USDNOK=X) still being fetched."""

    missing: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.missing


COMPLETE = HistoryStatus()


def after_commit(portfolio: Portfolio, since: dict[Instrument, date]) -> None:
    """Once the current transaction commits, fetch each instrument's closes from its date
    and the rates they are converted at: inline for a local provider, within the request
    budget for a remote one. Called after every ledger write (services, the import); an
    instrument whose history is already stored costs a few queries and no provider call."""
    if since:
        items = [(i.ticker, i.currency, day) for i, day in since.items()]
        transaction.on_commit(partial(_fetch_after_write, portfolio, items))


def _fetch_after_write(portfolio: Portfolio, items: list[tuple[str, str, date]]) -> None:
    # The write is committed: nothing here may turn it into an error response.
    try:
        if providers.get_provider().stored_only:
            return
        base = (
            Portfolio.objects.filter(pk=portfolio.pk)
            .values_list("user__profile__base_currency", flat=True)
            .first()
        ) or settings.DEFAULT_BASE_CURRENCY
        wanted = backfill.Wanted()
        for ticker, currency, day in items:
            wanted.add_prices(ticker, day)
            wanted.add_pair(currency, portfolio.currency, day)
            wanted.add_pair(portfolio.currency, base, day)
        backfill.fetch(wanted, budget=settings.HISTORY_FETCH_BUDGET)
    except Exception:
        logger.exception("History not fetched after a write to portfolio %s", portfolio.pk)


def wanted_for(
    portfolios: Iterable[Portfolio], start: date, end: date, *, base_currency: str | None = None
) -> backfill.Wanted:
    """The closes and rates a window of these portfolios is valued with (one query): each
    instrument held during the window from its first transaction, its currency into its
    portfolio's, and each portfolio's currency into `base_currency` when given."""
    by_pk = {p.pk: p for p in portfolios}
    wanted = backfill.Wanted(end=end)
    rows = (
        Transaction.objects.filter(portfolio__in=list(by_pk), date__lte=end)
        .order_by()
        .values(
            "portfolio_id",
            "holding__instrument__ticker",
            "holding__instrument__currency",
            "holding__quantity",
        )
        .annotate(first=Min("date"), last=Max("date"))
    )
    for row in rows:
        if not row["holding__quantity"] and row["last"] < start:
            continue  # sold before the window: worth nothing in it
        portfolio, first = by_pk[row["portfolio_id"]], row["first"]
        if row["holding__instrument__ticker"] is not None:  # None: the cash transactions
            wanted.add_prices(row["holding__instrument__ticker"], first)
            wanted.add_pair(row["holding__instrument__currency"], portfolio.currency, first)
        if base_currency:
            wanted.add_pair(portfolio.currency, base_currency, first)
    return wanted


def ensure_window(
    portfolios: Iterable[Portfolio], start: date, end: date, *, base_currency: str | None = None
) -> HistoryStatus:
    """Fetch what the window needs and say what is still missing. A complete answer is
    remembered until the portfolios or the stored market data change (or the day does)."""
    portfolios = list(portfolios)
    if not portfolios or providers.get_provider().stored_only:
        # Nothing to fetch from: what is stored is all there will be.
        return COMPLETE
    key = _complete_key(portfolios, start, end, base_currency)
    if cache.get(key):
        return COMPLETE
    wanted = wanted_for(portfolios, start, end, base_currency=base_currency)
    left = backfill.fetch(wanted, budget=settings.HISTORY_FETCH_BUDGET)
    if left:
        return HistoryStatus(tuple(left.labels()))
    # Keyed after the fetch: what it stored has moved the market-data stamp on. Each
    # portfolio on its own needs a part of this (the dashboard then loads them one by one).
    keys = [_complete_key(portfolios, start, end, base_currency)]
    if len(portfolios) > 1 or base_currency:
        keys += [_complete_key([p], start, end, None) for p in portfolios]
    cache.set_many(dict.fromkeys(keys, True), settings.HISTORY_CACHE_TTL)
    return COMPLETE


def ensure_prices(instrument: Instrument, start: date, end: date) -> HistoryStatus:
    """The instrument's closes in the window (a holding's price chart), fetched as above."""
    wanted = backfill.Wanted(end=end)
    wanted.add_prices(instrument.ticker, start)
    left = backfill.fetch(wanted, budget=settings.HISTORY_FETCH_BUDGET)
    return HistoryStatus(tuple(left.labels()))


def ensure_benchmark(
    instrument: Instrument, start: date, end: date, currency: str
) -> HistoryStatus:
    """A benchmark's closes over the window and its currency's rate into the chart's,
    from a week before the opening day (a close on or before it must be there), fetched
    as above."""
    if providers.get_provider().stored_only:
        return COMPLETE
    since = start - timedelta(days=8)
    wanted = backfill.Wanted(end=end)
    wanted.add_prices(instrument.ticker, since)
    wanted.add_pair(instrument.currency, currency, since)
    left = backfill.fetch(wanted, budget=settings.HISTORY_FETCH_BUDGET)
    return HistoryStatus(tuple(left.labels()))


def _complete_key(portfolios, start: date, end: date, base_currency: str | None) -> str:
    stamps = [
        timezone.localdate().isoformat(),
        start.isoformat(),
        end.isoformat(),
        base_currency or "",
        versions.current(versions.MARKET_DATA),
        *(f"{p.pk}:{versions.current(versions.portfolio(p.pk))}" for p in portfolios),
    ]
    digest = hashlib.blake2b("\n".join(stamps).encode(), digest_size=16).hexdigest()
    return f"history-complete:{digest}"
