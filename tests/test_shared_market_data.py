"""Shared market data is written by staff only (issue 8, defect 9; ARCHITECTURE section 4):
a user's transaction never changes a stored instrument's currency, nor decides a new one's
while the provider cannot be asked, through any entry point. (The history and rate POSTs
are in tests/api/test_stocks_api.py.)"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from marketdata.models import HistoricalExchangeRate, HistoricalStockPrice, Instrument
from marketdata.providers.base import ProviderUnavailable
from portfolios.models import Transaction
from tests.api.conftest import assert_error
from tests.factories import InstrumentFactory, PortfolioFactory, record
from tests.marketdata.conftest import _fresh_breakers, provider  # noqa: F401

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def nvda(settings, owner):
    """The first user holds NVDA, bought in USD into a NOK portfolio."""
    settings.MARKETDATA_PROVIDER = "offline"
    instrument = InstrumentFactory(ticker="NVDA", currency="USD", exchange="NMS")
    record(
        PortfolioFactory(user=owner, currency="NOK"),
        instrument,
        quantity="2",
        price="100",
        exchange_rate="10",
    )
    return instrument


@pytest.fixture
def theirs(outsider):
    return PortfolioFactory(user=outsider, currency="NOK", name="Second user's")


def trade(portfolio, **extra):
    return {
        "portfolio": portfolio.pk,
        "symbol": "NVDA",
        "type": "BUY",
        "date": "2024-01-02",
        "quantity": "1",
        "price": "100",
        "exchange_rate": "10",
        **extra,
    }


class TestApi:
    def test_another_currency_is_refused_on_currency(self, outsider_api, nvda, theirs):
        error = assert_error(
            outsider_api.post("/api/v1/transactions", trade(theirs, currency="NOK"), format="json"),
            400,
            "validation_error",
        )
        assert error["details"]["currency"] == ["NVDA is traded in USD, not NOK."]
        assert Instrument.objects.get(ticker="NVDA").currency == "USD"
        assert not Transaction.objects.filter(portfolio=theirs).exists()

    def test_the_same_currency_is_accepted_with_the_users_own_rate(
        self, outsider_api, nvda, theirs
    ):
        response = outsider_api.post(
            "/api/v1/transactions",
            trade(theirs, currency="usd", exchange_rate="9.5"),
            format="json",
        )
        assert response.status_code == 201, response.content
        saved = Transaction.objects.get(portfolio=theirs)
        # 1 × 100 USD × 9.5 NOK/USD: the user's own rate for this transaction only.
        assert (saved.exchange_rate, saved.total_amount) == (D("9.5"), D("950"))
        assert not HistoricalExchangeRate.objects.exists()

    def test_an_edit_cannot_change_it_either(self, api, nvda):
        txn = Transaction.objects.get()
        response = api.patch(
            f"/api/v1/transactions/{txn.pk}",
            {"symbol": "NVDA", "currency": "NOK", "exchange_rate": "1"},
            format="json",
        )
        error = assert_error(response, 400, "validation_error")
        assert error["details"]["currency"] == ["NVDA is traded in USD, not NOK."]
        assert Instrument.objects.get(ticker="NVDA").currency == "USD"
        assert Transaction.objects.get().exchange_rate == D("10")

    def test_during_an_outage_a_user_cannot_create_it_in_their_currency(
        self,
        outsider_api,
        provider,  # noqa: F811
        theirs,
    ):
        provider.error = ProviderUnavailable("over the rate limit")
        response = outsider_api.post(
            "/api/v1/transactions", trade(theirs, currency="NOK"), format="json"
        )
        assert_error(response, 503)
        assert not Instrument.objects.filter(ticker="NVDA").exists()

    def test_a_symbol_the_provider_does_not_know_can_still_be_added(
        self,
        outsider_api,
        provider,  # noqa: F811
        theirs,
    ):
        provider.unknown.add("MYFUND")
        response = outsider_api.post(
            "/api/v1/transactions",
            trade(theirs, symbol="MYFUND", currency="NOK", exchange_rate="1"),
            format="json",
        )
        assert response.status_code == 201, response.content
        assert Instrument.objects.get(ticker="MYFUND").currency == "NOK"


class TestForm:
    def url(self, portfolio):
        return reverse("portfolios:transaction_add", args=[portfolio.pk])

    def test_another_currency_is_a_field_error(self, outsider_client, nvda, theirs):
        response = outsider_client.post(self.url(theirs), trade(theirs, currency="NOK"))
        assert response.status_code == 422
        assert response.context["form"].errors["currency"] == ["NVDA is traded in USD, not NOK."]
        assert Instrument.objects.get(ticker="NVDA").currency == "USD"
        assert not Transaction.objects.filter(portfolio=theirs).exists()

    def test_during_an_outage_the_currency_given_does_not_create_it(
        self,
        outsider_client,
        provider,  # noqa: F811
        theirs,
    ):
        provider.error = ProviderUnavailable("down")
        response = outsider_client.post(self.url(theirs), trade(theirs, currency="NOK"))
        assert "cannot be looked up" in response.context["form"].errors["symbol"][0]
        assert not Instrument.objects.filter(ticker="NVDA").exists()


class TestImport:
    def upload(self, api, portfolio, content: bytes):
        data = {
            "file": SimpleUploadedFile("export.csv", content, "text/csv"),
            "portfolio": portfolio.pk,
            "format": "generic",
        }
        return api.post("/api/v1/transactions/import-csv", data, format="multipart")

    def test_a_row_in_another_currency_is_refused(self, outsider_api, nvda, theirs):
        csv = b"date,type,symbol,quantity,price,fees,currency,exchange_rate\n"
        csv += b"2024-01-02,BUY,NVDA,1,100,0,NOK,1\n"
        response = self.upload(outsider_api, theirs, csv)
        assert response.status_code == 400, response.content
        assert "USD" in response.content.decode()
        assert Instrument.objects.get(ticker="NVDA").currency == "USD"
        assert not Transaction.objects.filter(portfolio=theirs).exists()


class TestAdmin:
    def test_a_held_instruments_currency_cannot_be_changed(self, admin_client, nvda):
        url = reverse("admin:marketdata_instrument_change", args=[nvda.pk])
        page = admin_client.get(url)
        assert "currency" not in page.context["adminform"].form.fields
        admin_client.post(
            url,
            {"ticker": "NVDA", "company_name": "NVIDIA", "exchange": "NMS", "currency": "NOK"},
        )
        nvda.refresh_from_db()
        assert (nvda.company_name, nvda.currency) == ("NVIDIA", "USD")

    def test_an_unheld_instruments_currency_can_be_corrected(self, admin_client, settings):
        fund = InstrumentFactory(ticker="MYFUND", currency="NOK")
        url = reverse("admin:marketdata_instrument_change", args=[fund.pk])
        admin_client.post(
            url, {"ticker": "MYFUND", "company_name": "My fund", "exchange": "", "currency": "EUR"}
        )
        fund.refresh_from_db()
        assert fund.currency == "EUR"

    @pytest.mark.parametrize(
        "model", ["instrument", "historicalstockprice", "historicalexchangerate"]
    )
    def test_users_cannot_write_market_data_in_the_admin(self, outsider_client, model):
        response = outsider_client.post(
            reverse(f"admin:marketdata_{model}_add"),
            {"instrument": 1, "date": "2024-01-02", "close": "0.01"},
        )
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
        assert not HistoricalStockPrice.objects.exists()

    def test_staff_without_the_permission_cannot_either(self, client, staff):
        client.force_login(staff)
        response = client.post(
            reverse("admin:marketdata_historicalexchangerate_add"),
            {
                "base_currency": "USD",
                "target_currency": "NOK",
                "date": dt.date(2024, 1, 2),
                "rate": "0.0001",
            },
        )
        assert response.status_code == 403
        assert not HistoricalExchangeRate.objects.exists()


class TestManualMarketDataThroughOneService:
    """Staff write closes and rates through marketdata.history whichever way they come in:
    a rate with more digits than stored is rounded (half to even, 10 dp) in the API and the
    admin alike, and an admin edit moves the market-data stamp, so cached valuations and
    charts see it at once."""

    PASTED = "10.12345678904999"  # rounds to 10.1234567890 (the 11th digit is 4)

    def test_the_api_rounds_a_pasted_rate(self, staff_api):
        response = staff_api.post(
            "/api/v1/exchange-rates/USD/NOK/history",
            {"rates": [{"date": "2024-01-02", "rate": self.PASTED}]},
            format="json",
        )
        assert response.status_code == 201, response.content
        assert HistoricalExchangeRate.objects.get().rate == D("10.1234567890")

    def test_the_admin_rounds_a_pasted_rate(self, admin_client):
        response = admin_client.post(
            reverse("admin:marketdata_historicalexchangerate_add"),
            {
                "base_currency": "USD",
                "target_currency": "NOK",
                "date": "2024-01-02",
                "rate": self.PASTED.replace(".", ","),
            },
        )
        assert response.status_code == 302, response.content
        assert HistoricalExchangeRate.objects.get().rate == D("10.1234567890")

    def test_the_admin_refuses_a_rate_of_zero_naming_the_field(self, admin_client):
        response = admin_client.post(
            reverse("admin:marketdata_historicalexchangerate_add"),
            {"base_currency": "USD", "target_currency": "NOK", "date": "2024-01-02", "rate": "0"},
        )
        assert response.status_code == 200
        assert "rate" in response.context["adminform"].form.errors
        assert not HistoricalExchangeRate.objects.exists()

    def test_an_admin_edit_of_a_close_is_seen_by_cached_figures(self, admin_client, nvda):
        from financedash.lib import versions

        close = HistoricalStockPrice.objects.create(
            instrument=nvda, date=dt.date(2024, 1, 2), close=D("100")
        )
        before = versions.current(versions.MARKET_DATA)
        response = admin_client.post(
            reverse("admin:marketdata_historicalstockprice_change", args=[close.pk]),
            {"instrument": nvda.pk, "date": "2024-01-03", "close": "120,5"},
        )
        assert response.status_code == 302, response.content
        # Moved to the new date, with the typed value, and the stamp moved on.
        assert list(HistoricalStockPrice.objects.values_list("date", "close")) == [
            (dt.date(2024, 1, 3), D("120.5"))
        ]
        assert versions.current(versions.MARKET_DATA) != before

    def test_an_admin_delete_moves_the_stamp(self, admin_client, nvda):
        from financedash.lib import versions

        close = HistoricalStockPrice.objects.create(
            instrument=nvda, date=dt.date(2024, 1, 2), close=D("100")
        )
        before = versions.current(versions.MARKET_DATA)
        admin_client.post(
            reverse("admin:marketdata_historicalstockprice_delete", args=[close.pk]),
            {"post": "yes"},
        )
        assert not HistoricalStockPrice.objects.exists()
        assert versions.current(versions.MARKET_DATA) != before
