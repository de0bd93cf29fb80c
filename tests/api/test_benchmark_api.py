"""The benchmark (issue 15) through the API and the pages: chosen by symbol, drawn from the
same flows as the portfolio, worked by hand (the arithmetic: tests/portfolios/
test_benchmark.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from financedash.lib.profiles import profile_for
from tests.api.conftest import assert_error
from tests.factories import (
    HistoricalExchangeRateFactory,
    HistoricalStockPriceFactory,
    InstrumentFactory,
    PortfolioFactory,
    record,
)

D = Decimal
PERIOD = "start=2024-01-01&end=2024-01-03"


@pytest.fixture
def portfolio(owner):
    return PortfolioFactory(user=owner, name="Nordnet ASK", currency="NOK")


@pytest.fixture
def osebx(db):
    """The index at 100 (29 Dec 2023 and 1 Jan 2024), 110 (2 Jan), 121 (3 Jan)."""
    index = InstrumentFactory(ticker="^OSEBX", company_name="Oslo Børs Benchmark Index")
    for day, close in (
        (dt.date(2023, 12, 29), "100"),
        (dt.date(2024, 1, 1), "100"),
        (dt.date(2024, 1, 2), "110"),
        (dt.date(2024, 1, 3), "121"),
    ):
        HistoricalStockPriceFactory(instrument=index, date=day, close=D(close))
    return index


@pytest.fixture
def deposits(portfolio):
    """Buys of 1,000 on 1 Jan and 500 on 3 Jan (no cash tracked: the buys are the flows)."""
    eqnr = InstrumentFactory(ticker="EQNR.OL")
    record(portfolio, eqnr, quantity="10", price="100", date=dt.date(2024, 1, 1))
    record(portfolio, eqnr, quantity="5", price="100", date=dt.date(2024, 1, 3))
    HistoricalStockPriceFactory(instrument=eqnr, date=dt.date(2024, 1, 1), close=D("100"))
    return portfolio


def _performance(api, portfolio):
    response = api.get(f"/api/v1/portfolios/{portfolio.pk}/performance?{PERIOD}")
    assert response.status_code == 200, response.content
    return response.json()


def test_the_benchmark_is_set_by_symbol_and_cleared(api, portfolio, osebx):
    url = f"/api/v1/portfolios/{portfolio.pk}"
    response = api.patch(url, {"benchmark": "^osebx"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["benchmark"] == "^OSEBX"
    portfolio.refresh_from_db()
    assert portfolio.benchmark == osebx
    assert api.get(url).json()["benchmark"] == "^OSEBX"
    assert api.patch(url, {"benchmark": None}, format="json").json()["benchmark"] is None
    portfolio.refresh_from_db()
    assert portfolio.benchmark is None


def test_an_unknown_benchmark_is_an_error_on_the_field(api, portfolio):
    url = f"/api/v1/portfolios/{portfolio.pk}"
    error = assert_error(api.patch(url, {"benchmark": "NOPE.XX"}, format="json"), 400)
    assert "Unknown symbol" in str(error["details"]["benchmark"])
    error = assert_error(api.patch(url, {"benchmark": "no spaces!"}, format="json"), 400)
    assert "benchmark" in error["details"]
    portfolio.refresh_from_db()
    assert portfolio.benchmark is None


def test_no_benchmark_answers_null(api, deposits):
    assert _performance(api, deposits)["benchmark"] is None


def test_the_benchmark_line_worked_by_hand(api, deposits, osebx):
    deposits.benchmark = osebx
    deposits.save()
    body = _performance(api, deposits)
    benchmark = body["benchmark"]
    # Opening point 31 Dec: nothing invested. 1 Jan: 1,000 in at 100 (10 units). 2 Jan:
    # 10 x 110 = 1,100. 3 Jan: 10 x 121 = 1,210 and 500 in at 121: 1,710.
    # TWR: 110/100 x 121/110 - 1 = 0.21 (the index's own move while money was in it).
    assert benchmark["symbol"] == "^OSEBX"
    assert benchmark["name"] == "Oslo Børs Benchmark Index"
    assert benchmark["note"] is None
    assert benchmark["series"] == [
        {"date": "2023-12-31", "value": "0.00"},
        {"date": "2024-01-01", "value": "1000.00"},
        {"date": "2024-01-02", "value": "1100.00"},
        {"date": "2024-01-03", "value": "1710.00"},
    ]
    assert [p["date"] for p in body["series"]] == [p["date"] for p in benchmark["series"]]
    assert benchmark["twr"] == "0.210000"
    assert benchmark["twr_annualized"] is None


def test_a_benchmark_in_another_currency_is_converted_at_each_days_rate(api, deposits):
    # ^GSPC 10 USD (29 Dec), 11 (2 Jan); USDNOK 10 (29 Dec), 9 (3 Jan). In NOK: 100 on
    # 31 Dec and 1 Jan, 110 on 2 Jan, 99 on 3 Jan.
    # 1 Jan: 1,000 in -> 1,000; 2 Jan: x 110/100 = 1,100; 3 Jan: x 99/110 = 990, + 500.
    # TWR: 110/100 x 99/110 - 1 = -0.01.
    gspc = InstrumentFactory(ticker="^GSPC", currency="USD", exchange="SNP")
    HistoricalStockPriceFactory(instrument=gspc, date=dt.date(2023, 12, 29), close=D("10"))
    HistoricalStockPriceFactory(instrument=gspc, date=dt.date(2024, 1, 2), close=D("11"))
    HistoricalExchangeRateFactory(date=dt.date(2023, 12, 29), rate=D("10"))
    HistoricalExchangeRateFactory(date=dt.date(2024, 1, 3), rate=D("9"))
    deposits.benchmark = gspc
    deposits.save()
    benchmark = _performance(api, deposits)["benchmark"]
    assert [p["value"] for p in benchmark["series"]] == ["0.00", "1000.00", "1100.00", "1490.00"]
    assert benchmark["twr"] == "-0.010000"


def test_missing_history_leaves_the_line_out_with_a_note(api, deposits):
    empty = InstrumentFactory(ticker="^NOHIST")
    deposits.benchmark = empty
    deposits.save()
    body = _performance(api, deposits)
    assert body["error"] is None and body["twr"] is not None  # the portfolio unaffected
    assert body["benchmark"]["series"] == []
    assert body["benchmark"]["twr"] is None
    assert "^NOHIST" in body["benchmark"]["note"]


def test_a_missing_exchange_rate_leaves_the_line_out_with_a_note(api, deposits):
    eur = InstrumentFactory(ticker="^STOXX", currency="EUR")
    HistoricalStockPriceFactory(instrument=eur, date=dt.date(2023, 12, 29), close=D("10"))
    deposits.benchmark = eur
    deposits.save()
    benchmark = _performance(api, deposits)["benchmark"]
    assert benchmark["series"] == [] and "EUR" in benchmark["note"]


def test_the_household_benchmark_is_the_profiles(api, owner, deposits, osebx):
    profile = profile_for(owner)
    profile.benchmark = osebx
    profile.save()
    body = api.get(f"/api/v1/performance?{PERIOD}").json()
    assert body["benchmark"]["symbol"] == "^OSEBX"
    assert [p["value"] for p in body["benchmark"]["series"]] == [
        "0.00",
        "1000.00",
        "1100.00",
        "1710.00",
    ]
    assert body["benchmark"]["twr"] == "0.210000"


def test_the_chart_draws_the_benchmark_and_its_return(owner_client, deposits, osebx):
    deposits.benchmark = osebx
    deposits.save()
    response = owner_client.get(
        f"/portfolios/{deposits.pk}/chart/?range=1y", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "chart-benchmark" in html
    assert 'id="benchmark-return"' in html
    assert "Benchmark ^OSEBX" in html


def test_the_portfolio_form_sets_the_benchmark(owner_client, portfolio, osebx):
    response = owner_client.post(
        f"/portfolios/{portfolio.pk}/edit/",
        {"name": portfolio.name, "currency": "NOK", "used_credit": "0", "benchmark": "^osebx"},
    )
    assert response.status_code in (200, 302), response.content
    portfolio.refresh_from_db()
    assert portfolio.benchmark == osebx
    response = owner_client.post(
        f"/portfolios/{portfolio.pk}/edit/",
        {"name": portfolio.name, "currency": "NOK", "used_credit": "0", "benchmark": "NOPE.XX"},
    )
    assert response.status_code == 422
    portfolio.refresh_from_db()
    assert portfolio.benchmark == osebx


def test_the_dashboard_chart_draws_the_households_benchmark(owner_client, owner, deposits, osebx):
    profile = profile_for(owner)
    profile.benchmark = osebx
    profile.save()
    response = owner_client.get("/dashboard/chart/?range=1y", headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "chart-benchmark" in html and 'id="benchmark-return"' in html
    assert "data-hover=" in html
