"""The yahoo provider against yfinance's real code, with Yahoo's HTTP API faked (see
yahoo_fake), plus the few cases that need yf.download itself replaced."""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
import yfinance as yf
from django.core.cache import cache
from yfinance.cache import _TzDBManager
from yfinance.exceptions import YFRateLimitError

from marketdata.providers import get_provider
from marketdata.providers.base import ProviderUnavailable, UnknownSymbol
from marketdata.providers.yahoo import YahooProvider, classify_download_errors, closes_by_symbol
from tests.marketdata.yahoo_fake import Listing, weekdays_back

pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword")

LAST = date(2024, 3, 15)  # a Friday
DAYS = weekdays_back(LAST, 10)


def closes(start: float, step: float = 1.0) -> dict[date, float]:
    return {day: round(start + i * step, 4) for i, day in enumerate(DAYS)}


@pytest.fixture
def yahoo(fake_yahoo):
    fake_yahoo.listings.update(
        {
            "EQNR.OL": Listing("NOK", "Europe/Oslo", "OSL", "Equinor ASA", closes(280.1)),
            "AAPL": Listing(
                "USD", "America/New_York", "NMS", "Apple Inc.", closes(171.5), open_at=time(9, 30)
            ),
            "HSBA.L": Listing(
                "GBp",
                "Europe/London",
                "LSE",
                "HSBC Holdings plc",
                closes(650.2, 0.4),
                open_at=time(8),
            ),
            "USDNOK=X": Listing(
                "NOK", "Europe/London", "CCY", "USD/NOK", closes(10.5, 0.01), quote_type="CURRENCY"
            ),
        }
    )
    return get_provider()


@pytest.fixture
def download_calls(monkeypatch):
    calls = []
    real = yf.download

    def spy(tickers, **kwargs):
        calls.append((list(tickers), kwargs))
        return real(tickers, **kwargs)

    monkeypatch.setattr(yf, "download", spy)
    return calls


def test_it_points_yfinance_caches_at_the_data_dir(yahoo, settings):
    assert isinstance(yahoo, YahooProvider)
    assert _TzDBManager.get_location() == str(settings.DATA_DIR / "yfinance")
    assert (settings.DATA_DIR / "yfinance").is_dir()
    assert yf.config.debug.hide_exceptions is False


def test_it_quotes_a_batch_in_one_download(yahoo, download_calls):
    quotes = yahoo.get_quotes(["EQNR.OL", "AAPL", "HSBA.L", "USDNOK=X"])

    assert len(download_calls) == 1
    symbols, kwargs = download_calls[0]
    assert sorted(symbols) == ["AAPL", "EQNR.OL", "HSBA.L", "USDNOK=X"]
    assert kwargs["auto_adjust"] is False
    assert kwargs["progress"] is False
    assert quotes["EQNR.OL"].price == Decimal("289.1")
    assert quotes["EQNR.OL"].currency == "NOK"
    assert quotes["AAPL"].price == Decimal("180.5")
    assert quotes["USDNOK=X"].price == Decimal("10.59")
    assert all(isinstance(q.price, Decimal) and not q.stale for q in quotes.values())
    assert quotes["AAPL"].as_of.tzinfo is not None
    assert quotes["AAPL"].as_of.date() == LAST


def test_london_pence_become_pounds(yahoo):
    quote = yahoo.get_quotes(["HSBA.L"])["HSBA.L"]
    history = yahoo.get_history("HSBA.L", DAYS[0], DAYS[1])
    info = yahoo.get_info("HSBA.L")

    assert (quote.price, quote.currency) == (Decimal("6.538"), "GBP")
    assert history == [(DAYS[0], Decimal("6.502")), (DAYS[1], Decimal("6.506"))]
    assert info.currency == "GBP"


def test_the_quote_currency_is_looked_up_once(yahoo, monkeypatch):
    lookups = []
    real = yahoo._currency_of
    monkeypatch.setattr(yahoo, "_currency_of", lambda s: lookups.append(s) or real(s))

    yahoo.get_quotes(["HSBA.L", "AAPL"])
    yahoo.get_quotes(["HSBA.L", "AAPL"])
    yahoo.get_history("HSBA.L", DAYS[0], DAYS[1])

    assert sorted(lookups) == ["AAPL", "HSBA.L"]
    assert cache.get("yahoo-currency:HSBA.L") == "GBp"


def test_history_is_daily_closes_in_the_range(yahoo):
    rows = yahoo.get_history("EQNR.OL", DAYS[2], DAYS[4])

    assert rows == [
        (DAYS[2], Decimal("282.1")),
        (DAYS[3], Decimal("283.1")),
        (DAYS[4], Decimal("284.1")),
    ]


def test_fx_history_asks_for_the_equals_x_pair(yahoo, fake_yahoo):
    rows = yahoo.get_fx_history("usd", "nok", DAYS[0], DAYS[1])

    assert rows == [(DAYS[0], Decimal("10.5")), (DAYS[1], Decimal("10.51"))]
    assert ("chart", "USDNOK=X") in fake_yahoo.requests


def test_a_range_without_trading_days_is_empty_not_unknown(yahoo):
    saturday = LAST + timedelta(days=1)

    assert yahoo.get_history("EQNR.OL", saturday, saturday + timedelta(days=1)) == []


def test_unknown_symbols(yahoo):
    quotes = yahoo.get_quotes(["EQNR.OL", "NOPE"])

    assert list(quotes) == ["EQNR.OL"]
    with pytest.raises(UnknownSymbol):
        yahoo.get_history("NOPE", DAYS[0], DAYS[-1])
    with pytest.raises(UnknownSymbol):
        yahoo.get_info("NOPE")


def test_a_rate_limit_is_provider_unavailable_keeping_what_came_back(yahoo, fake_yahoo):
    fake_yahoo.rate_limited.add("AAPL")

    with pytest.raises(ProviderUnavailable, match="rate limit") as caught:
        yahoo.get_quotes(["EQNR.OL", "AAPL"])

    assert list(caught.value.partial) == ["EQNR.OL"]
    with pytest.raises(ProviderUnavailable):
        yahoo.get_history("AAPL", DAYS[0], DAYS[-1])
    with pytest.raises(ProviderUnavailable):
        yahoo.get_info("AAPL")


def test_a_network_failure_is_not_mistaken_for_an_unknown_symbol(yahoo, fake_yahoo):
    fake_yahoo.offline.add("EQNR.OL")

    with pytest.raises(ProviderUnavailable):
        yahoo.get_quotes(["EQNR.OL"])
    with pytest.raises(ProviderUnavailable):
        yahoo.get_history("EQNR.OL", DAYS[0], DAYS[-1])


def test_info_reads_the_camel_case_keys(yahoo):
    info = yahoo.get_info("eqnr.ol")

    assert (info.symbol, info.name, info.exchange, info.currency) == (
        "EQNR.OL",
        "Equinor ASA",
        "OSL",
        "NOK",
    )


def test_search_keeps_securities_and_fills_known_currencies(yahoo, fake_yahoo):
    fake_yahoo.search_hits = [
        {
            "symbol": "EQNR.OL",
            "shortname": "EQUINOR ASA",
            "longname": "Equinor ASA",
            "exchange": "OSL",
            "exchDisp": "Oslo",
            "quoteType": "EQUITY",
            "typeDisp": "Equity",
        },
        {
            "symbol": "EQNR",
            "shortname": "Equinor ASA",
            "exchange": "NYQ",
            "quoteType": "EQUITY",
            "typeDisp": "Equity",
        },
        {
            "symbol": "EQ=F",
            "shortname": "Equinor future",
            "exchange": "NYM",
            "quoteType": "FUTURE",
            "typeDisp": "Futures",
        },
    ]
    cache.set("yahoo-currency:EQNR.OL", "NOK")

    hits = yahoo.search("equinor")

    assert [(h.symbol, h.name, h.exchange, h.currency) for h in hits] == [
        ("EQNR.OL", "Equinor ASA", "OSL", "NOK"),
        ("EQNR", "Equinor ASA", "NYQ", ""),
    ]


def test_a_rate_limited_search_is_provider_unavailable(yahoo, monkeypatch):
    def limited(*args, **kwargs):
        raise YFRateLimitError()

    monkeypatch.setattr(yf, "Search", limited)

    with pytest.raises(ProviderUnavailable):
        yahoo.search("equinor")


def test_download_raising_directly_is_provider_unavailable(yahoo, monkeypatch):
    def limited(*args, **kwargs):
        raise YFRateLimitError()

    monkeypatch.setattr(yf, "download", limited)

    with pytest.raises(ProviderUnavailable, match="rate limit"):
        yahoo.get_quotes(["EQNR.OL"])


def test_frames_with_a_time_zone_and_gaps_parse(yahoo, monkeypatch):
    # What yf.download(..., ignore_tz=False) returns: one tz-aware index for all symbols,
    # (Price, Ticker) columns, NaN where a symbol has no bar.
    index = pd.DatetimeIndex(
        ["2024-03-14 00:00", "2024-03-14 06:00", "2024-03-15 00:00"], name="Date"
    ).tz_localize("Europe/Oslo")
    columns = pd.MultiIndex.from_product(
        [["Adj Close", "Close", "High", "Low", "Open", "Volume"], ["AAPL", "EQNR.OL"]],
        names=["Price", "Ticker"],
    )
    frame = pd.DataFrame(np.nan, index=index, columns=columns)
    frame[("Close", "EQNR.OL")] = [288.5, np.nan, 289.25]
    frame[("Close", "AAPL")] = [np.nan, 179.5, np.nan]
    monkeypatch.setattr(yf, "download", lambda *a, **k: frame)
    cache.set_many({"yahoo-currency:EQNR.OL": "NOK", "yahoo-currency:AAPL": "USD"})

    quotes = yahoo.get_quotes(["EQNR.OL", "AAPL"])

    assert quotes["EQNR.OL"].price == Decimal("289.25")
    assert quotes["AAPL"].price == Decimal("179.5")
    assert closes_by_symbol(frame, ["AAPL", "EQNR.OL"])["AAPL"] == [(date(2024, 3, 14), 179.5)]


def test_download_error_lines_are_classified():
    kinds = classify_download_errors(
        [
            "\n2 Failed downloads:",
            "['AAPL', 'MSFT']: "
            "YFRateLimitError('Too Many Requests. Rate limited. Try after a while.')",
            "['NOPE']: HTTPError('HTTP Error 404: ')",
            "['EQNR.OL']: YFPricesMissingError('possibly delisted; "
            "no price data found  (1d 2024-03-16 -> 2024-03-17)')",
            "['DNB.OL']: ConnectionError('Failed to resolve host')",
        ],
        ["AAPL", "MSFT", "NOPE", "EQNR.OL", "DNB.OL", "ORK.OL"],
    )

    assert kinds == {
        "AAPL": "rate_limited",
        "MSFT": "rate_limited",
        "NOPE": "unknown",
        "EQNR.OL": "no_data",
        "DNB.OL": "failed",
    }


def test_an_error_line_that_cannot_be_read_fails_rather_than_calls_tickers_unknown():
    kinds = classify_download_errors(
        ["\n1 Failed download:", "AAPL, MSFT -> Too many requests"], ["AAPL", "MSFT"]
    )

    assert kinds == {"AAPL": "failed", "MSFT": "failed"}


def test_splits_are_yahoos_split_events_in_the_range(yahoo, fake_yahoo):
    # Yahoo writes a split as numerator:denominator; the factor is new shares per old.
    fake_yahoo.listings["EQNR.OL"].splits = {DAYS[2]: (2, 1), DAYS[4]: (1, 10)}

    assert yahoo.get_splits("EQNR.OL", DAYS[0], DAYS[5]) == [
        (DAYS[2], Decimal("2")),
        (DAYS[4], Decimal("0.1")),
    ]
    assert yahoo.get_splits("EQNR.OL", DAYS[3], DAYS[5]) == [(DAYS[4], Decimal("0.1"))]


def test_no_splits_is_an_empty_list(yahoo):
    assert yahoo.get_splits("EQNR.OL", DAYS[0], DAYS[5]) == []


def test_quotes_carry_the_sessions_figures_from_the_same_download(yahoo, download_calls):
    quotes = yahoo.get_quotes(["EQNR.OL", "HSBA.L"])
    assert len(download_calls) == 1
    equinor = quotes["EQNR.OL"]
    # The fake's closes rise by 1 a day: 289.1 after 288.1; its high and low are the close,
    # its volume 1000 shares.
    assert equinor.previous_close == Decimal("288.1")
    assert equinor.change == Decimal("1.0")
    # 1.0 / 288.1 x 100 = 0.34710...
    assert equinor.change_percent == Decimal("0.35")
    assert (equinor.day_high, equinor.day_low, equinor.volume) == (
        Decimal("289.1"),
        Decimal("289.1"),
        1000,
    )
    # Not in the download: a request per symbol would be needed.
    assert equinor.market_cap is None
    assert equinor.fifty_two_week_high is None and equinor.fifty_two_week_low is None
    # Pence to pounds like the price: 653.8p after 653.4p.
    london = quotes["HSBA.L"]
    assert (london.previous_close, london.day_high) == (Decimal("6.534"), Decimal("6.538"))
    assert london.change == Decimal("0.004")
