"""Live quotes through the Django cache (ARCHITECTURE section 6).

`stock:{SYMBOL}` holds a fresh quote for QUOTE_CACHE_TTL seconds. A batch fetches only its
misses, in one provider call, and only the misses nobody else is fetching right now (a
`cache.add` lock per symbol, which is atomic across processes on Redis). Every fresh quote
is also kept for much longer as `stock-last:{SYMBOL}`: when the provider fails, that copy
or the last stored close is served, marked stale and carrying its own timestamp. Only a
symbol that never had a price is an error (StockDataException, HTTP 503); one the provider
does not know and we have never stored is UnknownSymbol (HTTP 404).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from marketdata import providers, resilience
from marketdata.models import HistoricalStockPrice, Instrument
from marketdata.providers.base import (
    MarketDataError,
    Provider,
    ProviderUnavailable,
    Quote,
    UnknownSymbol,
    close_timestamp,
    is_valid_symbol,
    normalize_symbol,
)

POLL_SECONDS = 0.05


def quote_key(symbol: str) -> str:
    return f"stock:{symbol}"


def last_key(symbol: str) -> str:
    return f"stock-last:{symbol}"


def lock_key(symbol: str) -> str:
    return f"stock-lock:{symbol}"


def unknown_key(symbol: str) -> str:
    return f"stock-unknown:{symbol}"


class StockDataException(MarketDataError):
    """No price can be given for a symbol: the provider failed and none was ever known."""

    def __init__(self, symbol: str, last_good: datetime | None = None, reason: str = ""):
        self.symbol, self.last_good, self.reason = symbol, last_good, reason
        message = f"No price available for {symbol}"
        message += f": {reason}" if reason else "."
        if last_good is None:
            message += " No earlier price is known."
        else:
            message += f" The last good price is from {last_good.isoformat()}."
        super().__init__(message)

    def details(self) -> dict:
        last_good = self.last_good.isoformat() if self.last_good else None
        return {"symbol": self.symbol, "last_good": last_good}


@dataclass
class QuoteBatch:
    quotes: dict[str, Quote] = field(default_factory=dict)
    errors: dict[str, MarketDataError] = field(default_factory=dict)


# The session's figures a quote may carry (Quote), packed as strings like the price.
DAY_FIGURES = (
    "previous_close",
    "day_high",
    "day_low",
    "market_cap",
    "fifty_two_week_high",
    "fifty_two_week_low",
)


def _text(value) -> str | None:
    return None if value is None else str(value)


def pack(quote: Quote) -> dict:
    # Plain values rather than a pickled dataclass: entries outlive deploys in Redis. Also
    # the body of the live socket's "quote" message (portfolios.live).
    return {
        "symbol": quote.symbol,
        "price": str(quote.price),
        "currency": quote.currency,
        "as_of": quote.as_of.isoformat(),
        "stale": quote.stale,
        **{name: _text(getattr(quote, name)) for name in DAY_FIGURES},
        "change": _text(quote.change),
        "change_percent": _text(quote.change_percent),
        "volume": quote.volume,
    }


def unpack(data: dict, *, stale: bool | None = None) -> Quote:
    # .get: entries cached before the day's figures existed have none.
    return Quote(
        symbol=data["symbol"],
        price=Decimal(data["price"]),
        currency=data["currency"],
        as_of=datetime.fromisoformat(data["as_of"]),
        stale=data["stale"] if stale is None else stale,
        volume=data.get("volume"),
        **{name: None if data.get(name) is None else Decimal(data[name]) for name in DAY_FIGURES},
    )


def _store(quotes: dict[str, Quote]) -> None:
    cache.set_many({quote_key(s): pack(q) for s, q in quotes.items()}, settings.QUOTE_CACHE_TTL)
    live = {last_key(s): pack(q) for s, q in quotes.items() if not q.stale}
    if live:
        cache.set_many(live, settings.QUOTE_LAST_KNOWN_TTL)


def _wait_for(symbols: list[str]) -> dict[str, Quote]:
    """Quotes another process is fetching, once it has stored them (or given up)."""
    deadline = time.monotonic() + settings.QUOTE_LOCK_WAIT_MS / 1000
    found: dict[str, Quote] = {}
    pending = list(symbols)
    while pending:
        stored = cache.get_many([quote_key(s) for s in pending])
        found.update({s: unpack(stored[quote_key(s)]) for s in pending if quote_key(s) in stored})
        pending = [s for s in pending if s not in found]
        if not pending or time.monotonic() >= deadline:
            break
        locked = cache.get_many([lock_key(s) for s in pending])
        pending = [s for s in pending if lock_key(s) in locked]
        if pending:
            time.sleep(POLL_SECONDS)
    return found


def _fetch(symbols: list[str], provider: Provider):
    """(quotes, unknown symbols, failure reason or None) for symbols not in the cache."""
    lock_timeout = max(10, 4 * settings.MARKETDATA_TIMEOUT)
    # The stampede lock spares a remote provider; a local one (demo, offline) is cheaper
    # to ask twice than to lock for, one cache round trip per symbol.
    locking = provider.remote
    mine = [s for s in symbols if not locking or cache.add(lock_key(s), 1, lock_timeout)]
    theirs = [s for s in symbols if s not in mine]
    fresh: dict[str, Quote] = {}
    failure = None
    if mine:
        try:
            fresh = resilience.call(provider, "get_quotes", mine)
        except ProviderUnavailable as exc:
            failure, fresh = str(exc), exc.partial
        finally:
            # Store before unlocking, so that whoever waited finds the quotes.
            if fresh:
                _store(fresh)
            if locking:
                cache.delete_many([lock_key(s) for s in mine])
    unknown = set() if failure else {s for s in mine if s not in fresh}
    if unknown:
        cache.set_many({unknown_key(s): 1 for s in unknown}, settings.QUOTE_CACHE_TTL)
    if theirs:
        fresh.update(_wait_for(theirs))
        if any(s not in fresh for s in theirs):
            failure = failure or "another request is still fetching it."
    return fresh, unknown, failure


def stale_quotes(symbols: Iterable[str]) -> dict[str, Quote]:
    """The best price we have without the provider: the last live quote or the last stored
    close, whichever is newer, marked stale."""
    symbols = list(symbols)
    remembered = cache.get_many([last_key(s) for s in symbols])
    closes = HistoricalStockPrice.objects.latest_closes(symbols)
    result = {}
    for symbol in symbols:
        last = remembered.get(last_key(symbol))
        close = closes.get(symbol)
        if last is not None:
            quote = unpack(last, stale=True)
            if close is None or timezone.localdate(quote.as_of) >= close[0]:
                result[symbol] = quote
                continue
        if close is not None:
            day, price, currency = close
            result[symbol] = Quote(symbol, price, currency, close_timestamp(day), stale=True)
    return result


def _resolve_missing(batch: QuoteBatch, missing: list[str], unknown: set, failure) -> None:
    fallback = stale_quotes(missing)
    batch.quotes.update(fallback)
    left = [s for s in missing if s not in fallback]
    if not left:
        return
    local = set(Instrument.objects.filter(ticker__in=left).values_list("ticker", flat=True))
    for symbol in left:
        if symbol in unknown and symbol not in local:
            batch.errors[symbol] = UnknownSymbol(symbol)
        else:
            reason = failure or "the provider has no price for it."
            batch.errors[symbol] = StockDataException(symbol, reason=reason)


def quote_batch(
    symbols: Iterable[str], *, provider: Provider | None = None, refresh: bool = False
) -> QuoteBatch:
    """Quotes for many symbols, with a reason for each one that has none. `refresh` skips
    the cache read (the periodic refresh uses it)."""
    symbols = list(dict.fromkeys(normalize_symbol(s) for s in symbols if s and s.strip()))
    batch = QuoteBatch()
    for symbol in [s for s in symbols if not is_valid_symbol(s)]:
        batch.errors[symbol] = UnknownSymbol(symbol, f"{symbol!r} is not a ticker symbol.")
    symbols = [s for s in symbols if s not in batch.errors]
    if not symbols:
        return batch
    provider = provider or providers.get_provider()
    known_unknown: set[str] = set()
    if refresh:
        misses = symbols
    else:
        cached = cache.get_many([quote_key(s) for s in symbols] + [unknown_key(s) for s in symbols])
        for symbol in symbols:
            if quote_key(symbol) in cached:
                batch.quotes[symbol] = unpack(cached[quote_key(symbol)])
            elif unknown_key(symbol) in cached:
                known_unknown.add(symbol)
        misses = [s for s in symbols if s not in batch.quotes and s not in known_unknown]
    fresh, unknown, failure = _fetch(misses, provider) if misses else ({}, set(), None)
    batch.quotes.update(fresh)
    missing = [s for s in symbols if s not in batch.quotes]
    if missing:
        _resolve_missing(batch, missing, unknown | known_unknown, failure)
    return batch


def get_quotes(symbols: Iterable[str], *, provider: Provider | None = None) -> dict[str, Quote]:
    """All or nothing: raises the first symbol's UnknownSymbol or StockDataException."""
    batch = quote_batch(symbols, provider=provider)
    if batch.errors:
        raise next(iter(batch.errors.values()))
    return batch.quotes


def get_quotes_lenient(
    symbols: Iterable[str], *, provider: Provider | None = None
) -> dict[str, Quote]:
    """The quotes that can be had; symbols without one are left out (pages show
    "price unavailable" for them)."""
    return quote_batch(symbols, provider=provider).quotes


def get_quote(symbol: str, *, provider: Provider | None = None) -> Quote:
    return get_quotes([symbol], provider=provider)[normalize_symbol(symbol)]
