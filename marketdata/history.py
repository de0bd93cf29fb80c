"""Stored daily closes and exchange rates: syncing them from the provider, manual entry,
and the instruments they belong to (resolving a symbol, searching).

A sync asks the provider only for what is not stored: the dates before the first and after
the last stored one (what lies between is taken as complete). Ranges that came back empty
are remembered in the cache, so a listing date, a weekend or a holiday does not send the
same request again and again; the last few days are the exception, because a provider can
publish a close late, and they are retried at most once per HISTORY_CACHE_TTL.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Min, Q
from django.utils import timezone
from django.utils.translation import gettext

from financedash.lib import versions
from financedash.lib.money import PRICE, RATE
from marketdata import fx, providers, resilience
from marketdata.models import (
    HistoricalExchangeRate,
    HistoricalStockPrice,
    Instrument,
    InstrumentSplit,
)
from marketdata.providers.base import (
    InstrumentInfo,
    MarketDataError,
    Provider,
    ProviderUnavailable,
    UnknownSymbol,
    as_price,
    as_rate,
    is_valid_symbol,
    normalize_symbol,
)

logger = logging.getLogger(__name__)

SETTLE_DAYS = 3
COVERAGE_TTL = 90 * 24 * 3600
CURRENCY = re.compile(r"^[A-Z]{3}$")
ONE_DAY = timedelta(days=1)

Range = tuple[date, date]


# Pure range arithmetic ------------------------------------------------------------------


def hull(*ranges: Range | None) -> Range | None:
    present = [r for r in ranges if r is not None]
    if not present:
        return None
    return min(r[0] for r in present), max(r[1] for r in present)


def missing_ranges(start: date, end: date, covered: Range | None) -> list[Range]:
    """What of [start, end] lies outside the covered range (at most two pieces)."""
    if start > end:
        return []
    if covered is None:
        return [(start, end)]
    low, high = covered
    pieces = []
    if start < low:
        pieces.append((start, min(end, low - ONE_DAY)))
    if end > high:
        pieces.append((max(start, high + ONE_DAY), end))
    return pieces


def only_weekend(piece: Range) -> bool:
    """True for a range of Saturdays and Sundays only: no exchange publishes closes then."""
    start, end = piece
    return (end - start).days < 2 and all(
        (start + timedelta(days=i)).weekday() >= 5 for i in range((end - start).days + 1)
    )


def settled_end(piece: Range, last_received: date | None, today: date) -> date:
    """How far a fetched range counts as done: all of it when old enough, otherwise only
    up to what came back (a recent empty day may still be published)."""
    settled = today - timedelta(days=SETTLE_DAYS)
    if piece[1] <= settled:
        return piece[1]
    return max(d for d in (last_received, settled) if d is not None)


# Syncing --------------------------------------------------------------------------------


def _coverage_key(key: str) -> str:
    return f"history-covered:{key}"


def _tail_key(key: str, piece: Range) -> str:
    return f"history-tail:{key}:{piece[1].isoformat()}"


def _is_recent(piece: Range, today: date) -> bool:
    return piece[1] > today - timedelta(days=SETTLE_DAYS)


def prices_key(provider: Provider, ticker: str) -> str:
    return f"prices:{provider.name}:{ticker}"


def fx_key(provider: Provider, base: str, target: str) -> str:
    return f"fx:{provider.name}:{base}{target}"


def unfetched_many(
    wanted: dict[str, tuple[date, date, Range | None]], provider
) -> dict[str, list[Range]]:
    """key -> the pieces of its [start, end] that a sync would ask the provider for now:
    what is neither stored (the given range) nor known to be empty, without weekends and
    without recent days asked for within HISTORY_CACHE_TTL (those may simply not be
    published yet). Empty once a sync has succeeded; what is left after one failed, or was
    never tried, is missing. Two cache reads however many keys: with the database cache
    each read is a query."""
    if provider.stored_only or not wanted:
        return {}
    today = timezone.localdate()
    known = cache.get_many([_coverage_key(key) for key in wanted])
    pieces = {}
    for key, (start, end, stored) in wanted.items():
        covered = hull(stored, known.get(_coverage_key(key)))
        pieces[key] = [
            piece
            for piece in missing_ranges(start, min(end, today - ONE_DAY), covered)
            if not only_weekend(piece)
        ]
    tails = {
        _tail_key(key, piece)
        for key, found in pieces.items()
        for piece in found
        if _is_recent(piece, today)
    }
    asked = set(cache.get_many(list(tails))) if tails else set()
    return {
        key: [p for p in found if not (_is_recent(p, today) and _tail_key(key, p) in asked)]
        for key, found in pieces.items()
    }


def _sync(key: str, start: date, end: date, stored: Range | None, fetch, insert, provider):
    if provider.stored_only:
        return 0
    today = timezone.localdate()
    # Today's "close" is still moving; it is stored once the day is over.
    end = min(end, today - ONE_DAY)
    covered = hull(stored, cache.get(_coverage_key(key)))
    received = 0
    for piece in missing_ranges(start, end, covered):
        if only_weekend(piece):
            covered = hull(covered, piece)
            continue
        tail_key = _tail_key(key, piece)
        recent = _is_recent(piece, today)
        if recent and cache.get(tail_key):
            continue
        try:
            rows = fetch(*piece)
        except UnknownSymbol:
            # The provider has nothing for it (a fund it lacks, a pair it does not quote):
            # manual prices are all there is, and asking again will not change that.
            rows = []
        received += insert(rows)
        if rows:
            versions.bump(versions.MARKET_DATA)
        if recent:
            cache.set(tail_key, True, settings.HISTORY_CACHE_TTL)
        last = max((day for day, _ in rows), default=None)
        done = settled_end(piece, last, today)
        if done >= piece[0]:
            covered = hull(covered, (piece[0], done))
    if covered is not None:
        cache.set(_coverage_key(key), covered, COVERAGE_TTL)
    return received


def sync_prices(
    instrument: Instrument, start: date, end: date, *, provider: Provider | None = None
) -> int:
    """Fetch and store the instrument's missing daily closes in [start, end]; returns the
    number of closes received. Raises ProviderUnavailable."""
    provider = provider or providers.get_provider()
    extent = HistoricalStockPrice.objects.filter(instrument=instrument).aggregate(
        low=Min("date"), high=Max("date")
    )
    stored = (extent["low"], extent["high"]) if extent["low"] else None

    def fetch(low: date, high: date):
        return resilience.call(provider, "get_history", instrument.ticker, low, high)

    def insert(rows) -> int:
        objects = [
            HistoricalStockPrice(instrument=instrument, date=day, close=as_price(close))
            for day, close in rows
            if close >= 0
        ]
        HistoricalStockPrice.objects.bulk_create(objects, ignore_conflicts=True)
        return len(objects)

    key = prices_key(provider, instrument.ticker)
    received = _sync(key, start, end, stored, fetch, insert, provider)
    if received:
        # The splits of the window just fetched come with it (issue 11): its closes are
        # split-adjusted, and the holding page compares the ledger with them.
        sync_splits(instrument, start, end, provider=provider)
    return received


def sync_splits(
    instrument: Instrument, start: date, end: date, *, provider: Provider | None = None
) -> int:
    """Fetch and store the provider's splits of the instrument in [start, end]; a failure
    is logged, not raised: the closes it came with are stored already."""
    provider = provider or providers.get_provider()
    if provider.stored_only:
        return 0
    try:
        rows = resilience.call(provider, "get_splits", instrument.ticker, start, end)
    except MarketDataError as exc:
        logger.warning("Splits of %s not fetched: %s", instrument.ticker, exc)
        return 0
    objects = [
        InstrumentSplit(instrument=instrument, date=day, ratio=ratio)
        for day, ratio in rows
        if ratio > 0 and ratio != 1
    ]
    InstrumentSplit.objects.bulk_create(objects, ignore_conflicts=True)
    return len(objects)


def sync_fx(
    base: str, target: str, start: date, end: date, *, provider: Provider | None = None
) -> int:
    """Fetch and store the missing daily rates of base->target in [start, end]."""
    base, target = base.upper(), target.upper()
    if base == target:
        return 0
    provider = provider or providers.get_provider()
    extent = HistoricalExchangeRate.objects.filter(
        base_currency=base, target_currency=target
    ).aggregate(low=Min("date"), high=Max("date"))
    stored = (extent["low"], extent["high"]) if extent["low"] else None

    def fetch(low: date, high: date):
        return resilience.call(provider, "get_fx_history", base, target, low, high)

    def insert(rows) -> int:
        objects = [
            HistoricalExchangeRate(
                base_currency=base, target_currency=target, date=day, rate=as_rate(rate)
            )
            for day, rate in rows
            if rate > 0
        ]
        HistoricalExchangeRate.objects.bulk_create(objects, ignore_conflicts=True)
        return len(objects)

    key = fx_key(provider, base, target)
    return _sync(key, start, end, stored, fetch, insert, provider)


def price_history(instrument: Instrument, start: date, end: date) -> list[tuple[date, Decimal]]:
    """Stored closes in [start, end], after fetching what is missing. A failing provider
    does not fail the read: what is stored is answered."""
    try:
        sync_prices(instrument, start, end)
    except ProviderUnavailable as exc:
        logger.warning("Price history of %s not synced: %s", instrument.ticker, exc)
    return stored_closes(instrument, start, end)


def stored_closes(instrument: Instrument, start: date, end: date) -> list[tuple[date, Decimal]]:
    return list(
        instrument.prices.filter(date__gte=start, date__lte=end)
        .order_by("date")
        .values_list("date", "close")
    )


def fx_history(base: str, target: str, start: date, end: date) -> list[tuple[date, Decimal]]:
    """Stored base->target rates in [start, end] after a sync, the inverted opposite pair's
    on days only that one has (fx.pair_series)."""
    base, target = clean_currency(base, "base"), clean_currency(target, "target")
    try:
        sync_fx(base, target, start, end)
    except ProviderUnavailable as exc:
        logger.warning("FX history %s%s not synced: %s", base, target, exc)
    rows = HistoricalExchangeRate.objects.filter(date__gte=start, date__lte=end).order_by("date")
    direct = rows.filter(base_currency=base, target_currency=target).values_list("date", "rate")
    inverse = rows.filter(base_currency=target, target_currency=base).values_list("date", "rate")
    return fx.pair_series(direct, inverse)


# Manual entry ---------------------------------------------------------------------------


def clean_currency(value: str | None, field: str = "currency") -> str:
    code = (value or "").strip().upper()
    if not CURRENCY.match(code):
        raise ValidationError(
            {field: f"{value!r} is not a currency: use a three-letter ISO code, e.g. NOK."}
        )
    return code


def _as_date(value) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip())


def clean_rows(
    rows: Iterable, *, field: str, label: str, shape: dict, positive: bool
) -> list[tuple[date, Decimal]]:
    """Validate (date, value) rows, all of them at once: one ValidationError listing every
    bad row by its number, or the rows as (date, Decimal) quantized to the field shape."""
    quantum = Decimal(1).scaleb(-shape["decimal_places"])
    limit = Decimal(10) ** (shape["max_digits"] - shape["decimal_places"])
    errors, cleaned, seen = [], [], {}
    for number, row in enumerate(rows, start=1):
        try:
            raw_day, raw_value = row
        except (TypeError, ValueError):
            errors.append(f"Row {number}: expected a date and a {label}.")
            continue
        try:
            day = _as_date(raw_day)
        except (TypeError, ValueError):
            errors.append(f"Row {number}: {raw_day!r} is not a date (use YYYY-MM-DD).")
            continue
        where = f"Row {number} ({day.isoformat()})"
        try:
            value = Decimal(str(raw_value).strip())
        except (InvalidOperation, ValueError):
            errors.append(f"{where}: {label} {raw_value!r} is not a number.")
            continue
        if not value.is_finite():
            errors.append(f"{where}: {label} {raw_value!r} is not a number.")
        elif positive and value <= 0:
            errors.append(f"{where}: {label} must be greater than 0, got {value}.")
        elif value < 0:
            errors.append(f"{where}: {label} must not be negative, got {value}.")
        elif value >= limit:
            errors.append(f"{where}: {label} {value} is too large.")
        elif day in seen:
            errors.append(f"{where}: the date is also in row {seen[day]}.")
        else:
            seen[day] = number
            cleaned.append((day, value.quantize(quantum)))
    if errors:
        raise ValidationError({field: errors})
    return cleaned


@transaction.atomic
def store_prices(
    instrument_or_symbol: Instrument | str,
    currency: str | None,
    rows: Iterable,
    *,
    only_missing: bool = False,
) -> int:
    """Store manual closes (insert or overwrite per date; with `only_missing`, only the
    days the database has none for: a restored backup never overwrites shared data), all
    or nothing. A symbol not yet known becomes an instrument in the given currency."""
    cleaned = clean_rows(rows, field="prices", label="close", shape=PRICE, positive=False)
    if isinstance(instrument_or_symbol, Instrument):
        instrument = instrument_or_symbol
        if currency:
            _check_currency(instrument, clean_currency(currency))
    else:
        # Staff and operators only (the API checks; import_prices is a shell command).
        instrument = resolve_instrument(instrument_or_symbol, currency, trusted=True)
    HistoricalStockPrice.objects.bulk_create(
        [HistoricalStockPrice(instrument=instrument, date=d, close=c) for d, c in cleaned],
        **_conflicts(only_missing, ["instrument", "date"], ["close"]),
    )
    versions.bump(versions.MARKET_DATA)
    return len(cleaned)


def _conflicts(only_missing: bool, unique: list[str], update: list[str]) -> dict:
    if only_missing:
        return {"ignore_conflicts": True}
    return {"update_conflicts": True, "unique_fields": unique, "update_fields": update}


@transaction.atomic
def store_rates(base: str, target: str, rows: Iterable, *, only_missing: bool = False) -> int:
    """Store manual exchange rates (`target` units per one `base`), all or nothing
    (`only_missing`: as for store_prices)."""
    base, target = clean_currency(base, "base"), clean_currency(target, "target")
    if base == target:
        raise ValidationError({"target": "The two currencies must differ."})
    cleaned = clean_rows(rows, field="rates", label="rate", shape=RATE, positive=True)
    HistoricalExchangeRate.objects.bulk_create(
        [
            HistoricalExchangeRate(base_currency=base, target_currency=target, date=d, rate=r)
            for d, r in cleaned
        ],
        **_conflicts(only_missing, ["base_currency", "target_currency", "date"], ["rate"]),
    )
    versions.bump(versions.MARKET_DATA)
    return len(cleaned)


# Instruments ----------------------------------------------------------------------------


def _check_currency(instrument: Instrument, currency: str | None) -> None:
    if currency and instrument.currency != currency:
        raise ValidationError(
            {"currency": f"{instrument.ticker} is traded in {instrument.currency}, not {currency}."}
        )


def _create(info: InstrumentInfo) -> Instrument:
    instrument, _ = Instrument.objects.get_or_create(
        ticker=info.symbol,
        defaults={
            "company_name": info.name[:200],
            "exchange": info.exchange[:64],
            "currency": info.currency,
            "isin": info.isin,
        },
    )
    return instrument


def resolve_instrument(
    symbol: str,
    currency: str | None = None,
    *,
    provider: Provider | None = None,
    trusted: bool = False,
) -> Instrument:
    """The instrument for a symbol: the stored one, else the provider's description of it
    (stored for next time), else, when the provider does not know it, a new instrument in
    the currency given. Raises UnknownSymbol when there is nothing to go on,
    ProviderUnavailable when the provider cannot be asked, and ValidationError when the
    given currency contradicts what is known (a stored instrument's currency never changes
    here).

    Instruments are shared by every user: while the provider is unavailable a symbol it
    may well know (NVDA) is created from a given currency only for `trusted` callers
    (staff, operator commands); anyone else could otherwise fix its currency for everyone,
    e.g. by exhausting the rate limit first."""
    ticker = normalize_symbol(symbol or "")
    if not is_valid_symbol(ticker):
        raise ValidationError(
            {"symbol": f"{symbol!r} is not a ticker symbol (letters, digits and . - = ^ &)."}
        )
    currency = clean_currency(currency) if currency else None
    instrument = Instrument.objects.filter(ticker=ticker).first()
    if instrument is not None:
        _check_currency(instrument, currency)
        return instrument
    provider = provider or providers.get_provider()
    try:
        info = resilience.call(provider, "get_info", ticker)
    except (UnknownSymbol, ProviderUnavailable) as exc:
        if isinstance(exc, ProviderUnavailable) and not trusted:
            raise
        if currency is None:
            if isinstance(exc, UnknownSymbol):
                raise UnknownSymbol(
                    ticker,
                    gettext(
                        "Unknown symbol %(symbol)r: the market data provider does not know it. "
                        "Give its currency to add it by hand."
                    )
                    % {"symbol": ticker},
                ) from exc
            raise
        return _create(InstrumentInfo(ticker, "", "", currency))
    if not CURRENCY.match(info.currency or ""):
        if currency is None:
            raise UnknownSymbol(
                ticker,
                gettext("The provider does not say what %(symbol)s trades in.")
                % {"symbol": ticker},
            )
        info = InstrumentInfo(info.symbol, info.name, info.exchange, currency, info.isin)
    instrument = _create(InstrumentInfo(ticker, info.name, info.exchange, info.currency, info.isin))
    _check_currency(instrument, currency)
    return instrument


def _local_info(instrument: Instrument) -> InstrumentInfo:
    return InstrumentInfo(
        instrument.ticker,
        instrument.company_name,
        instrument.exchange,
        instrument.currency,
        instrument.isin,
    )


def _provider_search(query: str, provider: Provider) -> list[InstrumentInfo]:
    # Type-ahead sends the same prefixes over and over; a short memo spares the provider.
    digest = hashlib.sha1(query.lower().encode()).hexdigest()
    key = f"search:{provider.name}:{digest}"
    remembered = cache.get(key)
    if remembered is not None:
        return [InstrumentInfo(*fields) for fields in remembered]
    try:
        hits = resilience.call(provider, "search", query)
    except ProviderUnavailable as exc:
        logger.warning("Instrument search for %r without the provider: %s", query, exc)
        return []
    cache.set(
        key,
        [(h.symbol, h.name, h.exchange, h.currency, h.isin) for h in hits],
        settings.HISTORY_CACHE_TTL,
    )
    return hits


def search_instruments(
    query: str, *, limit: int = 20, provider: Provider | None = None
) -> list[InstrumentInfo]:
    """Stored instruments matching the ticker prefix, ISIN prefix or part of the name, best
    first; then the provider's matches. Provider matches whose currency is known are stored,
    so the next search (and a transaction) finds them locally."""
    query = query.strip()
    if not query:
        return []
    needle = query.upper()
    local = list(
        Instrument.objects.filter(
            Q(ticker__istartswith=query)
            | Q(company_name__icontains=query)
            | Q(isin__istartswith=query)
        )[: limit * 2]
    )
    local.sort(key=lambda i: (i.ticker != needle, not i.ticker.startswith(needle), i.ticker))
    results = [_local_info(i) for i in local[:limit]]
    if len(results) >= limit or len(query) < 2:
        return results
    provider = provider or providers.get_provider()
    seen = {r.symbol for r in results}
    found = [h for h in _provider_search(query, provider) if h.symbol not in seen]
    storable = [h for h in found if CURRENCY.match(h.currency)]
    if storable:
        Instrument.objects.bulk_create(
            [
                Instrument(
                    ticker=h.symbol,
                    company_name=h.name[:200],
                    exchange=h.exchange[:64],
                    currency=h.currency,
                    isin=h.isin,
                )
                for h in storable
            ],
            ignore_conflicts=True,
        )
    return (results + found)[:limit]
