"""Issue 8 on the pages: the chart starts at the opening point, its range is in the URL, a
currency without any rate is warned about, and the total return counts nothing twice."""

from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from tests.factories import HistoricalStockPriceFactory, InstrumentFactory, PortfolioFactory, record
from tests.views.conftest import htmx, priced_instrument

D = Decimal
TODAY = timezone.localdate


def test_the_range_tabs_push_the_range_into_the_url(owner_client, portfolio, buy):
    page = reverse("portfolios:detail", args=[portfolio.pk])
    body = htmx(owner_client, reverse("portfolios:chart", args=[portfolio.pk]), {"range": "5y"})
    text = body.content.decode()
    assert f'hx-push-url="{page}?range=1y"' in text
    assert f'hx-push-url="{page}?range=max"' in text
    # A reload of the pushed URL draws that range on the server.
    reloaded = owner_client.get(page, {"range": "max"}).content.decode()
    assert 'aria-current="true">All<' in reloaded
    dashboard = owner_client.get(reverse("home"), {"range": "3m"}).content.decode()
    assert 'hx-push-url="/?range=max"' in dashboard
    assert 'aria-current="true">3 months<' in dashboard


def test_the_chart_starts_at_the_opening_point(owner_client, portfolio, buy):
    # 10 EQNR bought 30 days ago at 250, close 300 (yesterday). Over the last 3 months the
    # first point is the day before the buy (0), the last 10 x 300: gain 3,000 - 0 - 2,500.
    body = htmx(owner_client, reverse("portfolios:chart", args=[portfolio.pk]), {"range": "3m"})
    text = html.unescape(body.content.decode())
    opening = (buy.date - dt.timedelta(days=1)).strftime("%-d %b %Y")
    assert f"Market value: 0.00\u00a0NOK on {opening}" in text
    assert 'Market value <strong class="num">3\u202f000.00\u00a0NOK</strong>' in text
    assert re.search(r"Gain in period</abbr></dt><dd class=\"gain\">\+500\.00\u00a0NOK", text)


def test_a_currency_without_any_rate_is_warned_about_not_valued_at_the_trade_rate(
    owner_client, portfolio, buy
):
    apple = priced_instrument("AAPL", "200", currency="USD")
    record(portfolio, apple, quantity="1", price="150", exchange_rate="10", date=buy.date)
    body = htmx(owner_client, reverse("portfolios:chart", args=[portfolio.pk]), {"range": "1y"})
    text = body.content.decode()
    assert "No exchange rate is stored for USD" in text
    # EQNR alone, 10 x 300: the 1 AAPL is not valued at 150 x 10
    assert 'Market value <strong class="num">3\u202f000.00\u00a0NOK</strong>' in text


def test_the_total_return_adds_dividends_only_when_they_keep_the_cost_basis(owner_client, owner):
    # Buy 10 at 100; dividend 10 x 5 = 50; close 120: value 1,200.
    # Reducing the cost basis: cost 1,000 - 50 = 950, unrealized 250, realized 0: total 250.
    # As income only: cost 1,000, unrealized 200, realized 0, dividends 50: total 250 too.
    for reduce in (True, False):
        portfolio = PortfolioFactory(
            user=owner, name=f"reduce {reduce}", dividends_reduce_cost_basis=reduce
        )
        instrument = InstrumentFactory(ticker=f"T{int(reduce)}.OL")
        HistoricalStockPriceFactory(
            instrument=instrument, date=TODAY() - dt.timedelta(days=1), close=D("120")
        )
        day = TODAY() - dt.timedelta(days=10)
        buy = record(portfolio, instrument, quantity="10", price="100", date=day)
        record(portfolio, instrument, "DIVIDEND", quantity="10", price="5", date=day)
        text = owner_client.get(reverse("portfolios:detail", args=[portfolio.pk])).content
        assert 'id="total-return" class="gain">+250.00\u00a0NOK<' in text.decode()
        text = owner_client.get(reverse("portfolios:holding", args=[buy.holding_id])).content
        assert 'id="total-return" class="gain">+250.00\u00a0NOK<' in text.decode()
    dashboard = owner_client.get(reverse("home")).content.decode()
    assert 'id="total-return" class="gain">+500.00\u00a0NOK<' in dashboard


def test_dividends_by_month_and_year_are_on_the_portfolio_page(owner_client, portfolio, buy):
    record(portfolio, buy.holding.instrument, "DIVIDEND", quantity="10", price="2", date=buy.date)
    body = htmx(owner_client, reverse("portfolios:chart", args=[portfolio.pk]), {"range": "1y"})
    text = body.content.decode()
    assert "Dividends by month and year" in text
    assert f"{buy.date.strftime('%b')}: 20.00\u00a0NOK" in text


def test_a_chart_ending_today_redraws_as_the_live_table_refreshes(owner_client, portfolio, buy):
    # Found by QA: the holdings table refreshed every 30 s while the chart kept its
    # load-time last point, so the two drifted apart on an open page. Both now refresh on
    # the same period; a period that ended before today has nothing live and stays put.
    chart = reverse("portfolios:chart", args=[portfolio.pk])
    text = htmx(owner_client, chart, {"range": "1y"}).content.decode()
    assert 'hx-trigger="ledger-changed from:body, every 30s"' in text
    dashboard = owner_client.get(reverse("home"), {"range": "1y"}).content.decode()
    assert f'hx-get="{reverse("dashboard_chart")}?range=1y" hx-trigger="every 30s"' in dashboard
