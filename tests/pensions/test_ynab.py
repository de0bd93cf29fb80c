"""YNAB against a real HTTP server on 127.0.0.1 (tests/pensions/ynab_fake.py) whose answers
are validated against YNAB's OpenAPI spec."""

from __future__ import annotations

import io
import logging
from decimal import Decimal as D

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import timezone

from financedash.lib.profiles import profile_for
from pensions import ynab
from pensions.models import PensionValueEntry, YnabBudgetState
from tests.api.conftest import assert_error
from tests.factories import PensionAccountFactory, PensionValueEntryFactory
from tests.pensions.conftest import ACCOUNTS_PATH, IPS_ID, SETTINGS_PATH, serve_accounts
from tests.pensions.ynab_fake import (
    PLAN,
    TOKEN,
    Answer,
    account,
    account_response,
    accounts_response,
    error_response,
)

EPK_ID = "1c7a9f3b-6d2e-4d3f-8b68-4a1f8e2d3c5b"
SYNC = "/api/v1/pension/sync-ynab"
LIST = "/api/v1/ynab/accounts"


# -- settings --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_budget_id_is_checked_with_ynab_before_it_is_saved(api, owner, fake):
    response = api.post("/api/v1/settings/ynab", {"budget_id": PLAN}, format="json")
    assert response.json() == {"budget_id": PLAN, "currency": "NOK"}
    assert profile_for(owner).ynab_budget_id == PLAN
    assert [(s.path, s.authorization) for s in fake.seen] == [
        (f"/v1{SETTINGS_PATH}", f"Bearer {TOKEN}")
    ]
    assert YnabBudgetState.objects.get(budget_id=PLAN).currency == "NOK"


@pytest.mark.django_db
def test_an_unknown_budget_id_is_refused_and_not_saved(api, owner, fake):
    response = api.post("/api/v1/settings/ynab", {"budget_id": "0000-not-a-budget"}, format="json")
    error = assert_error(response, 404, "ynab_not_found")
    assert "Settings" in error["message"]
    assert profile_for(owner).ynab_budget_id is None


@pytest.mark.django_db
def test_null_unlinks_without_asking_ynab(api, owner, fake, linked):
    response = api.post("/api/v1/settings/ynab", {"budget_id": None}, format="json")
    assert response.json() == {"budget_id": None, "currency": None}
    assert profile_for(owner).ynab_budget_id is None
    assert fake.seen == []


@pytest.mark.django_db
def test_without_a_token_ynab_is_not_configured(api, settings, linked):
    settings.YNAB_ACCESS_TOKEN = ""
    for response in (
        api.post("/api/v1/settings/ynab", {"budget_id": PLAN}, format="json"),
        api.get(LIST),
        api.post(SYNC),
    ):
        error = assert_error(response, 409, "ynab_not_configured")
        assert "YNAB_ACCESS_TOKEN" in error["message"]


@pytest.mark.django_db
def test_without_a_budget_the_listing_says_where_to_choose_one(api, owner, fake):
    error = assert_error(api.get(LIST), 409, "ynab_not_configured")
    assert "Settings" in error["message"]


# -- listing and balances --------------------------------------------------------------------


@pytest.mark.django_db
def test_accounts_list_with_balances_from_milliunits(api, fake, linked):
    serve_accounts(
        fake,
        [
            account("Pension IPS", 1234567, id=IPS_ID),  # 1,234.567
            account("Loan", -987654321, type="otherLiability"),  # -987,654.321
            account("Cents", 1),  # 0.001
            account("Large", 987654321012345),  # 987,654,321,012.345
            account("Old", 5000, closed=True),
        ],
    )
    body = api.get(LIST).json()
    assert [(a["name"], a["balance"], a["closed"]) for a in body] == [
        ("Cents", "0.001", False),
        ("Large", "987654321012.345", False),
        ("Loan", "-987654.321", False),
        ("Pension IPS", "1234.567", False),
        ("Old", "5.000", True),  # closed ones last
    ]
    assert body[2]["type"] == "otherLiability"


def test_milliunits_are_exact_decimals():
    assert ynab.milliunits(-1) == D("-0.001")
    assert ynab.milliunits(9223372036854775807) == D("9223372036854775.807")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("milliunits", "expected"),
    [(-250500, "-250.500"), (1999, "1.999"), (123456789012345, "123456789012.345")],
)
def test_one_balance(api, fake, linked, milliunits, expected):
    fake.answers[f"{ACCOUNTS_PATH}/{IPS_ID}"] = Answer(
        200, account_response(account("Pension IPS", milliunits, id=IPS_ID))
    )
    body = api.get(f"{LIST}/{IPS_ID}/balance").json()
    assert (body["account_id"], body["name"], body["balance"], body["currency"]) == (
        IPS_ID,
        "Pension IPS",
        expected,
        "NOK",
    )
    assert body["as_of"]


@pytest.mark.django_db
def test_an_unknown_account_is_not_found(api, fake, linked):
    error = assert_error(api.get(f"{LIST}/{EPK_ID}/balance"), 404, "ynab_not_found")
    assert "account" in error["message"]


@pytest.mark.django_db
def test_the_list_is_cached(api, fake, linked):
    serve_accounts(fake, [account("Pension IPS", 1000, id=IPS_ID)])
    assert api.get(LIST).json() == api.get(LIST).json()
    assert len(fake.seen) == 1


@pytest.mark.django_db
def test_a_delta_request_sends_the_stored_server_knowledge(api, fake, linked):
    kept = account("Kept", 1000)
    gone = account("Gone", 2000)
    serve_accounts(fake, [kept, account("Pension IPS", 3000, id=IPS_ID), gone], knowledge=10)
    api.get(LIST)
    assert fake.seen[0].query == {}
    assert YnabBudgetState.objects.get(budget_id=PLAN).server_knowledge == 10

    # Only what changed since 10: the IPS balance, and "Gone" deleted.
    serve_accounts(
        fake,
        [account("Pension IPS", 4500, id=IPS_ID), {**gone, "deleted": True}],
        knowledge=12,
    )
    body = ynab.accounts(PLAN, fresh=True)

    assert fake.seen[1].query == {"last_knowledge_of_server": ["10"]}
    assert [(a.name, a.balance) for a in body] == [("Kept", D("1")), ("Pension IPS", D("4.5"))]
    assert YnabBudgetState.objects.get(budget_id=PLAN).server_knowledge == 12


# -- sync ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_sync_creates_then_updates_todays_value(api, owner, fake, linked):
    today = timezone.localdate()
    unlinked = PensionAccountFactory(user=owner, name="Employer")
    serve_accounts(fake, [account("Pension IPS", 150000250, id=IPS_ID)])  # 150,000.25

    first = api.post(SYNC).json()

    assert first == {
        "synced": [{"account": linked.pk, "date": today.isoformat(), "value": "150000.25"}],
        "errors": [],
    }
    serve_accounts(fake, [account("Pension IPS", 151000000, id=IPS_ID)], knowledge=11)
    second = api.post(SYNC).json()
    assert second["synced"][0]["value"] == "151000.00"
    assert [(e.date, e.value) for e in linked.values.all()] == [(today, D("151000.00"))]
    assert not unlinked.values.exists()


@pytest.mark.django_db
def test_sync_reports_accounts_it_cannot_store_and_stores_the_others(api, owner, fake, linked):
    loan = PensionAccountFactory(user=owner, name="Loan", ynab_account_id=EPK_ID)
    lost = PensionAccountFactory(user=owner, name="Lost", ynab_account_id="9" * 8)
    euro = PensionAccountFactory(user=owner, name="Euro", currency="EUR", ynab_account_id=IPS_ID)
    serve_accounts(
        fake, [account("Pension IPS", 1000, id=IPS_ID), account("Loan", -5000, id=EPK_ID)]
    )
    body = api.post(SYNC).json()
    assert [s["account"] for s in body["synced"]] == [linked.pk]
    errors = {e["account"]: e for e in body["errors"]}
    assert set(errors) == {loan.pk, lost.pk, euro.pk}
    assert "negative" in errors[loan.pk]["message"]
    assert errors[lost.pk]["code"] == "ynab_not_found"
    assert errors[euro.pk]["code"] == "currency_mismatch"
    assert PensionValueEntry.objects.filter(account__in=[loan, lost, euro]).count() == 0


@pytest.mark.django_db
def test_sync_with_nothing_linked_asks_nothing(api, owner, fake):
    PensionAccountFactory(user=owner)
    assert api.post(SYNC).json() == {"synced": [], "errors": []}
    assert fake.seen == []


def _timeout():
    return Answer(200, accounts_response([], 1), delay=1.5)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("answer", "status", "code"),
    [
        (
            Answer(401, error_response(401, "unauthorized", "Unauthorized")),
            502,
            "ynab_unauthorized",
        ),
        (Answer(404, error_response(404, "not_found", "Not found")), 404, "ynab_not_found"),
        (
            Answer(
                429, error_response(429, "too_many_requests", "Slow down"), {"Retry-After": "120"}
            ),
            429,
            "ynab_rate_limited",
        ),
        (
            Answer(500, error_response(500, "internal_server_error", "Oops")),
            503,
            "ynab_unavailable",
        ),
        (_timeout(), 503, "ynab_unavailable"),
    ],
    ids=["401", "404", "429", "500", "timeout"],
)
def test_ynab_failures_give_their_error_and_store_nothing(
    api, fake, linked, answer, status, code, caplog
):
    caplog.set_level(logging.DEBUG)
    earlier = PensionValueEntryFactory(account=linked, date=timezone.localdate(), value=D("7"))
    fake.answers[ACCOUNTS_PATH] = answer

    response = api.post(SYNC)

    error = assert_error(response, status, code)
    if status == 429:
        assert response["Retry-After"] == "120"
        assert "2 minutes" in error["message"]
    earlier.refresh_from_db()
    assert earlier.value == D("7")
    assert linked.values.count() == 1
    assert (
        YnabBudgetState.objects.filter(budget_id=PLAN, server_knowledge__isnull=False).count() == 0
    )
    # The listing answers the same error; the pages keep the stored values.
    fake.answers[ACCOUNTS_PATH] = answer
    assert_error(api.get(LIST), status, code)
    _assert_token_hidden(caplog, response)


@pytest.mark.django_db
def test_the_request_budget_refuses_before_ynab_does(api, settings, fake, linked):
    settings.YNAB_REQUEST_BUDGET = 2
    YnabBudgetState.objects.create(budget_id=PLAN, currency="NOK")
    serve_accounts(fake, [account("Pension IPS", 1000, id=IPS_ID)])
    assert api.post(SYNC).status_code == 200
    assert api.post(SYNC).status_code == 200

    refused = api.post(SYNC)

    error = assert_error(refused, 429, "ynab_rate_limited")
    assert 3500 < int(refused["Retry-After"]) <= 3601
    assert "Try again in 60 minutes" in error["message"]
    assert len(fake.seen) == 2  # the third never reached YNAB


@pytest.mark.django_db
def test_the_token_appears_in_no_log_line_and_no_response(api, fake, linked, caplog):
    caplog.set_level(logging.DEBUG)
    fake.answers[f"{ACCOUNTS_PATH}/{IPS_ID}"] = Answer(
        200, account_response(account("Pension IPS", 1000, id=IPS_ID))
    )
    serve_accounts(fake, [account("Pension IPS", 1000, id=IPS_ID)])
    responses = [
        api.post("/api/v1/settings/ynab", {"budget_id": PLAN}, format="json"),
        api.get(LIST),
        api.get(f"{LIST}/{IPS_ID}/balance"),
        api.post(SYNC),
        api.get("/api/v1/auth/me"),
    ]
    fake.answers[ACCOUNTS_PATH] = Answer(401, error_response(401, "unauthorized", "No"))
    responses.append(api.post(SYNC))
    assert all(f"Bearer {TOKEN}" == s.authorization for s in fake.seen)
    assert caplog.records  # httpx logged its requests
    _assert_token_hidden(caplog, *responses)


def _assert_token_hidden(caplog, *responses):
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in str(record.args)
    for response in responses:
        assert TOKEN not in response.content.decode()


# -- the command and the schedule ------------------------------------------------------------


@pytest.mark.django_db
def test_the_command_syncs_every_user(fake, linked):
    serve_accounts(fake, [account("Pension IPS", 42000, id=IPS_ID)])
    out = io.StringIO()
    call_command("sync_ynab", stdout=out)
    assert f"owner: IPS {timezone.localdate().isoformat()} 42.00" in out.getvalue()
    assert linked.values.get().value == D("42.00")


@pytest.mark.django_db
def test_the_command_fails_loudly_when_ynab_does(fake, linked):
    fake.answers[ACCOUNTS_PATH] = Answer(500, error_response(500, "internal_server_error", "x"))
    err = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("sync_ynab", stderr=err)
    assert "owner: YNAB answered with an error (500)" in err.getvalue()
    assert not linked.values.exists()


def test_beat_syncs_ynab_daily():
    from pensions import tasks

    entry = django_settings.CELERY_BEAT_SCHEDULE["sync-ynab"]
    assert entry["task"] == "pensions.tasks.sync_ynab"
    assert tasks.sync_ynab.name == "pensions.tasks.sync_ynab"


@pytest.mark.django_db
def test_after_a_timeout_ynab_is_not_asked_again_for_a_minute(api, fake, linked):
    fake.answers[ACCOUNTS_PATH] = _timeout()
    assert_error(api.post(SYNC), 503, "ynab_unavailable")
    serve_accounts(fake, [account("Pension IPS", 1000, id=IPS_ID)])
    error = assert_error(api.post(SYNC), 503, "ynab_unavailable")
    assert "a moment ago" in error["message"]
    assert len(fake.seen) == 1
