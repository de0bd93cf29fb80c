"""Loads what portfolios.performance needs for one portfolio, and the household's sum;
the arithmetic is there.

The fast read path (issue 9): each instrument's closes and each stored currency pair's
rates are read once per request for the whole household, not once per portfolio, and
never through the ORM's per-row Decimal conversion: a raw cursor reads them into numpy
(ordinals and integer units, exact: see _units_of), and the compact series is kept in the
shared cache (django's default: the database or Redis, so every process and the nightly
pre-warm share it) under the market-data version stamp. A request after a new transaction
reads only that portfolio's transactions again; one after a price update reads the closes
once and caches them for the next. The transactions of all portfolios come in one query:
the instrument ones (with the splits after the period's end: the closes are adjusted for
them) and every transaction's cash movement, which a portfolio that tracks cash adds to
its value, its deposits and withdrawals being its flows (section 5b).

Each instrument's last close before the window and each currency's last rate before it
count, so a day's value never depends on how far back the period starts.

When the period ends today, today's point is the live valuation: the quotes and rates of
portfolios.valuation.summarize stand as today's close and rate, so the chart's last point
is the live table's total value.

Nothing stored makes these fail: a performance that cannot be computed comes back with
its `error` set and no figures (the page and the API say so).
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from operator import itemgetter

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import CharField, Q
from django.db.models.functions import Cast
from django.dispatch import Signal
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext

from financedash.lib import versions
from financedash.lib.cache import results
from marketdata import fx, history, quotes
from marketdata.models import HistoricalExchangeRate, HistoricalStockPrice, Instrument
from marketdata.providers.base import MarketDataError
from portfolios import backfill, valuation
from portfolios.benchmark import simulate
from portfolios.models import Holding, Portfolio, Transaction
from portfolios.performance import (
    EARLIEST,
    Cash,
    Household,
    Part,
    Performance,
    PortfolioDays,
    Series,
    Trades,
    carried_forward,
    combine,
    decimal_units,
    performance_of,
    portfolio_days,
    unit_array,
)

logger = logging.getLogger(__name__)

# Sent after the nightly close and rate import (portfolios.market.sync_held_history): the
# shell pre-warms the performances people open first.
history_synced = Signal()

_DAY = timedelta(days=1)
# date.toordinal() of 1970-01-01, numpy's day 0.
_EPOCH = 719163
# The compact series live a day at most: a new stamp makes them unreachable anyway.
SERIES_TTL = 24 * 3600
_NONE = Series.of([])
_NO_TRADES = Trades(
    [], [], [], [], {name: [] for name in Trades.COLUMNS}, dict.fromkeys(Trades.COLUMNS, 0)
)

Daily = list[tuple[date, Decimal]]


@dataclass(frozen=True)
class Live:
    """Today's quotes and rates of the live valuation: instrument id -> price, and
    currency -> rate into the portfolio's currency."""

    prices: dict[int, Decimal]
    rates: dict[str, Decimal]

    def stamp(self) -> str:
        text = repr(sorted(self.prices.items())) + repr(sorted(self.rates.items()))
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def live_inputs(summary: valuation.PortfolioSummary) -> Live:
    """The quotes and rates the live table valued each holding with."""
    prices, rates = {}, {}
    for row in summary.holdings:
        if row.error is None and row.current_price is not None and row.fx_rate is not None:
            prices[row.instrument_id] = row.current_price
            if row.instrument_currency != summary.currency:
                rates[row.instrument_currency] = row.fx_rate
    return Live(prices, rates)


def _live_for(portfolio: Portfolio, summary: valuation.PortfolioSummary | None) -> Live | None:
    try:
        return live_inputs(summary or valuation.summarize([portfolio])[0])
    except Exception:  # a live quote that fails must not fail the history
        logger.exception("Live valuation of portfolio %s failed", portfolio.pk)
        return None


# Raw reads -------------------------------------------------------------------------------


def _raw(queryset) -> list[tuple]:
    """The rows of a values_list queryset without Django's per-row converters."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _ordinals(values: Sequence) -> np.ndarray:
    """Dates (SQLite: ISO text; PostgreSQL: date) as ordinals."""
    if values and isinstance(values[0], str):
        return np.array(values, dtype="datetime64[D]").astype(np.int64) + _EPOCH
    return np.array([day.toordinal() for day in values], dtype=np.int64)


def _fast_units(values: Sequence, model, name: str) -> tuple[np.ndarray, int] | None:
    """A decimal column's raw values as integer units at the fewest decimals that hold
    them all, exactly the Decimals the ORM would read, without making one per row; None
    when a value is out of the column's shape.

    SQLite keeps a decimal as a float (or an integer); a value of the column's shape (at
    most 15 digits) is the float nearest to it, so rint(x * 10^places) is its units
    exactly, which the round trip checks. PostgreSQL answers Decimals of the shape."""
    places = model._meta.get_field(name).decimal_places
    if values and isinstance(values[0], Decimal):
        if not all(v.is_finite() for v in values):
            return None
        return _trim(unit_array([int(v.scaleb(places)) for v in values]), places)
    try:
        floats = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if len(floats) and not np.abs(floats).max() < 1e15 / 10**places:
        return None
    units = np.rint(floats * 10**places).astype(np.int64)
    # SQLite's text-to-float conversion is not always the nearest float (7.154779 may be
    # kept as 7.1547789999999996): those few rows take the ORM's own converter.
    for j in np.flatnonzero(units / 10**places != floats).tolist():
        converted = _converted(values[j], model, name)
        if converted is None or not converted.is_finite():
            return None
        exact = converted.scaleb(places)
        if exact != exact.to_integral_value():
            return None
        units[j] = int(exact)
    return _trim(units, places)


def _converted(value, model, name: str) -> Decimal:
    """The Decimal the ORM reads for a raw value of the column."""
    column = model._meta.get_field(name)
    col = column.get_col(model._meta.db_table)
    return connection.ops.get_decimalfield_converter(col)(value, col, connection)


def _units_of(values: Sequence, model, name: str) -> tuple[np.ndarray, int]:
    """_fast_units, or for values out of shape (only SQLite keeps them) the ORM's own
    converter and exact integer arithmetic."""
    fast = _fast_units(values, model, name)
    if fast is not None:
        return fast
    decimals = [_converted(v, model, name) for v in values]
    if any(d is None for d in decimals):
        raise ValueError(f"A {name} is missing.")
    units, scale = decimal_units(decimals)
    return unit_array(units), scale


def _trim(units: np.ndarray, places: int) -> tuple[np.ndarray, int]:
    """Fewer decimals when every value allows: smaller units keep products in int64."""
    while places and len(units) and not (units % 10).any():
        units = units // 10
        places -= 1
    return units, places


def _iso(field_name: str) -> Cast:
    # The date as text: a declared date column would be parsed into a date per row.
    return Cast(field_name, output_field=CharField())


def load_trades(
    portfolio_ids: Iterable[int], end: date, stamps: dict[int, str] | None = None
) -> dict[int, Trades | Exception]:
    """Each portfolio's transactions up to `end`, in date order: one query for all. The
    instrument transactions are the Trades, with the splits after `end` too (the stored
    closes are adjusted for them); every transaction's cash movement is its `cash`
    (Cash), which counts when the portfolio tracks cash (section 5b).

    With the portfolios' version stamps, each portfolio's are kept in the shared cache
    under its stamp: after a new transaction only that portfolio's are read again."""
    portfolio_ids = list(portfolio_ids)
    # v2: the Trades carry their Cash (an entry of the shape before has none).
    keys = {pk: f"trades:v2:{pk}:{stamps[pk]}:{end.isoformat()}" for pk in (stamps or {})}
    found = _cache_get(list(keys.values())) if keys else {}
    loaded = {pk: found[key] for pk, key in keys.items() if key in found}
    missing = [pk for pk in portfolio_ids if pk not in loaded]
    if not missing:
        return _current_currencies(loaded)
    rows = _raw(
        Transaction.objects.filter(
            Q(date__lte=end) | Q(type=Transaction.Type.SPLIT), portfolio_id__in=missing
        )
        .annotate(day=_iso("date"))
        .order_by("date", "id")
        .values_list(
            "portfolio_id",
            "day",
            "type",
            "holding__instrument_id",
            "holding__instrument__currency",
            "quantity",
            "price",
            "fees",
            "exchange_rate",
            "total_amount",
        )
    )
    by_portfolio: dict[int, list[tuple]] = defaultdict(list)
    for row in rows:
        by_portfolio[row[0]].append(row)
    fresh = {}
    for pk in missing:
        try:
            fresh[pk] = _trades(by_portfolio[pk]) if pk in by_portfolio else _NO_TRADES
        except (ArithmeticError, ValueError, TypeError) as exc:
            # That portfolio's performance says so (_days_for raises it); not cached.
            fresh[pk] = exc
    _cache_set(
        {keys[pk]: fresh[pk] for pk in missing if pk in keys and isinstance(fresh[pk], Trades)},
        SERIES_TTL,
    )
    return {**_current_currencies(loaded), **fresh}


def _current_currencies(loaded: dict[int, Trades]) -> dict[int, Trades]:
    """Cached transactions with their instruments' currencies as they are now: editing an
    instrument's currency moves no version stamp (one small query)."""
    ids = {key for trades in loaded.values() for key in trades.instruments if key is not None}
    if not ids:
        return loaded
    current = dict(Instrument.objects.filter(pk__in=ids).values_list("pk", "currency"))
    fixed = {}
    for pk, trades in loaded.items():
        codes = [
            current.get(key, code)
            for key, code in zip(trades.instruments, trades.currencies, strict=True)
        ]
        fixed[pk] = trades if codes == trades.currencies else trades.with_currencies(codes)
    return fixed


def _cache_get(keys: list[str]) -> dict:
    """A cache that fails is a miss: the database answers."""
    try:
        return cache.get_many(keys)
    except Exception:
        logger.exception("Performance input cache unavailable")
        return {}


def _cache_set(entries: dict, timeout: int) -> None:
    if not entries:
        return
    try:
        cache.set_many(entries, timeout)
    except Exception:
        logger.exception("Performance input cache unavailable")


def _trades(rows: list[tuple]) -> Trades:
    """The instrument transactions as Trades (the cash ones have no instrument), and every
    transaction's cash movement as their Cash."""
    book = _cash(rows)
    rows = [row for row in rows if row[3] is not None]
    if not rows:
        return Trades([], [], [], [], _NO_TRADES.units, _NO_TRADES.scales, cash=book)
    columns = list(zip(*rows, strict=True))
    units, scales = {}, {}
    for name, field_name, values in zip(
        Trades.COLUMNS,
        ("quantity", "price", "fees", "exchange_rate"),
        columns[5:9],
        strict=True,
    ):
        array, scales[name] = _units_of(list(values), Transaction, field_name)
        units[name] = array.tolist()
    return Trades(
        _ordinals(list(columns[1])), columns[2], columns[3], columns[4], units, scales, cash=book
    )


def _cash(rows: list[tuple]) -> Cash:
    """Every transaction's type, date and total_amount (rows in date order) as Cash. An
    amount that cannot be read fails the portfolio's performance only when it tracks cash
    (Cash.check)."""
    columns = list(zip(*rows, strict=True))
    try:
        units, scale = _units_of(list(columns[9]), Transaction, "total_amount")
    except (ArithmeticError, ValueError, TypeError) as exc:
        return Cash.unreadable(str(exc))
    return Cash.booked(columns[2], _ordinals(list(columns[1])), units, scale)


def _series_key(stamp: str, kind: str, name) -> str:
    return f"series:v1:{stamp}:{kind}:{name}"


def _cached_series(kind: str, names: Iterable, load, stamp: str | None = None) -> dict:
    """name -> Series from the shared cache under the market-data stamp, the missing ones
    loaded (load(names) -> {name: Series}) and stored for the next request. A cache that
    fails is a miss: the database answers."""
    names = sorted(set(names), key=str)
    if not names:
        return {}
    stamp = stamp or versions.current(versions.MARKET_DATA)
    keys = {name: _series_key(stamp, kind, name) for name in names}
    found = _cache_get(list(keys.values()))
    series = {name: found[key] for name, key in keys.items() if key in found}
    missing = [name for name in names if name not in series]
    if missing:
        loaded = load(missing)
        series.update(loaded)
        _cache_set({keys[name]: loaded[name] for name in missing}, SERIES_TTL)
    return series


def _series_from_rows(rows: list[tuple], model, name: str) -> dict:
    """(key, date, value) rows in key and date order -> key -> Series. A key whose values
    cannot be read (a stored infinity: only raw SQL makes one) gets a series that says so
    when used: that portfolio's performance fails, not the whole household."""
    if not rows:
        return {}
    keys, days, values = zip(*rows, strict=True)
    ordinals = _ordinals(list(days))
    bounds = [0, *(i for i in range(1, len(keys)) if keys[i] != keys[i - 1]), len(keys)]
    spans = list(zip(bounds, bounds[1:], strict=False))
    fast = _fast_units(values, model, name)
    if fast is not None:
        units, scale = fast
        return {keys[lo]: Series(ordinals[lo:hi], units[lo:hi], scale) for lo, hi in spans}
    series = {}
    for lo, hi in spans:
        try:
            units, scale = _units_of(list(values[lo:hi]), model, name)
        except (ArithmeticError, ValueError, TypeError) as exc:
            series[keys[lo]] = Series.unreadable(f"{keys[lo]}: {exc}")
        else:
            series[keys[lo]] = Series(ordinals[lo:hi], units, scale)
    return series


def closes_for(instruments: Iterable[int], stamp: str | None = None) -> dict[int, Series]:
    """Every stored close of each instrument (compact), shared cache first."""

    def load(missing):
        rows = _raw(
            HistoricalStockPrice.objects.filter(instrument_id__in=missing)
            .annotate(day=_iso("date"))
            .order_by("instrument_id", "date")
            .values_list("instrument_id", "day", "close")
        )
        found = _series_from_rows(rows, HistoricalStockPrice, "close")
        return {pk: found.get(pk, _NONE) for pk in missing}

    return _cached_series("price", instruments, load, stamp)


def _pairs_for(
    pairs: Iterable[tuple[str, str]], stamp: str | None = None
) -> dict[tuple[str, str], Series]:
    """Every stored rate of each (base, target) pair as stored (compact), cache first."""

    def load(names):
        wanted = [tuple(name.split(":")) for name in names]
        rows = _raw(
            HistoricalExchangeRate.objects.filter(
                base_currency__in={b for b, _ in wanted},
                target_currency__in={t for _, t in wanted},
            )
            .annotate(day=_iso("date"))
            .order_by("base_currency", "target_currency", "date")
            .values_list("base_currency", "target_currency", "day", "rate")
        )
        rows = [(f"{b}:{t}", d, r) for b, t, d, r in rows if f"{b}:{t}" in names]
        found = _series_from_rows(rows, HistoricalExchangeRate, "rate")
        return {name: found.get(name, _NONE) for name in names}

    named = _cached_series("fx", {f"{b}:{t}" for b, t in pairs}, load, stamp)
    return {tuple(name.split(":")): series for name, series in named.items()}


def _window(series: Series, start: date, end: date) -> Daily:
    """The stored rows in [start, end] and the last one before start, as Decimals."""
    series.check()
    lo = int(np.searchsorted(series.days, start.toordinal(), side="left"))
    hi = int(np.searchsorted(series.days, end.toordinal(), side="right"))
    part = Series(series.days[max(lo - 1, 0) : hi], series.units[max(lo - 1, 0) : hi], series.scale)
    return part.pairs()


class Rates:
    """Daily rates into a currency over one period, read once per request (load_rates)."""

    def __init__(self, start: date, end: date, stamp: str | None = None):
        self.start, self.end = start, end
        # The market-data stamp, read once per request.
        self.stamp = stamp or versions.current(versions.MARKET_DATA)
        self._known: dict[tuple[str, str], Daily | Exception] = {}
        self._carried: dict[tuple, tuple[Daily, list]] = {}

    def live(self, known: Daily, today: date, rate: Decimal) -> Daily:
        """`known` with today's live rate as today's (the same list for every portfolio
        that has the same pair and live rate, so that carry() shares it too)."""
        key = ("live", id(known), today, rate)
        hit = self._carried.get(key)
        if hit is None or hit[0] is not known:
            hit = (known, [*(row for row in known if row[0] < today), (today, rate)])
            self._carried[key] = hit
        return hit[1]

    def carry(self, known: Daily, first: date, count: int) -> list[Decimal | None]:
        """carried_forward of a rate series, once per request however many portfolios
        use it (the series is kept with the result: its id is not reused meanwhile)."""
        key = (id(known), first, count)
        hit = self._carried.get(key)
        if hit is None or hit[0] is not known:
            hit = (known, carried_forward(sorted(known, key=itemgetter(0)), first, count))
            self._carried[key] = hit
        return hit[1]

    def load(
        self, target: str, currencies: Iterable[str], *, lenient: bool = False
    ) -> dict[str, Daily]:
        """Each currency's daily rates into `target`. A pair whose stored rates cannot be
        read fails the call, or with `lenient` counts as having no rate at all."""
        wanted = set(currencies) - {target}
        todo = {code for code in wanted if (code, target) not in self._known}
        if todo:
            stored = _pairs_for(
                [(code, target) for code in todo] + [(target, code) for code in todo],
                self.stamp,
            )
            for code in todo:
                try:
                    direct = _window(stored[(code, target)], self.start, self.end)
                    inverse = _window(stored[(target, code)], self.start, self.end)
                    self._known[(code, target)] = fx.pair_series(direct, inverse, exact=True)
                except (ArithmeticError, ValueError) as exc:
                    self._known[(code, target)] = exc
        known = {}
        for code in wanted:
            rates = self._known[(code, target)]
            if isinstance(rates, Exception):
                if not lenient:
                    raise rates
                rates = []
            known[code] = rates
        return known


def load_rates(target: str, currencies: Iterable[str], start: date, end: date) -> dict[str, Daily]:
    """Daily rates in `target` per unit of each currency over [start, end], with the last
    one before start. A pair may be stored either way round; the direct one wins on a day
    that has both. A currency with no rate at all maps to []."""
    return Rates(start, end).load(target, currencies)


@dataclass
class Inputs:
    """What portfolio_days takes, as loaded."""

    trades: Trades
    closes: dict[int, Series]
    fx: dict[str, Daily] = field(default_factory=dict)


def _inputs(
    portfolio: Portfolio,
    trades: Trades,
    closes: dict[int, Series],
    rates: Rates,
    live: Live | None,
    end: date,
) -> Inputs:
    own = {key: closes[key] for key in set(trades.instruments) if key in closes}
    foreign = set(trades.currencies) - {portfolio.currency}
    known = dict(rates.load(portfolio.currency, foreign)) if foreign else {}
    inputs = Inputs(trades, own, known)
    if live is not None:
        _add_live(inputs, live, end, rates)
    return inputs


def _add_live(inputs: Inputs, live: Live, today: date, rates: Rates | None = None) -> None:
    """Today's close and rate are the live ones (replacing a close stored for today)."""
    for instrument, price in live.prices.items():
        inputs.closes[instrument] = inputs.closes.get(instrument, _NONE).replacing(today, price)
    for code, rate in live.rates.items():
        if code in inputs.fx:
            if rates is not None:
                inputs.fx[code] = rates.live(inputs.fx[code], today, rate)
            else:
                known = [row for row in inputs.fx[code] if row[0] < today]
                inputs.fx[code] = [*known, (today, rate)]


def live_fingerprint(portfolios: Sequence[Portfolio], *, live: bool = True) -> str:
    """What a performance depends on beyond the version stamps (transactions and holdings:
    the portfolios'; stored prices and rates: the market data's): the currency of each
    instrument (an edit moves no stamp), and for a period ending today (`live`) the quotes
    of the held instruments. Two queries instead of a whole valuation: a cached response's
    key is made of it."""
    held = sorted(
        set(
            Holding.objects.filter(portfolio__in=portfolios).values_list(
                "instrument__ticker", "instrument__currency", "quantity"
            )
        ),
        key=str,
    )
    currencies = sorted({(ticker, code) for ticker, code, _ in held})
    symbols = sorted({ticker for ticker, _, quantity in held if quantity}) if live else []
    prices = quotes.get_quotes_lenient(symbols) if symbols else {}
    # The price's value only: a quote read back from the cache may write it differently.
    text = repr(
        [
            currencies,
            *(
                (symbol, str(prices[symbol].price.normalize()) if symbol in prices else None)
                for symbol in symbols
            ),
        ]
    )
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def response_key(portfolio: Portfolio, start: date, end: date) -> str:
    """The key of the portfolio's serialised performance: the stamps, and for a period
    ending today the quotes the live point is made of."""
    stamps = versions.current_many([versions.portfolio(portfolio.pk), versions.MARKET_DATA])
    live = live_fingerprint([portfolio], live=end == timezone.localdate())
    return ":".join(
        [
            "performance",
            str(portfolio.pk),
            portfolio.currency,
            start.isoformat(),
            end.isoformat(),
            stamps[versions.portfolio(portfolio.pk)],
            stamps[versions.MARKET_DATA],
            live,
        ]
    )


@dataclass(frozen=True)
class Prepared:
    """A portfolio performance's cache key and what it was made from (performance_key)."""

    key: str
    live: Live | None
    stamp: str  # the market data's


def performance_key(
    portfolio: Portfolio,
    start: date,
    end: date,
    *,
    summary: valuation.PortfolioSummary | None = None,
) -> Prepared:
    """The key of the portfolio's performance: its transactions' and the market data's
    version stamps, and (for a period ending today) the live quotes it ends with."""
    live = _live_for(portfolio, summary) if end == timezone.localdate() else None
    stamps = versions.current_many([versions.portfolio(portfolio.pk), versions.MARKET_DATA])
    key = ":".join(
        [
            "performance",
            str(portfolio.pk),
            portfolio.currency,
            start.isoformat(),
            end.isoformat(),
            stamps[versions.portfolio(portfolio.pk)],
            stamps[versions.MARKET_DATA],
            live.stamp() if live else "-",
        ]
    )
    return Prepared(key, live, stamps[versions.MARKET_DATA])


def performance_for(
    portfolio: Portfolio,
    start: date,
    end: date,
    *,
    summary: valuation.PortfolioSummary | None = None,
    prepared: Prepared | None = None,
) -> Performance:
    """The portfolio's performance, cached until its transactions, any stored price or
    rate, or (for a period ending today) a live quote change (financedash.lib.versions).
    `summary` is the portfolio's live valuation when the caller has it already."""
    prepared = prepared or performance_key(portfolio, start, end, summary=summary)
    result = results.get(prepared.key)
    if result is None:
        result = compute_for(portfolio, start, end, live=prepared.live, stamp=prepared.stamp)
        results.set(prepared.key, result, settings.HISTORY_CACHE_TTL)
    return result


def compute_for(
    portfolio: Portfolio,
    start: date,
    end: date,
    *,
    live: Live | None = None,
    stamp: str | None = None,
) -> Performance:
    try:
        days = _days_for(portfolio, start, end, live=live, rates=Rates(start, end, stamp))
        return performance_of(days, currency=portfolio.currency, start=start, end=end)
    except (ArithmeticError, ValueError, TypeError) as exc:
        logger.exception("Performance of portfolio %s failed", portfolio.pk)
        return Performance(
            start=start,
            end=end,
            currency=portfolio.currency,
            error=_failed(exc),
        )


def _failed(exc: Exception) -> str:
    return f"The performance could not be computed from the stored data ({exc!r})."


def _days_for(
    portfolio: Portfolio,
    start: date,
    end: date,
    *,
    live: Live | None,
    trades: Trades | None = None,
    closes: dict[int, Series] | None = None,
    rates: Rates | None = None,
) -> PortfolioDays:
    if trades is None:
        trades = load_trades([portfolio.pk], end).get(portfolio.pk, _NO_TRADES)
    if isinstance(trades, Exception):
        raise trades
    rates = rates or Rates(start, end)
    if closes is None:
        closes = closes_for({key for key in trades.instruments if key is not None}, rates.stamp)
    inputs = _inputs(portfolio, trades, closes, rates, live, end)
    return portfolio_days(
        inputs.trades,
        inputs.closes,
        inputs.fx,
        currency=portfolio.currency,
        start=start,
        end=end,
        carry=rates.carry,
        # With cash tracked its value and flows are the account's (section 5b); a
        # portfolio that does not track it is measured on its trades alone.
        cash_movements=_cash_of(trades) if portfolio.track_cash else None,
    )


def _cash_of(trades: Trades) -> Cash | tuple:
    return trades.cash if trades.cash is not None else ()


# The household ---------------------------------------------------------------------------


def _sync_rates(codes: Iterable[str], target: str, start: date, end: date) -> None:
    """Fetch the window's missing rates into the household currency, as far as the
    provider can (history.sync_fx asks only for what is not stored)."""
    for code in codes:
        try:
            history.sync_fx(code, target, start, end)
        except (MarketDataError, ValueError) as exc:
            logger.warning("FX history %s%s not synced: %s", code, target, exc)


def household_performance(
    portfolios: Sequence[Portfolio],
    pension_values: dict[str, list[Decimal]],
    *,
    currency: str,
    start: date,
    end: date,
    summaries: dict[int, valuation.PortfolioSummary] | None = None,
) -> Household:
    """Every portfolio converted at each day's rate into `currency`, and the pensions
    (`pension_values`: currency -> the summed account values on each series day, the
    opening day first, each account at its latest entry on or before the day) beside
    them. A portfolio or pension whose currency has no rate into `currency`, or whose
    performance failed, is left out and named in `missing`.

    One read of everything: the transactions of all portfolios in one query, each
    instrument's closes and each pair's rates once (closes_for, Rates), whatever number of
    portfolios hold them; only the household's own returns are taken, not each
    portfolio's."""
    count = (end - start).days + 2
    opening_day = start - _DAY
    today = end == timezone.localdate()
    if summaries is None and today:
        summaries = {s.portfolio.pk: s for s in valuation.summarize(portfolios)}
    summaries = summaries or {}
    codes = {p.currency for p in portfolios} | set(pension_values)
    _sync_rates(codes - {currency}, currency, start, end)
    rates_in = Rates(start, end)
    known = rates_in.load(currency, codes, lenient=True)
    # Before a currency's first stored rate, that first rate stands in.
    daily = {
        code: carried_forward(known.get(code, []), opening_day, count, before=EARLIEST)
        for code in codes
    }
    daily[currency] = [Decimal(1)] * count
    parts, missing = [], []
    valued = [p for p in portfolios if all(rate is not None for rate in daily[p.currency])]
    stamps = versions.current_many([versions.portfolio(p.pk) for p in valued])
    trades = load_trades(
        [p.pk for p in valued], end, {p.pk: stamps[versions.portfolio(p.pk)] for p in valued}
    )
    closes = closes_for(
        {key for own in trades.values() for key in own.instruments if key is not None},
        rates_in.stamp,
    )
    for portfolio in portfolios:
        rates = daily[portfolio.currency]
        if portfolio not in valued:
            missing.append(
                f"{portfolio.name}: no {portfolio.currency}→{currency} exchange rate is stored."
            )
            continue
        live = _live_for(portfolio, summaries.get(portfolio.pk)) if today else None
        try:
            days = _days_for(
                portfolio,
                start,
                end,
                live=live,
                trades=trades.get(portfolio.pk, _NO_TRADES),
                closes=closes,
                rates=rates_in,
            )
        except (ArithmeticError, ValueError, TypeError) as exc:
            logger.exception("Performance of portfolio %s failed", portfolio.pk)
            missing.append(f"{portfolio.name}: {_failed(exc)}")
            continue
        parts.append(Part(days, rates))
    pensions = [Decimal(0)] * count
    for code, values in pension_values.items():
        rates = daily[code]
        if any(rate is None for value, rate in zip(values, rates, strict=True) if value):
            missing.append(f"Pensions in {code}: no {code}→{currency} exchange rate is stored.")
            continue
        pensions = [
            p + (v * r if v else 0) for p, v, r in zip(pensions, values, rates, strict=True)
        ]
    try:
        return combine(
            parts, currency=currency, start=start, end=end, pensions=pensions, missing=missing
        )
    except (ArithmeticError, ValueError, TypeError) as exc:
        logger.exception("Household performance failed")
        return Household(
            start=start,
            end=end,
            currency=currency,
            missing=missing,
            error=_failed(exc),
        )


# The benchmark line (issue 15) ---------------------------------------------------------


@dataclass(frozen=True)
class BenchmarkLine:
    """An index beside a performance (portfolios.benchmark): a value per series point, or
    none and a `note` saying why the line is left out."""

    symbol: str
    name: str
    values: list[Decimal] = field(default_factory=list)
    twr: Decimal | None = None
    twr_annualized: Decimal | None = None
    note: str | None = None


def benchmark_for(instrument: Instrument | None, result: Performance) -> BenchmarkLine | None:
    """The benchmark line of `result` (a portfolio's or the household's performance) in
    its currency, its closes fetched first when missing. None without a benchmark or
    without figures; a benchmark whose closes or rate are missing comes back with a note
    and no values, never an error."""
    if instrument is None or result.error or not result.series:
        return None
    symbol, name = instrument.ticker, instrument.company_name or instrument.ticker
    opening, count = result.series[0].date, len(result.series)
    status = backfill.ensure_benchmark(instrument, opening, result.end, result.currency)
    if not status.complete:
        return BenchmarkLine(
            symbol,
            name,
            note=gettext("The history of %(symbol)s is still being fetched: its line follows.")
            % {"symbol": symbol},
        )
    try:
        known = _window(closes_for([instrument.pk])[instrument.pk], opening, result.end)
        closes = carried_forward(known, opening, count)
        if instrument.currency != result.currency:
            rates = Rates(result.start, result.end).load(
                result.currency, [instrument.currency], lenient=True
            )[instrument.currency]
            if not rates:
                return BenchmarkLine(
                    symbol,
                    name,
                    note=gettext(
                        "No %(base)s→%(target)s exchange rate is stored: the benchmark "
                        "line is left out."
                    )
                    % {"base": instrument.currency, "target": result.currency},
                )
            daily = carried_forward(rates, opening, count, before=EARLIEST)
            closes = [c * r if c is not None else None for c, r in zip(closes, daily, strict=True)]
        line = simulate(result.series, closes, days=result.days)
    except (ArithmeticError, ValueError, TypeError) as exc:
        logger.exception("Benchmark %s failed", symbol)
        return BenchmarkLine(symbol, name, note=_failed(exc))
    if line.missing_from is not None:
        return BenchmarkLine(
            symbol,
            name,
            note=gettext(
                "No close of %(symbol)s is stored on or before %(date)s: the benchmark line "
                "is left out."
            )
            % {"symbol": symbol, "date": date_format(line.missing_from)},
        )
    return BenchmarkLine(symbol, name, line.values, line.twr, line.twr_annualized)
