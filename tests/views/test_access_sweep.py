"""The access sweep finds every URL pattern that carries an object id by itself, so a new
view cannot forget the ownership check unnoticed (issue 13): the API's patterns are walked
from the URL resolver with every method their view answers, the live socket's too, and a
guard fails for any id-carrying pattern (HTML pages included, swept in test_access.py) that
no sweep reaches and that is not listed as shared data."""

from __future__ import annotations

import re

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from rest_framework_simplejwt.tokens import AccessToken

from financedash.asgi import application
from portfolios import live
from portfolios.models import ImportBatch, ImportJob, Transaction
from tests.factories import PensionAccountFactory, PensionValueEntryFactory
from tests.views.test_access import _object_urls

pytestmark = pytest.mark.django_db

# Patterns with a parameter that names shared data, the same for every user: no ownership.
NOT_OWNED = {
    "api/v1/stocks/<str:symbol>": "an instrument's shared metadata",
    "api/v1/stocks/<str:symbol>/price": "a shared quote",
    "api/v1/stocks/<str:symbol>/history": "shared closes",
    "api/v1/exchange-rates/<str:base>/<str:target>/history": "shared exchange rates",
    # A year, not a row: the report is computed from the requester's own data only
    # (tests/api/test_tax_api.py shows another user's transactions never reach it).
    "tax/<int:year>/": "a year of the requester's own tax report",
    "tax/<int:year>/export.csv": "a year of the requester's own tax report",
    "api/v1/tax/<int:year>": "a year of the requester's own tax report",
    "api/v1/tax/rates/<int:year>": "the installation's shared tax-rate table (PUT staff only)",
    "api/v1/ynab/accounts/<str:account_id>/balance": (
        "an account of the installation's one YNAB token (YNAB_ACCESS_TOKEN), not a row"
    ),
}

# Which object an API pattern's id names, by the pattern's start (first match wins).
API_OBJECTS = [
    (r"^api/v1/portfolios/<int:pk>", {"pk": "portfolio"}),
    (r"^api/v1/transactions/portfolio/<int:pk>", {"pk": "portfolio"}),
    (r"^api/v1/transactions/<int:pk>", {"pk": "txn"}),
    (r"^api/v1/holdings/<int:pk>", {"pk": "holding"}),
    (r"^api/v1/imports/jobs/<int:pk>", {"pk": "job"}),
    (r"^api/v1/imports/<int:pk>", {"pk": "batch"}),
    (
        r"^api/v1/pension/accounts/<int:pk>/values/<int:value_id>",
        {"pk": "account", "value_id": "entry"},
    ),
    (r"^api/v1/pension/accounts/<int:pk>", {"pk": "account"}),
]
METHODS = ("get", "post", "put", "patch", "delete")
_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def http_routes() -> dict[str, URLPattern]:
    """Every HTTP pattern with a parameter, by its full route (the admin's excepted: staff
    only, Django's own checks)."""
    return {
        route: pattern
        for route, pattern in walk(get_resolver().url_patterns)
        if _PARAM.search(route) and not route.startswith(settings.ADMIN_URL)
    }


def ws_routes() -> set[str]:
    return {route for route, _ in walk(live.websocket_urlpatterns) if _PARAM.search(route)}


def uncovered(routes: set[str], covered: set[str]) -> set[str]:
    return routes - covered - set(NOT_OWNED)


def route_of(url: str) -> str:
    return resolve(url.split("?")[0]).route


@pytest.fixture
def objects(owner, buy):
    account = PensionAccountFactory(user=owner)
    batch = ImportBatch.objects.create(
        user=owner, portfolio=buy.portfolio, file_name="a.csv", format="generic"
    )
    Transaction.objects.filter(pk=buy.pk).update(import_batch=batch)
    return {
        "portfolio": buy.portfolio,
        "holding": buy.holding,
        "txn": buy,
        "batch": batch,
        "account": account,
        "entry": PensionValueEntryFactory(account=account),
        "job": ImportJob.objects.create(
            user=owner, portfolio=buy.portfolio, file_name="a.csv", format="generic"
        ),
    }


def api_requests(objects) -> list[tuple[str, str]]:
    """(method, url) for every API pattern with an id and every method its view answers."""
    requests = []
    for route, pattern in http_routes().items():
        if not route.startswith("api/") or route in NOT_OWNED:
            continue
        names = next((n for prefix, n in API_OBJECTS if re.match(prefix, route)), None)
        assert names is not None, f"{route}: say in API_OBJECTS which object its id names"
        url = "/" + _PARAM.sub(lambda m, names=names: str(objects[names[m.group(2)]].pk), route)
        view = getattr(pattern.callback, "cls", None)
        assert view is not None, f"{route}: not a DRF view"
        requests += [(method, url) for method in METHODS if hasattr(view, method)]
    return requests


def test_every_api_pattern_with_an_id_is_404_for_another_user(outsider_api, objects):
    requests = api_requests(objects)
    assert len(requests) > 20
    for method, url in requests:
        response = getattr(outsider_api, method)(
            url, {"name": "x", "price": "1", "value": "1", "used_credit": "1"}, format="json"
        )
        assert response.status_code == 404, (method, url, response.content[:200])
    # Nothing of the owner's was touched.
    objects["txn"].refresh_from_db()
    assert objects["txn"].price == 250
    assert objects["portfolio"].transactions.count() == 1
    objects["batch"].refresh_from_db()
    assert objects["batch"].undone_at is None
    assert objects["account"].values.count() == 1


@pytest.mark.django_db(transaction=True)
def test_another_users_portfolio_socket_closes_4404(outsider, objects, settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.LIVE_EMBEDDED_REFRESH = False
    token = str(AccessToken.for_user(outsider))

    async def connect(url):
        comm = WebsocketCommunicator(application, url)
        connected, _ = await comm.connect(timeout=3)
        assert connected
        output = await comm.receive_output(3)
        await comm.wait(3)
        return output

    for route in ws_routes():
        url = "/" + _PARAM.sub(str(objects["portfolio"].pk), route) + f"?token={token}"
        output = async_to_sync(connect)(url)
        assert output == {"type": "websocket.close", "code": 4404}, (url, output)


def test_no_pattern_with_an_id_is_left_out_of_the_sweeps(objects):
    html = {route_of(url) for _, url in _object_urls(**_html_objects(objects))}
    api = {route_of(url) for _, url in api_requests(objects)}
    routes = set(http_routes())
    missing = uncovered(routes, html | api)
    assert not missing, (
        f"URL patterns with an id that no access sweep reaches: {sorted(missing)}. Add them "
        "to _object_urls in tests/views/test_access.py (pages) or API_OBJECTS here (API), "
        "or to NOT_OWNED if the id names shared data."
    )
    # The socket's patterns are swept by the test above, whatever they are.
    assert ws_routes() == {"api/v1/ws/portfolio/<int:pk>"}


def test_the_guard_catches_a_new_pattern(objects):
    """A pattern added without a sweep entry is reported."""
    html = {route_of(url) for _, url in _object_urls(**_html_objects(objects))}
    routes = set(http_routes()) | {"portfolios/<int:pk>/secret-report/"}
    api = {route_of(url) for _, url in api_requests(objects)}
    assert uncovered(routes, html | api) == {"portfolios/<int:pk>/secret-report/"}


def _html_objects(objects) -> dict:
    return {
        "portfolio": objects["portfolio"],
        "holding": objects["holding"],
        "txn": objects["txn"],
        "account": objects["account"],
        "entry": objects["entry"],
        "batch": objects["batch"],
    }
