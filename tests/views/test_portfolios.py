from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from portfolios.models import Portfolio
from tests.factories import PortfolioFactory
from tests.views.conftest import htmx

pytestmark = pytest.mark.django_db


def test_list_shows_each_portfolio_with_its_summary(owner_client, buy):
    response = owner_client.get(reverse("portfolios:list"))
    body = response.content.decode()
    assert "Main" in body
    assert "3\u202f000.00\u00a0NOK" in body  # 10 x the stored close of 300
    assert "+500.00\u00a0NOK" in body


def test_list_offers_an_inline_create_form(owner_client):
    body = owner_client.get(reverse("portfolios:list")).content.decode()
    assert f'hx-get="{reverse("portfolios:create")}"' in body
    assert f'href="{reverse("portfolios:create")}"' in body


def test_create_form_is_a_fragment_for_htmx(owner_client):
    response = htmx(owner_client, reverse("portfolios:create"))
    assert response.status_code == 200
    assert b"<html" not in response.content
    assert b'name="name"' in response.content


def test_create_form_starts_from_the_profile(owner_client, owner):
    owner.profile.base_currency = "SEK"
    owner.profile.dividends_reduce_cost_basis = False
    owner.profile.save()
    form = owner_client.get(reverse("portfolios:create")).context["form"]
    assert form.initial["currency"] == "SEK"
    assert form.initial["dividends_reduce_cost_basis"] is False


def test_create_full_page_redirects_to_the_portfolio(owner_client, owner):
    response = owner_client.post(
        reverse("portfolios:create"), {"name": "ASK", "currency": "nok", "used_credit": "0"}
    )
    portfolio = Portfolio.objects.get(user=owner, name="ASK")
    assert portfolio.currency == "NOK"
    assert response.status_code == 302
    assert response["Location"] == reverse("portfolios:detail", args=[portfolio.pk])


def test_create_with_htmx_sends_the_browser_on(owner_client, owner):
    response = htmx(
        owner_client,
        reverse("portfolios:create"),
        {"name": "ASK", "currency": "NOK", "used_credit": "0"},
        method="post",
    )
    portfolio = Portfolio.objects.get(user=owner, name="ASK")
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("portfolios:detail", args=[portfolio.pk])


def test_create_goes_back_where_it_was_asked_from(owner_client, owner):
    response = owner_client.post(
        reverse("portfolios:create"),
        {"name": "ASK", "currency": "NOK", "used_credit": "0", "next": "/import/"},
    )
    assert response["Location"] == "/import/"
    evil = owner_client.post(
        reverse("portfolios:create"),
        {"name": "B", "currency": "NOK", "used_credit": "0", "next": "https://evil.example/"},
    )
    assert "evil" not in evil["Location"]


def test_create_errors_are_next_to_the_fields(owner_client, portfolio):
    response = htmx(
        owner_client,
        reverse("portfolios:create"),
        {"name": "Main", "currency": "kroner", "used_credit": "-5"},
        method="post",
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "<html" not in body
    assert "You already have a portfolio named &#x27;Main&#x27;" in body
    assert body.count('class="field has-error"') == 3
    assert body.count('aria-invalid="true"') == 3


def test_another_users_name_is_free(owner_client, outsider):
    PortfolioFactory(user=outsider, name="Main")
    response = owner_client.post(
        reverse("portfolios:create"), {"name": "Main", "currency": "NOK", "used_credit": "0"}
    )
    assert response.status_code == 302


def test_edit_saves_and_locks_the_currency_once_there_are_transactions(owner_client, buy):
    portfolio = buy.portfolio
    url = reverse("portfolios:edit", args=[portfolio.pk])
    assert owner_client.get(url).context["form"].fields["currency"].disabled
    response = htmx(
        owner_client,
        url,
        {"name": "Renamed", "currency": "USD", "used_credit": "10", "description": "x"},
        method="post",
    )
    assert response["HX-Redirect"] == reverse("portfolios:detail", args=[portfolio.pk])
    portfolio.refresh_from_db()
    assert (portfolio.name, portfolio.currency) == ("Renamed", "NOK")


def test_changing_dividend_treatment_replays_holdings(owner_client, buy):
    from django.utils import timezone

    from tests.factories import record

    record(
        buy.portfolio,
        buy.holding.instrument,
        "DIVIDEND",
        quantity="10",
        price="5",
        date=timezone.localdate(),
    )
    buy.holding.refresh_from_db()
    assert buy.holding.total_cost == Decimal("2450")
    owner_client.post(
        reverse("portfolios:edit", args=[buy.portfolio.pk]),
        {"name": "Main", "currency": "NOK", "used_credit": "0"},
    )
    buy.holding.refresh_from_db()
    assert buy.holding.total_cost == Decimal("2500")


def test_delete_confirms_then_deletes(owner_client, buy):
    url = reverse("portfolios:delete", args=[buy.portfolio.pk])
    confirm = htmx(owner_client, url)
    assert b"1 transaction" in confirm.content and b"<html" not in confirm.content
    response = htmx(owner_client, url, method="post")
    assert response["HX-Redirect"] == reverse("portfolios:list")
    assert not Portfolio.objects.filter(pk=buy.portfolio.pk).exists()


def test_used_credit_updates_the_totals_out_of_band(owner_client, buy):
    url = reverse("portfolios:credit", args=[buy.portfolio.pk])
    assert b'name="used_credit"' in htmx(owner_client, url).content
    response = htmx(owner_client, url, {"used_credit": "1000"}, method="post")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="totals"' in body and 'hx-swap-oob="true"' in body
    assert "2\u202f000.00\u00a0NOK" in body  # net value: 3000 - 1000
    buy.portfolio.refresh_from_db()
    assert buy.portfolio.used_credit == Decimal("1000")


def test_used_credit_refuses_a_negative_amount(owner_client, portfolio):
    url = reverse("portfolios:credit", args=[portfolio.pk])
    response = owner_client.post(url, {"used_credit": "-1"})
    assert response.status_code == 422
    assert "used_credit" in response.context["form"].errors


def test_detail_page_has_the_live_table_totals_and_form(owner_client, holding, settings):
    settings.LIVE_REFRESH_SECONDS = 7
    response = owner_client.get(reverse("portfolios:detail", args=[holding.portfolio.pk]))
    body = response.content.decode()
    assert "<html" in body
    assert 'id="totals"' in body and 'id="holdings"' in body
    assert "every 7s" in body and "data-live" in body
    assert 'name="symbol"' in body
    assert "EQNR.OL" in body


def test_every_delete_confirmation_posts_to_itself_and_cancels_back(owner_client, buy):
    # One include draws them all (templates/includes/delete_form.html).
    holding = buy.holding
    pages = {
        reverse("portfolios:delete", args=[holding.portfolio_id]): (
            "Delete portfolio",
            reverse("portfolios:detail", args=[holding.portfolio_id]),
        ),
        reverse("portfolios:holding_delete", args=[holding.pk]): (
            "Delete holding",
            reverse("portfolios:holding", args=[holding.pk]),
        ),
        reverse("portfolios:transaction_delete", args=[buy.pk]): (
            "Delete transaction",
            reverse("portfolios:holding", args=[holding.pk]),
        ),
    }
    for url, (label, cancel) in pages.items():
        body = owner_client.get(url).content.decode()
        assert f'action="{url}"' in body
        assert f'<button type="submit" class="danger">{label}</button>' in body
        assert f'<a href="{cancel}"' in body
    # Only the portfolio's is posted by htmx and dismissed as a dialog.
    body = owner_client.get(reverse("portfolios:delete", args=[holding.portfolio_id])).content
    assert b"hx-post=" in body and b"data-dismiss" in body
    body = owner_client.get(reverse("portfolios:holding_delete", args=[holding.pk])).content
    assert b"hx-post=" not in body and b"data-dismiss" not in body


def test_the_chart_card_loads_its_chart_after_the_page(owner_client, buy):
    body = owner_client.get(reverse("portfolios:detail", args=[buy.portfolio.pk])).content
    chart = reverse("portfolios:chart", args=[buy.portfolio.pk])
    assert f'hx-get="{chart}?range=1y" hx-trigger="load"'.encode() in body
