"""The market-data provider interface (ARCHITECTURE section 6) and the values it returns.

Providers speak plain values: symbols in, Decimals and dates out. They do not write the
quote cache or the price tables (the offline provider only reads them: that is its source);
quotes.py, fx.py and history.py decide what to ask for and what to keep.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_HALF_EVEN, Decimal

from django.utils import timezone

from financedash.lib.errors import AppError
from financedash.lib.money import PRICE, RATE

_PRICE_QUANTUM = Decimal(1).scaleb(-PRICE["decimal_places"])
_RATE_QUANTUM = Decimal(1).scaleb(-RATE["decimal_places"])
PERCENT_QUANTUM = Decimal("0.01")
_FX_SYMBOL = re.compile(r"^([A-Z]{3})([A-Z]{3})=X$")
# Yahoo's alphabet: EQNR.OL, BRK-B, ^GSPC, USDNOK=X, GC=F, M&M.NS, 0P0000TKZM.IR.
# Either case: the API documents it for input that is upper-cased afterwards.
SYMBOL_PATTERN = r"^[A-Za-z0-9^][A-Za-z0-9.\-=^&_]{0,31}$"
_SYMBOL = re.compile(SYMBOL_PATTERN)

# Yahoo quotes some exchanges in the minor unit (London in pence as "GBp", Johannesburg in
# cents, Tel Aviv in agorot). Everything we store and show is in the major unit.
MINOR_UNITS: dict[str, tuple[str, Decimal]] = {
    "GBp": ("GBP", Decimal(100)),
    "GBX": ("GBP", Decimal(100)),
    "ZAc": ("ZAR", Decimal(100)),
    "ILA": ("ILS", Decimal(100)),
}


@dataclass(frozen=True)
class Quote:
    symbol: str
    price: Decimal
    currency: str
    as_of: datetime
    stale: bool = False
    # The session's figures, where the provider has them (None otherwise), in the quote's
    # currency (market cap too); volume in shares.
    previous_close: Decimal | None = None
    day_high: Decimal | None = None
    day_low: Decimal | None = None
    volume: int | None = None
    market_cap: Decimal | None = None
    fifty_two_week_high: Decimal | None = None
    fifty_two_week_low: Decimal | None = None

    @property
    def change(self) -> Decimal | None:
        """Price less the previous close."""
        return None if self.previous_close is None else self.price - self.previous_close

    @property
    def change_percent(self) -> Decimal | None:
        """The change in percent of the previous close, to 2 places (half even)."""
        if not self.previous_close:
            return None
        return (self.change * 100 / self.previous_close).quantize(PERCENT_QUANTUM, ROUND_HALF_EVEN)


@dataclass(frozen=True)
class InstrumentInfo:
    symbol: str
    name: str
    exchange: str
    # Empty when the source does not say (Yahoo's search results carry no currency).
    currency: str
    isin: str | None = None


class MarketDataError(AppError):
    """Base of every market-data failure the rest of the app handles."""

    status_code = 503
    error_code = "market_data_unavailable"


class UnknownSymbol(MarketDataError):
    status_code = 404
    error_code = "unknown_symbol"

    def __init__(self, symbol: str, message: str | None = None):
        self.symbol = symbol
        super().__init__(
            message or f"Unknown symbol {symbol!r}: the market data provider does not know it."
        )

    def details(self) -> dict:
        return {"symbol": self.symbol}


class ProviderUnavailable(MarketDataError):
    """The provider could not answer: network failure, timeout, rate limit or open circuit.

    `partial` holds the quotes it did get before failing, so a batch keeps what it has.
    """

    def __init__(self, message: str = "", partial: dict | None = None):
        super().__init__(message or "The market data provider is unavailable.")
        self.partial = dict(partial or {})


class ProviderTimeout(ProviderUnavailable):
    """The provider did not answer before the call's deadline (providers.deadline)."""


class MissingExchangeRate(MarketDataError):
    status_code = 400
    error_code = "missing_exchange_rate"

    def __init__(self, base: str, target: str, on_date: date | None = None):
        self.base, self.target, self.on_date = base, target, on_date
        when = f" on or before {on_date.isoformat()}" if on_date else ""
        super().__init__(f"No exchange rate {base}->{target}{when} is stored.")

    def details(self) -> dict:
        return {"base": self.base, "target": self.target}


class Provider(ABC):
    name: str = ""
    # Remote providers go through the rate limiter and circuit breaker; local ones need not.
    remote: bool = False
    # A stored-only provider knows nothing beyond the database, so syncing from it is moot.
    stored_only: bool = False
    # ISO codes it can fetch exchange rates for.
    currencies: tuple[str, ...] = ()

    @abstractmethod
    def get_quotes(self, symbols: list[str]) -> dict[str, Quote]:
        """Latest price for each symbol, in one call. Symbols the provider does not know are
        left out; raises ProviderUnavailable when it cannot answer at all."""

    @abstractmethod
    def get_history(self, symbol: str, start: date, end: date) -> list[tuple[date, Decimal]]:
        """Daily closes from start to end, both inclusive, oldest first."""

    @abstractmethod
    def get_fx_history(
        self, base: str, target: str, start: date, end: date
    ) -> list[tuple[date, Decimal]]:
        """Daily closes of `target` units per one `base`, start to end inclusive."""

    def get_splits(self, symbol: str, start: date, end: date) -> list[tuple[date, Decimal]]:
        """The symbol's stock splits dated start to end, as (date, new shares per old share),
        oldest first: 2 for a 2-for-1, 0.1 for a 1-for-10. Not abstract: a provider that
        knows of none answers with none."""
        return []

    @abstractmethod
    def get_info(self, symbol: str) -> InstrumentInfo: ...

    @abstractmethod
    def search(self, query: str) -> list[InstrumentInfo]: ...


def normalize_symbol(symbol: str) -> str:
    return symbol.strip().upper()


def is_valid_symbol(symbol: str) -> bool:
    """Whether a (normalized) symbol could be a ticker at all. Anything else is unknown
    without asking the provider, and never becomes a cache key."""
    return bool(_SYMBOL.match(symbol))


def fx_symbol(base: str, target: str) -> str:
    return f"{base}{target}=X"


def parse_fx_symbol(symbol: str) -> tuple[str, str] | None:
    match = _FX_SYMBOL.match(symbol)
    return (match.group(1), match.group(2)) if match else None


def to_decimal(value) -> Decimal | None:
    """A provider's float (or numpy float) as an exact Decimal of its shortest repr;
    None for NaN/inf, which is how pandas marks a missing value."""
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        return None
    return Decimal(repr(number))


def as_price(value: Decimal) -> Decimal:
    return value.quantize(_PRICE_QUANTUM)


def as_rate(value: Decimal) -> Decimal:
    return value.quantize(_RATE_QUANTUM)


def major_unit(currency: str) -> tuple[str, Decimal]:
    """(ISO currency, divisor) for a provider's currency code: GBp -> (GBP, 100)."""
    return MINOR_UNITS.get(currency, (currency.upper(), Decimal(1)))


def close_timestamp(day: date) -> datetime:
    """The as-of time given to a daily close: the start of its day, local time. Only the
    date is meaningful; a close can be newer than an intraday quote of the same day."""
    return timezone.make_aware(datetime.combine(day, time.min))
