"""The live socket WS /api/v1/ws/portfolio/{id} (portfolios.live) through the real ASGI
application (financedash.asgi), on the in-memory channel layer and, when REDIS_URL is set
(CI's second run), on channels-redis too."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from financedash.asgi import application
from financedash.lib import versions
from marketdata.providers.base import Quote
from portfolios import live, push, tasks
from tests.conftest import bearer
from tests.factories import InstrumentFactory, PortfolioFactory, record

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 3


def asynchronous(fn):
    """Run an async test body in one event loop (pytest-asyncio is not used): everything
    the test publishes from a database thread comes back to this loop."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return async_to_sync(fn)(*args, **kwargs)

    return wrapper


@pytest.fixture(params=["memory", "redis"], autouse=True)
def layer(request, settings, worker_id):
    if request.param == "redis":
        if not os.environ.get("REDIS_URL"):
            pytest.skip("REDIS_URL is not set: channels-redis is tested in CI's Redis run")
        # The settings' own layer (hosts and their options), with a prefix of this run's.
        conf = settings.CHANNEL_LAYERS["default"]
        assert conf["BACKEND"] == "channels_redis.core.RedisChannelLayer"
        config = {**conf["CONFIG"], "prefix": f"test-{worker_id}-{os.getpid()}:asgi"}
        settings.CHANNEL_LAYERS = {"default": {**conf, "CONFIG": config}}
    else:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    # The in-process refresh is started by hand in these tests, never by a timer.
    settings.LIVE_EMBEDDED_REFRESH = False
    return request.param


@pytest.fixture
def holding(owner, provider):
    portfolio = PortfolioFactory(user=owner, name="Main")
    instrument = InstrumentFactory(ticker="EQNR.OL", company_name="Equinor ASA")
    record(portfolio, instrument, quantity="10", price="250", date=dt.date(2024, 1, 2))
    return portfolio, instrument


def token_for(user) -> str:
    return str(AccessToken.for_user(user))


def path(portfolio) -> str:
    return f"/api/v1/ws/portfolio/{portfolio.pk}"


async def open_socket(url: str, headers=()) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(application, url, headers=list(headers))
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert connected
    return comm


async def closed_with(comm: WebsocketCommunicator) -> int:
    output = await comm.receive_output(TIMEOUT)
    assert output["type"] == "websocket.close", output
    await comm.wait(TIMEOUT)
    return output["code"]


async def receive(comm, type_: str) -> dict:
    message = await comm.receive_json_from(TIMEOUT)
    assert message["type"] == type_, message
    return message


def rest_body(user, portfolio) -> dict:
    return json.loads(bearer(user).get(f"/api/v1/portfolios/{portfolio.pk}").content)


# --- Authentication ---------------------------------------------------------------------


@asynchronous
async def test_bearer_header_gets_the_snapshot_equal_to_the_rest_body(owner, holding):
    portfolio, _ = holding
    token = token_for(owner)
    comm = await open_socket(path(portfolio), [(b"authorization", f"Bearer {token}".encode())])
    snapshot = await receive(comm, "snapshot")
    expected = await database_sync_to_async(rest_body)(owner, portfolio)
    assert snapshot["portfolio"] == expected
    assert snapshot["portfolio"]["holdings"][0]["quantity"] == "10.00000000"
    await comm.disconnect()


@asynchronous
async def test_query_token(owner, holding):
    portfolio, _ = holding
    comm = await open_socket(f"{path(portfolio)}?token={token_for(owner)}")
    assert (await receive(comm, "snapshot"))["portfolio"]["id"] == portfolio.pk
    await comm.disconnect()


@asynchronous
async def test_session_cookie(owner, holding):
    portfolio, _ = holding

    def session_cookie():
        client = Client()
        client.force_login(owner)
        return client.cookies["sessionid"].value

    cookie = await database_sync_to_async(session_cookie)()
    comm = await open_socket(path(portfolio), [(b"cookie", f"sessionid={cookie}".encode())])
    assert (await receive(comm, "snapshot"))["portfolio"]["name"] == "Main"
    await comm.disconnect()


@asynchronous
async def test_no_credentials_closes_4401(holding):
    portfolio, _ = holding
    comm = await open_socket(path(portfolio))
    assert await closed_with(comm) == 4401


@asynchronous
async def test_expired_or_forged_token_closes_4401(owner, holding):
    portfolio, _ = holding
    expired = AccessToken.for_user(owner)
    expired.set_exp(lifetime=-dt.timedelta(seconds=1))
    for token in (str(expired), "not-a-token", token_for(owner) + "x"):
        comm = await open_socket(f"{path(portfolio)}?token={token}")
        assert await closed_with(comm) == 4401, token
    # A header that is not a bearer token is refused, not ignored.
    comm = await open_socket(path(portfolio), [(b"authorization", b"Basic b3duZXI6cHc=")])
    assert await closed_with(comm) == 4401


@asynchronous
async def test_a_token_that_expires_while_open_closes_4401(owner, holding):
    portfolio, _ = holding
    short = AccessToken.for_user(owner)
    short.set_exp(lifetime=dt.timedelta(seconds=1))
    comm = await open_socket(f"{path(portfolio)}?token={short}")
    await receive(comm, "snapshot")
    assert await closed_with(comm) == 4401


@asynchronous
async def test_another_users_or_a_missing_portfolio_closes_4404(owner, outsider, holding):
    portfolio, _ = holding
    comm = await open_socket(f"{path(portfolio)}?token={token_for(outsider)}")
    assert await closed_with(comm) == 4404
    comm = await open_socket(f"/api/v1/ws/portfolio/999999?token={token_for(owner)}")
    assert await closed_with(comm) == 4404


@asynchronous
async def test_a_browser_from_another_site_is_refused(owner, holding):
    portfolio, _ = holding
    comm = WebsocketCommunicator(
        application,
        f"{path(portfolio)}?token={token_for(owner)}",
        headers=[(b"origin", b"https://evil.example")],
    )
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert not connected
    # The site's own pages may.
    comm = await open_socket(
        f"{path(portfolio)}?token={token_for(owner)}", [(b"origin", b"http://localhost:8000")]
    )
    await receive(comm, "snapshot")
    await comm.disconnect()


def test_the_query_token_is_taken_out_of_the_scope_the_server_logs():
    seen = {}

    async def app(scope, receive, send):
        seen.update(scope)

    scope = {"type": "websocket", "path": "/x", "query_string": b"a=1&token=SECRET&b=2"}
    async_to_sync(live.hide_query_token(app))(scope, None, None)
    # The server's own dict is changed in place: its access line is built from it.
    assert scope["query_string"] == b"a=1&b=2"
    assert seen["query_token"] == "SECRET"


# --- Client messages ----------------------------------------------------------------------


@asynchronous
async def test_subscribe_unsubscribe_and_the_cap(owner, holding, settings):
    portfolio, _ = holding
    settings.LIVE_MAX_SYMBOLS = 3
    comm = await open_socket(f"{path(portfolio)}?token={token_for(owner)}")
    await receive(comm, "snapshot")
    await comm.send_json_to({"action": "subscribe", "symbols": ["eqnr.ol", "AAPL"]})
    assert (await receive(comm, "subscribed"))["symbols"] == ["AAPL", "EQNR.OL"]
    # The current quote of each new symbol straight away.
    first = await receive(comm, "quote")
    second = await receive(comm, "quote")
    assert {first["symbol"], second["symbol"]} == {"AAPL", "EQNR.OL"}
    assert set(first) >= {"type", "symbol", "price", "currency", "as_of", "stale"}
    # Two more would make 4 > 3: refused whole.
    await comm.send_json_to({"action": "subscribe", "symbols": ["MSFT", "NHY.OL"]})
    error = await receive(comm, "error")
    assert "At most 3 symbols" in error["message"]
    await comm.send_json_to({"action": "unsubscribe", "symbols": ["AAPL"]})
    assert (await receive(comm, "subscribed"))["symbols"] == ["EQNR.OL"]
    await comm.send_json_to({"action": "subscribe", "symbols": ["MSFT", "NHY.OL"]})
    assert (await receive(comm, "subscribed"))["symbols"] == ["EQNR.OL", "MSFT", "NHY.OL"]
    await comm.disconnect()


@asynchronous
async def test_malformed_and_oversized_messages_get_an_error_and_the_socket_stays(owner, holding):
    portfolio, _ = holding
    comm = await open_socket(f"{path(portfolio)}?token={token_for(owner)}")
    await receive(comm, "snapshot")
    for bad in (
        "not json",
        "[1, 2]",
        '{"action": "dance"}',
        '{"action": "subscribe"}',
        '{"action": "subscribe", "symbols": "AAPL"}',
        '{"action": "subscribe", "symbols": [1]}',
        '{"action": "subscribe", "symbols": ["no spaces please"]}',
        json.dumps({"action": "subscribe", "symbols": ["A" * 10] * 5000}),
    ):
        await comm.send_to(text_data=bad)
        assert (await receive(comm, "error"))["message"], bad
    await comm.send_to(bytes_data=b"\x00\x01")
    assert "JSON text" in (await receive(comm, "error"))["message"]
    # Still serving.
    await comm.send_json_to({"action": "subscribe", "symbols": []})
    assert (await receive(comm, "subscribed"))["symbols"] == []
    await comm.disconnect()


@asynchronous
async def test_keepalive_ping(owner, holding, settings):
    portfolio, _ = holding
    settings.LIVE_PING_SECONDS = 0.2
    comm = await open_socket(f"{path(portfolio)}?token={token_for(owner)}")
    await receive(comm, "snapshot")
    await receive(comm, "ping")
    await comm.disconnect()


# --- Pushes -------------------------------------------------------------------------------


@asynchronous
async def test_a_transaction_saved_through_the_api_pushes_the_new_figures(owner, holding):
    portfolio, instrument = holding
    comm = await open_socket(f"{path(portfolio)}?token={token_for(owner)}")
    await receive(comm, "snapshot")

    def buy():
        response = bearer(owner).post(
            "/api/v1/transactions",
            {
                "portfolio": portfolio.pk,
                "symbol": instrument.ticker,
                "type": "BUY",
                "date": "2024-02-01",
                "quantity": "5",
                "price": "260",
                "fees": "0",
            },
            format="json",
        )
        assert response.status_code == 201, response.content
        return rest_body(owner, portfolio)

    expected = await database_sync_to_async(buy)()
    message = await receive(comm, "portfolio")
    # 10 + 5 shares; the pushed object is the REST body after the write.
    assert message["portfolio"]["holdings"][0]["quantity"] == "15.00000000"
    assert message["portfolio"] == expected
    assert await comm.receive_nothing(0.2)
    await comm.disconnect()


@asynchronous
async def test_a_rolled_back_write_pushes_nothing(owner, holding):
    portfolio, instrument = holding
    comm = await open_socket(f"{path(portfolio)}?token={token_for(owner)}")
    await receive(comm, "snapshot")

    def oversell():
        response = bearer(owner).post(
            "/api/v1/transactions",
            {
                "portfolio": portfolio.pk,
                "symbol": instrument.ticker,
                "type": "SELL",
                "date": "2024-02-01",
                "quantity": "50",
                "price": "260",
            },
            format="json",
        )
        assert response.status_code == 400

    await database_sync_to_async(oversell)()
    assert await comm.receive_nothing(0.3)
    await comm.disconnect()


@asynchronous
async def test_a_deleted_portfolio_closes_its_sockets_4404(owner, holding):
    portfolio, _ = holding
    comm = await open_socket(f"{path(portfolio)}?token={token_for(owner)}")
    await receive(comm, "snapshot")

    def delete():
        assert bearer(owner).delete(f"/api/v1/portfolios/{portfolio.pk}").status_code == 204

    await database_sync_to_async(delete)()
    assert await closed_with(comm) == 4404


@asynchronous
async def test_a_quote_refresh_pushes_each_changed_quote_once_to_subscribers_only(
    owner,
    holding,
    provider,
    monkeypatch,
):
    portfolio, _ = holding
    token = token_for(owner)
    subscriber = await open_socket(f"{path(portfolio)}?token={token}")
    bystander = await open_socket(f"{path(portfolio)}?token={token}")
    for comm in (subscriber, bystander):
        await receive(comm, "snapshot")
    await subscriber.send_json_to({"action": "subscribe", "symbols": ["EQNR.OL", "AAPL"]})
    await receive(subscriber, "subscribed")
    for _ in range(2):
        await receive(subscriber, "quote")

    price = {"value": Decimal("301.5")}
    monkeypatch.setattr(provider, "price", lambda symbol: price["value"])
    # Celery beat's task: refreshes what is held (EQNR.OL), publishes what changed.
    await database_sync_to_async(tasks.refresh_quotes)()
    quote = await receive(subscriber, "quote")
    assert quote["symbol"] == "EQNR.OL"
    assert quote["price"] == "301.5"
    # Both sockets follow the portfolio, so both get its new figures (10 x 301.5 = 3015).
    for comm in (subscriber, bystander):
        figures = await receive(comm, "portfolio")
        assert figures["portfolio"]["total_value"] == "3015.00"
    assert await subscriber.receive_nothing(0.2)
    assert await bystander.receive_nothing(0.1)

    # The same price again: nothing changed, nothing is pushed.
    await database_sync_to_async(tasks.refresh_quotes)()
    assert await subscriber.receive_nothing(0.3)

    # The in-process refresh (no worker): the subscribed AAPL too, one message each.
    price["value"] = Decimal("302")
    await database_sync_to_async(push.refresh)({"AAPL"}, {portfolio.pk})
    quotes = [await receive(subscriber, "quote") for _ in range(2)]
    assert sorted(q["symbol"] for q in quotes) == ["AAPL", "EQNR.OL"]
    assert (await receive(subscriber, "portfolio"))["portfolio"]["total_value"] == "3020.00"
    assert await subscriber.receive_nothing(0.2)
    for comm in (subscriber, bystander):
        await comm.disconnect()


def test_publish_quotes_skips_unchanged(holding):
    now = timezone.now()
    quote = Quote("EQNR.OL", Decimal("1"), "NOK", now)
    assert push.publish_quotes({"EQNR.OL": quote}) == ["EQNR.OL"]
    assert push.publish_quotes({"EQNR.OL": quote}) == []
    stale = Quote("EQNR.OL", Decimal("1"), "NOK", now, stale=True)
    assert push.publish_quotes({"EQNR.OL": stale}) == ["EQNR.OL"]


def test_symbol_groups_are_valid_group_names():
    assert push.symbol_group("USDNOK=X") == "quote.USDNOK_3dX"
    assert push.symbol_group("^GSPC") == "quote._5eGSPC"
    assert push.symbol_group("M&M.NS") == "quote.M_26M.NS"


@asynchronous
async def test_the_in_process_refresh_runs_only_while_a_socket_is_open(
    owner,
    holding,
    settings,
    provider,
):
    portfolio, _ = holding
    settings.LIVE_EMBEDDED_REFRESH = True
    settings.LIVE_REFRESH_SECONDS = 0.2
    assert not live.refresher.running
    comm = await open_socket(f"{path(portfolio)}?token={token_for(owner)}")
    await receive(comm, "snapshot")
    assert live.refresher.running
    calls = len(provider.quote_calls)
    # A refresh of EQNR.OL (held) within a few intervals; the fake's price is unchanged
    # since the snapshot's quote, so it may push nothing: the provider call is the proof.
    for _ in range(20):
        if len(provider.quote_calls) > calls:
            break
        await comm.receive_nothing(0.1)
    assert provider.quote_calls[-1] == ["EQNR.OL"]
    await comm.disconnect()
    assert not live.refresher.running


@pytest.mark.parametrize(
    ("name", "published"),
    [("portfolio:12", [12]), ("marketdata", []), ("portfolio:x", []), ("other:12", [])],
)
def test_every_portfolio_stamp_bump_publishes_after_commit(name, published, monkeypatch):
    sent = []
    monkeypatch.setattr(push, "publish_portfolios", lambda ids: sent.extend(ids))
    with transaction.atomic():
        versions.bump(name)
        assert sent == []  # not before the commit
    assert sent == published
    with contextlib.suppress(RuntimeError), transaction.atomic():
        versions.bump(name)
        raise RuntimeError("rolled back")
    assert sent == published  # a rolled-back write publishes nothing


@asynchronous
async def test_a_change_of_the_portfolio_itself_pushes_its_figures(owner, holding):
    portfolio, _ = holding
    comm = await open_socket(f"{path(portfolio)}?token={token_for(owner)}")
    await receive(comm, "snapshot")

    def set_credit():
        response = bearer(owner).put(
            f"/api/v1/portfolios/{portfolio.pk}/used-credit", {"used_credit": "1000"}, format="json"
        )
        assert response.status_code == 200, response.content

    await database_sync_to_async(set_credit)()
    message = await receive(comm, "portfolio")
    assert message["portfolio"]["used_credit"] == "1000.00"
    await comm.disconnect()


@asynchronous
async def test_an_idle_socket_stays_open_on_redis(owner, holding, layer, settings):
    """Regression: with redis-py 8's default 5 s read timeout, the layer's blocking receive
    failed on every idle socket after 5 s (1011). The settings turn that timeout off."""
    if layer != "redis":
        pytest.skip("a Redis layer matter")
    portfolio, _ = holding
    comm = await open_socket(f"{path(portfolio)}?token={token_for(owner)}")
    await receive(comm, "snapshot")
    assert await comm.receive_nothing(7)
    await database_sync_to_async(push.publish_portfolios)([portfolio.pk])
    await receive(comm, "portfolio")
    await comm.disconnect()


def test_a_channel_layer_that_is_down_costs_one_failure_then_a_pause(monkeypatch, caplog):
    calls = []

    class Down:
        async def group_send(self, group, message):
            calls.append(group)
            raise ConnectionError("Redis is down")

    monkeypatch.setattr(push, "get_channel_layer", lambda: Down())
    monkeypatch.setattr(push, "_paused_until", 0.0)
    push.publish_portfolios([1])  # logged, not raised: the write it follows stands
    push.publish_portfolios([2])  # paused: not even tried
    assert calls == ["portfolio.1"]
    assert "none is tried for 30 s" in caplog.text
    monkeypatch.setattr(push, "_paused_until", 0.0)
    push.publish_portfolios([3])
    assert calls == ["portfolio.1", "portfolio.3"]
