from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from portfolios.models import Transaction
from tests.api.conftest import assert_error
from tests.factories import InstrumentFactory, PortfolioFactory

pytestmark = pytest.mark.django_db
SAMPLE = Path(__file__).parent.parent / "fixtures" / "nordnet-transactions-no.csv"
GENERIC = b"""date,type,symbol,quantity,price,fees,currency
2024-01-02,BUY,EQNR.OL,10,300,29,NOK
2024-02-01,SELL,EQNR.OL,4,320,29,NOK
"""


@pytest.fixture(autouse=True)
def offline(settings):
    settings.MARKETDATA_PROVIDER = "offline"


@pytest.fixture
def portfolio(owner):
    InstrumentFactory(ticker="EQNR.OL", currency="NOK")
    return PortfolioFactory(user=owner, currency="NOK")


def _upload(api, portfolio, content=GENERIC, **extra):
    data = {
        "file": SimpleUploadedFile("export.csv", content, "text/csv"),
        "portfolio": portfolio.pk,
        "format": "generic",
        **extra,
    }
    return api.post("/api/v1/transactions/import-csv", data, format="multipart")


def test_dry_run_reports_and_saves_nothing(api, portfolio):
    response = _upload(api, portfolio, dry_run="true")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["committed"] is False
    # Nothing is saved, so nothing says "created" (QA: the API's dry run said it did).
    assert body["counts"]["will_create"] == 2 and "created" not in body["counts"]
    assert [r["status"] for r in body["rows"]] == ["will_create", "will_create"]
    assert not Transaction.objects.exists()


def test_import_commits_and_reimport_is_all_duplicates(api, portfolio):
    response = _upload(api, portfolio)
    assert response.status_code == 201, response.content
    assert Transaction.objects.count() == 2
    assert all(r["transaction_id"] for r in response.json()["rows"])
    again = _upload(api, portfolio).json()
    assert again["counts"]["duplicate"] == 2
    assert Transaction.objects.count() == 2


def test_an_oversell_rolls_everything_back_and_names_the_line(api, portfolio):
    content = GENERIC.replace(b"SELL,EQNR.OL,4", b"SELL,EQNR.OL,40")
    error = assert_error(_upload(api, portfolio, content), 400, "import_failed")
    assert error["message"].startswith("Nothing was imported: line 3")
    statuses = {row["line"]: row["status"] for row in error["details"]["rows"]}
    assert statuses[3] == "error"
    assert not Transaction.objects.exists()


def test_nordnet_sample_imports(api, owner):
    portfolio = PortfolioFactory(user=owner, currency="NOK")
    for ticker, currency in [
        ("EQNR.OL", "NOK"), ("NHY.OL", "NOK"), ("DNB.OL", "NOK"), ("AAPL", "USD"),
        ("ORK.OL", "NOK"), ("MSFT", "USD"),
    ]:  # fmt: skip
        InstrumentFactory(ticker=ticker, currency=currency)
    response = _upload(api, portfolio, SAMPLE.read_bytes(), format="nordnet")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["counts"] == {
        "created": 13, "duplicate": 0, "skipped": 2, "error": 0, "unchecked": 0,
    }  # fmt: skip
    eqnr_sale = next(r for r in body["rows"] if r["line"] == 3)
    assert (eqnr_sale["symbol"], eqnr_sale["type"], eqnr_sale["quantity"]) == (
        "EQNR.OL", "SELL", "25.000000",
    )  # fmt: skip
    assert Transaction.objects.filter(portfolio=portfolio).count() == 13
    deposit = next(r for r in body["rows"] if r["line"] == 16)
    assert (deposit["type"], deposit["amount"], deposit["symbol"]) == ("DEPOSIT", "100000.00", "")
    summary = api.get(f"/api/v1/portfolios/{portfolio.pk}").json()
    assert (summary["track_cash"], summary["cash_balance"]) == (True, "33005.75")  # Saldo


def test_validation_names_fields(api, portfolio):
    response = api.post("/api/v1/transactions/import-csv", {"format": "excel"}, format="multipart")
    error = assert_error(response, 400, "validation_error")
    assert {"file", "portfolio", "format"} <= set(error["details"])


def test_other_users_portfolio_is_rejected(outsider_api, portfolio):
    error = assert_error(_upload(outsider_api, portfolio), 400)
    assert "portfolio" in error["details"]
    assert not Transaction.objects.exists()


def test_anonymous_is_401(anon_api, portfolio):
    assert_error(_upload(anon_api, portfolio), 401)
