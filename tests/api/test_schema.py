from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver

from tests.api.conftest import assert_error

# Endpoints that answer without a token: getting one. (The API description needs a login
# too, unless PUBLIC_API_DOCS=true: issue 13.)
PUBLIC = {"auth/register", "auth/login", "auth/refresh", "auth/logout"}


def test_the_schema_validates_without_warnings(tmp_path):
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )


def _api_routes(patterns=None, prefix=""):
    if patterns is None:
        patterns = next(
            p.url_patterns for p in get_resolver().url_patterns if str(p.pattern) == "api/v1/"
        )
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _api_routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route


ROUTES = sorted(set(_api_routes()) - PUBLIC)


def test_every_route_is_listed():
    # issue 8 added GET /api/v1/performance; issue 10 the pension, projection and YNAB routes;
    # issue 11 /api/v1/imports and /api/v1/imports/{id}, transactions/export and backup;
    # issue 13: the schema and its docs page need a login too; /api/v1/imports/jobs/{id};
    # issue 15 the dividend forecast; issue 14 tax/{year} and tax/rates/{year}
    assert len(ROUTES) == 41


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_every_endpoint_refuses_anonymous_requests(anon_api, route, method):
    path = "/api/v1/" + route
    for name, value in [
        ("<int:pk>", "1"),
        ("<str:symbol>", "EQNR.OL"),
        ("<int:value_id>", "1"),
        ("<int:year>", "2023"),
        ("<str:account_id>", "0b6f8e2a-5c1d-4c2e-9a57-3f0e7d1c2b4a"),
    ]:
        path = path.replace(name, value)
    path = path.replace("<str:base>", "USD").replace("<str:target>", "NOK")
    # The schema answers in YAML unless JSON is asked for, its errors too.
    extra = {"HTTP_ACCEPT": "application/json"} if route == "schema/" else {}
    response = getattr(anon_api, method)(path, **extra)
    if response.status_code == 405:  # the method does not exist there at all
        return
    if route == "docs/":  # a page for people: the login form, then back
        assert response.status_code == 302
        assert response["Location"] == "/login/?next=/api/v1/docs/"
        return
    assert_error(response, 401, "not_authenticated")


# Issue 13 item 9: the schema states the real constraints (financedash.lib.api_schema).
def _schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def test_the_schema_states_the_input_constraints():
    import re

    schema = _schema()
    components = schema["components"]["schemas"]
    transaction = components["TransactionRequest"]["properties"]
    price, quantity = transaction["price"]["pattern"], transaction["quantity"]["pattern"]
    # A digit is required, a sign only where a negative is valid (PRICE: 9 whole digits, 6
    # decimals).
    assert price == r"^\d{1,9}(?:\.\d{0,6})?$"
    assert re.match(price, "440.50") and not re.match(price, "") and not re.match(price, "-1")
    assert not re.match(quantity, "-5")
    assert re.match(transaction["date"]["pattern"], "1900-01-01")
    for day in ("1899-12-31", "2024-02-30", "2024-13-01", "24-01-01"):
        assert not re.match(transaction["date"]["pattern"], day), day
    portfolio = components["PortfolioWriteRequest"]["properties"]
    assert portfolio["currency"]["pattern"] == "^[A-Za-z]{3}$"
    assert not re.match(portfolio["name"]["pattern"], "  ")  # blank once trimmed
    assert not re.match(portfolio["name"]["pattern"], "a\x00b")
    # A blank-allowed string is one schema, not a oneOf that "" matches twice.
    assert "oneOf" not in portfolio["description"]
    assert re.match(portfolio["description"]["pattern"], "")
    fx = schema["paths"]["/api/v1/exchange-rates/{base}/{target}/history"]["get"]
    by_name = {p["name"]: p["schema"] for p in fx["parameters"]}
    assert by_name["base"]["pattern"] == "^[A-Za-z]{3}$"
    assert re.match(by_name["start"]["pattern"], "")  # empty: the default
    history = schema["paths"]["/api/v1/stocks/{symbol}/history"]["get"]
    symbol = next(p for p in history["parameters"] if p["name"] == "symbol")
    assert symbol["schema"]["pattern"].startswith("^[A-Za-z0-9^]")


def test_request_bodies_are_json_only(api):
    bodies = [
        operation["requestBody"]["content"]
        for path_item in _schema()["paths"].values()
        for operation in path_item.values()
        if isinstance(operation, dict) and "requestBody" in operation
    ]
    assert {tuple(content) for content in bodies} == {
        ("application/json",),
        ("multipart/form-data",),  # the CSV upload
        ("application/json", "multipart/form-data"),  # a backup: the document or its file
    }
    response = api.post("/api/v1/portfolios", {"name": "Form"}, format="multipart")
    assert_error(response, 415, "unsupported_media_type")


def test_the_date_pattern_matches_exactly_the_real_dates_of_1900_to_2099():
    """Every year-month-day string of the two centuries (days 1-31 of each month): the
    pattern matches it if and only if it is a real date, so February 29 only in leap years
    (1900 is none, a century; 2000 is one, divisible by 400)."""
    import calendar
    import re

    from financedash.lib.api_schema import DATE_PATTERN

    pattern = re.compile(DATE_PATTERN)
    for year in range(1900, 2100):
        for month in range(1, 13):
            last = calendar.monthrange(year, month)[1]
            for day in range(1, 32):
                text = f"{year}-{month:02}-{day:02}"
                assert bool(pattern.match(text)) == (day <= last), text
    for text in ("1900-02-29", "2023-02-29", "2100-02-28", "1899-12-31", "2024-2-29"):
        assert not pattern.match(text), text
    for text in ("1904-02-29", "2000-02-29", "2024-02-29", "2096-02-29"):
        assert pattern.match(text), text


def test_february_29_is_taken_in_a_leap_year_and_refused_otherwise(api, owner):
    from tests.factories import PensionAccountFactory

    account = PensionAccountFactory(user=owner)
    url = f"/api/v1/pension/accounts/{account.pk}/values"
    response = api.post(url, {"date": "2024-02-29", "value": "100.50"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["date"] == "2024-02-29"
    error = assert_error(api.post(url, {"date": "2023-02-29", "value": "1"}, format="json"), 400)
    assert list(error["details"]) == ["date"]
    assert account.values.count() == 1


def test_decimal_fields_state_their_range():
    schema = _schema()
    components = schema["components"]["schemas"]
    value = components["PensionValueRequest"]["properties"]["value"]
    # A string (the exact decimal) with its range: 0 or more, at most 13 whole digits.
    assert value["type"] == "string"
    assert value["minimum"] == 0
    assert "maximum" not in value
    used_credit = components["UsedCreditRequest"]["properties"]["used_credit"]
    assert used_credit["minimum"] == 0
    # A rate may be negative (no minimum); nothing is invented where the field has none.
    rate = components["RatePointRequest"]["properties"]["rate"]
    assert "minimum" not in rate and "maximum" not in rate


def test_the_schema_documents_the_benchmark(tmp_path):
    import yaml

    path = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(path))
    schemas = yaml.safe_load(path.read_text())["components"]["schemas"]
    benchmark = schemas["Benchmark"]["properties"]
    assert set(benchmark) == {"symbol", "name", "twr", "twr_annualized", "note", "series"}
    assert "benchmark" in schemas["Performance"]["properties"]
    assert "benchmark" in schemas["HouseholdPerformance"]["properties"]
    assert "benchmark" in schemas["PortfolioWriteRequest"]["properties"]
    assert "benchmark" in schemas["PatchedPortfolioWriteRequest"]["properties"]
    assert "benchmark" in schemas["PortfolioDetail"]["properties"]
