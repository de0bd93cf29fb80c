from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from marketdata.models import HistoricalExchangeRate, HistoricalStockPrice, Instrument
from marketdata.providers.base import InstrumentInfo, ProviderUnavailable
from tests.api.conftest import assert_error
from tests.factories import (
    HistoricalExchangeRateFactory,
    HistoricalStockPriceFactory,
    InstrumentFactory,
)

D = Decimal
pytestmark = pytest.mark.django_db


def test_quote_and_price_alias(api, provider):
    body = api.get("/api/v1/stocks/eqnr.ol").json()
    assert body["symbol"] == "EQNR.OL"
    assert body["price"] == f"{provider.price('EQNR.OL'):.6f}"
    assert body["stale"] is False
    assert api.get("/api/v1/stocks/EQNR.OL/price").json()["price"] == body["price"]


def test_unknown_symbol_is_404(api, provider):
    provider.unknown.add("NOPE.OL")
    error = assert_error(api.get("/api/v1/stocks/NOPE.OL"), 404, "unknown_symbol")
    assert error["details"] == {"symbol": "NOPE.OL"}


@pytest.mark.parametrize("symbol", ["%C2%85", "%20", "a%2Fb", "-X", "A" * 40])
def test_malformed_symbol_is_404_not_a_crash(api, provider, symbol):
    assert_error(api.get(f"/api/v1/stocks/{symbol}"), 404)
    assert provider.quote_calls == []


def test_provider_down_with_no_known_price_is_503_saying_what_failed(api, provider):
    provider.error = ProviderUnavailable("Yahoo answered 429 Too Many Requests")
    response = api.get("/api/v1/stocks/EQNR.OL")
    error = assert_error(response, 503, "market_data_unavailable")
    assert "EQNR.OL" in error["message"]
    assert error["details"] == {"symbol": "EQNR.OL", "last_good": None}
    assert response["Retry-After"] == "60"


def test_provider_down_serves_the_last_close_marked_stale(api, provider):
    instrument = InstrumentFactory(ticker="EQNR.OL")
    HistoricalStockPriceFactory(instrument=instrument, date=dt.date(2024, 6, 3), close=D("301"))
    provider.error = ProviderUnavailable("timeout")
    body = api.get("/api/v1/stocks/EQNR.OL").json()
    assert body["price"] == "301.000000"
    assert body["stale"] is True
    assert body["as_of"].startswith("2024-06-03")


def test_batch_reports_quotes_and_per_symbol_errors(api, provider):
    provider.unknown.add("NOPE")
    body = api.post(
        "/api/v1/stocks/batch", {"symbols": ["EQNR.OL", "AAPL", "NOPE"]}, format="json"
    ).json()
    assert sorted(body["quotes"]) == ["AAPL", "EQNR.OL"]
    assert body["errors"]["NOPE"]["code"] == "unknown_symbol"
    assert len(provider.quote_calls) == 1


def test_batch_validates(api, provider):
    error = assert_error(api.post("/api/v1/stocks/batch", {"symbols": []}, format="json"), 400)
    assert "symbols" in error["details"]
    too_many = {"symbols": [f"S{i}" for i in range(101)]}
    assert_error(api.post("/api/v1/stocks/batch", too_many, format="json"), 400)


def test_search_local_first_then_provider(api, provider):
    InstrumentFactory(ticker="EQNR.OL", company_name="Equinor ASA")
    provider.search_results = [InstrumentInfo("EQNR", "Equinor ASA", "NYQ", "USD")]
    body = api.get("/api/v1/stocks/search?q=equinor").json()
    assert [r["symbol"] for r in body][:2] == ["EQNR.OL", "EQNR"]
    assert_error(api.get("/api/v1/stocks/search"), 400)


def test_manual_prices_create_the_instrument_and_read_back(staff_api, provider):
    api = staff_api
    provider.unknown.add("MYFUND")
    response = api.post(
        "/api/v1/stocks/MYFUND/history",
        {
            "currency": "NOK",
            "prices": [
                {"date": "2024-01-02", "close": "101.5"},
                {"date": "2024-01-03", "close": "102"},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json() == {"stored": 2}
    assert Instrument.objects.get(ticker="MYFUND").currency == "NOK"
    body = api.get("/api/v1/stocks/MYFUND/history?start=2024-01-01&end=2024-01-31").json()
    assert body["currency"] == "NOK"
    assert body["prices"] == [
        {"date": "2024-01-02", "close": "101.500000"},
        {"date": "2024-01-03", "close": "102.000000"},
    ]


def test_manual_prices_are_validated_all_or_nothing(staff_api, provider):
    api = staff_api
    error = assert_error(
        api.post(
            "/api/v1/stocks/EQNR.OL/history",
            {"prices": [{"date": "2024-01-02", "close": "1"}, {"date": "x", "close": "-1"}]},
            format="json",
        ),
        400,
    )
    assert "prices" in error["details"]
    assert not HistoricalStockPrice.objects.exists()


def test_fx_history_round_trip_and_inverse(staff_api, provider):
    api = staff_api
    response = api.post(
        "/api/v1/exchange-rates/usd/nok/history",
        {"rates": [{"date": "2024-01-02", "rate": "10.5"}]},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert HistoricalExchangeRate.objects.get().rate == D("10.5")
    body = api.get("/api/v1/exchange-rates/NOK/USD/history?start=2024-01-01&end=2024-01-05")
    assert body.json()["rates"] == [{"date": "2024-01-02", "rate": "0.0952380952"}]


def test_fx_validation(staff_api, provider):
    api = staff_api
    assert_error(api.get("/api/v1/exchange-rates/XX/NOK/history"), 400)
    error = assert_error(
        api.post(
            "/api/v1/exchange-rates/USD/NOK/history",
            {"rates": [{"date": "2024-01-02", "rate": "0"}]},
            format="json",
        ),
        400,
    )
    assert "rates" in error["details"]
    HistoricalExchangeRateFactory()  # the history GET still answers from what is stored


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/stocks/EQNR.OL"),
        ("post", "/api/v1/stocks/batch"),
        ("get", "/api/v1/stocks/search?q=eq"),
        ("get", "/api/v1/stocks/EQNR.OL/history"),
        ("post", "/api/v1/stocks/EQNR.OL/history"),
        ("get", "/api/v1/exchange-rates/USD/NOK/history"),
        ("post", "/api/v1/exchange-rates/USD/NOK/history"),
        ("get", "/api/v1/currencies"),
    ],
)
def test_anonymous_is_401(anon_api, method, path):
    assert_error(getattr(anon_api, method)(path), 401, "not_authenticated")


def test_currencies(api, provider):
    HistoricalExchangeRateFactory(base_currency="SEK", target_currency="NOK")
    codes = api.get("/api/v1/currencies").json()["currencies"]
    assert {"NOK", "USD", "SEK"} <= set(codes)
    assert codes == sorted(codes)


def test_search_refuses_nul_characters(api, provider):
    # PostgreSQL cannot compare strings holding NUL: a 400, never a 500.
    error = assert_error(api.get("/api/v1/stocks/search", {"q": "a\x00b"}), 400)
    assert "q" in error["details"]


class TestSharedMarketDataIsWrittenByStaffOnly:
    """Issue 8, defect 9: with registration open, a second user's close of 0.01 and USD/NOK
    rate of 0.0001 changed the first user's values."""

    @pytest.fixture
    def stored(self):
        eqnr = InstrumentFactory(ticker="EQNR.OL", currency="NOK")
        HistoricalStockPriceFactory(instrument=eqnr, date=dt.date(2024, 1, 2), close=D("280"))
        HistoricalExchangeRateFactory(date=dt.date(2024, 1, 2), rate=D("10.5"))
        return eqnr

    def test_a_user_cannot_overwrite_a_close(self, outsider_api, provider, stored):
        error = assert_error(
            outsider_api.post(
                "/api/v1/stocks/EQNR.OL/history",
                {"prices": [{"date": "2024-01-02", "close": "0.01"}]},
                format="json",
            ),
            403,
            "permission_denied",
        )
        assert "only staff" in error["message"]
        assert HistoricalStockPrice.objects.get().close == D("280")

    def test_a_user_cannot_add_an_instrument_with_closes(self, outsider_api, provider):
        provider.unknown.add("MYFUND")
        response = outsider_api.post(
            "/api/v1/stocks/MYFUND/history",
            {"currency": "NOK", "prices": [{"date": "2024-01-02", "close": "1"}]},
            format="json",
        )
        assert_error(response, 403, "permission_denied")
        assert not Instrument.objects.filter(ticker="MYFUND").exists()

    def test_a_user_cannot_overwrite_a_rate(self, outsider_api, provider, stored):
        assert_error(
            outsider_api.post(
                "/api/v1/exchange-rates/USD/NOK/history",
                {"rates": [{"date": "2024-01-02", "rate": "0.0001"}]},
                format="json",
            ),
            403,
            "permission_denied",
        )
        assert HistoricalExchangeRate.objects.get().rate == D("10.5")

    def test_staff_can_correct_both(self, staff_api, provider, stored):
        response = staff_api.post(
            "/api/v1/stocks/EQNR.OL/history",
            {"prices": [{"date": "2024-01-02", "close": "281"}]},
            format="json",
        )
        assert response.status_code == 201, response.content
        response = staff_api.post(
            "/api/v1/exchange-rates/USD/NOK/history",
            {"rates": [{"date": "2024-01-02", "rate": "10.6"}]},
            format="json",
        )
        assert response.status_code == 201, response.content
        assert HistoricalStockPrice.objects.get().close == D("281")
        assert HistoricalExchangeRate.objects.get().rate == D("10.6")

    def test_everyone_still_reads_them(self, outsider_api, provider, stored):
        body = outsider_api.get("/api/v1/stocks/EQNR.OL/history?start=2024-01-01&end=2024-01-05")
        assert body.json()["prices"] == [{"date": "2024-01-02", "close": "280.000000"}]


QUOTE_FIELDS = {
    "symbol",
    "price",
    "currency",
    "as_of",
    "stale",
    "previous_close",
    "change",
    "change_percent",
    "day_high",
    "day_low",
    "volume",
    "market_cap",
    "fifty_two_week_high",
    "fifty_two_week_low",
}


def test_quote_carries_the_sessions_figures_or_nulls(api, settings):
    settings.MARKETDATA_PROVIDER = "demo"
    body = api.get("/api/v1/stocks/EQNR.OL").json()
    assert set(body) == QUOTE_FIELDS
    price, previous = Decimal(body["price"]), Decimal(body["previous_close"])
    assert Decimal(body["change"]) == price - previous
    expected = ((price - previous) * 100 / previous).quantize(Decimal("0.01"))
    assert Decimal(body["change_percent"]) == expected
    assert Decimal(body["day_low"]) <= price <= Decimal(body["day_high"])
    assert isinstance(body["volume"], int)
    assert Decimal(body["market_cap"]) > 0
    batch = api.post("/api/v1/stocks/batch", {"symbols": ["EQNR.OL"]}, format="json").json()
    assert set(batch["quotes"]["EQNR.OL"]) == QUOTE_FIELDS


def test_a_provider_without_session_figures_answers_nulls(api, provider):
    body = api.get("/api/v1/stocks/EQNR.OL").json()
    assert set(body) == QUOTE_FIELDS
    assert all(
        body[name] is None
        for name in QUOTE_FIELDS - {"symbol", "price", "currency", "as_of", "stale"}
    )
