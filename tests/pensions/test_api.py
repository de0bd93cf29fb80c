from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from pensions.models import PensionAccount, PensionValueEntry
from tests.api.conftest import assert_error
from tests.factories import PensionAccountFactory, PensionValueEntryFactory

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def account(owner):
    return PensionAccountFactory(user=owner, name="OTP", currency="NOK")


def values_url(account) -> str:
    return f"/api/v1/pension/accounts/{account.pk}/values"


def test_accounts_carry_their_current_value(api, account, outsider):
    PensionValueEntryFactory(account=account, date=dt.date(2024, 1, 31), value=D("100"))
    PensionValueEntryFactory(account=account, date=dt.date(2024, 2, 29), value=D("250.5"))
    PensionAccountFactory(user=outsider, name="Not mine")
    body = api.get("/api/v1/pension/accounts").json()
    assert body == [
        {
            "id": account.pk,
            "name": "OTP",
            "currency": "NOK",
            "ynab_account_id": None,
            "current_value": "250.50",
            "current_value_date": "2024-02-29",
        }
    ]


def test_create_an_account_and_a_clashing_name_is_409(api, owner, account):
    response = api.post("/api/v1/pension/accounts", {"name": "IPS", "currency": "sek"})
    assert response.status_code == 201, response.content
    assert PensionAccount.objects.get(name="IPS").currency == "SEK"
    assert_error(api.post("/api/v1/pension/accounts", {"name": "IPS"}), 409, "conflict")


def test_record_a_value_and_list_newest_first(api, account):
    first = api.post(values_url(account), {"date": "2024-01-31", "value": "1000.50"})
    assert first.status_code == 201, first.content
    api.post(values_url(account), {"date": "2024-02-29", "value": "1100"})
    body = api.get(values_url(account)).json()
    assert [(v["date"], v["value"]) for v in body] == [
        ("2024-02-29", "1100.00"),
        ("2024-01-31", "1000.50"),
    ]


def test_a_value_on_a_date_that_has_one_is_409_and_replaces_nothing(api, account):
    api.post(values_url(account), {"date": "2024-01-31", "value": "1000"})
    error = assert_error(api.post(values_url(account), {"date": "2024-01-31", "value": "-5"}), 400)
    assert list(error["details"]) == ["value"]
    error = assert_error(
        api.post(values_url(account), {"date": "2024-01-31", "value": "1200"}), 409, "conflict"
    )
    assert error["details"] == {
        "date": [
            "OTP already has a value on 2024-01-31 (1,000 NOK): delete or edit that one instead."
        ]
    }
    assert PensionValueEntry.objects.get().value == D("1000")


def test_a_negative_value_is_refused(api, account):
    error = assert_error(api.post(values_url(account), {"date": "2024-01-31", "value": "-1"}), 400)
    assert error["details"] == {"value": ["A pension value cannot be negative."]}
    assert not PensionValueEntry.objects.exists()


@pytest.mark.parametrize("day", ["1899-12-31", "future"])
def test_a_date_outside_1900_to_today_is_refused(api, account, day):
    if day == "future":
        day = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    error = assert_error(api.post(values_url(account), {"date": day, "value": "1"}), 400)
    assert list(error["details"]) == ["date"]


def test_edit_a_value_and_moving_it_onto_a_taken_date_is_409(api, account):
    PensionValueEntryFactory(account=account, date=dt.date(2024, 1, 31), value=D("100"))
    entry = PensionValueEntryFactory(account=account, date=dt.date(2024, 2, 29), value=D("200"))
    url = f"{values_url(account)}/{entry.pk}"
    response = api.patch(url, {"value": "210"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["value"] == "210.00"
    assert_error(api.patch(url, {"date": "2024-01-31"}, format="json"), 409)
    entry.refresh_from_db()
    assert (entry.date, entry.value) == (dt.date(2024, 2, 29), D("210"))
    assert api.delete(url).status_code == 204


def test_another_users_account_and_values_are_404(outsider_api, account):
    entry = PensionValueEntryFactory(account=account)
    assert_error(outsider_api.get(values_url(account)), 404)
    assert_error(outsider_api.post(values_url(account), {"date": "2024-01-31", "value": "1"}), 404)
    assert_error(outsider_api.get(f"{values_url(account)}/{entry.pk}"), 404)
    assert_error(outsider_api.get(f"/api/v1/pension/accounts/{account.pk}"), 404)
