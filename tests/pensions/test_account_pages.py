from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from pensions.models import PensionAccount, PensionValueEntry
from tests.factories import PensionAccountFactory, PensionValueEntryFactory
from tests.views.conftest import htmx

pytestmark = pytest.mark.django_db


def test_list_shows_each_account_with_its_latest_value(owner_client, owner, outsider):
    account = PensionAccountFactory(user=owner, name="OTP")
    PensionValueEntryFactory(account=account, date=dt.date(2024, 1, 31), value=Decimal("100"))
    PensionValueEntryFactory(account=account, date=dt.date(2024, 2, 29), value=Decimal("250"))
    PensionAccountFactory(user=outsider, name="Not mine")
    body = owner_client.get(reverse("pensions:list")).content.decode()
    assert "OTP" in body and "250.00\u00a0NOK" in body and "29 Feb 2024" in body
    assert "Not mine" not in body


def test_add_an_account_inline(owner_client, owner):
    response = htmx(
        owner_client, reverse("pensions:create"), {"name": "IPS", "currency": "nok"}, "post"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and 'id="pension-accounts"' in body and "IPS" in body
    assert PensionAccount.objects.get(user=owner).currency == "NOK"
    # No flash message left queued to surface on some later, unrelated page.
    assert b"Added the pension account" not in owner_client.get(reverse("settings")).content


def test_add_account_errors(owner_client, owner):
    PensionAccountFactory(user=owner, name="IPS")
    response = htmx(owner_client, reverse("pensions:create"), {"name": "IPS"}, "post")
    assert response.status_code == 422
    assert "already have a pension account" in response.content.decode()
    full = owner_client.post(reverse("pensions:create"), {"name": "", "currency": "NOK"})
    assert full.status_code == 422 and b"<html" in full.content


def test_a_second_value_on_a_date_is_an_error_not_a_silent_replacement(owner_client, owner):
    account = PensionAccountFactory(user=owner, name="OTP")
    url = reverse("pensions:value_add", args=[account.pk])
    first = htmx(owner_client, url, {"date": "2024-05-31", "value": "1000"}, "post")
    assert "Recorded the value of 2024-05-31" in first.content.decode()
    second = htmx(owner_client, url, {"date": "2024-05-31", "value": "1200"}, "post")
    body = second.content.decode()
    assert second.status_code == 422
    assert "<html" not in body
    assert second.context["form"].errors["date"] == [
        "OTP already has a value on 2024-05-31 (1,000 NOK): delete or edit that one instead."
    ]
    assert PensionValueEntry.objects.get(account=account).value == Decimal("1000")


def test_a_negative_value_is_refused(owner_client, owner):
    account = PensionAccountFactory(user=owner)
    url = reverse("pensions:value_add", args=[account.pk])
    response = htmx(owner_client, url, {"date": "2024-05-31", "value": "-5"}, "post")
    assert response.status_code == 422
    assert response.context["form"].errors["value"] == ["A pension value cannot be negative."]
    assert not PensionValueEntry.objects.exists()


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("1 234,50", "1234.50"), ("1\u00a0234,5", "1234.50"), ("440,50", "440.50")],
)
def test_a_value_with_a_decimal_comma_is_read_as_written(owner_client, owner, typed, stored):
    account = PensionAccountFactory(user=owner)
    url = reverse("pensions:value_add", args=[account.pk])
    response = owner_client.post(url, {"date": "2024-05-31", "value": typed})
    assert response.status_code == 302
    assert PensionValueEntry.objects.get(account=account).value == Decimal(stored)


def test_the_value_input_keeps_a_decimal_comma(owner_client, owner):
    # A number input would drop "440,50" in the browser before it is sent.
    account = PensionAccountFactory(user=owner)
    body = owner_client.get(reverse("pensions:detail", args=[account.pk])).content.decode()
    assert 'type="text" name="value"' in body and 'inputmode="decimal"' in body


def test_value_errors_are_next_to_the_fields(owner_client, owner):
    account = PensionAccountFactory(user=owner)
    url = reverse("pensions:value_add", args=[account.pk])
    response = htmx(owner_client, url, {"date": "2999-01-01", "value": "x"}, "post")
    body = response.content.decode()
    assert response.status_code == 422
    assert "The date is in the future." in body
    assert body.count('class="field has-error"') == 2


def test_detail_page_charts_the_values(owner_client, owner):
    account = PensionAccountFactory(user=owner)
    PensionValueEntryFactory(account=account, date=dt.date(2024, 1, 31), value=Decimal("100"))
    PensionValueEntryFactory(account=account, date=dt.date(2024, 2, 29), value=Decimal("150"))
    body = owner_client.get(reverse("pensions:detail", args=[account.pk])).content.decode()
    assert "<html" in body and 'class="series chart-primary' in body
    fragment = htmx(owner_client, reverse("pensions:detail", args=[account.pk]))
    assert b"<html" not in fragment.content and b'id="pension-entries"' in fragment.content


def test_delete_a_value_and_an_account(owner_client, owner):
    account = PensionAccountFactory(user=owner)
    entry = PensionValueEntryFactory(account=account)
    response = htmx(owner_client, reverse("pensions:value_delete", args=[entry.pk]), None, "post")
    assert response.status_code == 200 and not PensionValueEntry.objects.exists()
    edit = owner_client.post(
        reverse("pensions:edit", args=[account.pk]), {"name": "Renamed", "currency": "SEK"}
    )
    assert edit.status_code == 302
    assert (
        b"Delete Renamed?"
        in owner_client.get(reverse("pensions:delete", args=[account.pk])).content
    )
    owner_client.post(reverse("pensions:delete", args=[account.pk]))
    assert not PensionAccount.objects.exists()
