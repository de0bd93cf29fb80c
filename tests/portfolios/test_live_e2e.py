"""End to end: the real ASGI server (uvicorn) on 127.0.0.1 and a real WebSocket client (the
`websockets` package), as the README's script uses them."""

from __future__ import annotations

import json
import logging
import statistics
import time

import httpx
import pytest
from rest_framework_simplejwt.tokens import AccessToken
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.asgi_server import asgi_server  # noqa: F401
from tests.factories import InstrumentFactory, PortfolioFactory, record

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_timer_refresh(settings):
    settings.LIVE_EMBEDDED_REFRESH = False


def receive(socket, type_: str, timeout: float = 5) -> dict:
    message = json.loads(socket.recv(timeout=timeout))
    assert message["type"] == type_, message
    return message


def test_a_script_follows_a_portfolio_live(asgi_server, owner, provider, caplog):  # noqa: F811
    portfolio = PortfolioFactory(user=owner, name="Main")
    instrument = InstrumentFactory(ticker="EQNR.OL")
    record(portfolio, instrument, quantity="10", price="250")
    token = str(AccessToken.for_user(owner))
    url = f"{asgi_server.ws_url}/api/v1/ws/portfolio/{portfolio.pk}"
    http = httpx.Client(base_url=asgi_server.url, headers={"Authorization": f"Bearer {token}"})

    caplog.set_level(logging.INFO)
    with connect(f"{url}?token={token}") as socket:
        snapshot = receive(socket, "snapshot")
        assert snapshot["portfolio"] == http.get(f"/api/v1/portfolios/{portfolio.pk}").json()
        socket.send(json.dumps({"action": "subscribe", "symbols": ["EQNR.OL"]}))
        assert receive(socket, "subscribed")["symbols"] == ["EQNR.OL"]
        assert receive(socket, "quote")["symbol"] == "EQNR.OL"

        # Saves through the API, each pushed as a "portfolio" message with the new quantity.
        # The push leaves on commit, before the response is written: the latency is timed
        # from sending the request to receiving the message.
        latencies = []
        for n in range(1, 51):
            sent = time.perf_counter()
            response = http.post(
                "/api/v1/transactions",
                json={
                    "portfolio": portfolio.pk,
                    "symbol": "EQNR.OL",
                    "type": "BUY",
                    "date": "2024-02-01",
                    "quantity": "1",
                    "price": "260",
                },
            )
            assert response.status_code == 201, response.text
            message = receive(socket, "portfolio")
            latencies.append(time.perf_counter() - sent)
            assert message["portfolio"]["holdings"][0]["quantity"] == f"{10 + n}.00000000"
        p50, worst = statistics.median(latencies) * 1000, max(latencies) * 1000
        print(f"\nPOST /transactions sent -> pushed message: p50 {p50:.1f} ms, max {worst:.1f} ms")
    # The query token appears in no log line (uvicorn's "WebSocket /path" line included).
    assert not [r for r in caplog.records if token in r.getMessage()]
    assert any("WebSocket /api/v1/ws/portfolio/" in r.getMessage() for r in caplog.records)

    # Unauthenticated: the close code reaches a real client.
    with connect(url) as socket, pytest.raises(ConnectionClosed) as closed:
        socket.recv(timeout=5)
    assert closed.value.rcvd.code == 4401
