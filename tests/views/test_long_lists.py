"""What keeps pages fast at household scale: a holding's transactions come a page at a
time, and the dashboard's value history is cached until its data changes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from financedash import overview
from portfolios import views
from tests.factories import HistoricalExchangeRateFactory, PortfolioFactory, record
from tests.views.conftest import htmx, priced_instrument

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


@pytest.fixture
def five_buys(portfolio, equinor, monkeypatch):
    monkeypatch.setattr(views, "TRANSACTIONS_PER_PAGE", 2)
    return [
        record(portfolio, equinor, quantity="1", price="100", date=TODAY() - dt.timedelta(days=n))
        for n in range(5, 0, -1)
    ]


def rows(body: str) -> int:
    return body.count('<tr id="txn-')


def test_the_list_shows_the_newest_page_with_a_way_to_older_ones(owner_client, five_buys):
    holding = five_buys[0].holding
    body = owner_client.get(reverse("portfolios:holding", args=[holding.pk])).content.decode()
    assert rows(body) == 2
    newest, second = five_buys[-1], five_buys[-2]
    assert f'id="txn-{newest.pk}"' in body and f'id="txn-{second.pk}"' in body
    older = f"{reverse('portfolios:holding_transactions', args=[holding.pk])}?page=2"
    assert f'hx-get="{older}"' in body
    assert "2 of 5 shown" in body


def test_an_older_page_over_htmx_is_only_its_rows(owner_client, five_buys):
    holding = five_buys[0].holding
    url = reverse("portfolios:holding_transactions", args=[holding.pk])
    middle = htmx(owner_client, url, {"page": "2"}).content.decode()
    assert 'class="txns"' not in middle and "<table" not in middle
    assert rows(middle) == 2 and "?page=3" in middle
    last = htmx(owner_client, url, {"page": "3"}).content.decode()
    assert rows(last) == 1 and f'id="txn-{five_buys[0].pk}"' in last
    assert "Show older" not in last


def test_the_first_page_over_htmx_is_the_whole_list(owner_client, five_buys):
    url = reverse("portfolios:holding_transactions", args=[five_buys[0].holding_id])
    body = htmx(owner_client, url).content.decode()
    assert 'class="txns"' in body and rows(body) == 2


def test_without_htmx_an_older_page_is_the_holding_page_at_that_page(owner_client, five_buys):
    holding_id = five_buys[0].holding_id
    url = reverse("portfolios:holding_transactions", args=[holding_id])
    page = reverse("portfolios:holding", args=[holding_id])
    assert owner_client.get(url, {"page": "2"})["Location"] == f"{page}?page=2"
    body = owner_client.get(page, {"page": "2"}).content.decode()
    assert rows(body) == 2 and "Transactions 3–4 of 5" in body


def test_a_page_out_of_range_is_the_last_one(owner_client, five_buys):
    url = reverse("portfolios:holding_transactions", args=[five_buys[0].holding_id])
    body = htmx(owner_client, url, {"page": "99"}).content.decode()
    assert rows(body) == 1


def test_the_household_series_is_recomputed_after_a_transaction(owner, portfolio, equinor):
    start, end = TODAY() - dt.timedelta(days=10), TODAY()
    record(portfolio, equinor, quantity="10", price="250", date=start)
    first = overview.household_performance(owner, currency="NOK", start=start, end=end)
    assert first.series[-1].net_deposits == Decimal("2500")
    assert overview.household_performance(owner, currency="NOK", start=start, end=end) == first
    record(portfolio, equinor, quantity="1", price="300", date=end)
    again = overview.household_performance(owner, currency="NOK", start=start, end=end)
    assert again.series[-1].net_deposits == Decimal("2800")


def test_the_household_series_names_a_renamed_portfolio(owner):
    usd = PortfolioFactory(user=owner, currency="USD", name="US")
    apple = priced_instrument("AAPL", "200", currency="USD")
    start, end = TODAY() - dt.timedelta(days=10), TODAY()
    record(usd, apple, quantity="1", price="150", date=start)
    household = overview.household_performance(owner, currency="NOK", start=start, end=end)
    assert household.missing == ["US: no USD→NOK exchange rate is stored."]
    usd.name = "Schwab"
    usd.save()
    household = overview.household_performance(owner, currency="NOK", start=start, end=end)
    assert household.missing == ["Schwab: no USD→NOK exchange rate is stored."]


def test_the_household_reads_each_currency_once(owner, django_assert_max_num_queries):
    start, end = TODAY() - dt.timedelta(days=10), TODAY() - dt.timedelta(days=1)
    apple = priced_instrument("AAPL", "200", currency="USD")
    HistoricalExchangeRateFactory(
        base_currency="USD", target_currency="NOK", date=start, rate=Decimal("10")
    )
    for name in ("US 1", "US 2"):
        portfolio = PortfolioFactory(user=owner, currency="USD", name=name)
        record(portfolio, apple, quantity="1", price="150", date=start)
    # portfolios, pensions, the USD->NOK rates (2), and per portfolio its performance (two
    # version stamps and five loads)
    with django_assert_max_num_queries(4 + 2 * 7):
        result = overview.household_performance(owner, currency="NOK", start=start, end=end)
    # Two shares at the last close of 200 USD, at 10 NOK per USD.
    assert result.series[-1].value == Decimal("4000")
