"""The fake YNAB server and a user linked to it, for the YNAB, view and API tests."""

from __future__ import annotations

import pytest

from financedash.lib.profiles import profile_for
from tests.factories import PensionAccountFactory
from tests.pensions.ynab_fake import (
    PLAN,
    TOKEN,
    Answer,
    FakeYnab,
    accounts_response,
    settings_response,
)

IPS_ID = "0b6f8e2a-5c1d-4c2e-9a57-3f0e7d1c2b4a"
ACCOUNTS_PATH = f"/plans/{PLAN}/accounts"
SETTINGS_PATH = f"/plans/{PLAN}/settings"


@pytest.fixture
def fake(settings):
    server = FakeYnab().start()
    settings.YNAB_BASE_URL = server.base_url
    settings.YNAB_ACCESS_TOKEN = TOKEN
    settings.YNAB_TIMEOUT = 0.5
    settings.YNAB_REQUEST_BUDGET = 180
    server.answers[SETTINGS_PATH] = Answer(200, settings_response("NOK"))
    yield server
    server.stop()


@pytest.fixture
def linked(owner):
    """The owner's budget, and a pension account following a YNAB account."""
    profile = profile_for(owner)
    profile.ynab_budget_id = PLAN
    profile.save()
    return PensionAccountFactory(user=owner, name="IPS", currency="NOK", ynab_account_id=IPS_ID)


def serve_accounts(fake, rows, knowledge=10):
    fake.answers[ACCOUNTS_PATH] = Answer(200, accounts_response(rows, knowledge))
