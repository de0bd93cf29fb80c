from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import (
    HistoricalExchangeRateFactory,
    PensionAccountFactory,
    PensionValueEntryFactory,
    PortfolioFactory,
    record,
)
from tests.views.conftest import htmx, priced_instrument

pytestmark = pytest.mark.django_db


def test_new_user_gets_the_empty_state_with_both_ways_in(owner_client):
    response = owner_client.get(reverse("home"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Create a portfolio" in body
    assert reverse("portfolios:create") in body
    assert "Import a CSV" in body
    assert reverse("portfolios:import") in body


def test_net_worth_is_market_value_minus_credit_plus_pensions(owner_client, owner, buy):
    buy.portfolio.used_credit = Decimal("500")
    buy.portfolio.save()
    account = PensionAccountFactory(user=owner, currency="NOK")
    PensionValueEntryFactory(account=account, date=dt.date(2024, 1, 31), value=Decimal("1000"))
    PensionValueEntryFactory(account=account, date=dt.date(2024, 2, 29), value=Decimal("2000"))
    response = owner_client.get(reverse("home"))
    assert response.status_code == 200
    # 10 shares at the stored close of 300, less 500 credit, plus the latest pension value.
    net_worth = response.context["overview"].net_worth
    assert net_worth == Decimal("10") * Decimal("300") - Decimal("500") + Decimal("2000")
    assert "4\u202f500.00\u00a0NOK" in response.content.decode()


def test_foreign_portfolio_is_converted_at_the_stored_rate(owner_client, owner):
    usd = PortfolioFactory(user=owner, currency="USD", name="US")
    apple = priced_instrument("AAPL", "200", currency="USD")
    record(usd, apple, quantity="2", price="150", date=timezone.localdate() - dt.timedelta(5))
    HistoricalExchangeRateFactory(
        base_currency="USD", target_currency="NOK", date=timezone.localdate(), rate=Decimal("10")
    )
    response = owner_client.get(reverse("home"))
    assert response.context["overview"].net_worth == Decimal("4000")
    assert response.context["overview"].missing == []


def test_a_portfolio_without_a_rate_is_named_not_guessed(owner_client, owner):
    usd = PortfolioFactory(user=owner, currency="USD", name="US")
    apple = priced_instrument("AAPL", "200", currency="USD")
    record(usd, apple, quantity="2", price="150", date=timezone.localdate() - dt.timedelta(5))
    response = owner_client.get(reverse("home"))
    assert response.context["overview"].net_worth == 0
    assert "no USD→NOK exchange rate" in response.content.decode()


def test_retirement_goal_progress(owner_client, owner, buy):
    owner.profile.retirement_goal_amount = Decimal("6000")
    owner.profile.retirement_goal_year = timezone.localdate().year + 10
    owner.profile.save()
    response = owner_client.get(reverse("home"))
    body = response.content.decode()
    assert "Retirement goal" in body
    assert "50.0\u00a0%" in body
    assert "10 years left" in body


def test_allocation_bars_are_svg(owner_client, buy):
    body = owner_client.get(reverse("home")).content.decode()
    assert "By holding" in body and "By currency" in body and "By portfolio" in body
    assert '<rect class="fill" width="100.0"' in body


def test_value_chart_loads_as_a_fragment(owner_client, buy):
    response = htmx(owner_client, reverse("dashboard_chart"), {"range": "3m"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert 'id="value-chart"' in body
    assert 'class="series chart-primary' in body
    assert 'aria-current="true">3 months' in body
    # The household's card (templates/includes/value_chart.html) says where pensions are;
    # a portfolio's card has none.
    assert "Pensions are in the chart as a line of their own" in body
    portfolio = htmx(
        owner_client, reverse("portfolios:chart", args=[buy.portfolio.pk]), {"range": "3m"}
    )
    assert 'class="series chart-primary' in portfolio.content.decode()
    assert "Pensions are in the chart" not in portfolio.content.decode()


def test_value_chart_without_htmx_is_the_dashboard_with_the_chart(owner_client, buy):
    response = owner_client.get(reverse("dashboard_chart"), {"range": "1y"}, follow=True)
    body = response.content.decode()
    assert "<html" in body
    assert "<svg" in body and 'class="series chart-primary' in body


def test_dashboard_page_loads_the_chart_lazily(owner_client, buy):
    body = owner_client.get(reverse("home")).content.decode()
    assert 'hx-trigger="load"' in body
    assert f"{reverse('dashboard_chart')}?range=1y" in body
