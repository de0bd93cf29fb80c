"""Cash through the Django admin: the same services rules, errors on the form's fields."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from portfolios import services
from portfolios.models import Portfolio, Transaction
from tests.factories import PortfolioFactory, UserFactory

D = Decimal


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def account(db):
    return PortfolioFactory(track_cash=True)


def form(portfolio, **overrides):
    data = {
        "portfolio": portfolio.pk,
        "instrument": "",
        "type": "DEPOSIT",
        "date": "2024-02-01",
        "quantity": "",
        "price": "",
        "fees": "",
        "exchange_rate": "",
        "amount": "1500",
        "notes": "",
    }
    return {**data, **overrides}


def balance(portfolio):
    return Portfolio.objects.get(pk=portfolio.pk).cash_balance


def test_add_edit_and_delete_cash_in_the_admin(admin_client, account):
    response = admin_client.post(reverse("admin:portfolios_transaction_add"), form(account))
    assert response.status_code == 302, response.content.decode()[-3000:]
    txn = Transaction.objects.get()
    assert (txn.holding_id, balance(account)) == (None, D("1500"))
    change = reverse("admin:portfolios_transaction_change", args=[txn.pk])
    assert admin_client.get(change).status_code == 200
    assert admin_client.get(reverse("admin:portfolios_transaction_changelist")).status_code == 200
    response = admin_client.post(change, form(account, type="FEE", amount="20"))
    assert response.status_code == 302
    assert balance(account) == D("-20")
    delete = reverse("admin:portfolios_transaction_delete", args=[txn.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert balance(account) == 0


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"amount": "0"}, "amount", "greater than 0"),
        ({"amount": ""}, "amount", "Enter the amount"),
        ({"amount": "1.005"}, "amount", "whole cents"),
        ({"date": "2999-01-01"}, "date", "future"),
    ],
)
def test_admin_cash_errors_name_the_field(admin_client, account, overrides, field, words):
    response = admin_client.post(
        reverse("admin:portfolios_transaction_add"), form(account, **overrides)
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert words in " ".join(errors[field])
    assert not Transaction.objects.exists()


def test_admin_refuses_cash_without_track_cash(admin_client, db):
    plain = PortfolioFactory()
    response = admin_client.post(reverse("admin:portfolios_transaction_add"), form(plain))
    assert "does not track cash" in " ".join(response.context["adminform"].form.errors["type"])


def test_admin_switching_track_cash_recomputes(admin_client, account):
    services.record_transaction(
        portfolio=account, type="DEPOSIT", date=dt.date(2024, 1, 2), amount=D(70)
    )
    Portfolio.objects.filter(pk=account.pk).update(cash_balance=D(1))  # a damaged figure
    response = admin_client.post(
        reverse("admin:portfolios_portfolio_changelist"),
        {"action": "recompute_cash", "_selected_action": [account.pk]},
    )
    assert response.status_code == 302
    assert balance(account) == D(70)
