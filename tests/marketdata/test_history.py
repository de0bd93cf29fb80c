from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError

from marketdata import history
from marketdata.models import HistoricalExchangeRate, HistoricalStockPrice, Instrument
from marketdata.providers.base import InstrumentInfo, ProviderUnavailable, UnknownSymbol
from tests.factories import HistoricalStockPriceFactory, InstrumentFactory

pytestmark = pytest.mark.django_db


def weekdays(start: date, end: date) -> list[date]:
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    return [d for d in days if d.weekday() < 5]


def serve(provider, key: str, start: date, end: date, base: str = "100") -> None:
    provider.closes[key] = {d: Decimal(base) + i for i, d in enumerate(weekdays(start, end))}


def test_range_arithmetic():
    d = date(2024, 3, 1)
    day = timedelta(days=1)

    assert history.missing_ranges(d, d + 9 * day, None) == [(d, d + 9 * day)]
    assert history.missing_ranges(d, d + 9 * day, (d + 3 * day, d + 5 * day)) == [
        (d, d + 2 * day),
        (d + 6 * day, d + 9 * day),
    ]
    assert history.missing_ranges(d + 3 * day, d + 4 * day, (d, d + 9 * day)) == []
    assert history.only_weekend((date(2024, 3, 2), date(2024, 3, 3)))
    assert not history.only_weekend((date(2024, 3, 2), date(2024, 3, 4)))


def test_a_first_sync_fetches_the_whole_range_and_a_second_nothing(provider, yesterday):
    eqnr = InstrumentFactory(ticker="EQNR.OL")
    start = yesterday - timedelta(days=60)
    serve(provider, "EQNR.OL", start - timedelta(days=400), yesterday)

    history.sync_prices(eqnr, start, yesterday)
    cache.clear()  # even without the remembered coverage, the stored dates suffice
    history.sync_prices(eqnr, start, yesterday)

    assert provider.history_calls == [("EQNR.OL", start, yesterday)]
    stored = list(eqnr.prices.order_by("date").values_list("date", "close"))
    assert stored == [(d, v) for d, v in sorted(provider.closes["EQNR.OL"].items()) if d >= start]


def test_only_the_ranges_before_and_after_what_is_stored_are_fetched(provider, yesterday):
    eqnr = InstrumentFactory(ticker="EQNR.OL")
    first, last = yesterday - timedelta(days=50), yesterday - timedelta(days=20)
    for day in weekdays(first, last)[::3]:  # sparse on purpose: gaps inside are not refetched
        HistoricalStockPriceFactory(instrument=eqnr, date=day, close=Decimal(1))
    first, last = eqnr.prices.order_by("date").first().date, eqnr.prices.latest("date").date
    serve(provider, "EQNR.OL", yesterday - timedelta(days=100), yesterday)
    start = yesterday - timedelta(days=80)

    history.sync_prices(eqnr, start, yesterday)

    assert provider.history_calls == [
        ("EQNR.OL", start, first - timedelta(days=1)),
        ("EQNR.OL", last + timedelta(days=1), yesterday),
    ]
    # Stored closes are never overwritten by a sync.
    assert set(
        eqnr.prices.filter(date__gte=first, date__lte=last).values_list("close", flat=True)
    ) == {Decimal(1)}


def test_today_is_never_fetched(provider, today):
    eqnr = InstrumentFactory(ticker="EQNR.OL")

    history.sync_prices(eqnr, today, today)

    assert provider.history_calls == []


def test_an_empty_range_before_the_listing_is_not_asked_for_again(provider, yesterday):
    eqnr = InstrumentFactory(ticker="EQNR.OL")
    listed = yesterday - timedelta(days=30)
    serve(provider, "EQNR.OL", listed, yesterday)
    start = yesterday - timedelta(days=365)

    history.sync_prices(eqnr, start, yesterday)
    history.sync_prices(eqnr, start, yesterday)
    history.sync_prices(eqnr, start - timedelta(days=10), yesterday)

    assert provider.history_calls == [
        ("EQNR.OL", start, yesterday),
        ("EQNR.OL", start - timedelta(days=10), start - timedelta(days=1)),
    ]


def test_a_weekend_is_not_fetched(provider):
    eqnr = InstrumentFactory(ticker="EQNR.OL")
    friday = date(2024, 3, 15)
    HistoricalStockPriceFactory(instrument=eqnr, date=friday)

    history.sync_prices(eqnr, friday, friday + timedelta(days=2))

    assert provider.history_calls == []


def test_a_recent_empty_day_is_retried_after_the_history_ttl_only(provider, yesterday):
    eqnr = InstrumentFactory(ticker="EQNR.OL")
    week_ago = yesterday - timedelta(days=7)
    HistoricalStockPriceFactory(instrument=eqnr, date=week_ago)

    # The provider has published nothing since: it may still do so, so this is not
    # remembered as done, but it is not asked again within HISTORY_CACHE_TTL either.
    history.sync_prices(eqnr, week_ago, yesterday)
    history.sync_prices(eqnr, week_ago, yesterday)
    assert len(provider.history_calls) == 1

    cache.delete(f"history-tail:prices:fake:EQNR.OL:{yesterday.isoformat()}")  # TTL over
    history.sync_prices(eqnr, week_ago, yesterday)
    assert len(provider.history_calls) == 2


def test_a_symbol_the_provider_does_not_know_syncs_to_nothing_quietly(provider, yesterday):
    fund = InstrumentFactory(ticker="0P0000TKZM.IR")
    provider.unknown.add("0P0000TKZM.IR")
    start = yesterday - timedelta(days=30)

    assert history.sync_prices(fund, start, yesterday) == 0
    assert history.sync_prices(fund, start, yesterday) == 0
    assert len(provider.history_calls) == 1


def test_a_failing_provider_fails_the_sync_but_not_the_read(provider, yesterday):
    eqnr = InstrumentFactory(ticker="EQNR.OL")
    HistoricalStockPriceFactory(instrument=eqnr, date=yesterday, close=Decimal("280"))
    provider.error = ProviderUnavailable("down")

    with pytest.raises(ProviderUnavailable):
        history.sync_prices(eqnr, yesterday - timedelta(days=30), yesterday)
    assert history.price_history(eqnr, yesterday - timedelta(days=30), yesterday) == [
        (yesterday, Decimal("280"))
    ]


def test_the_offline_provider_never_syncs(settings, yesterday):
    settings.MARKETDATA_PROVIDER = "offline"
    eqnr = InstrumentFactory(ticker="EQNR.OL")

    assert history.sync_prices(eqnr, yesterday - timedelta(days=30), yesterday) == 0


def test_fx_sync_fetches_missing_ranges_and_reads_the_inverse(provider, yesterday):
    start = yesterday - timedelta(days=20)
    serve(provider, "USDNOK=X", start - timedelta(days=100), yesterday, base="10")

    history.sync_fx("usd", "nok", start, yesterday)
    history.sync_fx("USD", "NOK", start, yesterday)
    rows = history.fx_history("NOK", "USD", start, yesterday)

    assert provider.history_calls[0] == ("USDNOK=X", start, yesterday)
    assert HistoricalExchangeRate.objects.filter(base_currency="USD").count() == len(
        weekdays(start, yesterday)
    )
    first = weekdays(start, yesterday)[0]
    usd_nok = provider.closes["USDNOK=X"][first]
    assert rows[0] == (first, (1 / usd_nok).quantize(Decimal("1e-10")))


# Manual entry -----------------------------------------------------------------------------


def test_manual_closes_create_the_instrument_and_overwrite_by_date(settings):
    settings.MARKETDATA_PROVIDER = "offline"

    history.store_prices("ekso.ol", "NOK", [("2024-01-02", "10.5"), (date(2024, 1, 3), 11)])
    history.store_prices("EKSO.OL", None, [("2024-01-03", "11.25")])

    instrument = Instrument.objects.get(ticker="EKSO.OL")
    assert instrument.currency == "NOK"
    assert list(instrument.prices.order_by("date").values_list("date", "close")) == [
        (date(2024, 1, 2), Decimal("10.5")),
        (date(2024, 1, 3), Decimal("11.25")),
    ]


def test_bad_manual_closes_are_all_reported_and_nothing_is_stored(settings):
    settings.MARKETDATA_PROVIDER = "offline"

    with pytest.raises(ValidationError) as caught:
        history.store_prices(
            "EKSO.OL",
            "NOK",
            [
                ("2024-01-02", "10.5"),
                ("2024-13-01", "10"),
                ("2024-01-04", "-1"),
                ("2024-01-05", "ten"),
                ("2024-01-02", "10.6"),
                ("2024-01-08", "1e12"),
            ],
        )

    messages = caught.value.message_dict["prices"]
    assert messages == [
        "Row 2: '2024-13-01' is not a date (use YYYY-MM-DD).",
        "Row 3 (2024-01-04): close must not be negative, got -1.",
        "Row 4 (2024-01-05): close 'ten' is not a number.",
        "Row 5 (2024-01-02): the date is also in row 1.",
        "Row 6 (2024-01-08): close 1E+12 is too large.",
    ]
    assert not Instrument.objects.filter(ticker="EKSO.OL").exists()
    assert not HistoricalStockPrice.objects.exists()


def test_manual_closes_in_the_wrong_currency_are_refused():
    InstrumentFactory(ticker="EQNR.OL", currency="NOK")

    with pytest.raises(ValidationError, match="traded in NOK, not USD"):
        history.store_prices("EQNR.OL", "USD", [("2024-01-02", "10")])


def test_manual_rates_are_validated_and_upserted():
    history.store_rates("usd", "nok", [("2024-01-02", "10.5")])
    history.store_rates("USD", "NOK", [("2024-01-02", "10.55"), ("2024-01-03", "10.6")])

    assert list(HistoricalExchangeRate.objects.order_by("date").values_list("date", "rate")) == [
        (date(2024, 1, 2), Decimal("10.55")),
        (date(2024, 1, 3), Decimal("10.6")),
    ]
    with pytest.raises(ValidationError) as caught:
        history.store_rates("USD", "NOK", [("2024-01-04", "0"), ("2024-01-05", "-2")])
    assert caught.value.message_dict["rates"] == [
        "Row 1 (2024-01-04): rate must be greater than 0, got 0.",
        "Row 2 (2024-01-05): rate must be greater than 0, got -2.",
    ]
    with pytest.raises(ValidationError):
        history.store_rates("USD", "USD", [("2024-01-04", "1")])
    with pytest.raises(ValidationError):
        history.store_rates("DOLLAR", "NOK", [("2024-01-04", "1")])


# Instruments --------------------------------------------------------------------------------


def test_resolving_a_stored_symbol_asks_nobody(provider):
    stored = InstrumentFactory(ticker="EQNR.OL")

    assert history.resolve_instrument(" eqnr.ol ") == stored
    assert provider.info_calls == []


def test_resolving_junk_is_a_validation_error(provider):
    with pytest.raises(ValidationError, match="not a ticker symbol"):
        history.resolve_instrument("EQ NR", "NOK")
    assert provider.info_calls == []


def test_resolving_a_new_symbol_stores_what_the_provider_says(provider):
    provider.currency_of["AAPL"] = "USD"

    instrument = history.resolve_instrument("aapl")

    assert (instrument.ticker, instrument.company_name, instrument.currency) == (
        "AAPL",
        "AAPL Holding ASA",
        "USD",
    )
    assert history.resolve_instrument("AAPL") == instrument
    assert provider.info_calls == ["AAPL"]


def test_a_symbol_the_provider_does_not_know_needs_a_currency(provider):
    provider.unknown.add("MYFUND")

    with pytest.raises(UnknownSymbol, match="Give its currency"):
        history.resolve_instrument("MYFUND")
    fund = history.resolve_instrument("MYFUND", currency="nok")
    assert (fund.ticker, fund.currency) == ("MYFUND", "NOK")


def test_offline_accepts_the_currency_given(settings):
    settings.MARKETDATA_PROVIDER = "offline"

    assert history.resolve_instrument("EQNR.OL", "NOK").currency == "NOK"
    with pytest.raises(UnknownSymbol):
        history.resolve_instrument("DNB.OL")


def test_a_provider_outage_needs_a_currency_too(provider):
    provider.error = ProviderUnavailable("down")

    with pytest.raises(ProviderUnavailable):
        history.resolve_instrument("EQNR.OL", trusted=True)
    assert history.resolve_instrument("EQNR.OL", "NOK", trusted=True).currency == "NOK"


def test_during_an_outage_a_user_cannot_decide_a_shared_instruments_currency(provider):
    # Issue 8, defect 9: a user who made the provider unavailable (its rate limit spent)
    # could create NVDA in NOK, and every later USD buy of NVDA was refused.
    provider.error = ProviderUnavailable("over the rate limit")

    with pytest.raises(ProviderUnavailable):
        history.resolve_instrument("NVDA", "NOK")
    assert not Instrument.objects.filter(ticker="NVDA").exists()


def test_a_stored_instruments_currency_never_changes(provider):
    InstrumentFactory(ticker="NVDA", currency="USD")

    with pytest.raises(ValidationError, match="traded in USD, not NOK"):
        history.resolve_instrument("NVDA", "NOK", trusted=True)
    assert history.resolve_instrument("nvda", "usd").currency == "USD"
    assert Instrument.objects.get(ticker="NVDA").currency == "USD"


def test_a_currency_contradicting_the_provider_is_refused(provider):
    provider.currency_of["AAPL"] = "USD"

    with pytest.raises(ValidationError, match="traded in USD, not NOK"):
        history.resolve_instrument("AAPL", "NOK")


def test_search_lists_stored_instruments_first_then_the_provider(provider):
    InstrumentFactory(ticker="EQNR.OL", company_name="Equinor ASA", isin="NO0010096985")
    InstrumentFactory(ticker="EQ.OL", company_name="Something Else", isin=None)
    provider.search_results = [
        InstrumentInfo("EQNR.OL", "Equinor ASA", "OSL", "NOK"),
        InstrumentInfo("EQNR", "Equinor ASA ADR", "NYQ", "USD"),
        InstrumentInfo("EQNR.DE", "Equinor ASA", "GER", ""),
    ]

    hits = history.search_instruments("equinor")

    assert [h.symbol for h in hits] == ["EQNR.OL", "EQNR", "EQNR.DE"]
    # Results with a currency are stored for next time; one without is not guessed.
    assert Instrument.objects.get(ticker="EQNR").currency == "USD"
    assert not Instrument.objects.filter(ticker="EQNR.DE").exists()
    provider.search_results = []
    assert [h.symbol for h in history.search_instruments("NO00100")] == ["EQNR.OL"]
    assert [h.symbol for h in history.search_instruments("eq")][:2] == ["EQ.OL", "EQNR"]


def test_search_remembers_provider_answers_and_survives_an_outage(provider):
    history.search_instruments("volvo")
    history.search_instruments("Volvo")
    assert provider.search_calls == ["volvo"]

    provider.error = ProviderUnavailable("down")
    InstrumentFactory(ticker="VOLV-B.ST", company_name="AB Volvo (publ)")
    assert [h.symbol for h in history.search_instruments("volvo b")] == []
    assert [h.symbol for h in history.search_instruments("volv")] == ["VOLV-B.ST"]
