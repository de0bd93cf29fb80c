from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from marketdata.providers import demo, get_provider
from marketdata.providers.base import UnknownSymbol, close_timestamp
from marketdata.providers.demo import DemoProvider
from marketdata.providers.offline import OfflineProvider
from tests.factories import (
    HistoricalExchangeRateFactory,
    HistoricalStockPriceFactory,
    InstrumentFactory,
)

MOMENT = datetime(2025, 6, 11, 10, 15, 7, tzinfo=UTC)


def clock_at(moment: datetime):
    return lambda: moment


def test_the_setting_chooses_the_provider(settings):
    settings.MARKETDATA_PROVIDER = "demo"
    assert isinstance(get_provider(), DemoProvider)
    assert get_provider() is get_provider()
    settings.MARKETDATA_PROVIDER = "offline"
    assert isinstance(get_provider(), OfflineProvider)


def test_demo_knows_the_issue_tickers_by_their_real_names():
    expected = {
        "EQNR.OL": ("Equinor ASA", "NOK"),
        "NHY.OL": ("Norsk Hydro ASA", "NOK"),
        "DNB.OL": ("DNB Bank ASA", "NOK"),
        "ORK.OL": ("Orkla ASA", "NOK"),
        "AAPL": ("Apple Inc.", "USD"),
        "MSFT": ("Microsoft Corporation", "USD"),
        "GOOGL": ("Alphabet Inc.", "USD"),
        "VOLV-B.ST": ("AB Volvo (publ)", "SEK"),
        "HSBA.L": ("HSBC Holdings plc", "GBP"),
    }
    provider = DemoProvider()

    for symbol, (name, currency) in expected.items():
        info = provider.get_info(symbol)
        assert (info.name, info.currency) == (name, currency)
    with pytest.raises(UnknownSymbol):
        provider.get_info("NOPE")


def test_demo_quotes_are_the_same_for_the_same_moment_and_move_between_refreshes():
    symbols = ["EQNR.OL", "AAPL", "USDNOK=X", "NOPE"]
    first = DemoProvider(clock_at(MOMENT)).get_quotes(symbols)
    again = DemoProvider(clock_at(MOMENT + timedelta(seconds=5))).get_quotes(symbols)
    later = DemoProvider(clock_at(MOMENT + timedelta(seconds=30))).get_quotes(symbols)

    assert set(first) == {"EQNR.OL", "AAPL", "USDNOK=X"}
    assert first == again
    assert all(later[s].price != first[s].price for s in first)
    assert first["AAPL"].currency == "USD" and first["USDNOK=X"].currency == "NOK"
    assert first["AAPL"].as_of == datetime(2025, 6, 11, 10, 15, tzinfo=UTC)
    assert not first["AAPL"].stale
    # The live quote stays near the day's close.
    close = demo.close_on("AAPL", MOMENT.date())
    assert abs(first["AAPL"].price - close) / close < Decimal("0.01")


def test_demo_history_is_ten_years_of_weekdays_and_the_same_in_any_range():
    provider = DemoProvider(clock_at(MOMENT))
    full = provider.get_history("EQNR.OL", date(2000, 1, 1), date(2030, 1, 1))
    part = provider.get_history("EQNR.OL", date(2020, 3, 2), date(2020, 3, 13))

    assert full[0][0] >= date(2015, 6, 11) and full[0][0] <= date(2015, 6, 15)
    assert full[-1][0] == date(2025, 6, 11)
    assert all(day.weekday() < 5 for day, _ in full)
    assert len(part) == 10
    assert set(part) <= set(full)
    assert all(isinstance(close, Decimal) and close > 0 for _, close in full)
    with pytest.raises(UnknownSymbol):
        provider.get_history("NOPE", date(2020, 1, 1), date(2020, 2, 1))


def test_demo_fx_covers_the_five_currencies_consistently():
    provider = DemoProvider(clock_at(MOMENT))
    day = date(2024, 5, 6)

    for base in ("NOK", "USD", "SEK", "GBP", "EUR"):
        for target in ("NOK", "USD", "SEK", "GBP", "EUR"):
            if base != target:
                [(when, rate)] = provider.get_fx_history(base, target, day, day)
                assert when == day and rate > 0
    usd_nok = demo.rate_on("USD", "NOK", day)
    nok_usd = demo.rate_on("NOK", "USD", day)
    assert Decimal(8) < usd_nok < Decimal(13)
    assert abs(usd_nok * nok_usd - 1) < Decimal("0.00001")
    with pytest.raises(UnknownSymbol):
        provider.get_fx_history("USD", "JPY", day, day)


def test_demo_search_matches_ticker_name_and_isin():
    provider = DemoProvider()

    assert [i.symbol for i in provider.search("eqnr")] == ["EQNR.OL"]
    assert "NHY.OL" in [i.symbol for i in provider.search("hydro")]
    assert [i.symbol for i in provider.search("US0378")] == ["AAPL"]


@pytest.mark.django_db
def test_offline_quotes_are_the_last_stored_closes_marked_stale():
    eqnr = InstrumentFactory(ticker="EQNR.OL", currency="NOK")
    HistoricalStockPriceFactory(instrument=eqnr, date=date(2024, 1, 2), close=Decimal("280.5"))
    HistoricalStockPriceFactory(instrument=eqnr, date=date(2024, 1, 3), close=Decimal("281.25"))
    InstrumentFactory(ticker="NOCLOSE.OL")
    provider = OfflineProvider()

    quotes = provider.get_quotes(["eqnr.ol", "NOCLOSE.OL", "NOPE"])

    assert list(quotes) == ["EQNR.OL"]
    quote = quotes["EQNR.OL"]
    assert (quote.price, quote.currency, quote.stale) == (Decimal("281.25"), "NOK", True)
    assert type(quote.price) is Decimal
    assert quote.as_of == close_timestamp(date(2024, 1, 3))
    assert provider.get_quotes(["EQNR.OL"]) == quotes


@pytest.mark.django_db
def test_offline_history_and_fx_are_only_what_is_stored():
    eqnr = InstrumentFactory(ticker="EQNR.OL")
    HistoricalStockPriceFactory(instrument=eqnr, date=date(2024, 1, 2), close=Decimal("280.5"))
    HistoricalExchangeRateFactory(
        base_currency="USD", target_currency="NOK", date=date(2024, 1, 2), rate=Decimal("10")
    )
    provider = OfflineProvider()

    assert provider.get_history("EQNR.OL", date(2024, 1, 1), date(2024, 1, 31)) == [
        (date(2024, 1, 2), Decimal("280.5"))
    ]
    assert provider.get_fx_history("NOK", "USD", date(2024, 1, 1), date(2024, 1, 31)) == [
        (date(2024, 1, 2), Decimal("0.1"))
    ]
    assert provider.get_info("EQNR.OL").symbol == "EQNR.OL"
    with pytest.raises(UnknownSymbol):
        provider.get_history("NOPE", date(2024, 1, 1), date(2024, 1, 31))
    with pytest.raises(UnknownSymbol):
        provider.get_fx_history("USD", "SEK", date(2024, 1, 1), date(2024, 1, 31))
    with pytest.raises(UnknownSymbol):
        provider.get_info("NOPE")


def test_demo_history_works_on_a_leap_day():
    leap_day = datetime(2028, 2, 29, 12, tzinfo=UTC)
    provider = DemoProvider(lambda: leap_day)
    rows = provider.get_history("EQNR.OL", date(2010, 1, 1), date(2028, 2, 29))
    assert rows[0][0] >= date(2018, 2, 28)
    assert rows[-1][0] == date(2028, 2, 29)


def test_demo_quotes_carry_consistent_session_figures():
    from datetime import UTC, datetime, timedelta

    from marketdata.providers import demo
    from marketdata.providers.demo import DemoProvider, close_on

    clock = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday
    provider = DemoProvider(clock=lambda: clock)
    for bucket in range(20):
        provider.clock = lambda n=bucket: clock + timedelta(seconds=n * demo.QUOTE_BUCKET_SECONDS)
        quote = provider.get_quotes(["EQNR.OL"])["EQNR.OL"]
        assert quote.day_low <= quote.price <= quote.day_high
        assert quote.fifty_two_week_low <= quote.day_low
        assert quote.day_high <= quote.fifty_two_week_high
        # The previous close is the history's close of Tuesday.
        assert quote.previous_close == close_on("EQNR.OL", clock.date() - timedelta(days=1))
        assert quote.change == quote.price - quote.previous_close
        assert quote.volume > 0 and quote.market_cap > 0
    # Currency pairs have no session figures.
    pair = provider.get_quotes(["USDNOK=X"])["USDNOK=X"]
    assert pair.previous_close is None and pair.change is None and pair.change_percent is None
