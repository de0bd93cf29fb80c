"""Yahoo Finance through yfinance 1.x.

yfinance is built for notebooks: yf.download() catches every per-symbol exception, logs it
on the "yfinance" logger and hands back all-NaN columns, so a rate limit, a dropped network
and an unknown ticker all look like missing data. We read those log records (from this
thread only) to tell the cases apart, and turn them into UnknownSymbol or
ProviderUnavailable. Note that yf.download is "one call" for us but one HTTP request per
symbol underneath (threaded); the rate limiter in quotes.py counts our calls.
"""

from __future__ import annotations

import ast
import logging
import threading
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import curl_cffi.requests
import pandas as pd
import yfinance as yf
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from yfinance.data import YfData
from yfinance.exceptions import YFRateLimitError, YFTickerMissingError

from marketdata.providers.base import (
    InstrumentInfo,
    Provider,
    ProviderUnavailable,
    Quote,
    UnknownSymbol,
    as_price,
    as_rate,
    close_timestamp,
    fx_symbol,
    major_unit,
    normalize_symbol,
    parse_fx_symbol,
    to_decimal,
)
from marketdata.providers.deadline import bounded

logger = logging.getLogger(__name__)

# Yahoo's quote currency of a symbol ("GBp" for most of London) changes practically never,
# and the download endpoint does not return it, so it is looked up once and remembered.
CURRENCY_TTL = 30 * 24 * 3600
SEARCH_TYPES = {"EQUITY", "ETF", "MUTUALFUND"}
MAX_THREADS = 8

RATE_LIMITED, UNKNOWN, NO_DATA, FAILED = "rate_limited", "unknown", "no_data", "failed"
_RATE_LIMIT_MARKERS = ("YFRateLimitError", "Too Many Requests", "Rate limited")
_UNKNOWN_MARKERS = (
    "HTTP Error 404",
    "YFTzMissingError",
    "no timezone found",
    "symbol may be delisted",
    "Quote not found",
)
_NO_DATA_MARKERS = ("YFPricesMissingError", "no price data found", "Data doesn't exist")

_configured_dir: Path | None = None
_configure_lock = threading.Lock()


def configure_yfinance(data_dir: Path | str) -> None:
    """Point yfinance's own caches (timezones, cookies, ISINs: small SQLite files) under the
    app's data dir instead of the user's home, and make it raise rather than swallow."""
    global _configured_dir
    target = Path(data_dir) / "yfinance"
    with _configure_lock:
        if _configured_dir == target:
            return
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError:
            logger.warning("Cannot create %s; yfinance keeps its default cache folder", target)
        else:
            yf.set_tz_cache_location(str(target))
        # With hidden exceptions yfinance turns a network failure into "possibly delisted",
        # indistinguishable from an unknown symbol.
        yf.config.debug.hide_exceptions = False
        # yfinance still uses pandas' deprecated inplace= arguments; that is its business.
        warnings.filterwarnings("ignore", message="The inplace keyword", module="yfinance")
        # Set once, here: handing yfinance a session per call would wait for its cookie
        # lock, which a hanging cookie request holds.
        YfData(session=BoundedSession(impersonate="chrome"))
        _configured_dir = target


class BoundedSession(curl_cffi.requests.Session):
    """yfinance's session, with no request allowed more than MARKETDATA_TIMEOUT seconds:
    yfinance passes its own 30 s to the cookie and crumb requests whatever we ask for, so
    even a call given up on (providers.deadline) ends soon after."""

    def request(self, method, url, *args, timeout=None, **kwargs):
        limit = settings.MARKETDATA_TIMEOUT
        timeout = limit if not isinstance(timeout, int | float) else min(timeout, limit)
        return super().request(method, url, *args, timeout=timeout, **kwargs)


class _ThreadErrors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # yf.download logs its summary of failures from the calling thread; records from
        # other requests running in parallel threads are not ours.
        if record.thread == self.thread:
            self.messages.append(record.getMessage())


@contextmanager
def captured_errors() -> Iterator[list[str]]:
    handler = _ThreadErrors()
    yf_logger = logging.getLogger("yfinance")
    yf_logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        yf_logger.removeHandler(handler)


def _kind(detail: str) -> str:
    if any(marker in detail for marker in _RATE_LIMIT_MARKERS):
        return RATE_LIMITED
    if any(marker in detail for marker in _UNKNOWN_MARKERS):
        return UNKNOWN
    if any(marker in detail for marker in _NO_DATA_MARKERS):
        return NO_DATA
    return FAILED


def classify_download_errors(messages: list[str], symbols: list[str]) -> dict[str, str]:
    """Symbol -> why it has no data, from yf.download's "['A', 'B']: Error(...)" lines.

    An error line we cannot attribute (a yfinance release that words them differently)
    marks every unexplained symbol as failed: serving a stale price is the safe mistake,
    calling a real ticker unknown is not."""
    kinds: dict[str, str] = {}
    unexplained = False
    for message in messages:
        text = message.strip()
        if not text or (text.endswith(":") and "Failed download" in text):
            continue
        head, sep, detail = text.partition(": ")
        try:
            listed = ast.literal_eval(head) if sep and head.startswith("[") else None
        except (ValueError, SyntaxError):
            listed = None
        if not isinstance(listed, list):
            unexplained = True
            continue
        for symbol in listed:
            kinds[normalize_symbol(str(symbol))] = _kind(detail)
    if unexplained:
        kinds.update({s: FAILED for s in symbols if s not in kinds})
    return kinds


def closes_by_symbol(
    frame: pd.DataFrame | None, symbols: list[str], field: str = "Close"
) -> dict[str, list]:
    """Non-missing (session date, close) pairs per symbol from a yf.download frame (or of
    another of its columns: High, Low, Volume)."""
    if frame is None or frame.empty:
        return {}
    if isinstance(frame.columns, pd.MultiIndex):
        if field not in frame.columns.get_level_values(0):
            return {}
        closes = frame[field]
    else:
        # multi_level_index=False with a single symbol gives plain OHLC columns.
        if field not in frame.columns:
            return {}
        closes = frame[[field]].set_axis([symbols[0]], axis=1)
    result = {}
    for column in closes.columns:
        series = closes[column].dropna()
        if not series.empty:
            result[normalize_symbol(str(column))] = [
                (stamp.date(), value) for stamp, value in series.items()
            ]
    return result


def _in_major(value, divisor: Decimal) -> Decimal | None:
    number = to_decimal(value)
    return None if number is None else as_price(number / divisor)


def _unavailable(kinds: list[str], symbols: list[str], partial=None) -> ProviderUnavailable:
    reason = "rate limit reached" if RATE_LIMITED in kinds else "request failed"
    return ProviderUnavailable(f"Yahoo Finance {reason} for {', '.join(symbols)}.", partial)


def _is_not_found(exc: Exception) -> bool:
    response = getattr(exc, "response", None)
    return isinstance(exc, YFTickerMissingError) or getattr(response, "status_code", None) == 404


class YahooProvider(Provider):
    name = "yahoo"
    remote = True
    currencies = (
        "AUD",
        "BRL",
        "CAD",
        "CHF",
        "CNY",
        "CZK",
        "DKK",
        "EUR",
        "GBP",
        "HKD",
        "ILS",
        "INR",
        "ISK",
        "JPY",
        "KRW",
        "MXN",
        "NOK",
        "NZD",
        "PLN",
        "SEK",
        "SGD",
        "TRY",
        "USD",
        "ZAR",
    )

    def __init__(self) -> None:
        configure_yfinance(settings.DATA_DIR)

    @property
    def timeout(self) -> int:
        return settings.MARKETDATA_TIMEOUT

    def _download(self, symbols: list[str], **period) -> tuple[pd.DataFrame | None, dict]:
        return bounded(self.name, self._download_now, symbols, **period)

    def _download_now(self, symbols: list[str], **period) -> tuple[pd.DataFrame | None, dict]:
        threads = min(len(symbols), MAX_THREADS) if len(symbols) > 1 else False
        with captured_errors() as messages:
            try:
                frame = yf.download(
                    symbols,
                    interval="1d",
                    # Unadjusted closes: dividends are booked as transactions, and a
                    # dividend-adjusted history would count them twice.
                    auto_adjust=False,
                    actions=False,
                    progress=False,
                    threads=threads,
                    # Daily bars: a naive index of each exchange's own session dates.
                    ignore_tz=True,
                    group_by="column",
                    multi_level_index=True,
                    timeout=self.timeout,
                    **period,
                )
            except YFRateLimitError as exc:
                raise ProviderUnavailable("Yahoo Finance rate limit reached.") from exc
            except Exception as exc:
                raise ProviderUnavailable(f"Yahoo Finance download failed: {exc!r}") from exc
        return frame, classify_download_errors(messages, symbols)

    def _currency_of(self, symbol: str) -> str | None:
        try:
            currency = yf.Ticker(symbol).fast_info["currency"]
        except YFRateLimitError as exc:
            raise ProviderUnavailable("Yahoo Finance rate limit reached.") from exc
        except KeyError:
            return None
        except Exception as exc:
            if _is_not_found(exc):
                return None
            raise ProviderUnavailable(f"Yahoo Finance metadata failed: {exc!r}") from exc
        return currency or None

    def _currencies_of(self, symbols: list[str]) -> dict[str, str]:
        with ThreadPoolExecutor(max_workers=min(len(symbols), MAX_THREADS)) as pool:
            found = dict(zip(symbols, pool.map(self._currency_of, symbols), strict=True))
        return {s: c for s, c in found.items() if c}

    def raw_currencies(self, symbols: list[str]) -> dict[str, str]:
        """Yahoo's own currency code per symbol (e.g. "GBp"); unknown symbols left out."""
        result: dict[str, str] = {}
        stocks = []
        for symbol in symbols:
            pair = parse_fx_symbol(symbol)
            if pair:
                result[symbol] = pair[1]
            else:
                stocks.append(symbol)
        remembered = cache.get_many([_currency_key(s) for s in stocks])
        missing = []
        for symbol in stocks:
            if _currency_key(symbol) in remembered:
                result[symbol] = remembered[_currency_key(symbol)]
            else:
                missing.append(symbol)
        if missing:
            found = bounded(self.name, self._currencies_of, missing)
            cache.set_many({_currency_key(s): c for s, c in found.items()}, CURRENCY_TTL)
            result.update(found)
        return result

    def get_quotes(self, symbols: list[str]) -> dict[str, Quote]:
        symbols = list(dict.fromkeys(normalize_symbol(s) for s in symbols))
        if not symbols:
            return {}
        frame, kinds = self._download(symbols, period="5d")
        closes = closes_by_symbol(frame, symbols)
        # The last session's high, low and volume come in the same download; market cap and
        # the 52-week range would cost a request per symbol (Ticker.info): left null.
        session = {
            field: {
                symbol: dict(rows)
                for symbol, rows in closes_by_symbol(frame, symbols, field).items()
            }
            for field in ("High", "Low", "Volume")
        }
        currencies = self.raw_currencies(list(closes))
        today, now = timezone.localdate(), timezone.now()
        quotes = {}
        for symbol, rows in closes.items():
            if symbol not in currencies:
                continue
            day, value = rows[-1]
            currency, divisor = major_unit(currencies[symbol])
            figures = {field: by_day.get(symbol, {}).get(day) for field, by_day in session.items()}
            volume = to_decimal(figures["Volume"])
            quotes[symbol] = Quote(
                symbol=symbol,
                price=as_price(to_decimal(value) / divisor),
                currency=currency,
                # A bar of today's session carries the live price; an older one its close.
                as_of=now if day >= today else close_timestamp(day),
                # The session before the quoted one (the 5-day download has it).
                previous_close=_in_major(rows[-2][1], divisor) if len(rows) > 1 else None,
                day_high=_in_major(figures["High"], divisor),
                day_low=_in_major(figures["Low"], divisor),
                volume=None if volume is None else int(volume),
            )
        failed = [s for s in symbols if s not in closes and kinds.get(s) in (RATE_LIMITED, FAILED)]
        if failed:
            raise _unavailable([kinds[s] for s in failed], failed, partial=quotes)
        return quotes

    def _daily(self, symbol: str, start: date, end: date) -> list[tuple[date, Decimal]]:
        if start > end:
            return []
        # yfinance's end is exclusive.
        frame, kinds = self._download(
            [symbol], start=start.isoformat(), end=(end + timedelta(days=1)).isoformat()
        )
        rows = closes_by_symbol(frame, [symbol]).get(symbol)
        if not rows:
            kind = kinds.get(symbol)
            if kind in (RATE_LIMITED, FAILED):
                raise _unavailable([kind], [symbol])
            if kind == NO_DATA:
                return []
            raise UnknownSymbol(symbol)
        return [(day, to_decimal(value)) for day, value in rows if start <= day <= end]

    def get_history(self, symbol: str, start: date, end: date) -> list[tuple[date, Decimal]]:
        symbol = normalize_symbol(symbol)
        rows = self._daily(symbol, start, end)
        if not rows:
            return []
        raw = self.raw_currencies([symbol]).get(symbol)
        if raw is None:
            raise UnknownSymbol(symbol)
        _, divisor = major_unit(raw)
        return [(day, as_price(value / divisor)) for day, value in rows]

    def get_fx_history(
        self, base: str, target: str, start: date, end: date
    ) -> list[tuple[date, Decimal]]:
        symbol = fx_symbol(base.upper(), target.upper())
        return [(day, as_rate(value)) for day, value in self._daily(symbol, start, end)]

    def _actions(self, symbol: str, start: date, end: date) -> pd.DataFrame | None:
        with captured_errors():
            try:
                return yf.Ticker(symbol).history(
                    start=start.isoformat(),
                    end=(end + timedelta(days=1)).isoformat(),
                    interval="1d",
                    auto_adjust=False,
                    actions=True,
                    timeout=self.timeout,
                )
            except YFRateLimitError as exc:
                raise ProviderUnavailable("Yahoo Finance rate limit reached.") from exc
            except Exception as exc:
                if _is_not_found(exc):
                    raise UnknownSymbol(symbol) from exc
                raise ProviderUnavailable(f"Yahoo Finance splits failed: {exc!r}") from exc

    def get_splits(self, symbol: str, start: date, end: date) -> list[tuple[date, Decimal]]:
        """Yahoo's split events (the chart's `events=splits`, which yfinance reads as the
        "Stock Splits" column: numerator / denominator) dated start to end."""
        symbol = normalize_symbol(symbol)
        if start > end:
            return []
        frame = bounded(self.name, self._actions, symbol, start, end)
        if frame is None or frame.empty or "Stock Splits" not in frame.columns:
            return []
        found = []
        for stamp, ratio in frame["Stock Splits"].items():
            day = stamp.date()
            factor = to_decimal(ratio)
            if factor and factor > 0 and start <= day <= end:
                found.append((day, factor.quantize(SPLIT_QUANTUM)))
        return found

    def _info(self, symbol: str) -> dict | None:
        try:
            return yf.Ticker(symbol).info
        except YFRateLimitError as exc:
            raise ProviderUnavailable("Yahoo Finance rate limit reached.") from exc
        except Exception as exc:
            if _is_not_found(exc):
                raise UnknownSymbol(symbol) from exc
            raise ProviderUnavailable(f"Yahoo Finance metadata failed: {exc!r}") from exc

    def get_info(self, symbol: str) -> InstrumentInfo:
        symbol = normalize_symbol(symbol)
        info = bounded(self.name, self._info, symbol)
        raw = (info or {}).get("currency")
        if not raw:
            raise UnknownSymbol(symbol)
        cache.set(_currency_key(symbol), raw, CURRENCY_TTL)
        return InstrumentInfo(
            symbol=symbol,
            name=info.get("longName") or info.get("shortName") or symbol,
            exchange=info.get("exchange") or info.get("fullExchangeName") or "",
            currency=major_unit(raw)[0],
            isin=None,
        )

    def _search(self, query: str) -> yf.Search:
        try:
            return yf.Search(
                query,
                max_results=10,
                news_count=0,
                lists_count=0,
                include_cb=False,
                recommended=0,
                timeout=self.timeout,
                raise_errors=True,
            )
        except YFRateLimitError as exc:
            raise ProviderUnavailable("Yahoo Finance rate limit reached.") from exc
        except Exception as exc:
            raise ProviderUnavailable(f"Yahoo Finance search failed: {exc!r}") from exc

    def search(self, query: str) -> list[InstrumentInfo]:
        result = bounded(self.name, self._search, query)
        hits = [q for q in result.quotes if q.get("quoteType") in SEARCH_TYPES]
        symbols = [normalize_symbol(q["symbol"]) for q in hits]
        # Search results carry no currency; only what we already know is filled in.
        remembered = cache.get_many([_currency_key(s) for s in symbols])
        infos = []
        for symbol, hit in zip(symbols, hits, strict=True):
            raw = remembered.get(_currency_key(symbol))
            infos.append(
                InstrumentInfo(
                    symbol=symbol,
                    name=hit.get("longname") or hit.get("shortname") or symbol,
                    exchange=hit.get("exchange") or hit.get("exchDisp") or "",
                    currency=major_unit(raw)[0] if raw else "",
                    isin=None,
                )
            )
        return infos


# A split factor as the ledger stores a quantity (6 decimals).
SPLIT_QUANTUM = Decimal("0.000001")


def _currency_key(symbol: str) -> str:
    return f"yahoo-currency:{symbol}"
