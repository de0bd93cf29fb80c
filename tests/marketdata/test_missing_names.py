"""An instrument created by hand (no company name) gets the provider's name once the
provider knows it: on the background refreshes (quotes, history, the live refresh), never
on a page load."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from marketdata import refresh
from marketdata.models import Instrument
from marketdata.providers.base import InstrumentInfo, ProviderUnavailable
from portfolios import market, push
from tests.factories import InstrumentFactory, PortfolioFactory, UserFactory, record
from tests.marketdata.yahoo_fake import Listing, weekdays_back

pytestmark = pytest.mark.django_db


def _by_hand(ticker: str, currency: str = "NOK", **fields) -> Instrument:
    return InstrumentFactory(
        ticker=ticker, currency=currency, company_name="", exchange="", **fields
    )


def test_a_hand_made_instrument_is_named_on_the_next_quote_refresh(fake_yahoo, settings):
    # The whole path through yfinance, with Yahoo faked at the HTTP boundary.
    days = weekdays_back(date.today(), 5)
    fake_yahoo.listings["EQNR.OL"] = Listing(
        "NOK", "Europe/Oslo", "OSL", "Equinor ASA", {d: 280.0 + i for i, d in enumerate(days)}
    )
    instrument = _by_hand("EQNR.OL")
    portfolio = PortfolioFactory(user=UserFactory(), currency="NOK")
    settings.MARKETDATA_PROVIDER = "offline"  # the trade itself fetches nothing
    record(portfolio, instrument, quantity="1", price="250")
    settings.MARKETDATA_PROVIDER = "yahoo"

    market.refresh_held_quotes()

    instrument.refresh_from_db()
    assert (instrument.company_name, instrument.exchange) == ("Equinor ASA", "OSL")
    assert instrument.currency == "NOK"


def test_only_blank_names_are_asked_for_and_filled(provider):
    named = InstrumentFactory(ticker="NHY.OL", company_name="Norsk Hydro", exchange="OSL")
    blank = _by_hand("EQNR.OL", isin="NO0010096985")
    provider.currency_of["EQNR.OL"] = "USD"  # never changes a stored currency

    assert refresh.fill_missing_names(["EQNR.OL", "NHY.OL"], provider=provider) == 1

    assert provider.info_calls == ["EQNR.OL"]
    blank.refresh_from_db()
    named.refresh_from_db()
    assert (blank.company_name, blank.exchange, blank.currency) == (
        "EQNR.OL Holding ASA",
        "OSL",
        "NOK",
    )
    assert blank.isin == "NO0010096985"
    assert named.company_name == "Norsk Hydro"
    # Named now: the next refresh asks nothing.
    assert refresh.fill_missing_names(["EQNR.OL", "NHY.OL"], provider=provider) == 0
    assert provider.info_calls == ["EQNR.OL"]


def test_an_unknown_symbol_is_asked_again_a_day_later_not_every_refresh(provider):
    _by_hand("MYFUND")
    provider.unknown.add("MYFUND")
    assert refresh.fill_missing_names(["MYFUND"], provider=provider) == 0
    assert refresh.fill_missing_names(["MYFUND"], provider=provider) == 0
    assert provider.info_calls == ["MYFUND"]
    assert Instrument.objects.get(ticker="MYFUND").company_name == ""


def test_the_symbol_as_its_own_name_is_no_name(provider, monkeypatch):
    _by_hand("XYZ")
    monkeypatch.setattr(provider, "get_info", lambda s: InstrumentInfo(s, "XYZ", "", "NOK"))
    assert refresh.fill_missing_names(["XYZ"], provider=provider) == 0
    assert Instrument.objects.get(ticker="XYZ").company_name == ""


def test_a_provider_that_is_down_is_tried_again_on_the_next_refresh(provider):
    _by_hand("A1")
    _by_hand("B2")
    provider.error = ProviderUnavailable("down")
    assert refresh.fill_missing_names(["A1", "B2"], provider=provider) == 0
    assert provider.info_calls == ["A1"]  # no point asking for B2 meanwhile
    provider.error = None
    assert refresh.fill_missing_names(["A1", "B2"], provider=provider) == 2


def test_a_refresh_names_a_bounded_number(provider, monkeypatch):
    monkeypatch.setattr(refresh, "NAMES_PER_REFRESH", 2)
    for ticker in ("A1", "B2", "C3"):
        _by_hand(ticker)
    assert refresh.fill_missing_names(["A1", "B2", "C3"], provider=provider) == 2
    assert refresh.fill_missing_names(["A1", "B2", "C3"], provider=provider) == 1
    assert provider.info_calls == ["A1", "B2", "C3"]


def test_the_history_sync_and_the_live_refresh_name_them_too(provider, settings):
    instrument = _by_hand("EQNR.OL")
    portfolio = PortfolioFactory(user=UserFactory(), currency="NOK")
    settings.MARKETDATA_PROVIDER = "offline"
    record(portfolio, instrument, quantity="1", price="250")
    settings.MARKETDATA_PROVIDER = "fake"

    summary = market.sync_held_history()

    assert summary["names"] == 1
    assert Instrument.objects.get(pk=instrument.pk).company_name == "EQNR.OL Holding ASA"

    other = _by_hand("DNB.OL")
    record(portfolio, other, quantity="1", price="200", date=date(2024, 1, 3))
    push.refresh({"DNB.OL"}, {portfolio.pk})
    assert Instrument.objects.get(pk=other.pk).company_name == "DNB.OL Holding ASA"


def test_a_page_load_never_asks_for_names(provider, client):
    user = UserFactory()
    portfolio = PortfolioFactory(user=user, currency="NOK")
    instrument = _by_hand("EQNR.OL")
    provider.closes["EQNR.OL"] = {date(2024, 1, 2): Decimal("250")}
    record(portfolio, instrument, quantity="1", price="250")
    provider.info_calls.clear()
    client.force_login(user)
    assert client.get(f"/portfolios/{portfolio.pk}/").status_code == 200
    assert provider.info_calls == []
