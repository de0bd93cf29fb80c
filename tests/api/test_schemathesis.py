"""Property-based API conformance: schemathesis generates requests from our own OpenAPI
schema and sends them in-process to the WSGI app, authenticated as a user with data.
No 500s, and every response must match the schema (status, content type, body).

Driven through hypothesis directly, one test per operation: schemathesis' pytest plugin
does not support pytest 9 yet.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, given, settings
from rest_framework_simplejwt.tokens import RefreshToken

from financedash.wsgi import application
from tests.factories import (
    HistoricalExchangeRateFactory,
    HistoricalStockPriceFactory,
    InstrumentFactory,
    PortfolioFactory,
    record,
)

EXAMPLES = 20
# Schema-valid input can still be refused by business rules (an oversell, another user's
# portfolio id), so "valid data must be accepted" does not hold for this API.
EXCLUDED = [schemathesis.checks.positive_data_acceptance]


def _load_schema():
    generated = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(generated)))
    loaded.app = application
    return loaded


SCHEMA = _load_schema()
OPERATIONS = {op.ok().label: op.ok() for op in SCHEMA.get_all_operations()}
CASES = {"count": 0}


@pytest.fixture(scope="module", autouse=True)
def _report_case_count():
    yield
    print(f"\nschemathesis: {CASES['count']} cases over {len(OPERATIONS)} operations")


@pytest.fixture
def keep_test_connection():
    """The raw WSGI app closes the database connection at the end of each request, which
    would close the test's transaction; Django's test client suppresses this the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def auth_headers(db, owner, settings, keep_test_connection):
    settings.MARKETDATA_PROVIDER = "offline"
    portfolio = PortfolioFactory(user=owner, name="Main", currency="NOK")
    eqnr = InstrumentFactory(ticker="EQNR.OL", currency="NOK")
    aapl = InstrumentFactory(ticker="AAPL", currency="USD")
    record(portfolio, eqnr, quantity="10", price="300")
    record(portfolio, aapl, quantity="2", price="150", exchange_rate="10")
    HistoricalStockPriceFactory(instrument=eqnr, date=dt.date(2024, 6, 3))
    HistoricalExchangeRateFactory()
    return {"Authorization": f"Bearer {RefreshToken.for_user(owner).access_token}"}


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_operation_conforms_to_the_schema(label, auth_headers):
    @given(case=OPERATIONS[label].as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case):
        CASES["count"] += 1
        case.call_and_validate(headers=auth_headers, excluded_checks=EXCLUDED)

    check()


def test_every_operation_is_covered():
    assert len(OPERATIONS) >= 30
