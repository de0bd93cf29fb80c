from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver

from tests.api.conftest import assert_error

# Endpoints that answer without a token: getting one, and the API description itself.
PUBLIC = {"auth/register", "auth/login", "auth/refresh", "auth/logout", "schema/", "docs/"}


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
    # issue 11 /api/v1/imports and /api/v1/imports/{id}, transactions/export and backup
    assert len(ROUTES) == 35


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_every_endpoint_refuses_anonymous_requests(anon_api, route, method):
    path = "/api/v1/" + route
    for name, value in [
        ("<int:pk>", "1"),
        ("<str:symbol>", "EQNR.OL"),
        ("<int:value_id>", "1"),
        ("<str:account_id>", "0b6f8e2a-5c1d-4c2e-9a57-3f0e7d1c2b4a"),
    ]:
        path = path.replace(name, value)
    path = path.replace("<str:base>", "USD").replace("<str:target>", "NOK")
    response = getattr(anon_api, method)(path)
    if response.status_code == 405:  # the method does not exist there at all
        return
    assert_error(response, 401, "not_authenticated")
