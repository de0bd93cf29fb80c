from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import PortfolioFactory, record
from tests.views.conftest import htmx, priced_instrument

pytestmark = pytest.mark.django_db


def symbols_in(response) -> list[str]:
    """The holdings table's rows, in order. (A partial's response carries no context in
    the test client: template-partials renders it without the instrumented signal.)"""
    return re.findall(r'<a href="/holdings/\d+/">([^<]+)</a>', response.content.decode())


def test_partial_is_the_table_with_the_totals_out_of_band(owner_client, holding):
    url = reverse("portfolios:holdings", args=[holding.portfolio.pk])
    response = htmx(owner_client, url)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert body.count('id="holdings"') == 1
    assert 'id="totals" aria-label="Totals" hx-swap-oob="true"' in body
    assert "EQNR.OL" in body
    assert "300.00" in body  # the price
    assert "stale" in body  # the offline provider's prices are stored closes


def test_partial_without_htmx_goes_to_the_page(owner_client, holding):
    url = reverse("portfolios:holdings", args=[holding.portfolio.pk])
    response = owner_client.get(url, {"sort": "symbol"})
    assert response.status_code == 302
    assert response["Location"].endswith("?sort=symbol")


def test_rows_sort_on_the_server(owner_client, portfolio):
    day = timezone.localdate() - dt.timedelta(days=3)
    for ticker, price in (("AAA.OL", "10"), ("BBB.OL", "30"), ("CCC.OL", "20")):
        record(portfolio, priced_instrument(ticker, price), quantity="1", price="1", date=day)
    url = reverse("portfolios:holdings", args=[portfolio.pk])

    def order(sort):
        return symbols_in(htmx(owner_client, url, {"sort": sort}))

    assert order("-value") == ["BBB.OL", "CCC.OL", "AAA.OL"]
    assert order("value") == ["AAA.OL", "CCC.OL", "BBB.OL"]
    assert order("symbol") == ["AAA.OL", "BBB.OL", "CCC.OL"]
    assert order("nonsense") == order("-value")
    body = htmx(owner_client, url, {"sort": "value"}).content.decode()
    assert 'aria-sort="ascending"' in body
    assert "?sort=-value" in body  # clicking again reverses it


def test_rows_without_a_price_sort_last_either_way(owner_client, portfolio):
    day = timezone.localdate() - dt.timedelta(days=3)
    record(portfolio, priced_instrument("AAA.OL", "10"), quantity="1", price="1", date=day)
    from tests.factories import InstrumentFactory

    record(portfolio, InstrumentFactory(ticker="NOPRICE.OL"), quantity="1", price="1", date=day)
    url = reverse("portfolios:holdings", args=[portfolio.pk])
    for sort in ("value", "-value"):
        assert symbols_in(htmx(owner_client, url, {"sort": sort}))[-1] == "NOPRICE.OL"
    assert "price unavailable" in htmx(owner_client, url).content.decode()


def test_rows_expand_lazily_and_survive_refreshes(owner_client, holding):
    body = htmx(owner_client, reverse("portfolios:holdings", args=[holding.portfolio.pk]))
    text = body.content.decode()
    assert f'hx-get="{reverse("portfolios:holding_transactions", args=[holding.pk])}"' in text
    assert f'id="txns-row-{holding.pk}" hx-preserve hidden' in text


def _portfolio_with(owner, count: int):
    portfolio = PortfolioFactory(user=owner, name=f"P{count}")
    day = timezone.localdate() - dt.timedelta(days=3)
    for n in range(count):
        instrument = priced_instrument(f"Q{count}X{n}.OL", str(100 + n))
        record(portfolio, instrument, quantity="1", price="50", date=day)
    return portfolio


def test_query_count_is_constant_in_the_number_of_holdings(owner_client, owner):
    counts = {}
    for size in (5, 50):
        portfolio = _portfolio_with(owner, size)
        url = reverse("portfolios:holdings", args=[portfolio.pk])
        htmx(owner_client, url)  # warm the quote cache, as a live page has it
        with CaptureQueriesContext(connection) as queries:
            response = htmx(owner_client, url)
        assert response.status_code == 200
        assert len(symbols_in(response)) == size
        counts[size] = len(queries)
    assert counts[5] == counts[50], counts


def test_the_table_carries_what_the_live_script_needs(owner_client, holding):
    body = owner_client.get(reverse("portfolios:detail", args=[holding.portfolio.pk]))
    html = body.content.decode()
    assert f'data-socket="/api/v1/ws/portfolio/{holding.portfolio.pk}"' in html
    # The raw price, unlocalized, for the flash's comparison.
    assert 'data-symbol="EQNR.OL" data-price="300' in html
    assert "<span data-live-label>Prices refresh every" in html


def test_the_holding_page_shows_the_sessions_figures(owner_client, holding, settings):
    from marketdata.providers.demo import DemoProvider

    settings.MARKETDATA_PROVIDER = "demo"
    quote = DemoProvider().get_quotes(["EQNR.OL"])["EQNR.OL"]
    body = owner_client.get(reverse("portfolios:holding", args=[holding.pk])).content.decode()
    figures = body[body.index('id="session-figures"') :]
    for label in ("Change", "Previous close", "Day's range", "52-week range", "Volume"):
        assert f"<dt>{label}</dt>" in figures
    assert f"{quote.previous_close:.2f}" in figures
    assert "Market cap" in figures and "bn" in figures


def test_without_session_figures_the_holding_page_shows_dashes(owner_client, holding):
    # The offline provider's quote is a stored close: no session figures, no failure.
    body = owner_client.get(reverse("portfolios:holding", args=[holding.pk])).content.decode()
    figures = body[body.index('id="session-figures"') :]
    assert "<dt>Previous close</dt><dd>—</dd>" in figures
