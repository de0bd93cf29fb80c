from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import curl_cffi.requests
import pytest
from django.utils import timezone
from yfinance.data import YfData

from marketdata import resilience
from marketdata.providers.base import InstrumentInfo, Provider, Quote, UnknownSymbol
from tests.marketdata.yahoo_fake import FakeYahoo


class FakeProvider(Provider):
    """A remote-looking provider that records every call and answers from dictionaries."""

    name = "fake"
    remote = True
    currencies = ("NOK", "USD")

    def __init__(self) -> None:
        self.quote_calls: list[list[str]] = []
        self.history_calls: list[tuple] = []
        self.info_calls: list[str] = []
        self.search_calls: list[str] = []
        self.error: Exception | None = None
        self.unknown: set[str] = set()
        self.closes: dict[str, dict[date, Decimal]] = {}
        self.currency_of: dict[str, str] = {}
        self.search_results: list[InstrumentInfo] = []

    @staticmethod
    def price(symbol: str) -> Decimal:
        return Decimal(100 + sum(map(ord, symbol)) % 100) + Decimal("0.125")

    def get_quotes(self, symbols):
        self.quote_calls.append(list(symbols))
        if self.error:
            raise self.error
        now = timezone.now()
        return {
            s: Quote(s, self.price(s), self.currency_of.get(s, "NOK"), now)
            for s in symbols
            if s not in self.unknown
        }

    def _rows(self, key, start, end):
        self.history_calls.append((key, start, end))
        if self.error:
            raise self.error
        if key in self.unknown:
            raise UnknownSymbol(key)
        return [(d, v) for d, v in sorted(self.closes.get(key, {}).items()) if start <= d <= end]

    def get_history(self, symbol, start, end):
        return self._rows(symbol, start, end)

    def get_fx_history(self, base, target, start, end):
        return self._rows(f"{base}{target}=X", start, end)

    def get_info(self, symbol):
        self.info_calls.append(symbol)
        if self.error:
            raise self.error
        if symbol in self.unknown:
            raise UnknownSymbol(symbol)
        return InstrumentInfo(
            symbol, f"{symbol} Holding ASA", "OSL", self.currency_of.get(symbol, "NOK")
        )

    def search(self, query):
        self.search_calls.append(query)
        if self.error:
            raise self.error
        return list(self.search_results)


@pytest.fixture
def provider(settings, monkeypatch):
    """The fake provider, installed as the configured one."""
    fake = FakeProvider()
    settings.MARKETDATA_PROVIDER = "fake"
    monkeypatch.setattr("marketdata.providers._instances", {"fake": fake})
    return fake


@pytest.fixture(autouse=True)
def _fresh_breakers(monkeypatch):
    # Breaker objects cache their state per process; each test starts from a clean cache.
    monkeypatch.setattr(resilience, "_breakers", {})


@pytest.fixture
def today() -> date:
    return timezone.localdate()


@pytest.fixture
def yesterday(today) -> date:
    return today - timedelta(days=1)


@pytest.fixture
def fake_yahoo(settings, monkeypatch, tmp_path):
    """Yahoo's HTTP API faked where yfinance sends its requests; any request that gets past
    it to the real network fails the test."""
    settings.DATA_DIR = tmp_path
    settings.MARKETDATA_PROVIDER = "yahoo"
    monkeypatch.setattr("marketdata.providers._instances", {})
    fake = FakeYahoo()

    def get(self, url, params=None, timeout=30):
        return fake.get(self, url, params, timeout)

    def no_network(*args, **kwargs):
        raise AssertionError("a test tried to reach the network")

    monkeypatch.setattr(YfData, "get", get)
    monkeypatch.setattr(YfData, "cache_get", get)
    monkeypatch.setattr(curl_cffi.requests.Session, "request", no_network)
    return fake
