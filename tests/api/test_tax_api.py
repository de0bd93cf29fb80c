"""The Norwegian tax report and the yearly rates through the JSON API (sections 5d, 7)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from marketdata.models import Instrument
from portfolios import services
from portfolios.models import Portfolio, TaxRate
from tests.api.conftest import assert_error
from tests.factories import (
    HistoricalExchangeRateFactory,
    HistoricalStockPriceFactory,
    InstrumentFactory,
    PortfolioFactory,
    record,
)
from tests.tax_rates import published_rates  # noqa: F401

D = Decimal

pytestmark = pytest.mark.usefixtures("published_rates")


@pytest.fixture
def household(owner):
    """Two ordinary portfolios and one ASK of the owner, in 2023 (rates from the
    shipped table: 2023 shielding 3.2 %, factor 1.72)."""
    eqnr = InstrumentFactory(ticker="EQNR.OL")
    a = PortfolioFactory(user=owner, name="A")
    b = PortfolioFactory(user=owner, name="B")
    record(a, eqnr, quantity="10", price="100", date=dt.date(2023, 1, 10))
    record(b, eqnr, quantity="10", price="200", date=dt.date(2023, 2, 10))
    record(b, eqnr, "SELL", quantity="5", price="250", date=dt.date(2023, 3, 10))
    HistoricalStockPriceFactory(instrument=eqnr, date=dt.date(2023, 12, 29), close=D("300"))
    ask = PortfolioFactory(user=owner, name="ASK", kind="ask", track_cash=True)
    services.record_transaction(
        portfolio=ask, type="DEPOSIT", date=dt.date(2023, 1, 2), amount=D("5000")
    )
    record(ask, eqnr, quantity="10", price="100", date=dt.date(2023, 1, 3))
    return a, b, ask


def test_the_year_report(api, household):
    a, b, ask = household
    response = api.get("/api/v1/tax/2023")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["year"] == 2023 and body["currency"] == "NOK"
    assert {"holdings", "sales", "dividends", "ask", "totals"} <= set(body)
    # FIFO: B's sale takes A's oldest shares: cost 500, gain 750 (B's average cost: 250).
    (sale,) = body["sales"]
    assert (sale["cost"], sale["gain"], sale["average_cost_gain"]) == ("500.00", "750.00", "250.00")
    assert sale["portfolio"] == b.pk
    # Held at 31.12: 15 shares (5 of A's lot at 100, B's 10 at 200) = cost 2,500, value
    # 15 x 300 = 4,500; shielding 2,500 x 3.2 % = 80, all unused.
    (holding,) = body["holdings"]
    assert holding["symbol"] == "EQNR.OL" and holding["quantity"] == "15.00000000"
    assert (holding["cost"], holding["value"]) == ("2500.00", "4500.00")
    assert (holding["shielding"], holding["shielding_unused"]) == ("80.00", "80.00")
    # The ASK: deposits 5,000, value 10 x 300 + cash 4,000 = 7,000; shielding 5,000 x
    # 3.2 % = 160; deferred (7,000 - 5,000 - 160) x 37.84 % = 696.256.
    (account,) = body["ask"]
    assert account["portfolio"] == ask.pk and account["name"] == "ASK"
    assert (account["deposits"], account["value"]) == ("5000.00", "7000.00")
    assert account["tax_deferred_estimate"] == "696.26"
    # 750 x 37.84 % = 283.80.
    assert body["totals"]["taxable_gain"] == "750.00"
    assert body["totals"]["tax_estimate"] == "283.80"
    assert body["tax_multiplier"] == "1.720" and body["shielding_rate"] == "0.03200"
    assert "RF-1159" in body["notes"]["prefilled"]


def test_another_users_data_never_in_the_report(outsider_api, household):
    body = outsider_api.get("/api/v1/tax/2023").json()
    assert body["holdings"] == [] and body["sales"] == [] and body["ask"] == []
    assert body["totals"]["taxable_gain"] == "0.00"


def test_usd_portfolio_at_trade_date_fx(api, owner):
    aapl = InstrumentFactory(ticker="AAPL", currency="USD", exchange="NMS")
    usd = PortfolioFactory(user=owner, name="US", currency="USD")
    HistoricalExchangeRateFactory(
        base_currency="USD", target_currency="NOK", date=dt.date(2023, 1, 2), rate=D("10")
    )
    HistoricalExchangeRateFactory(
        base_currency="USD", target_currency="NOK", date=dt.date(2023, 6, 1), rate=D("11")
    )
    record(usd, aapl, quantity="10", price="100", date=dt.date(2023, 1, 3))  # 1,000 USD
    record(usd, aapl, "SELL", quantity="10", price="100", date=dt.date(2023, 6, 2))
    (sale,) = api.get("/api/v1/tax/2023").json()["sales"]
    # Cost 1,000 USD x 10 (the rate of 2 Jan, the last on or before 3 Jan) = 10,000 NOK;
    # proceeds 1,000 USD x 11 = 11,000 NOK: a gain of 1,000 NOK from the currency alone.
    assert (sale["cost"], sale["proceeds"], sale["gain"]) == ("10000.00", "11000.00", "1000.00")


def test_bad_year_names_the_field(api):
    assert "year" in assert_error(api.get("/api/v1/tax/1800"), 400)["details"]


def test_rates_get_shows_shipped_and_missing(api):
    body = api.get("/api/v1/tax/rates/2023").json()
    assert (body["shielding_rate"], body["tax_multiplier"]) == ("0.03200", "1.720")
    body = api.get("/api/v1/tax/rates/2025").json()
    assert body["shielding_rate"] is None  # no citable figure shipped
    body = api.get("/api/v1/tax/rates/2031").json()
    assert body == {"year": 2031, "shielding_rate": None, "tax_multiplier": None, "source": ""}


def test_rates_put_is_staff_only(api, staff_api):
    body = {"shielding_rate": "0.039", "tax_multiplier": "1.72", "source": "test"}
    assert_error(api.put("/api/v1/tax/rates/2025", body, format="json"), 403)
    assert TaxRate.objects.get(year=2025).shielding_rate is None
    response = staff_api.put("/api/v1/tax/rates/2025", body, format="json")
    assert response.status_code == 200, response.content
    assert TaxRate.objects.get(year=2025).shielding_rate == D("0.039")


def test_rates_put_bad_input_names_the_field(staff_api):
    def put(**body):
        body = {"shielding_rate": "0.01", "tax_multiplier": "1.72", **body}
        return staff_api.put("/api/v1/tax/rates/2030", body, format="json")

    assert "shielding_rate" in assert_error(put(shielding_rate="2"), 400)["details"]
    assert "shielding_rate" in assert_error(put(shielding_rate="abc"), 400)["details"]
    assert "tax_multiplier" in assert_error(put(tax_multiplier="0"), 400)["details"]
    assert "tax_multiplier" in assert_error(put(tax_multiplier="-1"), 400)["details"]
    assert not TaxRate.objects.filter(year=2030).exists()


def test_the_kind_of_a_portfolio_decides_the_wrapper(api, owner):
    eqnr = InstrumentFactory(ticker="EQNR.OL")
    ask = PortfolioFactory(user=owner, name="ASK", kind=Portfolio.Kind.ASK)
    record(ask, eqnr, quantity="10", price="100", date=dt.date(2023, 1, 3))
    record(ask, eqnr, "SELL", quantity="10", price="150", date=dt.date(2023, 5, 3))
    body = api.get("/api/v1/tax/2023").json()
    assert body["sales"] == []  # inside the ASK: not taxed
    assert body["ask"][0]["deposits"] == "0.00"
    assert any("no deposits recorded" in w for w in body["warnings"])


@pytest.fixture
def sale_in(owner):
    """A sale with a gain of 500 in the year given (bought the year before)."""

    def make(year):
        eqnr = InstrumentFactory(ticker="EQNR.OL")
        portfolio = PortfolioFactory(user=owner, name="A")
        record(portfolio, eqnr, quantity="10", price="100", date=dt.date(year - 1, 3, 1))
        record(portfolio, eqnr, "SELL", quantity="10", price="150", date=dt.date(year, 3, 1))

    return make


def test_a_year_without_a_shielding_rate_is_missing_not_guessed(api, sale_in):
    # 2025 ships its factor (1.72) but no citable skjermingsrente: the shares held on
    # 31.12.2024 get 2024's 3.9 % (1,000 x 3.9 % = 39, used on the sale), and nothing is
    # guessed for 2025.
    sale_in(2025)
    body = api.get("/api/v1/tax/2025").json()
    assert body["shielding_rate"] is None and body["tax_multiplier"] == "1.720"
    assert 2025 in body["missing_rates"] and 2024 not in body["missing_rates"]
    (sale,) = body["sales"]
    assert (sale["gain"], sale["shielding_used"], sale["taxable_gain"]) == (
        "500.00",
        "39.00",
        "461.00",
    )
    # 468 x 22 % x 1.72 = 177.0912.
    assert body["totals"]["tax_estimate"] == "174.44"  # 461 x 22 % x 1.72 = 174.4424


def test_a_factor_entered_before_2019_is_not_multiplied_by_22_percent(api, sale_in):
    # 2018's rate on ordinary income was 23 %, not 22 %: the app does not ship it, so a
    # factor entered for 2018 gives no estimate rather than a wrong one.
    TaxRate.objects.filter(year=2018).update(tax_multiplier=D("1.33"))
    sale_in(2018)
    body = api.get("/api/v1/tax/2018").json()
    # 500 less 2017's shielding on the 1,000 held on 31.12.2017 (0.7 %: 7).
    assert body["totals"]["taxable_gain"] == "493.00"
    assert body["totals"]["tax_estimate"] is None
    assert any("2019" in w and "2018" in w for w in body["warnings"])


def test_a_year_not_yet_ended_says_so(api, sale_in):
    this_year = timezone.localdate().year
    sale_in(2023)
    assert any("has not ended" in w for w in api.get(f"/api/v1/tax/{this_year}").json()["warnings"])
    assert not any("has not ended" in w for w in api.get("/api/v1/tax/2023").json()["warnings"])


def test_the_years_at_the_edges(api):
    assert api.get("/api/v1/tax/2100").status_code == 200
    for year in ("2101", "2005", "99999999999999999999"):
        assert "year" in assert_error(api.get(f"/api/v1/tax/{year}"), 400)["details"]


def test_a_year_without_a_shielding_rate_is_named_in_the_warnings(api, owner):
    """The report's warnings say which years add no shielding, not only missing_rates."""
    from portfolios.models import TaxRate

    TaxRate.objects.update_or_create(
        year=2021, defaults={"shielding_rate": None, "tax_multiplier": Decimal("1.44")}
    )
    TaxRate.objects.update_or_create(
        year=2022, defaults={"shielding_rate": Decimal("0.017"), "tax_multiplier": Decimal("1.6")}
    )
    portfolio = PortfolioFactory(user=owner, currency="NOK")
    record(
        portfolio,
        InstrumentFactory(ticker="EQNR.OL"),
        quantity="10",
        price="100",
        date=dt.date(2021, 3, 1),
    )
    body = api.get("/api/v1/tax/2022").json()
    assert 2021 in body["missing_rates"]
    assert any("No shielding rate is known for 2021" in w for w in body["warnings"])


def test_the_2024_shielding_rate_ships_with_its_source(db):
    from portfolios.models import TaxRate

    row = TaxRate.objects.get(year=2024)
    assert row.shielding_rate == Decimal("0.039")
    assert "pengekroken.no" in row.source and "1,72" in row.source


def test_the_cached_report_follows_new_transactions_and_rates(api, household):
    a, b, ask = household
    assert api.get("/api/v1/tax/2023").json()["totals"]["tax_estimate"] == "283.80"
    # Kept in the cache now; a second sale must still show: B sells 5 @ 260 = 1,300, FIFO
    # takes A's remaining 5 @ 100 = 500: gain 800; 750 + 800 = 1,550 x 37.84 % = 586.52.
    record(
        b,
        Instrument.objects.get(ticker="EQNR.OL"),
        "SELL",
        quantity="5",
        price="260",
        date=dt.date(2023, 4, 10),
    )
    totals = api.get("/api/v1/tax/2023").json()["totals"]
    assert (totals["taxable_gain"], totals["tax_estimate"]) == ("1550.00", "586.52")
    # A new factor for 2023: 1,550 x 22 % x 1.5 = 511.50.
    services.save_tax_rate(2023, shielding_rate=D("0.032"), tax_multiplier=D("1.5"))
    assert api.get("/api/v1/tax/2023").json()["totals"]["tax_estimate"] == "511.50"
    # Written by hand (a migration, a fixture): the key carries the rows themselves.
    TaxRate.objects.filter(year=2023).update(tax_multiplier=D("1"))
    assert api.get("/api/v1/tax/2023").json()["totals"]["tax_estimate"] == "341.00"


class _BrokenCache:
    def get(self, *args, **kwargs):
        raise ConnectionError("cache down")

    set = get


def test_a_failing_cache_is_a_miss(api, household, monkeypatch):
    from financedash.lib import responses
    from portfolios import tax_data

    monkeypatch.setattr(tax_data, "cache", _BrokenCache())
    monkeypatch.setattr(responses, "cache", _BrokenCache())
    response = api.get("/api/v1/tax/2023")
    assert response.status_code == 200
    assert response.json()["totals"]["tax_estimate"] == "283.80"
