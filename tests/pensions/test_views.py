"""The projection page, the YNAB button and dropdown, the settings check and the dashboard's
goal line."""

from __future__ import annotations

import datetime as dt
import html
from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils import timezone

from financedash.lib.profiles import profile_for
from financedash.templatetags.money import money
from pensions.models import PensionAccount
from tests.factories import PensionAccountFactory, PensionValueEntryFactory
from tests.pensions.conftest import IPS_ID, serve_accounts
from tests.pensions.ynab_fake import PLAN, Answer, account, error_response

PAGE = reverse("pensions:projection")


def _goal(owner, amount, year):
    profile = profile_for(owner)
    profile.retirement_goal_amount = D(amount)
    profile.retirement_goal_year = year
    profile.save()
    return profile


def _inputs(year, **extra):
    args = {
        "return_percent": "0",
        "contribution": "1000",
        "year": year,
        "inflation_percent": "0",
        "volatility_percent": "",
    }
    return {**args, **extra}


@pytest.mark.django_db
def test_the_page_shows_goal_shortfall_and_the_contribution_that_reaches_it(owner_client, owner):
    # 100,000 today at 0 % with 1,000 a month for n months; the goal 100,000 + 2n x 1,000
    # needs 2,000 a month, and falls n x 1,000 short at 1,000.
    year = timezone.localdate().year + 1
    months = 24 - timezone.localdate().month
    _goal(owner, 100000 + 2000 * months, year)
    PensionValueEntryFactory(account=PensionAccountFactory(user=owner), value=D("100000"))
    PensionValueEntryFactory(account=PensionAccountFactory(), value=D("999999"))  # not theirs

    response = owner_client.get(PAGE, _inputs(year))

    assert response.status_code == 200
    page = response.content.decode()
    assert "<html" in page
    assert money(D("100000"), "NOK") in page
    assert money(D(100000 + 1000 * months), "NOK") in page
    assert "Shortfall" in page
    assert money(D("2000.00"), "NOK") in page
    assert response.context["plan"].result.required_monthly_contribution == D("2000.00")


@pytest.mark.django_db
def test_htmx_gets_only_the_results(owner_client, owner):
    year = timezone.localdate().year + 3
    response = owner_client.get(
        PAGE, _inputs(year, volatility_percent="15"), HTTP_HX_REQUEST="true"
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page and 'id="projection-results"' in page
    assert "90th percentile" in page


@pytest.mark.django_db
def test_the_first_visit_uses_the_goal_year_and_bands(owner_client, owner):
    year = timezone.localdate().year + 25
    _goal(owner, 5000000, year)
    response = owner_client.get(PAGE)
    plan = response.context["plan"]
    assert plan.retirement_year == year
    assert plan.result.years[-1].p50 is not None
    assert plan.inputs.include_portfolios


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True])
def test_a_past_year_is_an_error_next_to_the_field(owner_client, htmx):
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = owner_client.get(PAGE, _inputs(timezone.localdate().year - 1), **extra)
    assert response.status_code == 422
    if not htmx:
        assert response.context["form"].errors["year"]
    # The live update swaps only the results: they name the field and the reason (found by
    # QA: the fragment said only "fix the inputs above", and nothing above said what).
    past = timezone.localdate().year - 1
    body = html.unescape(response.content.decode())
    assert "Fix the inputs" in body
    assert f"{past} is in the past" in body


@pytest.mark.django_db
def test_the_dashboard_goal_line_is_the_projection(owner_client, owner):
    # 200,000 at 5 % for the months to December next year, without savings.
    year = timezone.localdate().year + 1
    _goal(owner, 1000000, year)
    PensionValueEntryFactory(account=PensionAccountFactory(user=owner), value=D("200000"))
    page = owner_client.get(reverse("home")).content.decode()
    plan = owner_client.get(PAGE, _inputs(year, return_percent="5", contribution="0"))
    result = plan.context["plan"].result
    assert 'id="goal-projection"' in page
    assert money(result.final_value, "NOK") in page
    assert "shortfall" in page
    assert money(result.required_monthly_contribution, "NOK") in page


# -- YNAB on the pages -----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_sync_button_stores_todays_balance(owner_client, fake, linked):
    serve_accounts(fake, [account("Pension IPS", 250000500, id=IPS_ID)])
    page = owner_client.get(reverse("pensions:list")).content.decode()
    assert "Sync from YNAB" in page
    response = owner_client.post(reverse("pensions:sync_ynab"), follow=True)
    assert linked.values.get().value == D("250000.50")
    assert linked.values.get().date == timezone.localdate()
    assert "IPS: 250,000.5 NOK" in response.content.decode()


@pytest.mark.django_db
def test_a_failed_sync_says_why_and_keeps_the_stored_values(owner_client, fake, linked):
    PensionValueEntryFactory(account=linked, date=dt.date(2024, 1, 31), value=D("5"))
    fake.answers[f"/plans/{PLAN}/accounts"] = Answer(
        401, error_response(401, "unauthorized", "Unauthorized")
    )
    response = owner_client.post(reverse("pensions:sync_ynab"), follow=True)
    page = response.content.decode()
    assert "YNAB refused the access token" in page
    assert list(linked.values.values_list("value", flat=True)) == [D("5")]


def test_the_button_is_hidden_without_ynab(owner_client, settings):
    settings.YNAB_ACCESS_TOKEN = ""
    assert "Sync from YNAB" not in owner_client.get(reverse("pensions:list")).content.decode()


@pytest.mark.django_db
def test_a_pension_account_is_linked_from_a_dropdown(owner_client, owner, fake, linked):
    other = "3d9b1a5c-7e2f-4a3b-9c8d-5e6f7a8b9c0d"
    serve_accounts(fake, [account("Pension IPS", 1000, id=IPS_ID), account("EPK", 2000, id=other)])
    form = owner_client.get(reverse("pensions:create")).content.decode()
    assert f'<option value="{other}">EPK</option>' in form
    response = owner_client.post(
        reverse("pensions:create"),
        {"name": "EPK", "kind": "epk", "currency": "NOK", "ynab_account_id": other},
    )
    assert response.status_code == 302
    assert PensionAccount.objects.get(user=owner, name="EPK").ynab_account_id == other


@pytest.mark.django_db
def test_the_settings_page_checks_the_budget_with_ynab(owner_client, owner, fake):
    data = {"base_currency": "NOK", "dividends_reduce_cost_basis": "on"}
    refused = owner_client.post(reverse("settings"), {**data, "ynab_budget_id": "nope-0000"})
    assert refused.status_code == 422
    assert "YNAB has no budget with this id" in refused.content.decode()
    assert profile_for(owner).ynab_budget_id is None
    saved = owner_client.post(reverse("settings"), {**data, "ynab_budget_id": PLAN})
    assert saved.status_code == 302
    assert profile_for(owner).ynab_budget_id == PLAN


@pytest.mark.django_db
def test_another_users_cannot_sync_or_see_my_projection(client, owner, outsider, fake, linked):
    serve_accounts(fake, [account("Pension IPS", 1000, id=IPS_ID)])
    client.force_login(outsider)
    client.post(reverse("pensions:sync_ynab"))
    assert not linked.values.exists()
    PensionValueEntryFactory(account=PensionAccountFactory(user=owner), value=D("777777"))
    page = client.get(PAGE, _inputs(timezone.localdate().year + 1)).content.decode()
    assert money(D("777777"), "NOK") not in page


@pytest.mark.django_db
def test_the_account_form_offers_the_stored_ynab_accounts_while_ynab_is_down(
    owner_client, fake, linked
):
    serve_accounts(fake, [account("Pension IPS", 1000, id=IPS_ID)])
    owner_client.get(reverse("pensions:create"))  # listed once, stored
    from django.core.cache import cache

    cache.clear()
    fake.answers[f"/plans/{PLAN}/accounts"] = Answer(
        503, error_response(503, "service_unavailable", "Down")
    )
    page = owner_client.get(reverse("pensions:create")).content.decode()
    assert f'<option value="{IPS_ID}"' in page
    assert "YNAB could not be asked now" in page


@pytest.mark.django_db
def test_a_goal_year_beyond_the_projection_leaves_the_dashboard_whole(owner_client, owner):
    _goal(owner, 1000000, 2200)
    response = owner_client.get(reverse("home"))
    assert response.status_code == 200
    assert 'id="goal-projection"' not in response.content.decode()
