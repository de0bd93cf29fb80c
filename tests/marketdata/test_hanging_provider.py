"""Issue 13 item 4: a market-data network that accepts connections and never answers (a
dead proxy) must not hold a page: every provider call has a hard deadline, cookie and crumb
requests included, and the page renders with stored prices, marked stale."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from decimal import Decimal

import curl_cffi.requests
import pytest
from django.urls import reverse
from django.utils import timezone

from marketdata import resilience
from marketdata.providers import deadline, get_provider
from marketdata.providers.base import ProviderUnavailable
from tests.factories import (
    HistoricalStockPriceFactory,
    InstrumentFactory,
    PortfolioFactory,
    record,
)


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts every connection, reads what is sent and never
    answers: what yfinance meets behind a proxy that hangs."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.connections: list[socket.socket] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            self.connections.append(conn)

    def close(self) -> None:
        self.stopped.set()
        self.thread.join()
        # Closing the accepted connections ends the abandoned requests at once.
        for conn in self.connections:
            conn.close()
        self.sock.close()


@pytest.fixture
def hanging_yahoo(settings, monkeypatch, tmp_path):
    """yfinance for real (its cookie, crumb and chart requests through curl_cffi), every
    request sent to the silent server instead of Yahoo."""
    settings.DATA_DIR = tmp_path
    settings.MARKETDATA_PROVIDER = "yahoo"
    # yfinance's own defaults (30 s for the cookie and crumb) would hold a request that long.
    settings.MARKETDATA_TIMEOUT = 3
    settings.MARKETDATA_DEADLINE = 0.5
    monkeypatch.setattr("marketdata.providers._instances", {})
    server = SilentServer()
    original = curl_cffi.requests.Session.request

    def to_silent_server(self, method, url, *args, **kwargs):
        return original(self, method, f"http://127.0.0.1:{server.port}/", *args, **kwargs)

    monkeypatch.setattr(curl_cffi.requests.Session, "request", to_silent_server)
    yield server
    server.close()
    # An abandoned call still running would make the next test's calls fail fast.
    assert deadline.wait_for_abandoned(timeout=10)


def test_a_hanging_provider_call_is_abandoned_at_its_deadline(hanging_yahoo, db):
    provider = get_provider()
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable, match="did not answer within"):
        resilience.call(provider, "get_quotes", ["EQNR.OL"])
    assert time.monotonic() - started < 1.5
    # The call really went out (the cookie request first) and was left behind.
    assert hanging_yahoo.accepted >= 1
    assert deadline.abandoned_calls("yahoo") == 1

    # While it still hangs, the next call in this process fails at once, without another
    # connection.
    accepted = hanging_yahoo.accepted
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable, match="has not answered an earlier request"):
        resilience.call(
            provider, "get_history", "EQNR.OL", dt.date(2024, 1, 1), dt.date(2024, 2, 1)
        )
    assert time.monotonic() - started < 0.2
    assert hanging_yahoo.accepted == accepted


def test_the_patient_background_deadline_is_longer(hanging_yahoo, settings, db):
    settings.MARKETDATA_JOB_DEADLINE = 1.5
    started = time.monotonic()
    with resilience.patient(), pytest.raises(ProviderUnavailable, match="within 1.5 s"):
        resilience.call(get_provider(), "get_quotes", ["EQNR.OL"])
    assert 1.4 < time.monotonic() - started < 2.5


def test_the_portfolio_page_renders_stale_prices_within_two_seconds(hanging_yahoo, client, db):
    owner_portfolio = PortfolioFactory(name="Main", currency="NOK")
    client.force_login(owner_portfolio.user)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    equinor = InstrumentFactory(ticker="EQNR.OL", currency="NOK")
    # The stored history covers the holding, so only the live quote is asked for.
    for offset in range(40):
        HistoricalStockPriceFactory(
            instrument=equinor,
            date=yesterday - dt.timedelta(days=offset),
            close=Decimal("312.40") if offset == 0 else Decimal("300"),
        )
    record(
        owner_portfolio,
        equinor,
        quantity="10",
        price="250",
        date=yesterday - dt.timedelta(days=30),
    )

    get_provider()  # imported ahead (yfinance and pandas), as in a warmed-up worker
    url = reverse("portfolios:detail", args=[owner_portfolio.pk])
    started = time.monotonic()
    response = client.get(url)
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert elapsed < 2, f"the page took {elapsed:.1f} s"
    body = response.content.decode()
    assert "312.40" in body  # yesterday's stored close
    assert "stale" in body
    assert hanging_yahoo.accepted >= 1  # the quote was asked for, and given up on
