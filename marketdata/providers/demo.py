"""Deterministic generated market data for `make demo` and tests: real company names, made-up
prices. Every value is a pure function of (symbol, date) or (symbol, 30-second bucket), so
the same question always gets the same answer, whatever range it is asked in, while the
live quote still moves from one refresh to the next."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache, lru_cache

from django.utils import timezone

from marketdata.providers.base import (
    InstrumentInfo,
    Provider,
    Quote,
    UnknownSymbol,
    as_rate,
    fx_symbol,
    normalize_symbol,
    parse_fx_symbol,
)

HISTORY_YEARS = 10
QUOTE_BUCKET_SECONDS = 30
# Prices are anchored near their level at this date and drift away from it either side.
ANCHOR = date(2025, 1, 1)
CENT = Decimal("0.01")
FX_QUANTUM = Decimal("0.000001")

# (period in years, share of the volatility): slow cycles plus faster wiggles, so a chart of
# any length looks like a market rather than a sine wave.
WAVES = ((7.3, 1.0), (3.1, 0.6), (1.2, 0.4), (0.41, 0.22), (0.13, 0.11), (0.045, 0.06))


@dataclass(frozen=True)
class DemoInstrument:
    symbol: str
    name: str
    exchange: str
    currency: str
    isin: str
    price: float  # near this at ANCHOR
    drift: float  # per year, in log terms
    volatility: float
    dividend_yield: float
    dividends_per_year: int


# Columns, separated by two or more spaces: symbol, name, exchange, currency, ISIN, price near
# ANCHOR, drift, volatility, dividend yield, dividends per year.
_TABLE = """
EQNR.OL    Equinor ASA                      OSL  NOK  NO0010096985  260  0.05   0.32  0.05    4
NHY.OL     Norsk Hydro ASA                  OSL  NOK  NO0005052605  65   0.06   0.35  0.05    1
DNB.OL     DNB Bank ASA                     OSL  NOK  NO0010161896  220  0.08   0.25  0.065   1
ORK.OL     Orkla ASA                        OSL  NOK  NO0003733800  105  0.04   0.18  0.04    1
TEL.OL     Telenor ASA                      OSL  NOK  NO0010063308  140  0.01   0.2   0.07    2
MOWI.OL    Mowi ASA                         OSL  NOK  NO0003054108  190  0.07   0.28  0.045   4
YAR.OL     Yara International ASA           OSL  NOK  NO0010208051  360  0.02   0.27  0.04    2
AKRBP.OL   Aker BP ASA                      OSL  NOK  NO0010345853  240  0.06   0.34  0.07    4
SALM.OL    SalMar ASA                       OSL  NOK  NO0010310956  560  0.08   0.3   0.035   1
KOG.OL     Kongsberg Gruppen ASA            OSL  NOK  NO0003043309  300  0.16   0.3   0.02    1
AAPL       Apple Inc.                       NMS  USD  US0378331005  220  0.18   0.28  0.005   4
MSFT       Microsoft Corporation            NMS  USD  US5949181045  420  0.2    0.25  0.008   4
GOOGL      Alphabet Inc.                    NMS  USD  US02079K3059  170  0.15   0.3   0.0     4
AMZN       Amazon.com, Inc.                 NMS  USD  US0231351067  200  0.17   0.33  0.0     4
NVDA       NVIDIA Corporation               NMS  USD  US67066G1040  130  0.35   0.5   0.0005  4
META       Meta Platforms, Inc.             NMS  USD  US30303M1027  580  0.16   0.4   0.003   4
JNJ        Johnson & Johnson                NYQ  USD  US4781601046  155  0.04   0.16  0.03    4
KO         The Coca-Cola Company            NYQ  USD  US1912161007  65   0.05   0.15  0.03    4
BRK-B      Berkshire Hathaway Inc.          NYQ  USD  US0846707026  470  0.11   0.18  0.0     4
SPY        SPDR S&P 500 ETF Trust           PCX  USD  US78462F1030  590  0.1    0.17  0.013   4
VOLV-B.ST  AB Volvo (publ)                  STO  SEK  SE0000115446  270  0.09   0.27  0.05    1
ERIC-B.ST  Telefonaktiebolaget LM Ericsson  STO  SEK  SE0000108656  85   -0.02  0.3   0.03    2
INVE-B.ST  Investor AB (publ)               STO  SEK  SE0015811963  290  0.12   0.2   0.017   2
ATCO-A.ST  Atlas Copco AB                   STO  SEK  SE0017486889  175  0.14   0.26  0.016   2
HSBA.L     HSBC Holdings plc                LSE  GBP  GB0005405286  8.5  0.04   0.25  0.06    2
AZN.L      AstraZeneca PLC                  LSE  GBP  GB0009895292  110  0.1    0.2   0.02    2
SHEL.L     Shell plc                        LSE  GBP  GB00BP6MXD84  26   0.05   0.26  0.04    4
ULVR.L     Unilever PLC                     LSE  GBP  GB00B10RZP78  46   0.03   0.16  0.035   4
SAP.DE     SAP SE                           GER  EUR  DE0007164600  230  0.15   0.26  0.01    1
ASML.AS    ASML Holding N.V.                AMS  EUR  NL0010273215  680  0.2    0.35  0.01    4
"""


def _parse(table: str) -> tuple[DemoInstrument, ...]:
    items = []
    for line in table.strip().splitlines():
        symbol, name, exchange, currency, isin, *numbers = re.split(r"\s{2,}", line.strip())
        price, drift, volatility, dividend_yield, per_year = numbers
        items.append(
            DemoInstrument(
                symbol,
                name,
                exchange,
                currency,
                isin,
                float(price),
                float(drift),
                float(volatility),
                float(dividend_yield),
                int(per_year),
            )
        )
    return tuple(items)


CATALOG = _parse(_TABLE)
# Indices, for a portfolio's benchmark line (issue 15): no ISIN, no dividends (a price
# index). Kept out of CATALOG, which the demo household buys from.
INDICES = (
    DemoInstrument("^OSEBX", "Oslo Børs Benchmark Index", "OSL", "NOK", "", 1400, 0.08, 0.2, 0, 0),
    DemoInstrument("^GSPC", "S&P 500", "SNP", "USD", "", 5900, 0.09, 0.17, 0, 0),
)
BY_SYMBOL = {item.symbol: item for item in (*CATALOG, *INDICES)}

# US dollars per unit near ANCHOR; rates between any two are their ratio, so the generated
# cross rates are consistent (USD->NOK->SEK equals USD->SEK).
CURRENCIES = {"USD": 1.0, "NOK": 0.0885, "SEK": 0.0905, "EUR": 1.04, "GBP": 1.25}
FX_VOLATILITY = {"USD": 0.0, "NOK": 0.07, "SEK": 0.07, "EUR": 0.05, "GBP": 0.06}


def _unit(*parts: object) -> float:
    """A uniform number in [0, 1) fixed by its inputs."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@cache
def _phases(key: str) -> tuple[float, ...]:
    return tuple(2 * math.pi * _unit(key, "phase", i) for i in range(len(WAVES)))


def _years(day: date) -> float:
    return (day - ANCHOR).days / 365.25


def _level(key: str, day: date, volatility: float) -> float:
    t = _years(day)
    waves = sum(
        share * math.sin(2 * math.pi * t / period + phase)
        for (period, share), phase in zip(WAVES, _phases(key), strict=True)
    )
    noise = 0.06 * (2 * _unit(key, day.toordinal()) - 1)
    return volatility * (0.45 * waves + noise)


def _close(item: DemoInstrument, day: date) -> float:
    return item.price * math.exp(
        item.drift * _years(day) + _level(item.symbol, day, item.volatility)
    )


def close_on(symbol: str, day: date) -> Decimal:
    """The demo close of a catalogue symbol on a day (weekends included: the curve is
    continuous, history only lists weekdays)."""
    return Decimal(repr(_close(BY_SYMBOL[symbol], day))).quantize(CENT)


def _usd_value(currency: str, day: date) -> float:
    return CURRENCIES[currency] * math.exp(_level(f"fx:{currency}", day, FX_VOLATILITY[currency]))


def rate_on(base: str, target: str, day: date) -> Decimal:
    """`target` units per one `base` on a day."""
    if base == target:
        return Decimal(1)
    value = _usd_value(base, day) / _usd_value(target, day)
    return Decimal(repr(value)).quantize(FX_QUANTUM)


def dividend_per_share(symbol: str, day: date) -> Decimal:
    """One payment's dividend per share, from the yield and the price that day."""
    item = BY_SYMBOL[symbol]
    per_payment = _close(item, day) * item.dividend_yield / item.dividends_per_year
    return Decimal(repr(per_payment)).quantize(CENT)


def _wiggle(key: str, bucket: int, size: float) -> float:
    # A smooth swing across buckets plus a little jitter: consecutive refreshes differ.
    phase = _phases(key)[0]
    return size * (math.sin(bucket / 7 + phase) + 0.5 * (2 * _unit(key, "tick", bucket) - 1))


def years_before(day: date, years: int) -> date:
    """The same day `years` earlier; 29 February becomes the 28th in a common year."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def weekdays(start: date, end: date) -> list[date]:
    days, day = [], start
    while day <= end:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


QUOTE_WIGGLE = 0.004
# The live price swings at most 1.5 x QUOTE_WIGGLE around the day's close (_wiggle): the
# session's high and low are that band, so every quote of the day lies inside them.
SESSION_BAND = 1.5 * QUOTE_WIGGLE


def _cents(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(CENT)


@lru_cache(maxsize=4096)
def _year_range(symbol: str, today: date) -> tuple[float, float]:
    """The lowest low and highest high of the 52 weeks before today (closes ± the band)."""
    item = BY_SYMBOL[symbol]
    closes = [_close(item, day) for day in weekdays(today - timedelta(days=364), today)]
    return min(closes) * (1 - SESSION_BAND), max(closes) * (1 + SESSION_BAND)


def _session(item: DemoInstrument, today: date, price: float) -> dict:
    """The session's figures of a demo quote, consistent with its price and history:
    previous close = the last weekday's close (what the history lists), low <= price <=
    high, the 52-week range contains today's, market cap = price x a fixed share count."""
    previous = max(day for day in weekdays(today - timedelta(days=7), today - timedelta(days=1)))
    close = _close(item, today)
    low, high = close * (1 - SESSION_BAND), close * (1 + SESSION_BAND)
    year_low, year_high = _year_range(item.symbol, today)
    shares = int(1e8 + 4.9e9 * _unit(item.symbol, "shares"))
    return {
        "previous_close": close_on(item.symbol, previous),
        "day_high": _cents(high),
        "day_low": _cents(low),
        "volume": int(2e5 + 4.8e6 * _unit(item.symbol, "volume", today.toordinal())),
        "market_cap": Decimal(repr(price * shares)).quantize(Decimal(1)),
        "fifty_two_week_high": _cents(max(year_high, high)),
        "fifty_two_week_low": _cents(min(year_low, low)),
    }


def _info(item: DemoInstrument) -> InstrumentInfo:
    return InstrumentInfo(item.symbol, item.name, item.exchange, item.currency, item.isin or None)


class DemoProvider(Provider):
    name = "demo"
    currencies = tuple(CURRENCIES)

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.clock = clock or timezone.now

    def _today(self) -> date:
        return timezone.localdate(self.clock())

    def _window(self, start: date, end: date) -> tuple[date, date]:
        today = self._today()
        return max(start, years_before(today, HISTORY_YEARS)), min(end, today)

    def get_quotes(self, symbols: list[str]) -> dict[str, Quote]:
        now = self.clock()
        bucket = int(now.timestamp()) // QUOTE_BUCKET_SECONDS
        as_of = datetime.fromtimestamp(bucket * QUOTE_BUCKET_SECONDS, tz=UTC)
        today = timezone.localdate(now)
        quotes = {}
        for symbol in dict.fromkeys(normalize_symbol(s) for s in symbols):
            pair = parse_fx_symbol(symbol)
            if symbol in BY_SYMBOL:
                item = BY_SYMBOL[symbol]
                price = _close(item, today) * (1 + _wiggle(symbol, bucket, QUOTE_WIGGLE))
                quotes[symbol] = Quote(
                    symbol,
                    Decimal(repr(price)).quantize(CENT),
                    item.currency,
                    as_of,
                    **_session(item, today, price),
                )
            elif pair and pair[0] in CURRENCIES and pair[1] in CURRENCIES:
                base, target = pair
                value = (_usd_value(base, today) / _usd_value(target, today)) * (
                    1 + _wiggle(symbol, bucket, 0.0005)
                )
                quotes[symbol] = Quote(
                    symbol, Decimal(repr(value)).quantize(FX_QUANTUM), target, as_of
                )
        return quotes

    def get_history(self, symbol: str, start: date, end: date) -> list[tuple[date, Decimal]]:
        symbol = normalize_symbol(symbol)
        if symbol not in BY_SYMBOL:
            raise UnknownSymbol(symbol)
        start, end = self._window(start, end)
        return [(day, close_on(symbol, day)) for day in weekdays(start, end)]

    def get_splits(self, symbol: str, start: date, end: date) -> list[tuple[date, Decimal]]:
        # The generated closes have no split in them, so neither does their history.
        if normalize_symbol(symbol) not in BY_SYMBOL:
            raise UnknownSymbol(symbol)
        return []

    def get_fx_history(
        self, base: str, target: str, start: date, end: date
    ) -> list[tuple[date, Decimal]]:
        base, target = base.upper(), target.upper()
        if base not in CURRENCIES or target not in CURRENCIES:
            raise UnknownSymbol(fx_symbol(base, target))
        start, end = self._window(start, end)
        return [(day, as_rate(rate_on(base, target, day))) for day in weekdays(start, end)]

    def get_info(self, symbol: str) -> InstrumentInfo:
        symbol = normalize_symbol(symbol)
        if symbol not in BY_SYMBOL:
            raise UnknownSymbol(symbol)
        return _info(BY_SYMBOL[symbol])

    def search(self, query: str) -> list[InstrumentInfo]:
        needle = query.strip().upper()
        if not needle:
            return []
        return [
            _info(item)
            for item in (*CATALOG, *INDICES)
            if item.symbol.startswith(needle)
            or needle in item.name.upper()
            or (item.isin and item.isin.startswith(needle))
        ][:10]
