from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache

from financedash.lib import ratelimit
from marketdata import quotes, resilience
from marketdata.providers.base import ProviderUnavailable, Quote, UnknownSymbol, close_timestamp
from marketdata.quotes import StockDataException
from tests.factories import HistoricalStockPriceFactory, InstrumentFactory

pytestmark = pytest.mark.django_db


def expire(*symbols: str) -> None:
    """What the cache does to `stock:` entries once QUOTE_CACHE_TTL has passed."""
    cache.delete_many([quotes.quote_key(s) for s in symbols])


def test_a_second_call_within_the_ttl_makes_no_provider_call(provider):
    first = quotes.get_quotes(["EQNR.OL", "DNB.OL"])
    second = quotes.get_quotes(["DNB.OL", "EQNR.OL"])

    assert provider.quote_calls == [["EQNR.OL", "DNB.OL"]]
    assert first == second
    assert isinstance(second["EQNR.OL"].price, Decimal)
    assert second["EQNR.OL"].price == provider.price("EQNR.OL")


def test_an_expired_quote_is_fetched_again(provider, settings):
    settings.QUOTE_CACHE_TTL = 60
    quotes.get_quotes(["EQNR.OL"])
    expire("EQNR.OL")
    quotes.get_quotes(["EQNR.OL"])

    assert provider.quote_calls == [["EQNR.OL"], ["EQNR.OL"]]


def test_a_batch_of_fifty_with_ten_cached_asks_for_the_forty_others_once(provider):
    symbols = [f"SYM{i}.OL" for i in range(50)]
    quotes.get_quotes(symbols[:10])
    provider.quote_calls.clear()

    result = quotes.get_quotes(symbols)

    assert len(result) == 50
    assert provider.quote_calls == [symbols[10:]]


def test_a_failing_provider_serves_the_last_known_price_with_its_time(provider):
    fresh = quotes.get_quote("EQNR.OL")
    expire("EQNR.OL")
    provider.error = ProviderUnavailable("Yahoo is down")

    stale = quotes.get_quote("EQNR.OL")

    assert stale.stale
    assert (stale.price, stale.currency, stale.as_of) == (fresh.price, "NOK", fresh.as_of)


def test_without_a_live_quote_the_stored_close_is_served_stale(provider):
    eqnr = InstrumentFactory(ticker="EQNR.OL")
    HistoricalStockPriceFactory(instrument=eqnr, date=date(2024, 1, 2), close=Decimal("280.5"))
    provider.error = ProviderUnavailable("Yahoo is down")

    quote = quotes.get_quote("EQNR.OL")

    assert (quote.price, quote.stale) == (Decimal("280.5"), True)
    assert type(quote.price) is Decimal
    assert quote.as_of == close_timestamp(date(2024, 1, 2))


def test_the_newer_of_last_quote_and_stored_close_wins(provider):
    eqnr = InstrumentFactory(ticker="EQNR.OL")
    cache.set(
        quotes.last_key("EQNR.OL"),
        quotes.pack(Quote("EQNR.OL", Decimal("270"), "NOK", datetime(2024, 1, 1, 15, tzinfo=UTC))),
    )
    HistoricalStockPriceFactory(instrument=eqnr, date=date(2024, 1, 2), close=Decimal("280.5"))
    provider.error = ProviderUnavailable("Yahoo is down")

    assert quotes.get_quote("EQNR.OL").price == Decimal("280.5")


def test_no_price_ever_known_is_a_stock_data_exception(provider):
    provider.error = ProviderUnavailable("Yahoo is down")

    with pytest.raises(StockDataException) as caught:
        quotes.get_quote("EQNR.OL")

    assert caught.value.symbol == "EQNR.OL"
    assert caught.value.last_good is None
    assert "Yahoo is down" in str(caught.value)
    assert quotes.get_quotes_lenient(["EQNR.OL"]) == {}


def test_one_missing_price_does_not_sink_the_batch(provider):
    quotes.get_quotes(["DNB.OL"])
    expire("DNB.OL")
    provider.error = ProviderUnavailable("Yahoo is down")

    batch = quotes.quote_batch(["DNB.OL", "EQNR.OL"])

    assert list(batch.quotes) == ["DNB.OL"] and batch.quotes["DNB.OL"].stale
    assert isinstance(batch.errors["EQNR.OL"], StockDataException)


def test_partial_results_of_a_failed_batch_are_kept(provider):
    provider.error = ProviderUnavailable(
        "rate limited",
        partial={"DNB.OL": Quote("DNB.OL", Decimal("200"), "NOK", datetime.now(UTC))},
    )

    batch = quotes.quote_batch(["DNB.OL", "EQNR.OL"])

    assert batch.quotes["DNB.OL"].price == Decimal("200")
    assert cache.get(quotes.quote_key("DNB.OL")) is not None
    assert "EQNR.OL" in batch.errors


def test_unknown_symbols_are_remembered_for_the_ttl(provider):
    provider.unknown.add("NOPE")

    with pytest.raises(UnknownSymbol):
        quotes.get_quote("NOPE")
    with pytest.raises(UnknownSymbol):
        quotes.get_quote("nope")

    assert provider.quote_calls == [["NOPE"]]


@pytest.mark.parametrize("junk", ["EQ NR", "ÆØÅ", "a" * 40, "../etc", "AAPL;DROP"])
def test_what_cannot_be_a_ticker_is_unknown_without_asking(provider, junk):
    batch = quotes.quote_batch([junk, "EQNR.OL"])

    assert isinstance(batch.errors[junk.upper()], UnknownSymbol)
    assert provider.quote_calls == [["EQNR.OL"]]


def test_a_symbol_the_provider_lacks_but_we_priced_by_hand_is_served_stale(provider):
    fund = InstrumentFactory(ticker="0P0000TKZM.IR", currency="NOK")
    HistoricalStockPriceFactory(instrument=fund, date=date(2024, 6, 28), close=Decimal("312.4"))
    provider.unknown.add("0P0000TKZM.IR")

    for _ in range(2):
        quote = quotes.get_quote("0P0000TKZM.IR")
        assert (quote.price, quote.stale) == (Decimal("312.4"), True)
    assert len(provider.quote_calls) == 1


def test_a_known_instrument_without_any_price_is_503_not_404(provider):
    InstrumentFactory(ticker="NEW.OL")
    provider.unknown.add("NEW.OL")

    with pytest.raises(StockDataException):
        quotes.get_quote("NEW.OL")


def test_a_symbol_another_process_is_fetching_is_waited_for(provider, settings):
    settings.QUOTE_LOCK_WAIT_MS = 2000
    if settings.CACHES["default"]["BACKEND"].endswith("DatabaseCache"):
        # The other process is a thread here, with a database connection of its own that
        # cannot see the test's uncommitted transaction; memory is what threads share.
        settings.CACHES = {
            **settings.CACHES,
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        }
    cache.add(quotes.lock_key("EQNR.OL"), 1)
    other = Quote("EQNR.OL", Decimal("281"), "NOK", datetime.now(UTC))

    def other_process_finishes():
        cache.set(quotes.quote_key("EQNR.OL"), quotes.pack(other))
        cache.delete(quotes.lock_key("EQNR.OL"))

    timer = threading.Timer(0.15, other_process_finishes)
    timer.start()
    try:
        result = quotes.get_quotes(["EQNR.OL", "DNB.OL"])
    finally:
        timer.join()

    assert provider.quote_calls == [["DNB.OL"]]
    assert result["EQNR.OL"] == other


def test_a_fetch_that_never_finishes_elsewhere_falls_back(provider, settings):
    settings.QUOTE_LOCK_WAIT_MS = 100
    cache.add(quotes.lock_key("EQNR.OL"), 1)
    eqnr = InstrumentFactory(ticker="EQNR.OL")
    HistoricalStockPriceFactory(instrument=eqnr, date=date(2024, 1, 2), close=Decimal("280.5"))

    quote = quotes.get_quote("EQNR.OL")

    assert provider.quote_calls == []
    assert (quote.price, quote.stale) == (Decimal("280.5"), True)


def test_the_lock_is_released_after_a_failure(provider):
    provider.error = ProviderUnavailable("down")
    quotes.get_quotes_lenient(["EQNR.OL"])

    assert cache.get(quotes.lock_key("EQNR.OL")) is None


def test_the_circuit_opens_after_repeated_failures_and_closes_after_the_cool_off(
    provider, settings
):
    settings.MARKETDATA_BREAKER_FAILURES = 3
    settings.MARKETDATA_BREAKER_RESET = 60
    provider.error = ProviderUnavailable("Yahoo is down")

    for _ in range(5):
        quotes.get_quotes_lenient(["EQNR.OL"])

    assert len(provider.quote_calls) == 3
    assert ratelimit.CacheBreakerStorage("fake").state == "open"

    # Another worker process shares the state through the cache.
    resilience._breakers.clear()
    quotes.get_quotes_lenient(["EQNR.OL"])
    assert len(provider.quote_calls) == 3

    # The cool-off passes: one trial call goes through, succeeds, and closes the circuit.
    opened = datetime.now(UTC) - timedelta(seconds=61)
    ratelimit.CacheBreakerStorage("fake").opened_at = opened
    provider.error = None
    assert quotes.get_quote("EQNR.OL").stale is False
    assert len(provider.quote_calls) == 4
    assert ratelimit.CacheBreakerStorage("fake").state == "closed"


def test_a_failed_trial_call_opens_the_circuit_again(provider, settings):
    settings.MARKETDATA_BREAKER_FAILURES = 2
    provider.error = ProviderUnavailable("Yahoo is down")
    for _ in range(2):
        quotes.get_quotes_lenient(["EQNR.OL"])
    storage = ratelimit.CacheBreakerStorage("fake")
    storage.opened_at = datetime.now(UTC) - timedelta(seconds=settings.MARKETDATA_BREAKER_RESET + 1)

    quotes.get_quotes_lenient(["EQNR.OL"])
    quotes.get_quotes_lenient(["EQNR.OL"])

    assert len(provider.quote_calls) == 3
    assert ratelimit.CacheBreakerStorage("fake").state == "open"


def test_unknown_symbols_do_not_count_as_failures(provider, settings):
    settings.MARKETDATA_BREAKER_FAILURES = 2
    provider.unknown.update({"A", "B", "C"})

    for symbol in ("A", "B", "C"):
        with pytest.raises(UnknownSymbol):
            quotes.get_quote(symbol)

    assert ratelimit.CacheBreakerStorage("fake").state == "closed"


def test_the_rate_limiter_stops_calls_over_the_budget(provider, settings, monkeypatch):
    settings.MARKETDATA_RATE_LIMIT = 2
    settings.MARKETDATA_RATE_WINDOW = 60
    monkeypatch.setattr(ratelimit, "clock", lambda: 6000.0)

    for symbol in ("A", "B", "C"):
        quotes.get_quotes_lenient([symbol])
    assert provider.quote_calls == [["A"], ["B"]]

    monkeypatch.setattr(ratelimit, "clock", lambda: 6060.0)
    quotes.get_quotes_lenient(["C"])
    assert provider.quote_calls[-1] == ["C"]
    # Being over the local budget is not a provider failure.
    assert ratelimit.CacheBreakerStorage("fake").counter == 0


def test_a_refresh_bypasses_the_cache(provider):
    quotes.get_quotes(["A"])

    quotes.quote_batch(["A"], refresh=True)

    assert provider.quote_calls == [["A"], ["A"]]


def test_offline_quotes_come_from_the_database(settings):
    settings.MARKETDATA_PROVIDER = "offline"
    eqnr = InstrumentFactory(ticker="EQNR.OL")
    HistoricalStockPriceFactory(instrument=eqnr, date=date(2024, 1, 2), close=Decimal("280.5"))

    quote = quotes.get_quote("EQNR.OL")

    assert (quote.price, quote.stale) == (Decimal("280.5"), True)
    with pytest.raises(UnknownSymbol):
        quotes.get_quote("NOPE")


class TestPatientBackgroundJobs:
    """The nightly sync makes one call per instrument: over the limit it must wait for the
    next window, not skip the rest, and it must leave half of each window to requests."""

    @pytest.fixture
    def fake_time(self, monkeypatch, settings):
        settings.MARKETDATA_RATE_LIMIT = 4
        settings.MARKETDATA_RATE_WINDOW = 60
        now = {"t": 6000.0}
        slept = []
        monkeypatch.setattr(ratelimit, "clock", lambda: now["t"])

        def sleep(seconds):
            slept.append(seconds)
            now["t"] += seconds

        monkeypatch.setattr(ratelimit, "sleep", sleep)
        return now, slept

    def test_it_waits_for_the_next_window_instead_of_failing(self, provider, fake_time):
        now, slept = fake_time
        with resilience.patient():
            for n in range(5):
                resilience.call(provider, "get_quotes", [f"S{n}"])
        assert len(provider.quote_calls) == 5
        assert len(slept) == 2  # 2 calls per 60 s window (half of 4): windows 1, 2, 3
        assert now["t"] >= 6120

    def test_requests_keep_half_of_the_window(self, provider, fake_time):
        with resilience.patient():
            resilience.call(provider, "get_quotes", ["A"])
            resilience.call(provider, "get_quotes", ["B"])
        resilience.call(provider, "get_quotes", ["C"])
        resilience.call(provider, "get_quotes", ["D"])
        with pytest.raises(ProviderUnavailable):
            resilience.call(provider, "get_quotes", ["E"])
