"""The optional `contribution` of a pension value in the API and the admin: stored through
the service, 0 or more, kept on an update that leaves it out, cleared with null. (The page's
form: tests/pensions/test_stats.py; the paste box: test_paste.py.)"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.urls import reverse

from tests.api.conftest import assert_error
from tests.factories import PensionAccountFactory, PensionValueEntryFactory

pytestmark = pytest.mark.django_db


def _url(account, entry=None) -> str:
    url = f"/api/v1/pension/accounts/{account.pk}/values"
    return f"{url}/{entry.pk}" if entry else url


def test_create_with_and_without_a_contribution(api, owner):
    account = PensionAccountFactory(user=owner, kind="ips")
    response = api.post(
        _url(account), {"date": "2024-01-31", "value": "100.00", "contribution": "1500.50"}
    )
    assert response.status_code == 201, response.content
    assert response.json()["contribution"] == "1500.50"
    plain = api.post(_url(account), {"date": "2024-02-29", "value": "200.00"})
    assert plain.status_code == 201 and plain.json()["contribution"] is None
    stored = {e.date: e.contribution for e in account.values.all()}
    assert stored == {dt.date(2024, 1, 31): D("1500.50"), dt.date(2024, 2, 29): None}


def test_a_negative_contribution_is_a_400_naming_the_field(api, owner):
    account = PensionAccountFactory(user=owner)
    response = api.post(
        _url(account), {"date": "2024-01-31", "value": "100", "contribution": "-0.01"}
    )
    error = assert_error(response, 400)
    assert "contribution" in error["details"]
    assert not account.values.exists()


def test_an_update_keeps_or_clears_the_contribution(api, owner):
    account = PensionAccountFactory(user=owner)
    entry = PensionValueEntryFactory(
        account=account, date=dt.date(2024, 1, 31), value=D("100"), contribution=D("50")
    )
    kept = api.patch(_url(account, entry), {"value": "120.00"})
    assert kept.status_code == 200 and kept.json()["contribution"] == "50.00"
    cleared = api.patch(_url(account, entry), {"contribution": None}, format="json")
    assert cleared.status_code == 200 and cleared.json()["contribution"] is None
    entry.refresh_from_db()
    assert (entry.value, entry.contribution) == (D("120.00"), None)


def test_another_users_value_is_404(outsider_api, owner):
    account = PensionAccountFactory(user=owner)
    entry = PensionValueEntryFactory(account=account, contribution=D("5"))
    assert outsider_api.patch(_url(account, entry), {"contribution": "0"}).status_code == 404
    entry.refresh_from_db()
    assert entry.contribution == D("5")


def test_the_admin_takes_a_contribution_by_the_same_rules(admin_client):
    account = PensionAccountFactory()
    url = reverse("admin:pensions_pensionvalueentry_add")
    form = {"account": account.pk, "date": "2024-01-31", "value": "100"}
    negative = admin_client.post(url, {**form, "contribution": "-1"})
    assert negative.status_code == 200
    assert negative.context["adminform"].form.errors["contribution"]
    assert admin_client.post(url, {**form, "contribution": "1 500,50"}).status_code == 302
    assert account.values.get().contribution == D("1500.50")
