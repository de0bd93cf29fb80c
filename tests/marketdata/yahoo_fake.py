"""A stand-in for Yahoo Finance's HTTP API, plugged in where yfinance makes its requests
(YfData.get / cache_get), so that yfinance's own parsing, threading and error handling run
for real on canned responses shaped like Yahoo's (chart v8, quoteSummary v10, quote v7,
search v1)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from curl_cffi.requests.exceptions import ConnectionError as CurlConnectionError
from curl_cffi.requests.exceptions import HTTPError
from yfinance.exceptions import YFRateLimitError


@dataclass
class Listing:
    currency: str
    timezone: str
    exchange: str
    name: str
    closes: dict[date, float]
    quote_type: str = "EQUITY"
    open_at: time = time(9, 0)
    # Split events (date -> (numerator, denominator)), sent when the chart asks for them.
    splits: dict[date, tuple[int, int]] = field(default_factory=dict)


class Response:
    def __init__(self, payload: dict, status: int = 200):
        self.status_code = status
        self._payload = payload
        self.text = json.dumps(payload)
        self.url = "https://query2.finance.yahoo.com/"

    def json(self):
        return self._payload

    def raise_for_status(self):
        if self.status_code >= 400:
            raise HTTPError(f"HTTP Error {self.status_code}: ", response=self)


NOT_FOUND_CHART = {
    "chart": {
        "result": None,
        "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"},
    }
}


@dataclass
class FakeYahoo:
    listings: dict[str, Listing] = field(default_factory=dict)
    rate_limited: set[str] = field(default_factory=set)
    offline: set[str] = field(default_factory=set)
    search_hits: list[dict] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)

    def get(self, data, url, params=None, timeout=30):
        path = urlparse(url).path
        parts = path.split("/")
        symbol, kind = parts[-1], parts[3] if len(parts) > 3 else path
        if "/finance/search" in path:
            self.requests.append(("search", params["q"]))
            return Response({"quotes": self.search_hits, "news": [], "lists": [], "nav": []})
        if "/v7/finance/quote" in path:
            symbol = params["symbols"]
        if "fundamentals-timeseries" in path:
            # Ticker.info asks for trailingPegRatio; an empty series is a normal answer.
            return Response({"timeseries": {"result": [], "error": None}})
        self.requests.append((kind, symbol))
        if symbol in self.rate_limited:
            raise YFRateLimitError()
        if symbol in self.offline:
            raise CurlConnectionError("Failed to resolve host: query2.finance.yahoo.com")
        listing = self.listings.get(symbol)
        if "/v8/finance/chart/" in path:
            if listing is None:
                return Response(NOT_FOUND_CHART, 404)
            return Response(self.chart(symbol, listing, params or {}))
        if "/quoteSummary/" in path:
            if listing is None:
                return Response(
                    {"quoteSummary": {"result": None, "error": {"code": "Not Found"}}}, 404
                )
            return Response({"quoteSummary": {"result": [self.summary(listing)], "error": None}})
        if "/v7/finance/quote" in path:
            result = [self.quote(symbol, listing)] if listing else []
            return Response({"quoteResponse": {"result": result, "error": None}})
        raise AssertionError(f"unexpected Yahoo request {url}")

    def chart(self, symbol: str, listing: Listing, params: dict) -> dict:
        zone = ZoneInfo(listing.timezone)
        days = sorted(listing.closes)
        if "period1" in params:
            low = datetime.fromtimestamp(params["period1"], UTC)
            high = datetime.fromtimestamp(params["period2"], UTC)
            days = [d for d in days if low <= self.opening(d, listing) < high]
        else:
            count = {"1d": 1, "5d": 5}.get(params.get("range"), 22)
            days = days[-count:]
        stamps = [int(self.opening(d, listing).timestamp()) for d in days]
        closes = [listing.closes[d] for d in days]
        last = stamps[-1] if stamps else int(datetime.now(UTC).timestamp())
        offset = int(datetime.now(zone).utcoffset().total_seconds())
        period = {"timezone": "CET", "start": last, "end": last + 8 * 3600, "gmtoffset": offset}
        meta = {
            "currency": listing.currency,
            "symbol": symbol,
            "exchangeName": listing.exchange,
            "fullExchangeName": listing.exchange,
            "instrumentType": listing.quote_type,
            "firstTradeDate": 946684800,
            "regularMarketTime": last + 7 * 3600,
            "hasPrePostMarketData": False,
            "gmtoffset": offset,
            "timezone": "CET",
            "exchangeTimezoneName": listing.timezone,
            "regularMarketPrice": closes[-1] if closes else None,
            "chartPreviousClose": closes[0] if closes else None,
            "priceHint": 2,
            "currentTradingPeriod": {"pre": period, "regular": period, "post": period},
            "dataGranularity": params.get("interval", "1d"),
            "range": params.get("range", ""),
            "validRanges": ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"],
        }
        quote = {
            "open": closes,
            "high": closes,
            "low": closes,
            "close": closes,
            "volume": [1000] * len(closes),
        }
        result = {
            "meta": meta,
            "timestamp": stamps,
            "indicators": {"quote": [quote], "adjclose": [{"adjclose": closes}]},
        }
        shown = set(days)
        splits = {
            str(int(self.opening(day, listing).timestamp())): {
                "date": int(self.opening(day, listing).timestamp()),
                "numerator": numerator,
                "denominator": denominator,
                "splitRatio": f"{numerator}:{denominator}",
            }
            for day, (numerator, denominator) in listing.splits.items()
            if day in shown
        }
        if splits and "splits" in params.get("events", ""):
            result["events"] = {"splits": splits}
        if not stamps:
            result = {"meta": meta, "indicators": {"quote": [{}], "adjclose": [{}]}}
        return {"chart": {"result": [result], "error": None}}

    @staticmethod
    def opening(day: date, listing: Listing) -> datetime:
        return datetime.combine(day, listing.open_at, tzinfo=ZoneInfo(listing.timezone))

    @staticmethod
    def summary(listing: Listing) -> dict:
        return {
            "quoteType": {
                "quoteType": listing.quote_type,
                "longName": listing.name,
                "exchange": listing.exchange,
            },
            "summaryDetail": {"currency": listing.currency, "maxAge": 1},
            "assetProfile": {"country": "United Kingdom"},
            "financialData": {"financialCurrency": "USD"},
            "defaultKeyStatistics": {},
        }

    @staticmethod
    def quote(symbol: str, listing: Listing) -> dict:
        last = listing.closes[max(listing.closes)]
        return {
            "symbol": symbol,
            "currency": listing.currency,
            "longName": listing.name,
            "shortName": listing.name.upper(),
            "exchange": listing.exchange,
            "fullExchangeName": listing.exchange,
            "quoteType": listing.quote_type,
            "regularMarketPrice": last,
        }


def weekdays_back(end: date, count: int) -> list[date]:
    days, day = [], end
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    return sorted(days)
