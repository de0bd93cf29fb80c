"""The portfolio page on the live socket: served by the real ASGI server (uvicorn in a thread
of this process, sharing the test database and the in-memory channel layer), and on the WSGI
live server, which has no WebSocket at all (the fallback)."""

from __future__ import annotations

import datetime as dt
import re
import time
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.asgi_server import asgi_server  # noqa: F401
from tests.browser.conftest import DESKTOP, log_in, screenshot
from tests.factories import InstrumentFactory, PortfolioFactory, record
from tests.marketdata.conftest import _fresh_breakers, provider  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
def asgi_page(browser, asgi_server):  # noqa: F811
    context = browser.new_context(viewport=DESKTOP, base_url=asgi_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


# Records every text the refresh line's label shows, in window.labels.
LABEL_RECORDER = """() => {
  window.labels = [];
  const region = document.getElementById("holdings").parentNode;
  new MutationObserver(() => {
    const label = document.querySelector("#holdings [data-live-label]");
    if (label && window.labels.at(-1) !== label.textContent) {
      window.labels.push(label.textContent);
    }
  }).observe(region, {subtree: true, childList: true, characterData: true});
}"""


def assert_pushed_only(fetches: list[float], pushes: list[float]) -> None:
    """Each fetch of the table follows a pushed message of its own: none was a poll."""
    pending = sorted(pushes)
    for fetched in sorted(fetches):
        earlier = [p for p in pending if p <= fetched]
        assert earlier, f"a fetch at {fetched} followed no push ({pushes})"
        pending.remove(earlier[0])


def holding_for(user):
    portfolio = PortfolioFactory(user=user, name="Live")
    instrument = InstrumentFactory(ticker="EQNR.OL", company_name="Equinor ASA")
    record(portfolio, instrument, quantity="10", price="250", date=dt.date(2024, 1, 2))
    return portfolio


def test_a_price_change_is_pushed_to_the_table_without_polling(
    asgi_page,
    user,
    provider,  # noqa: F811
    settings,
    monkeypatch,
):
    page = asgi_page
    # Polling would come every second, and so does the in-process quote refresh that runs
    # while a socket is open: with the socket live, only pushes may fetch the table.
    settings.LIVE_REFRESH_SECONDS = 1
    settings.LIVE_EMBEDDED_REFRESH = True
    monkeypatch.setattr(provider, "price", lambda symbol: Decimal("300"))
    portfolio = holding_for(user)
    partial = f"/portfolios/{portfolio.pk}/holdings/"
    fetches: list[float] = []
    page.on("request", lambda r: fetches.append(time.monotonic()) if partial in r.url else None)
    pushes: list[float] = []

    def on_socket(ws):
        ws.on(
            "framereceived",
            lambda frame: pushes.append(time.monotonic()) if '"portfolio"' in frame[:30] else None,
        )

    page.on("websocket", on_socket)

    log_in(page)
    page.goto(f"/portfolios/{portfolio.pk}/")
    status = page.locator("#holdings [data-live-status]")
    expect(status).to_contain_text("Live")
    expect(status).to_have_class(re.compile("is-live"))
    price = page.locator("tr.holding-row", has_text="EQNR.OL").locator("td.price")
    expect(price).to_contain_text("300.00")

    # Three poll intervals: the table is fetched only after a pushed message (the first
    # refresh publishes the quote once), never by the 1 s polling.
    page.wait_for_timeout(3000)
    assert_pushed_only(fetches, pushes)

    # The quote moves: the in-process refresh publishes it, the page re-fetches the partial.
    monkeypatch.setattr(provider, "price", lambda symbol: Decimal("312.5"))
    expect(price).to_contain_text("312.50", timeout=8_000)
    expect(price).to_have_class(re.compile("flash-up"))
    expect(page.locator("#total-value")).to_contain_text(re.compile(r"3\D?125\.00"))
    assert pushes, "no portfolio message was received"
    assert_pushed_only(fetches, pushes)
    screenshot(page, "portfolio-live")


def test_without_a_socket_the_page_polls_and_says_so(page, user, settings):
    # The WSGI live server answers the WebSocket handshake with a plain 404.
    settings.LIVE_REFRESH_SECONDS = 1
    portfolio = holding_for(user)
    partial = f"/portfolios/{portfolio.pk}/holdings/"
    log_in(page)
    page.goto(f"/portfolios/{portfolio.pk}/")
    status = page.locator("#holdings [data-live-status]")
    expect(status).to_contain_text("Live updates unavailable: refreshing every 1 s")
    expect(status).to_have_class(re.compile("is-polling"))
    with page.expect_request(lambda r: partial in r.url, timeout=5_000):
        pass
    # Still said after the polled re-render.
    expect(status).to_contain_text("refreshing every 1 s")


def test_a_dropped_socket_falls_back_to_polling_and_reconnects(asgi_page, user, settings):
    page = asgi_page
    settings.LIVE_REFRESH_SECONDS = 1
    portfolio = holding_for(user)
    partial = f"/portfolios/{portfolio.pk}/holdings/"
    connections = []

    def relay(ws):
        # Through to the real server; the test can cut it from the server's side.
        ws.connect_to_server()
        connections.append(ws)

    page.route_web_socket(re.compile(r".*/api/v1/ws/portfolio/\d+$"), relay)
    log_in(page)
    page.goto(f"/portfolios/{portfolio.pk}/")
    status = page.locator("#holdings [data-live-status]")
    expect(status).to_contain_text("Live")

    # Every label the refresh line shows from now on.
    page.evaluate(LABEL_RECORDER)
    fetches = []
    page.on("request", lambda r: fetches.append(r.url) if partial in r.url else None)
    connections[0].close(code=1011, reason="gone")
    # The retry comes after about a second, live again, and catches up with one fetch.
    # The drop shows first, then live again (a push that re-renders the table just before
    # the drop may record a "Live:" label of its own ahead of them).
    page.wait_for_function(
        """() => {
          const i = window.labels.indexOf("Live updates unavailable: refreshing every 1 s");
          return i >= 0 && window.labels.slice(i + 1).some(l => l.startsWith("Live:"));
        }""",
        timeout=8_000,
    )
    expect(status).to_contain_text("Live:")
    assert len(connections) == 2
    assert fetches
