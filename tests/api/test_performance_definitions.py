"""Issue 8, "make the definitions visible": the household performance endpoint, the fields
of section 5b, and each field's definition in the schema and, in the same words, on the
pages."""

from __future__ import annotations

import datetime as dt
import html
from decimal import Decimal

import pytest

from financedash.lib.profiles import profile_for
from portfolios.performance import DEFINITIONS
from tests.factories import (
    HistoricalExchangeRateFactory,
    HistoricalStockPriceFactory,
    InstrumentFactory,
    PensionAccountFactory,
    PensionValueEntryFactory,
    PortfolioFactory,
    record,
)

D = Decimal
S = dt.date(2024, 3, 4)
DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _offline(settings):
    settings.MARKETDATA_PROVIDER = "offline"


@pytest.fixture
def household(owner):
    """NOK base. A NOK portfolio buys 10 EQNR at 100 on S (closes 100 on S, 110 on S+1); a
    USD portfolio holds 1 AAPL since S-5 (closes 100, then 120 on S+1); USD/NOK is 10 from
    S-10 and 11 from S+1; a NOK pension is worth 1,000 from S-30 and 1,500 from S+1."""
    profile = profile_for(owner)
    profile.base_currency = "NOK"
    profile.save()
    nok = PortfolioFactory(user=owner, currency="NOK", name="Nordnet")
    usd = PortfolioFactory(user=owner, currency="USD", name="Schwab")
    eqnr = InstrumentFactory(ticker="EQNR.OL")
    aapl = InstrumentFactory(ticker="AAPL", currency="USD")
    record(nok, eqnr, quantity="10", price="100", date=S)
    record(usd, aapl, quantity="1", price="100", date=S - 5 * DAY)
    for instrument, day, close in [
        (eqnr, S, "100"),
        (eqnr, S + DAY, "110"),
        (aapl, S - 5 * DAY, "100"),
        (aapl, S + DAY, "120"),
    ]:
        HistoricalStockPriceFactory(instrument=instrument, date=day, close=D(close))
    HistoricalExchangeRateFactory(date=S - 10 * DAY, rate=D("10"))
    HistoricalExchangeRateFactory(date=S + DAY, rate=D("11"))
    account = PensionAccountFactory(user=owner, currency="NOK", name="IPS")
    PensionValueEntryFactory(account=account, date=S - 30 * DAY, value=D("1000"))
    PensionValueEntryFactory(account=account, date=S + DAY, value=D("1500"))
    return nok, usd


def test_the_household_in_the_base_currency_reproducible_by_hand(api, household):
    body = api.get(f"/api/v1/performance?start={S}&end={S + DAY}").json()

    assert body["currency"] == "NOK"
    assert [p["date"] for p in body["series"]] == [str(S - DAY), str(S), str(S + DAY)]
    # NOK portfolio: 0, 1000, 10 x 110 = 1100. USD portfolio: 100 USD at 10, 100 at 10,
    # 120 at 11 = 1000, 1000, 1320. Sum: 1000, 2000, 2420.
    assert [p["value"] for p in body["series"]] == ["1000.00", "2000.00", "2420.00"]
    assert [p["flow"] for p in body["series"]] == ["0.00", "1000.00", "0.00"]
    # Net deposits start from the USD portfolio's 100 USD at the opening rate 10.
    assert [p["net_deposits"] for p in body["series"]] == ["1000.00", "2000.00", "2000.00"]
    # Pensions: a line of their own, the latest value on or before each day.
    assert [p["pensions"] for p in body["series"]] == ["1000.00", "1000.00", "1500.00"]
    assert body["pensions_opening_value"] == "1000.00"
    assert body["pensions_closing_value"] == "1500.00"
    # gain = last - first - flows = 2420 - 1000 - 1000
    assert body["gain"] == "420.00"
    # TWR: S-1 -> S flat (1000 / 1000), then 2420 / (1000 + 1000) = 1.21
    assert body["twr"] == "0.210000"
    # At the opening rate 10: 1000, 2000, 1100 + 1200 = 2300 -> 2300 / 2000 = 1.15
    assert body["currency_effect"] == "0.060000"
    # gain at the opening rate: 2300 - 1000 - 1000 = 300; 420 - 300
    assert body["currency_effect_amount"] == "120.00"
    # simple: 420 / (1000 + 1000)
    assert body["simple_return"] == "0.210000"
    # one day: nothing annualised
    assert body["twr_annualized"] is None
    assert body["xirr"] is None
    assert body["missing"] == []


def test_a_portfolio_without_a_rate_into_the_base_currency_is_named(api, owner, household):
    sek = PortfolioFactory(user=owner, currency="SEK", name="Avanza")
    record(sek, InstrumentFactory(ticker="VOLV-B.ST", currency="SEK"), quantity="1", price="1")
    body = api.get(f"/api/v1/performance?start={S}&end={S + DAY}").json()
    assert body["missing"] == ["Avanza: no SEK→NOK exchange rate is stored."]
    assert body["series"][-1]["value"] == "2420.00"


def test_annualised_figures_only_for_a_year_or_more(api, household):
    nok, _ = household
    url = f"/api/v1/portfolios/{nok.pk}/performance"
    short = api.get(f"{url}?start={S}&end={S + 364 * DAY}").json()
    assert short["twr_annualized"] is None and short["xirr"] is None
    assert short["mwr"] is not None
    year = api.get(f"{url}?start={S}&end={S + 365 * DAY}").json()
    # 1000 in on S, 1100 at the end, 365 days: 10 % whichever way it is measured
    assert year["twr"] == year["twr_annualized"] == "0.100000"
    assert year["mwr"] == year["xirr"] == "0.100000"


def test_a_period_may_start_in_1900_as_the_oldest_entry_may(api, household):
    # Found by QA: start=1900-01-01 was "at most 18300 days" though entries may date from it.
    for path in ("/api/v1/performance", f"/api/v1/portfolios/{household[0].pk}/performance"):
        response = api.get(path, {"start": "1900-01-01"})
        assert response.status_code == 200, response.content
        assert response.json()["series"][0]["date"] == "1899-12-31"


def test_the_household_endpoint_needs_a_login(anon_api):
    assert anon_api.get("/api/v1/performance").status_code == 401


def _schema(api) -> dict:
    return api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


@pytest.mark.parametrize(
    "field",
    [
        "twr",
        "twr_annualized",
        "mwr",
        "xirr",
        "simple_return",
        "currency_effect",
        "currency_effect_amount",
        "gain",
        "dividends",
    ],
)
def test_each_field_carries_its_definition_in_the_schema(api, field):
    schemas = _schema(api)["components"]["schemas"]
    for name in ("Performance", "HouseholdPerformance"):
        assert schemas[name]["properties"][field]["description"] == DEFINITIONS[field]
    point = schemas["PerformancePoint"]["properties"]
    assert point["net_deposits"]["description"] == DEFINITIONS["net_deposits"]
    assert (
        schemas["HouseholdPoint"]["properties"]["pensions"]["description"]
        == (DEFINITIONS["pensions"])
    )
    paths = _schema(api)["paths"]
    assert "/api/v1/performance" in paths


def test_the_pages_show_the_same_words(owner_client, household):
    nok, _ = household
    for url in (f"/portfolios/{nok.pk}/?range=1y", "/?range=1y"):
        page = html.unescape(owner_client.get(url).content.decode())
        for field in ("twr", "twr_annualized", "mwr", "xirr", "simple_return", "gain"):
            assert DEFINITIONS[field] in page, (url, field)
        assert DEFINITIONS["net_deposits"] in page
        assert DEFINITIONS["total_return"] in page
        assert "Net deposits" in page and "Invested" not in page
    dashboard = html.unescape(owner_client.get("/?range=1y").content.decode())
    assert DEFINITIONS["pensions"] in dashboard
    assert "Pensions <strong" in dashboard  # its own line in the chart's legend
