from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_settings_show_the_profile(owner_client):
    response = owner_client.get(reverse("settings"))
    assert response.status_code == 200
    assert b'name="base_currency"' in response.content
    assert b'name="dividends_reduce_cost_basis"' in response.content


def test_settings_save(owner_client, owner):
    response = owner_client.post(
        reverse("settings"),
        {
            "base_currency": "eur",
            "retirement_goal_amount": "5000000",
            "retirement_goal_year": "2045",
            "ynab_budget_id": "  ",
        },
    )
    assert response.status_code == 302
    owner.profile.refresh_from_db()
    assert owner.profile.base_currency == "EUR"
    assert owner.profile.retirement_goal_amount == Decimal("5000000")
    assert owner.profile.retirement_goal_year == 2045
    assert owner.profile.ynab_budget_id is None
    assert owner.profile.dividends_reduce_cost_basis is False


def test_settings_errors_are_next_to_the_field(owner_client):
    response = owner_client.post(
        reverse("settings"), {"base_currency": "kroner", "retirement_goal_year": "1800"}
    )
    assert response.status_code == 422
    form = response.context["form"]
    assert "base_currency" in form.errors and "retirement_goal_year" in form.errors
    assert b'class="field has-error"' in response.content


def test_the_household_benchmark_is_set_in_the_settings(owner_client, owner):
    from tests.factories import InstrumentFactory

    osebx = InstrumentFactory(ticker="^OSEBX")
    data = {"base_currency": "NOK", "benchmark": "^osebx"}
    assert owner_client.post(reverse("settings"), data).status_code == 302
    owner.profile.refresh_from_db()
    assert owner.profile.benchmark == osebx
    assert b'value="^OSEBX"' in owner_client.get(reverse("settings")).content
    # Unknown (the offline provider knows nothing more): an error on the field, nothing saved.
    response = owner_client.post(
        reverse("settings"), {"base_currency": "NOK", "benchmark": "NOPE.XX"}
    )
    assert response.status_code == 422
    assert "benchmark" in response.context["form"].errors
    owner.profile.refresh_from_db()
    assert owner.profile.benchmark == osebx
    # Empty clears it.
    assert owner_client.post(reverse("settings"), {"base_currency": "NOK"}).status_code == 302
    owner.profile.refresh_from_db()
    assert owner.profile.benchmark is None
