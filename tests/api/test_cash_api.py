"""Cash transactions and the cash fields of a portfolio through the JSON API (section 7)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portfolios.models import Portfolio, Transaction
from tests.api.conftest import assert_error
from tests.factories import PortfolioFactory

D = Decimal


@pytest.fixture
def account(owner):
    return PortfolioFactory(user=owner, name="Nordnet", currency="NOK", track_cash=True)


def post_cash(api, portfolio, type="DEPOSIT", amount="1000.00", date="2024-01-02", **extra):
    body = {"portfolio": portfolio.pk, "type": type, "date": date, "amount": amount, **extra}
    return api.post("/api/v1/transactions", body, format="json")


def test_create_read_edit_delete_a_deposit(api, account):
    response = post_cash(api, account, notes="salary")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["type"] == "DEPOSIT" and body["amount"] == "1000.0000"
    assert body["symbol"] is None and body["holding"] is None
    pk = body["id"]
    assert Portfolio.objects.get(pk=account.pk).cash_balance == D("1000")

    got = api.get(f"/api/v1/transactions/{pk}").json()
    assert got["amount"] == "1000.0000" and got["notes"] == "salary"
    # The GET body PUT back (quantity 0, symbol null) is accepted as it is.
    got["amount"] = "750.00"
    response = api.put(f"/api/v1/transactions/{pk}", got, format="json")
    assert response.status_code == 200, response.content
    assert Portfolio.objects.get(pk=account.pk).cash_balance == D("750")

    response = api.patch(f"/api/v1/transactions/{pk}", {"type": "WITHDRAWAL"}, format="json")
    assert response.status_code == 200, response.content
    assert Portfolio.objects.get(pk=account.pk).cash_balance == D("-750")

    summary = api.get(f"/api/v1/portfolios/{account.pk}").json()
    assert summary["track_cash"] is True and summary["kind"] == "ordinary"
    assert summary["cash_balance"] == "-750.00"
    # No holdings: the value is the cash, negative (credit in use).
    assert summary["total_value"] == "-750.00" and summary["net_value"] == "-750.00"

    assert api.delete(f"/api/v1/transactions/{pk}").status_code == 204
    assert Portfolio.objects.get(pk=account.pk).cash_balance == 0


def test_cash_rules_name_their_field(api, account, owner):
    assert "amount" in assert_error(post_cash(api, account, amount="0"), 400)["details"]
    assert "amount" in assert_error(post_cash(api, account, amount="1.005"), 400)["details"]
    assert "amount" in assert_error(post_cash(api, account, amount=None), 400)["details"]
    assert "date" in assert_error(post_cash(api, account, date="2999-01-01"), 400)["details"]
    error = assert_error(post_cash(api, account, symbol="EQNR.OL", quantity="3"), 400)
    assert {"symbol", "quantity"} <= set(error["details"])
    plain = PortfolioFactory(user=owner, name="Plain")
    error = assert_error(post_cash(api, plain), 400)
    assert "track cash" in error["details"]["type"][0].lower()
    assert not Transaction.objects.exists()


def test_an_amount_on_a_trade_is_refused(api, account):
    body = {"portfolio": account.pk, "type": "BUY", "date": "2024-01-02", "symbol": "X",
            "quantity": "1", "price": "1", "amount": "5"}  # fmt: skip
    assert (
        "amount"
        in assert_error(api.post("/api/v1/transactions", body, format="json"), 400)["details"]
    )


def test_another_users_cash_transaction_is_404(api, outsider_api, account):
    pk = post_cash(api, account).json()["id"]
    assert outsider_api.get(f"/api/v1/transactions/{pk}").status_code == 404
    assert outsider_api.patch(f"/api/v1/transactions/{pk}", {"amount": "1"}).status_code == 404
    assert outsider_api.delete(f"/api/v1/transactions/{pk}").status_code == 404
    # Nor can one post into another user's portfolio.
    error = assert_error(post_cash(outsider_api, account), 400)
    assert "portfolio" in error["details"]
    assert Portfolio.objects.get(pk=account.pk).cash_balance == D("1000")


def test_create_and_switch_track_cash_and_kind(api):
    response = api.post(
        "/api/v1/portfolios",
        {"name": "ASK", "currency": "NOK", "kind": "ask", "track_cash": True},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["track_cash"], body["cash_balance"]) == ("ask", True, "0.00")
    pk = body["id"]
    post_cash(api, Portfolio.objects.get(pk=pk), amount="200")
    off = api.patch(f"/api/v1/portfolios/{pk}", {"track_cash": False}, format="json").json()
    assert (off["cash_balance"], off["total_value"]) == ("0.00", "0.00")
    on = api.patch(f"/api/v1/portfolios/{pk}", {"track_cash": True}, format="json").json()
    assert on["cash_balance"] == "200.00"
    bad = api.patch(f"/api/v1/portfolios/{pk}", {"kind": "pension"}, format="json")
    assert "kind" in assert_error(bad, 400)["details"]


def test_moving_a_transaction_to_another_portfolio_is_refused_not_ignored(api, owner):
    # QA: PATCH {"portfolio": other} answered 200 and changed nothing.
    from tests.factories import PortfolioFactory as Portfolios

    first = Portfolios(user=owner, name="First", currency="NOK", track_cash=True)
    other = Portfolios(user=owner, name="Other", currency="NOK", track_cash=True)
    created = api.post(
        "/api/v1/transactions",
        {"portfolio": first.pk, "type": "DEPOSIT", "date": "2024-01-02", "amount": "100"},
        format="json",
    ).json()
    response = api.patch(
        f"/api/v1/transactions/{created['id']}", {"portfolio": other.pk}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["portfolio"]
    same = api.patch(
        f"/api/v1/transactions/{created['id']}",
        {"portfolio": first.pk, "notes": "x"},
        format="json",
    )
    assert same.status_code == 200
