"""Malformed requests are the client's error (4xx in the API's format), never a 500 —
issue 13, item 7. Each case failed with a 500 before its fix."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.test import Client

from portfolios import services
from portfolios.models import Transaction
from tests.api.conftest import assert_error
from tests.factories import InstrumentFactory, PortfolioFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("body", ["[null,null]", '"text"', "42", "null"])
def test_a_json_body_that_is_not_an_object_is_a_400(body):
    response = Client().post("/api/v1/auth/login", data=body, content_type="application/json")
    error = assert_error(response, 400)
    assert "JSON object" in error["message"]


def test_the_same_rule_holds_for_an_authenticated_write(api):
    response = api.post("/api/v1/portfolios", data="[1, 2]", content_type="application/json")
    assert_error(response, 400)


def test_a_body_over_the_upload_limit_is_a_413(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"username": "x", "password": "y" * 2000})
    response = Client().post("/api/v1/auth/login", data=body, content_type="application/json")
    error = assert_error(response, 413, "payload_too_large")
    assert "larger than" in error["message"]


def test_a_nul_in_an_api_query_parameter_is_a_400_naming_it(api):
    response = api.get("/api/v1/stocks/search?q=%00eq")
    error = assert_error(response, 400)
    assert list(error["details"]) == ["q"]


def test_a_nul_in_the_html_instrument_search_is_a_400(owner_client):
    response = owner_client.get("/instruments/search/?q=a%00b")
    assert response.status_code == 400
    assert b"NUL" in response.content


def test_a_nul_in_api_notes_is_refused_naming_notes(api, owner):
    portfolio = PortfolioFactory(user=owner, currency="NOK")
    InstrumentFactory(ticker="EQNR.OL", currency="NOK")
    data = {
        "portfolio": portfolio.pk,
        "symbol": "EQNR.OL",
        "type": "BUY",
        "date": "2024-01-02",
        "quantity": "1",
        "price": "10",
        "notes": "a\x00b",
    }
    error = assert_error(api.post("/api/v1/transactions", data, format="json"), 400)
    assert list(error["details"]) == ["notes"]
    assert not Transaction.objects.exists()


def test_the_service_refuses_a_nul_in_notes_for_every_caller(owner):
    # The importers reach the service without a form or serializer in between.
    portfolio = PortfolioFactory(user=owner, currency="NOK")
    equinor = InstrumentFactory(ticker="EQNR.OL", currency="NOK")
    entry = services.NewTransaction(
        instrument=equinor,
        type="BUY",
        date=dt.date(2024, 1, 2),
        quantity=Decimal(1),
        price=Decimal(10),
        notes="bad\x00note",
    )
    with pytest.raises(services.Rejected) as refused:
        services.record_transactions(portfolio, [entry])
    assert "notes" in refused.value.errors[0].message_dict
    assert not Transaction.objects.exists()
