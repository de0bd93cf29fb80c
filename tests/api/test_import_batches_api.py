"""The import endpoint's format detection and symbol choices, and /api/v1/imports: the
list of a user's import batches and undoing one (section 7)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from portfolios.models import Holding, ImportBatch, SymbolChoice, Transaction
from tests.api.conftest import assert_error
from tests.factories import InstrumentFactory, PortfolioFactory, record

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent.parent / "fixtures"
NORDNET = (FIXTURES / "nordnet-transactions-no.csv").read_bytes()
TRADES = b"""date,type,symbol,quantity,price,fees
2024-02-01,BUY,EQNR.OL,10,300,29
2024-03-01,SELL,EQNR.OL,4,320,29
"""


@pytest.fixture(autouse=True)
def offline(settings):
    settings.MARKETDATA_PROVIDER = "offline"


@pytest.fixture
def portfolio(owner):
    return PortfolioFactory(user=owner, name="Brokerage", currency="NOK")


@pytest.fixture
def equinor(db):
    return InstrumentFactory(ticker="EQNR.OL", isin="NO0010096985", currency="NOK")


def upload(api, portfolio, content=TRADES, name="trades.csv", **extra):
    data = {"file": SimpleUploadedFile(name, content), "portfolio": portfolio.pk, **extra}
    return api.post("/api/v1/transactions/import-csv", data, format="multipart")


def test_a_nordnet_file_without_a_format_is_detected(api, portfolio):
    # Regression: the format defaulted to generic, which refused Nordnet's header.
    for ticker, currency in [
        ("EQNR.OL", "NOK"), ("NHY.OL", "NOK"), ("DNB.OL", "NOK"), ("AAPL", "USD"),
        ("ORK.OL", "NOK"), ("MSFT", "USD"),
    ]:  # fmt: skip
        InstrumentFactory(ticker=ticker, currency=currency)
    response = upload(api, portfolio, NORDNET, name="transactions.csv", dry_run="true")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["format"], body["detected"]) == ("nordnet", True)
    assert body["detection"] == "Nordnet's Norwegian column names"
    assert body["counts"]["will_create"] == 13  # 10 trades and dividends, 3 cash entries
    assert body["batch"] is None


def test_the_response_shows_fees_amounts_and_holdings_before_and_after(api, portfolio, equinor):
    body = upload(api, portfolio, dry_run="true").json()
    [instrument] = body["instruments"]
    assert instrument == {
        "key": "EQNR.OL", "name": "EQNR.OL", "isin": None, "symbol": "EQNR.OL",
        "source": "file", "ticker": "EQNR.OL", "problem": "",
        "quantity_before": "0.000000", "quantity_after": "6.000000",
    }  # fmt: skip
    assert body["cash_before"] is None and body["cash_after"] is None  # no cash tracked
    rows = {row["line"]: row for row in body["rows"]}
    # 10 x 300 + 29; 4 x 320 - 29.
    assert (rows[2]["fees"], rows[2]["amount"]) == ("29.00", "3029.00")
    assert (rows[3]["fees"], rows[3]["amount"]) == ("29.00", "1251.00")


def test_symbol_overrides_choose_and_remember_a_symbol(api, owner, portfolio, equinor):
    content = TRADES.replace(b"EQNR.OL", b"EQUINOR")
    refused = assert_error(upload(api, portfolio, content), 400, "import_failed")
    assert "Unknown symbol EQUINOR" in refused["message"]
    overrides = json.dumps({"EQUINOR": "EQNR.OL"})
    response = upload(api, portfolio, content, symbol_overrides=overrides)
    assert response.status_code == 201, response.content
    assert response.json()["instruments"][0]["source"] == "chosen"
    assert SymbolChoice.objects.get(user=owner).symbol == "EQNR.OL"
    assert Holding.objects.get(portfolio=portfolio).instrument == equinor


@pytest.mark.parametrize("bad", ["{not json", '["EQNR.OL"]', '{"EQUINOR": 3}'])
def test_bad_symbol_overrides_name_the_field(api, portfolio, equinor, bad):
    error = assert_error(upload(api, portfolio, symbol_overrides=bad), 400, "validation_error")
    assert "symbol_overrides" in error["details"]


def test_imports_are_listed_with_their_counts(api, outsider_api, portfolio, equinor):
    created = upload(api, portfolio).json()
    body = api.get("/api/v1/imports").json()
    assert body == [
        {
            "id": created["batch"],
            "portfolio": portfolio.pk,
            "file_name": "trades.csv",
            "format": "generic",
            "created_at": body[0]["created_at"],
            "counts": {"created": 2, "duplicate": 0, "skipped": 0, "error": 0, "unchecked": 0},
            "undone_at": None,
        }
    ]
    assert outsider_api.get("/api/v1/imports").json() == []


def test_undo_removes_the_import_whole(api, portfolio, equinor):
    batch = upload(api, portfolio).json()["batch"]
    response = api.delete(f"/api/v1/imports/{batch}")
    assert response.status_code == 204, response.content
    assert not Transaction.objects.exists()
    assert not Holding.objects.exists()
    assert api.get("/api/v1/imports").json()[0]["undone_at"] is not None
    error = assert_error(api.delete(f"/api/v1/imports/{batch}"), 409, "already_undone")
    assert "already undone" in error["message"]


def test_undo_is_409_when_a_later_sale_needs_the_import(api, portfolio, equinor):
    batch = upload(api, portfolio).json()["batch"]
    sale = record(portfolio, equinor, "SELL", quantity="5", price="330", date=dt.date(2024, 5, 2))
    error = assert_error(api.delete(f"/api/v1/imports/{batch}"), 409, "depended_on")
    assert f"transaction #{sale.pk}" in error["message"]
    assert Transaction.objects.count() == 3
    assert Holding.objects.get().quantity == Decimal("1")
    assert ImportBatch.objects.get().undone_at is None


def test_an_unknown_import_is_404(api):
    assert_error(api.delete("/api/v1/imports/999999"), 404)


def test_anonymous_is_401(anon_api):
    assert_error(anon_api.get("/api/v1/imports"), 401)
