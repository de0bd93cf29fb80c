"""Publishing to the live sockets (portfolios.live) through the channel layer: what the
write path (through its version stamps, see stamp_bumped) and the quote refresh (market,
and live's in-process refresh) call.

A group per portfolio carries "its figures changed" (each socket recomputes them for its
own user, from the database and the quote cache, so a message never carries stale or
another user's figures), a group per symbol carries the new quote. Publishing never fails
a write or a refresh: a channel layer that is down costs the live update (the pages fall
back to polling), nothing else.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from financedash.lib import versions
from marketdata import quotes
from marketdata.providers.base import Quote
from marketdata.refresh import fill_missing_names
from portfolios.models import Holding

logger = logging.getLogger(__name__)

PORTFOLIO_CHANGED = "portfolio.changed"
QUOTE = "quote.message"

# Group names allow ASCII letters, digits, "-", "_" and "." only; symbols also use ^ = &.
_UNSAFE = re.compile(r"[^A-Za-z0-9\-.]")


def portfolio_group(pk: int) -> str:
    return f"portfolio.{pk}"


def symbol_group(symbol: str) -> str:
    return "quote." + _UNSAFE.sub(lambda m: f"_{ord(m.group()):02x}", symbol)


def published_key(symbol: str) -> str:
    return f"live-quote:{symbol}"


# After a failure to reach the channel layer (Redis down), publishing is skipped for this
# long: a write must not wait for a connect timeout every time (pages poll meanwhile).
PAUSE_AFTER_FAILURE = 30.0
_paused_until = 0.0


def _send(messages: list[tuple[str, dict]]) -> None:
    global _paused_until
    if not messages or time.monotonic() < _paused_until:
        return
    layer = get_channel_layer()
    if layer is None:
        return

    async def send_all():
        for group, message in messages:
            await layer.group_send(group, message)

    try:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            async_to_sync(send_all)()
        else:
            # A write made from a thread that runs an event loop of its own (a sync write in
            # a notebook or an async test harness): async_to_sync refuses to block it, so
            # the messages go from a thread of their own.
            with ThreadPoolExecutor(1) as pool:
                pool.submit(async_to_sync(send_all)).result()
    except Exception:  # noqa: BLE001 - a push is best effort, see the module docstring
        _paused_until = time.monotonic() + PAUSE_AFTER_FAILURE
        logger.warning(
            "Live updates not published to %s; none is tried for %.0f s",
            [g for g, _ in messages],
            PAUSE_AFTER_FAILURE,
            exc_info=True,
        )


def stamp_bumped(name: str) -> None:
    """financedash.lib.versions calls this on every bump: the services bump a portfolio's
    stamp on each write to it (transactions from any entry point, cash, imports and their
    undo, the portfolio's own fields, its deletion)."""
    _, _, pk = name.partition(":")
    if pk.isdigit() and versions.portfolio(int(pk)) == name:
        changed(int(pk))


def changed(portfolio_id: int) -> None:
    """The portfolio's figures changed: tell its sockets once the transaction commits
    (immediately outside one). A rolled-back write publishes nothing."""
    transaction.on_commit(lambda: publish_portfolios([portfolio_id]))


def publish_portfolios(portfolio_ids: Iterable[int]) -> None:
    _send(
        [
            (portfolio_group(pk), {"type": PORTFOLIO_CHANGED, "portfolio_id": pk})
            for pk in sorted(set(portfolio_ids))
        ]
    )


def _what(body: dict) -> list:
    # A quote whose time alone moved changes no figure: not worth a message to every socket.
    return [body["price"], body["currency"], body["stale"]]


def publish_quotes(fresh: dict[str, Quote]) -> list[str]:
    """Publish the quotes of a refresh whose price, currency or staleness differ from the
    last ones published, one message per symbol, then a "changed" to every portfolio
    holding one of them. Returns the symbols published."""
    if not fresh:
        return []
    packed = {symbol: quotes.pack(quote) for symbol, quote in fresh.items()}
    last = cache.get_many([published_key(s) for s in packed])
    new = {s: body for s, body in packed.items() if last.get(published_key(s)) != _what(body)}
    if not new:
        return []
    cache.set_many(
        {published_key(s): _what(body) for s, body in new.items()}, settings.QUOTE_LAST_KNOWN_TTL
    )
    holders = (
        Holding.objects.filter(instrument__ticker__in=list(new), quantity__gt=0)
        .order_by()
        .values_list("portfolio_id", flat=True)
        .distinct()
    )
    messages = [
        (symbol_group(s), {"type": QUOTE, "quote": body}) for s, body in sorted(new.items())
    ]
    messages += [
        (portfolio_group(pk), {"type": PORTFOLIO_CHANGED, "portfolio_id": pk})
        for pk in sorted(set(holders))
    ]
    _send(messages)
    return sorted(new)


def held_by(portfolio_ids: Iterable[int]) -> set[str]:
    held = Holding.objects.filter(portfolio_id__in=list(portfolio_ids), quantity__gt=0)
    return set(held.order_by().values_list("instrument__ticker", flat=True))


def refresh(symbols: Iterable[str], portfolio_ids: Iterable[int]) -> list[str]:
    """One quote refresh for what open sockets follow (live's in-process refresh, when no
    Celery worker does it): the symbols subscribed and those the portfolios hold, in one
    provider call, then publish what changed."""
    wanted = set(symbols) | held_by(portfolio_ids)
    if not wanted:
        return []
    batch = quotes.quote_batch(sorted(wanted), refresh=True)
    changed = publish_quotes(batch.quotes)
    # As market.refresh_held_quotes: hand-made instruments get the provider's name.
    fill_missing_names(wanted)
    return changed
