"""The import page's detected format, editable symbols and holdings before/after, and the
imports list with its undo."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from portfolios.models import Holding, ImportBatch, SymbolChoice, Transaction
from portfolios.views import PENDING_IMPORT
from tests.factories import InstrumentFactory, record
from tests.views.conftest import htmx

pytestmark = pytest.mark.django_db
NORDNET = (Path(__file__).parent.parent / "fixtures" / "nordnet-transactions-no.csv").read_bytes()
TRADES = b"""date,type,symbol,quantity,price,fees
2024-01-02,BUY,EQUINOR,10,250,49
2024-03-01,SELL,EQUINOR,4,260,49
"""
URL = reverse("portfolios:import")


def upload(client, portfolio, data, **fields):
    upload = SimpleUploadedFile("export.csv", data, content_type="text/csv")
    return client.post(URL, {"portfolio": portfolio.pk, "file": upload, **fields})


def symbols(client, action="repreview", **changes):
    """Post the preview form with some symbols changed: {shown symbol: new symbol}."""
    token = client.session[PENDING_IMPORT]["token"]
    data = {action: token}
    for n, (was, symbol) in enumerate(changes.items(), start=1):
        data |= {f"key-{n}": was, f"was-{n}": was, f"symbol-{n}": symbol}
    return htmx(client, URL, data, method="post")


def test_a_nordnet_file_uploaded_with_the_default_format_is_read_as_nordnet(
    owner_client, portfolio
):
    # Regression: the default format was generic, which refused Nordnet's header.
    for ticker, currency in [
        ("EQNR.OL", "NOK"), ("NHY.OL", "NOK"), ("DNB.OL", "NOK"), ("AAPL", "USD"),
        ("ORK.OL", "NOK"), ("MSFT", "USD"),
    ]:  # fmt: skip
        InstrumentFactory(ticker=ticker, currency=currency)
    form = owner_client.get(URL).context["form"]
    assert form["format"].initial == "auto"
    response = upload(owner_client, portfolio, NORDNET)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Format: <strong>nordnet</strong>, detected from Nordnet&#x27;s Norwegian column" in body
    assert "Import 13 transactions" in body
    assert ">will create<" in body and ">created<" not in body
    assert not Transaction.objects.exists()


def test_the_preview_shows_holdings_before_and_after(owner_client, portfolio, equinor):
    record(portfolio, equinor, quantity="5", price="240", date=dt.date(2023, 12, 1))
    response = upload(owner_client, portfolio, TRADES.replace(b"EQUINOR", b"EQNR.OL"))
    [plan] = response.context["result"].instruments
    # 5 held; +10 -4: 11 after the import.
    assert (plan.before, plan.after) == (Decimal("5"), Decimal("11"))
    body = response.content.decode()
    assert "Held now" in body and "After import" in body
    # Fees and amounts in the portfolio's currency: 10 x 250 + 49 = 2549.
    assert "2\u202f549.00\u00a0NOK" in body


def test_a_symbol_changed_in_the_preview_is_used_and_remembered(
    owner_client, owner, portfolio, equinor
):
    first = upload(owner_client, portfolio, TRADES)
    assert "Unknown symbol EQUINOR" in first.content.decode()
    assert 'name="commit"' not in first.content.decode()

    again = symbols(owner_client, EQUINOR="eqnr.ol")
    body = again.content.decode()
    assert "Import 2 transactions" in body
    assert "your choice" in body
    assert not SymbolChoice.objects.exists()  # a preview remembers nothing

    done = symbols(owner_client, action="commit", **{"EQNR.OL": "EQNR.OL"})
    assert done["HX-Redirect"] == reverse("portfolios:detail", args=[portfolio.pk])
    assert Holding.objects.get(portfolio=portfolio).quantity == 6
    assert SymbolChoice.objects.get(user=owner).key == "EQUINOR"

    # The next file with the same instrument needs no choice.
    nxt = upload(owner_client, portfolio, TRADES.replace(b"2024-01-02", b"2024-01-03"))
    assert "remembered" in nxt.content.decode()
    assert nxt.context["result"].ok


def test_a_commit_with_other_symbols_than_previewed_is_previewed_again(
    owner_client, portfolio, equinor
):
    InstrumentFactory(ticker="DNB.OL", currency="NOK")
    upload(owner_client, portfolio, TRADES.replace(b"EQUINOR", b"EQNR.OL"))
    response = symbols(owner_client, action="commit", **{"EQNR.OL": "DNB.OL"})
    assert response.status_code == 200
    assert "changed since the preview" in response.content.decode()
    assert not Transaction.objects.exists()


def test_the_format_can_be_overridden_in_the_preview(owner_client, portfolio, equinor):
    upload(owner_client, portfolio, TRADES.replace(b"EQUINOR", b"EQNR.OL"))
    token = owner_client.session[PENDING_IMPORT]["token"]
    response = htmx(owner_client, URL, {"repreview": token, "format": "nordnet"}, method="post")
    assert response.context["result"].format == "nordnet"
    assert "Not a Nordnet export" in response.content.decode()
    assert owner_client.session[PENDING_IMPORT]["format"] == "nordnet"


def committed_batch(client, portfolio) -> ImportBatch:
    upload(client, portfolio, TRADES.replace(b"EQUINOR", b"EQNR.OL"))
    symbols(client, action="commit")
    return ImportBatch.objects.get()


def test_the_imports_page_lists_each_import(owner_client, outsider, portfolio, equinor):
    batch = committed_batch(owner_client, portfolio)
    body = owner_client.get(reverse("portfolios:imports")).content.decode()
    assert "export.csv" in body and portfolio.name in body and "generic" in body
    assert reverse("portfolios:import_undo", args=[batch.pk]) in body
    other = Client()
    other.force_login(outsider)
    assert "export.csv" not in other.get(reverse("portfolios:imports")).content.decode()


def test_undo_asks_first_then_removes_the_import(owner_client, portfolio, equinor):
    batch = committed_batch(owner_client, portfolio)
    url = reverse("portfolios:import_undo", args=[batch.pk])
    page = owner_client.get(url).content.decode()
    assert "Undo this import?" in page and "removes its 2 transactions" in page
    assert Transaction.objects.count() == 2
    response = owner_client.post(url, follow=True)
    assert "Undid the import of export.csv: removed 2 transactions" in response.content.decode()
    assert not Transaction.objects.exists()
    assert "Undone" in owner_client.get(reverse("portfolios:imports")).content.decode()
    again = owner_client.post(url)
    assert again.status_code == 422
    assert "already undone" in again.content.decode()


def test_undo_refused_names_the_later_transaction(owner_client, portfolio, equinor):
    batch = committed_batch(owner_client, portfolio)
    sale = record(portfolio, equinor, "SELL", quantity="5", price="300", date=dt.date(2024, 6, 3))
    response = owner_client.post(reverse("portfolios:import_undo", args=[batch.pk]))
    assert response.status_code == 422
    assert f"transaction #{sale.pk}" in response.content.decode()
    assert Transaction.objects.count() == 3
