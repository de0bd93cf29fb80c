"""Property-based API conformance: schemathesis generates requests from our own OpenAPI
schema and sends them in-process to the WSGI app, authenticated as a user with data.
No 500s, every response must match the schema (status, content type, body), and, in both
directions (issue 13 item 9), schema-valid requests are accepted (positive data) and
schema-violating ones refused (negative data).

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
from schemathesis import GenerationMode

from financedash.wsgi import application
from tests.factories import (
    HistoricalExchangeRateFactory,
    HistoricalStockPriceFactory,
    InstrumentFactory,
    PortfolioFactory,
    record,
)

EXAMPLES = 15  # per operation and mode: about 1.5 min in all

# The rules a schema cannot state, each a documented 400 for a schema-valid request (the
# message contains these words); and a file's content (FILE_ENDPOINTS). A 400 for anything
# else on schema-valid input fails the test.
RULES_A_SCHEMA_CANNOT_STATE = (
    # Two fields compared, or a bound that moves with today's date.
    "Must be on or before end.",
    "The period can be at most",
    "in the future",
    "is in the past",
    "years ahead",
    # A field required by the type chosen (a trade's symbol, quantity and price, which a
    # cash body leaves out): a required field in the schema is in every positive case.
    "This field is required.",
    # A reference that must exist and be the user's, or be known to the provider.
    "object does not exist.",
    "Unknown symbol",
    "No exchange rate",
    "Enter the rate you traded at",
    # A decimal's range (JSON Schema's minimum and maximum do not apply to the decimal
    # strings) and a quantity of exactly 0.
    "Ensure this value is greater than or equal to",
    "Ensure this value is less than or equal to",
    "Must be greater than 0.",
    # The ledger's rules: a split's fields follow from its type, and what a transaction may
    # do depends on the holding's other transactions (portfolios.services).
    "A split",
    "The split",
    "This change would",
    "Cannot record",
    "Cannot sell",
    "Cannot book",
    "the exchange rate is 1",
    "is too large",
    "exceeds the largest",
)
# A document or file whose content is checked by its own rules (the schema says "an object").
FILE_ENDPOINTS = {"POST /api/v1/transactions/import-csv", "POST /api/v1/backup"}


def _stated_rule(case, response) -> bool:
    if response.status_code != 400 or case.operation.label in FILE_ENDPOINTS:
        return response.status_code == 400
    try:
        details = response.json()["error"]["details"]
    except (ValueError, KeyError, TypeError):
        return False
    messages = [
        message
        for values in details.values()
        for message in (values if isinstance(values, list) else [values])
    ]
    return bool(messages) and all(
        any(rule in str(message) for rule in RULES_A_SCHEMA_CANNOT_STATE) for message in messages
    )


def positive_data_acceptance(ctx, response, case):
    """schemathesis' own check, except for the rules above."""
    if _stated_rule(case, response):
        return None
    return schemathesis.checks.positive_data_acceptance(ctx, response, case)


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = RAW["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _is_string(schema: dict) -> bool:
    schema = _resolve(schema)
    alternatives = schema.get("oneOf") or schema.get("anyOf") or schema.get("allOf") or []
    return schema.get("type") == "string" or any(_is_string(s) for s in alternatives)


def _number_for_a_string(case) -> bool:
    """DRF takes a JSON number for a string or decimal field (as its text: 0.5 is "0.5"):
    a leniency for clients, not a rule broken. True when the body sends one."""
    method, path = case.operation.label.split(" ", 1)
    body = RAW["paths"][path][method.lower()].get("requestBody", {})
    schema = body.get("content", {}).get("application/json", {}).get("schema")
    if schema is None or not isinstance(case.body, dict):
        return False
    properties = _resolve(schema).get("properties", {})
    return any(
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and name in properties
        and _is_string(properties[name])
        for name, value in case.body.items()
    )


def negative_data_rejection(ctx, response, case):
    """schemathesis' own check, except for a JSON number sent for a string."""
    if _number_for_a_string(case):
        return None
    return schemathesis.checks.negative_data_rejection(ctx, response, case)


EXCLUDED = [
    schemathesis.checks.positive_data_acceptance,
    schemathesis.checks.negative_data_rejection,
]


def _load_schema():
    generated = SchemaGenerator().get_schema(request=None, public=True)
    raw = json.loads(OpenApiJsonRenderer().render(generated))
    loaded = schemathesis.openapi.from_dict(raw)
    loaded.app = application
    return raw, loaded


RAW, SCHEMA = _load_schema()
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


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_operation_conforms_to_the_schema(label, mode, auth_headers):
    @given(case=OPERATIONS[label].as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        # The same cases on every run: a CI failure can be replayed.
        derandomize=True,
    )
    def check(case):
        CASES["count"] += 1
        case.call_and_validate(
            headers=auth_headers,
            excluded_checks=EXCLUDED,
            additional_checks=[positive_data_acceptance, negative_data_rejection],
        )

    check()


def test_every_operation_is_covered():
    assert len(OPERATIONS) >= 30
