"""SPLIT through the HTML transaction form and the admin, and as lists show it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from portfolios.models import Holding, Transaction
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
D = Decimal


def _day(days_ago: int) -> str:
    return (timezone.localdate() - dt.timedelta(days=days_ago)).isoformat()


def test_the_form_offers_a_split_with_its_factor_explained(owner_client, portfolio):
    body = owner_client.get(reverse("portfolios:transaction_add", args=[portfolio.pk]))
    text = body.content.decode()
    assert "Split (quantity: new shares per old share)" in text
    assert "for a split: new shares per old share" in text


def test_a_split_entered_in_the_form_and_shown_as_2_to_1(owner_client, portfolio, holding):
    # The fixture bought 10 at 250 thirty days ago (cost 2500): 2:1 -> 20 at 125.
    url = reverse("portfolios:transaction_add", args=[portfolio.pk])
    form = {
        "symbol": "EQNR.OL",
        "type": "SPLIT",
        "date": _day(10),
        "quantity": "2",
        "price": "",
        "fees": "",
        "exchange_rate": "",
        "currency": "",
        "notes": "",
    }
    response = owner_client.post(url, form)
    assert response.status_code == 302, response.context["form"].errors
    holding = Holding.objects.get(pk=holding.pk)
    assert (holding.quantity, holding.average_cost) == (D("20"), D("125"))
    page = owner_client.get(reverse("portfolios:holding", args=[holding.pk])).content.decode()
    assert "Split 2:1" in page


def test_a_split_with_a_price_is_a_form_error_on_price(owner_client, portfolio, holding):
    url = reverse("portfolios:transaction_add", args=[portfolio.pk])
    form = {"symbol": "EQNR.OL", "type": "SPLIT", "date": _day(10), "quantity": "0.1"}
    response = owner_client.post(url, {**form, "price": "5", "fees": ""})
    assert response.status_code == 422
    assert "A split has no price" in response.context["form"].errors["price"][0]
    assert Transaction.objects.count() == 1


def test_a_buy_in_the_form_still_needs_a_price(owner_client, portfolio, equinor):
    url = reverse("portfolios:transaction_add", args=[portfolio.pk])
    form = {"symbol": "EQNR.OL", "type": "BUY", "date": _day(10), "quantity": "1", "price": ""}
    response = owner_client.post(url, form)
    assert response.status_code == 422
    assert response.context["form"].errors["price"]


def test_a_reverse_split_in_the_admin(client, portfolio, holding):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    form = {
        "portfolio": portfolio.pk,
        "instrument": holding.instrument_id,
        "type": "SPLIT",
        "date": _day(10),
        "quantity": "0.1",
        "price": "0",
        "fees": "0",
        "exchange_rate": "",
        "notes": "",
    }
    response = client.post(reverse("admin:portfolios_transaction_add"), form)
    assert response.status_code == 302
    # 10 shares costing 2500, 1:10 -> 1 share at 2500
    holding = Holding.objects.get(pk=holding.pk)
    assert (holding.quantity, holding.average_cost) == (D("1"), D("2500"))
    assert Transaction.objects.get(type="SPLIT").type_label == "Split 1:10"


# -- suggested from the provider's split history ------------------------------------------


def test_a_provider_split_after_the_first_buy_is_suggested_and_recorded_in_one_click(
    owner_client, holding
):
    from marketdata.models import InstrumentSplit

    # The fixture bought 10 thirty days ago; the provider reports 2:1 ten days ago.
    day = timezone.localdate() - dt.timedelta(days=10)
    InstrumentSplit.objects.create(instrument=holding.instrument, date=day, ratio=D("2"))
    url = reverse("portfolios:holding", args=[holding.pk])
    page = owner_client.get(url).content.decode()
    assert "A split may be missing" in page
    assert f"Record split 2:1 on {day.isoformat()}" in page

    record_url = reverse("portfolios:holding_record_split", args=[holding.pk])
    response = owner_client.post(record_url, {"date": day.isoformat(), "ratio": "2.000000"})
    assert response.status_code == 302
    split = Transaction.objects.get(type="SPLIT")
    assert (split.date, split.quantity, split.price) == (day, D("2"), D("0"))
    # 10 at 250 (2500) -> 20 at 125; and the suggestion is gone.
    holding = Holding.objects.get(pk=holding.pk)
    assert (holding.quantity, holding.average_cost) == (D("20"), D("125"))
    assert "A split may be missing" not in owner_client.get(url).content.decode()


def test_no_suggestion_for_a_split_before_the_first_buy_or_already_recorded(
    owner_client, portfolio, holding
):
    from marketdata.models import InstrumentSplit
    from tests.factories import record

    before = timezone.localdate() - dt.timedelta(days=60)
    after = timezone.localdate() - dt.timedelta(days=10)
    InstrumentSplit.objects.create(instrument=holding.instrument, date=before, ratio=D("3"))
    InstrumentSplit.objects.create(instrument=holding.instrument, date=after, ratio=D("2"))
    # Booked by the broker two days after the ex-date: the same split.
    record(portfolio, holding.instrument, "SPLIT", quantity="2", price="0",
           date=after + dt.timedelta(days=2))  # fmt: skip
    page = owner_client.get(reverse("portfolios:holding", args=[holding.pk])).content.decode()
    assert "A split may be missing" not in page


def test_a_split_the_provider_never_reported_is_not_recorded_by_the_one_click(
    owner_client, holding
):
    day = (timezone.localdate() - dt.timedelta(days=10)).isoformat()
    url = reverse("portfolios:holding_record_split", args=[holding.pk])
    response = owner_client.post(url, {"date": day, "ratio": "2"}, follow=True)
    assert "The split was not recorded" in response.content.decode()
    assert not Transaction.objects.filter(type="SPLIT").exists()


def test_the_price_chart_draws_a_buy_before_a_split_at_its_adjusted_price(
    owner_client, portfolio, holding
):
    from tests.factories import record

    # Bought at 250 thirty days ago, 2:1 ten days ago: on the adjusted line the buy sits
    # at 125.
    record(portfolio, holding.instrument, "SPLIT", quantity="2", price="0",
           date=timezone.localdate() - dt.timedelta(days=10))  # fmt: skip
    url = reverse("portfolios:holding_chart", args=[holding.pk])
    response = owner_client.get(url, {"range": "3m"}, HTTP_HX_REQUEST="true")
    markers = response.context["chart"].markers
    assert [(m.kind, m.value) for m in markers] == [("buy", D("125"))]
