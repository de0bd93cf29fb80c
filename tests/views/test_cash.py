"""Cash through the pages: the portfolio form's track_cash and kind, the cash form (full
page and HTMX), editing and deleting a cash transaction, the cash line and the totals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from portfolios import services
from portfolios.models import Portfolio, Transaction
from tests.factories import PortfolioFactory
from tests.views.conftest import htmx, priced_instrument

pytestmark = pytest.mark.django_db
D = Decimal
DAY = (timezone.localdate() - dt.timedelta(days=3)).isoformat()


@pytest.fixture
def account(owner):
    return PortfolioFactory(user=owner, name="Nordnet", currency="NOK", track_cash=True)


def cash(**overrides):
    return {"type": "DEPOSIT", "date": DAY, "amount": "1 000,50", "notes": "", **overrides}


def balance(portfolio):
    return Portfolio.objects.get(pk=portfolio.pk).cash_balance


def test_the_portfolio_form_sets_track_cash_and_kind(owner_client, owner):
    response = owner_client.post(
        reverse("portfolios:create"),
        {"name": "ASK", "currency": "NOK", "used_credit": "0", "kind": "ask", "track_cash": "on",
         "dividends_reduce_cost_basis": "on"},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    created = Portfolio.objects.get(user=owner, name="ASK")
    assert (created.kind, created.track_cash) == ("ask", True)


def test_add_cash_full_page_and_htmx(owner_client, account):
    url = reverse("portfolios:cash_add", args=[account.pk])
    assert owner_client.post(url, cash()).status_code == 302
    assert balance(account) == D("1000.50")
    response = htmx(owner_client, url, cash(type="WITHDRAWAL", amount="400"), method="post")
    assert response.status_code == 200
    assert "ledger-changed" in response.headers["HX-Trigger"]
    assert "Saved: withdrawal of 400" in response.content.decode()
    assert balance(account) == D("600.50")


def test_the_cash_rules_land_on_the_fields(owner_client, account, owner):
    url = reverse("portfolios:cash_add", args=[account.pk])
    response = htmx(owner_client, url, cash(amount="0"), method="post")
    assert response.status_code == 422
    assert "greater than 0" in response.content.decode()
    future = (timezone.localdate() + dt.timedelta(days=5)).isoformat()
    response = htmx(owner_client, url, cash(date=future), method="post")
    assert response.status_code == 422 and "in the future" in response.content.decode()
    plain = PortfolioFactory(user=owner, name="Plain")
    response = htmx(
        owner_client, reverse("portfolios:cash_add", args=[plain.pk]), cash(), method="post"
    )
    assert response.status_code == 422 and "does not track cash" in response.content.decode()
    assert not Transaction.objects.exists()


def test_edit_and_delete_a_cash_transaction(owner_client, account):
    txn = services.record_transaction(
        portfolio=account, type="DEPOSIT", date=dt.date(2024, 1, 2), amount=D(500)
    )
    url = reverse("portfolios:transaction_edit", args=[txn.pk])
    page = owner_client.get(url)
    assert page.status_code == 200 and 'value="500"' in page.content.decode()
    response = owner_client.post(url, cash(type="INTEREST", amount="20"))
    assert response.status_code == 302
    assert balance(account) == D("20")
    response = owner_client.post(reverse("portfolios:transaction_delete", args=[txn.pk]))
    assert response.status_code == 302 and balance(account) == 0


def test_another_users_cash_is_404(outsider_client, account):
    txn = services.record_transaction(
        portfolio=account, type="DEPOSIT", date=dt.date(2024, 1, 2), amount=D(500)
    )
    for url in (
        reverse("portfolios:transaction_edit", args=[txn.pk]),
        reverse("portfolios:cash_add", args=[account.pk]),
    ):
        assert outsider_client.get(url).status_code == 404
        assert outsider_client.post(url, cash()).status_code == 404
    assert (
        htmx(outsider_client, reverse("portfolios:cash_list", args=[account.pk])).status_code == 404
    )
    assert (
        outsider_client.post(reverse("portfolios:transaction_delete", args=[txn.pk])).status_code
        == 404
    )
    assert balance(account) == D(500)


def test_the_page_shows_the_cash_line_and_credit_in_use(owner_client, account):
    services.record_transaction(
        portfolio=account, type="WITHDRAWAL", date=dt.date(2024, 1, 2), amount=D("250")
    )
    page = owner_client.get(reverse("portfolios:detail", args=[account.pk])).content.decode()
    assert 'id="cash-row"' in page and "credit in use" in page
    assert "Value incl. cash" in page and 'id="cash-form"' in page
    listing = htmx(owner_client, reverse("portfolios:cash_list", args=[account.pk]))
    assert "Withdrawal" in listing.content.decode()


def test_net_worth_includes_the_cash(owner_client, owner, account):
    equinor = priced_instrument("EQNR.OL", "300")
    day = timezone.localdate() - dt.timedelta(days=30)
    services.record_transaction(portfolio=account, type="DEPOSIT", date=day, amount=D(1000))
    services.record_transaction(
        portfolio=account, instrument=equinor, type="BUY", date=day,
        quantity=D(10), price=D(250),
    )  # fmt: skip
    response = owner_client.get(reverse("home"))
    overview = response.context["overview"]
    # 10 x 300 = 3,000 of shares + cash 1,000 - 2,500 = -1,500 (credit in use): 1,500.
    assert overview.cash == D(-1500)
    assert overview.portfolios_value == D(1500) and overview.net_worth == D(1500)
    body = response.content.decode()
    assert "credit in use" in body
    # The account page's total says the same.
    page = owner_client.get(reverse("portfolios:detail", args=[account.pk]))
    assert page.context["summary"].total_value == D(1500)
    assert page.context["summary"].holdings_value == D(3000)


def test_the_nordnet_sample_through_the_import_page_books_its_saldo(owner_client, owner):
    from pathlib import Path

    from django.core.files.uploadedfile import SimpleUploadedFile

    from portfolios.views import PENDING_IMPORT
    from tests.factories import InstrumentFactory

    for ticker, currency in [("EQNR.OL", "NOK"), ("ORK.OL", "NOK"), ("NHY.OL", "NOK"),
                             ("AAPL", "USD")]:  # fmt: skip
        InstrumentFactory(ticker=ticker, currency=currency)
    portfolio = PortfolioFactory(user=owner, name="Nordnet")
    sample = Path(__file__).parent.parent / "fixtures" / "nordnet-transactions-no.csv"
    upload = SimpleUploadedFile("nordnet.csv", sample.read_bytes(), content_type="text/csv")
    preview = owner_client.post(
        reverse("portfolios:import"),
        {"portfolio": portfolio.pk, "format": "nordnet", "file": upload},
    )
    assert preview.status_code == 200
    assert "100\u202f000.00" in preview.content.decode()  # the deposit's amount
    token = owner_client.session[PENDING_IMPORT]["token"]
    htmx(owner_client, reverse("portfolios:import"), {"commit": token}, method="post")
    # The newest row's Saldo: 33 005,75.
    assert balance(portfolio) == D("33005.75")


def test_the_list_labels_the_cash_in_the_value(owner_client, account):
    services.record_transaction(
        portfolio=account, type="DEPOSIT", date=dt.date(2024, 1, 2), amount=D("75")
    )
    body = owner_client.get(reverse("portfolios:list")).content.decode()
    assert "incl. cash 75.00" in body


def test_the_chart_of_an_account_with_cash_only(owner_client, account):
    day = timezone.localdate() - dt.timedelta(days=20)
    services.record_transaction(portfolio=account, type="DEPOSIT", date=day, amount=D("500"))
    response = htmx(owner_client, reverse("portfolios:chart", args=[account.pk]), {"range": "1m"})
    assert response.status_code == 200
    performance = response.context["performance"]
    assert performance.error is None
    # 500 deposited and held as cash: value 500, net deposits 500, no return.
    assert performance.series[-1].value == D(500)
    assert performance.series[-1].net_deposits == D(500)
    assert performance.twr == 0
