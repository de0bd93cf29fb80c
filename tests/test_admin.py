from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal

import pytest
from django.contrib import admin
from django.urls import reverse

from portfolios import services
from portfolios.models import Holding, ImportBatch, Transaction
from tests.factories import (
    HistoricalExchangeRateFactory,
    HistoricalStockPriceFactory,
    InstrumentFactory,
    PensionValueEntryFactory,
    PortfolioFactory,
    UserFactory,
)

D = Decimal


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def holding(db):
    portfolio = PortfolioFactory()
    instrument = InstrumentFactory(ticker="EQNR.OL")
    services.record_transaction(
        portfolio=portfolio,
        instrument=instrument,
        type="BUY",
        date=dt.date(2024, 1, 2),
        quantity=D("10"),
        price=D("300"),
        fees=D("10"),
    )
    return Holding.objects.get(portfolio=portfolio, instrument=instrument)


def _admin_urls() -> list:
    names = []
    for model in admin.site._registry:
        meta = model._meta
        names.append(pytest.param(f"admin:{meta.app_label}_{meta.model_name}", id=meta.label))
    return names


@pytest.mark.parametrize("name", _admin_urls())
def test_every_changelist_and_add_form_renders(admin_client, holding, name):
    HistoricalStockPriceFactory()
    HistoricalExchangeRateFactory()
    PensionValueEntryFactory()
    assert admin_client.get(reverse(f"{name}_changelist")).status_code == 200
    # Holdings come from transactions, JWTs and login attempts from logins, imports from
    # files (undone in the admin, never added there): none has an add form.
    no_add = {
        "admin:portfolios_holding",
        "admin:portfolios_importbatch",
        "admin:token_blacklist_outstandingtoken",
        "admin:axes_accessattempt",
        "admin:axes_accesslog",
        "admin:axes_accessfailurelog",
    }
    expected = 403 if name in no_add else 200
    assert admin_client.get(reverse(f"{name}_add")).status_code == expected


def test_holding_page_shows_transactions_inline_and_read_only_figures(admin_client, holding):
    response = admin_client.get(reverse("admin:portfolios_holding_change", args=[holding.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "3010.0000" in body  # total_cost: 10 x 300 + 10 fees
    assert 'name="total_cost"' not in body  # read-only, not an input


def test_portfolio_page_shows_holdings_inline(admin_client, holding):
    url = reverse("admin:portfolios_portfolio_change", args=[holding.portfolio_id])
    assert "EQNR.OL" in admin_client.get(url).content.decode()


def _form(holding, **overrides):
    data = {
        "portfolio": holding.portfolio_id,
        "instrument": holding.instrument_id,
        "type": "SELL",
        "date": "2024-02-01",
        "quantity": "4",
        "price": "320",
        "fees": "5",
        "exchange_rate": "1",
        "notes": "",
    }
    return {**data, **overrides}


def test_adding_a_transaction_goes_through_the_ledger(admin_client, holding):
    response = admin_client.post(reverse("admin:portfolios_transaction_add"), _form(holding))
    assert response.status_code == 302
    holding.refresh_from_db()
    assert holding.quantity == D("6")
    # proceeds 4 x 320 - 5 = 1275; removed 301 x 4 = 1204
    assert holding.realized_gain == D("71")
    sell = Transaction.objects.get(type="SELL")
    assert sell.portfolio_id == holding.portfolio_id
    assert sell.total_amount == D("1275")


def test_an_oversell_in_the_admin_is_a_form_error(admin_client, holding):
    url = reverse("admin:portfolios_transaction_add")
    response = admin_client.post(url, _form(holding, quantity="11"))
    assert response.status_code == 200
    assert "Cannot sell 11 shares on 2024-02-01: only 10 held" in response.content.decode()
    assert Transaction.objects.count() == 1


def test_editing_a_buy_below_a_later_sale_is_a_form_error(admin_client, holding):
    admin_client.post(reverse("admin:portfolios_transaction_add"), _form(holding, quantity="8"))
    buy = Transaction.objects.get(type="BUY")
    url = reverse("admin:portfolios_transaction_change", args=[buy.pk])
    response = admin_client.post(url, _form(holding, type="BUY", date="2024-01-02", quantity="5"))
    assert response.status_code == 200
    assert "would make a later sale oversell" in response.content.decode()
    buy.refresh_from_db()
    assert buy.quantity == D("10")


def test_deleting_a_buy_that_a_sale_needs_shows_an_error(admin_client, holding):
    admin_client.post(reverse("admin:portfolios_transaction_add"), _form(holding))
    buy = Transaction.objects.get(type="BUY")
    url = reverse("admin:portfolios_transaction_delete", args=[buy.pk])
    response = admin_client.post(url, {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert "oversell" in response.content.decode()
    assert Transaction.objects.count() == 2


def test_deleting_the_last_transaction_removes_the_holding(admin_client, holding):
    buy = Transaction.objects.get()
    url = reverse("admin:portfolios_transaction_delete", args=[buy.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not Holding.objects.exists()


def test_bulk_delete_replays_and_is_all_or_nothing(admin_client, holding):
    admin_client.post(reverse("admin:portfolios_transaction_add"), _form(holding))
    buy = Transaction.objects.get(type="BUY")
    url = reverse("admin:portfolios_transaction_changelist")
    response = admin_client.post(
        url, {"action": "delete_with_replay", "_selected_action": [buy.pk]}, follow=True
    )
    assert "Nothing was deleted" in response.content.decode()
    assert Transaction.objects.count() == 2

    ids = list(Transaction.objects.values_list("pk", flat=True))
    admin_client.post(url, {"action": "delete_with_replay", "_selected_action": ids})
    assert not Transaction.objects.exists()
    assert not Holding.objects.exists()


def test_replay_action_repairs_stored_figures(admin_client, holding):
    Holding.objects.filter(pk=holding.pk).update(quantity=D("999"), total_cost=D("1"))
    url = reverse("admin:portfolios_holding_changelist")
    admin_client.post(url, {"action": "replay_selected", "_selected_action": [holding.pk]})
    holding.refresh_from_db()
    assert (holding.quantity, holding.total_cost) == (D("10"), D("3010"))


def test_switching_dividend_treatment_replays_holdings(admin_client, holding):
    services.record_transaction(
        portfolio=holding.portfolio,
        instrument=holding.instrument,
        type="DIVIDEND",
        date=dt.date(2024, 3, 1),
        quantity=D("10"),
        price=D("5"),
    )
    holding.refresh_from_db()
    assert holding.total_cost == D("2960")
    portfolio = holding.portfolio
    url = reverse("admin:portfolios_portfolio_change", args=[portfolio.pk])
    data = {
        "user": portfolio.user_id,
        "name": portfolio.name,
        "description": "",
        "brokerage_firm": "Nordnet",
        "currency": "NOK",
        "kind": "ordinary",
        "used_credit": "0",
        "holdings-TOTAL_FORMS": "1",
        "holdings-INITIAL_FORMS": "1",
        "holdings-MIN_NUM_FORMS": "0",
        "holdings-MAX_NUM_FORMS": "0",
        "holdings-0-id": holding.pk,
        "holdings-0-portfolio": portfolio.pk,
    }  # dividends_reduce_cost_basis unchecked
    assert admin_client.post(url, data).status_code == 302
    holding.refresh_from_db()
    assert holding.total_cost == D("3010")
    assert holding.dividends == D("50")


def test_holding_page_query_count_does_not_grow_with_transactions(admin_client, holding):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("admin:portfolios_holding_change", args=[holding.pk])
    admin_client.get(url)  # one-off lookups (content types, permissions) are cached
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(url).status_code == 200
    for day in range(3, 28):
        services.record_transaction(
            portfolio=holding.portfolio,
            instrument=holding.instrument,
            type="BUY",
            date=dt.date(2024, 1, day),
            quantity=D("1"),
            price=D("300"),
        )
    with CaptureQueriesContext(connection) as many:
        assert admin_client.get(url).status_code == 200
    assert len(many) == len(few)


# -- issue 8: the admin keeps the services' rules ------------------------------------------


def _admin_errors(response) -> dict:
    assert response.status_code == 200  # the form again, with errors
    return response.context["adminform"].form.errors


def test_the_add_form_leaves_the_rate_empty_never_a_silent_1(admin_client, db):
    body = admin_client.get(reverse("admin:portfolios_transaction_add")).content.decode()
    assert 'name="exchange_rate"' in body
    assert 'name="exchange_rate" value="1"' not in body


def test_an_empty_rate_for_a_foreign_instrument_is_the_rate_of_the_day(admin_client, holding):
    apple = InstrumentFactory(ticker="AAPL", currency="USD")
    HistoricalExchangeRateFactory(date=dt.date(2024, 1, 31), rate=D("10.5"))
    data = _form(holding, instrument=apple.pk, type="BUY", exchange_rate="", quantity="2")
    response = admin_client.post(reverse("admin:portfolios_transaction_add"), data)
    assert response.status_code == 302
    txn = Transaction.objects.get(holding__instrument=apple)
    assert txn.exchange_rate == D("10.5")
    assert txn.total_amount == D("6725")  # 2 x 320 x 10.5 + 5


def test_a_too_large_buy_is_an_admin_form_error(admin_client, holding):
    data = _form(holding, type="BUY", quantity="2000000", price="60000", fees="0")
    response = admin_client.post(reverse("admin:portfolios_transaction_add"), data)
    assert _admin_errors(response)["quantity"] == [
        "The amount 120,000,000,000 NOK exceeds the largest amount the ledger stores "
        "(99,999,999,999.9999)."
    ]
    assert Transaction.objects.count() == 1


def test_admin_refuses_a_rate_other_than_1_in_the_portfolio_currency(admin_client, holding):
    response = admin_client.post(
        reverse("admin:portfolios_transaction_add"), _form(holding, exchange_rate="7")
    )
    assert _admin_errors(response)["exchange_rate"] == [
        "EQNR.OL trades in NOK, the portfolio's own currency: the exchange rate is 1, not 7."
    ]
    assert Transaction.objects.count() == 1


def test_admin_rounds_a_16_digit_rate_and_reads_decimal_commas(admin_client, holding):
    apple = InstrumentFactory(ticker="AAPL", currency="USD")
    data = _form(
        holding,
        instrument=apple.pk,
        type="BUY",
        price="440,50",
        fees="1 000,5",
        exchange_rate="0.9941099999999999",
    )
    response = admin_client.post(reverse("admin:portfolios_transaction_add"), data)
    assert response.status_code == 302
    txn = Transaction.objects.get(holding__instrument=apple)
    assert (txn.price, txn.fees, txn.exchange_rate) == (D("440.5"), D("1000.5"), D("0.99411"))
    # 4 x 440.5 x 0.99411 = 1751.621820 + 1000.5 = 2752.12182 -> 2752.1218 stored
    assert txn.total_amount == D("2752.1218")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"date": "0001-01-01"}, "date"),
        ({"type": "DIVIDEND", "instrument": None}, "quantity"),
    ],
)
def test_admin_refuses_bad_dates_and_dividends_on_shares_never_held(
    admin_client, holding, overrides, field
):
    if "instrument" in overrides:
        overrides["instrument"] = InstrumentFactory(ticker="DNB.OL").pk
    response = admin_client.post(
        reverse("admin:portfolios_transaction_add"), _form(holding, **overrides)
    )
    assert field in _admin_errors(response)
    assert Transaction.objects.count() == 1


def _value_form(account, **overrides):
    return {"account": account.pk, "date": "2024-01-31", "value": "100", **overrides}


def test_the_pension_value_admin_keeps_the_services_rules(admin_client, db):
    entry = PensionValueEntryFactory(date=dt.date(2024, 1, 31), value=D("100000"))
    account = entry.account
    url = reverse("admin:pensions_pensionvalueentry_add")
    duplicate = admin_client.post(url, _value_form(account, value="5"))
    assert _admin_errors(duplicate)["date"] == [
        f"{account.name} already has a value on 2024-01-31 (100,000 NOK): delete or edit that "
        "one instead."
    ]
    negative = admin_client.post(url, _value_form(account, date="2024-02-29", value="-1"))
    assert _admin_errors(negative)["value"] == ["A pension value cannot be negative."]
    comma = admin_client.post(url, _value_form(account, date="2024-02-29", value="1 234,50"))
    assert comma.status_code == 302
    assert account.values.get(date=dt.date(2024, 2, 29)).value == D("1234.50")
    entry.refresh_from_db()
    assert entry.value == D("100000")


def test_the_pension_account_inline_keeps_the_services_rules(admin_client, db):
    entry = PensionValueEntryFactory(date=dt.date(2024, 1, 31), value=D("100000"))
    account = entry.account
    url = reverse("admin:pensions_pensionaccount_change", args=[account.pk])
    data = {
        "user": account.user_id,
        "name": account.name,
        "currency": "NOK",
        "kind": "other",
        "ynab_account_id": "",
        "values-TOTAL_FORMS": "2",
        "values-INITIAL_FORMS": "1",
        "values-MIN_NUM_FORMS": "0",
        "values-MAX_NUM_FORMS": "1000",
        "values-0-id": entry.pk,
        "values-0-account": account.pk,
        "values-0-date": "2024-01-31",
        "values-0-value": "100000",
        "values-1-account": account.pk,
        "values-1-date": "2024-02-29",
        "values-1-value": "-1",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "A pension value cannot be negative." in response.content.decode()
    assert account.values.count() == 1
    data["values-1-value"] = "2 500,75"
    assert admin_client.post(url, data).status_code == 302
    assert account.values.get(date=dt.date(2024, 2, 29)).value == D("2500.75")


# -- issue 9: the admin at household scale -----------------------------------------------


def test_a_holding_page_shows_its_newest_transactions_and_links_to_all(
    admin_client, holding, monkeypatch
):
    from financedash.lib import admin as lib_admin

    monkeypatch.setattr(lib_admin, "INLINE_ROWS", 2)
    for day in (3, 4):
        services.record_transaction(
            portfolio=holding.portfolio,
            instrument=holding.instrument,
            type="BUY",
            date=dt.date(2024, 1, day),
            quantity=D("1"),
            price=D("300"),
        )
    response = admin_client.get(reverse("admin:portfolios_holding_change", args=[holding.pk]))
    body = response.content.decode()
    # The two newest (3 and 4 January) of three, each linking to its change page, and a
    # link to the filtered changelist.
    changes = [
        reverse("admin:portfolios_transaction_change", args=[pk])
        for pk in holding.transactions.order_by("-date").values_list("pk", flat=True)
    ]
    assert f'<a href="{changes[0]}">Jan. 4, 2024</a>' in body
    assert f'<a href="{changes[1]}">Jan. 3, 2024</a>' in body
    assert changes[2] not in body
    assert "Jan. 2, 2024" not in body
    changelist = reverse("admin:portfolios_transaction_changelist")
    assert f'href="{changelist}?holding__id__exact={holding.pk}">All 3 transactions' in body
    listed = admin_client.get(f"{changelist}?holding__id__exact={holding.pk}")
    assert listed.status_code == 200
    assert "3 transactions" in listed.content.decode() or "3 results" in listed.content.decode()


def test_the_portfolio_and_pension_pages_link_to_all_their_rows(admin_client, holding):
    url = reverse("admin:portfolios_portfolio_change", args=[holding.portfolio_id])
    assert "All 1 holding</a>" in admin_client.get(url).content.decode()
    entry = PensionValueEntryFactory()
    url = reverse("admin:pensions_pensionaccount_change", args=[entry.account_id])
    assert "All 1 pension value entry</a>" in admin_client.get(url).content.decode()
    add = admin_client.get(reverse("admin:pensions_pensionaccount_add"))
    assert add.status_code == 200


def test_the_transaction_form_takes_raw_ids_not_a_select_of_every_instrument(admin_client, holding):
    body = admin_client.get(reverse("admin:portfolios_transaction_add")).content.decode()
    assert 'class="vForeignKeyRawIdAdminField"' in body
    assert "<option" not in body.split('name="instrument"')[1].split("</div>")[0]
    assert _admin_errors(
        admin_client.post(
            reverse("admin:portfolios_transaction_add"), {**_form(holding), "instrument": "999999"}
        )
    ).get("instrument")


def test_an_import_is_undone_in_the_admin_through_the_service(admin_client, holding):
    batch = ImportBatch.objects.create(
        user=holding.portfolio.user,
        portfolio=holding.portfolio,
        file_name="a.csv",
        format="generic",
    )
    holding.transactions.update(import_batch=batch)
    response = admin_client.post(
        reverse("admin:portfolios_importbatch_changelist"),
        {"action": "undo_selected", "_selected_action": [batch.pk]},
        follow=True,
    )
    assert "undone, 1 transaction(s) removed" in response.content.decode()
    assert not Transaction.objects.exists()
    batch.refresh_from_db()
    assert batch.undone_at is not None


def test_the_tax_rate_admin_keeps_the_services_rules(admin_client, db):
    from portfolios.models import TaxRate

    url = reverse("admin:portfolios_taxrate_add")
    form = {"year": "2031", "shielding_rate": "1.5", "tax_multiplier": "1.72", "source": "x"}
    response = admin_client.post(url, form)
    assert "shielding_rate" in _admin_errors(response)
    response = admin_client.post(url, {**form, "shielding_rate": "0.039", "tax_multiplier": "0"})
    assert "tax_multiplier" in _admin_errors(response)
    assert not TaxRate.objects.filter(year=2031).exists()
    response = admin_client.post(url, {**form, "shielding_rate": "0.039"})
    assert response.status_code == 302
    assert TaxRate.objects.get(year=2031).shielding_rate == D("0.039")


def test_the_published_rates_are_shipped_with_their_sources(db):
    from django.apps import apps

    from portfolios.models import TaxRate

    # The migration's own function (a transactional test run before may have flushed it).
    importlib.import_module("portfolios.migrations.0008_published_tax_rates").ship(apps, None)

    rates = {r.year: r for r in TaxRate.objects.all()}
    assert rates[2023].shielding_rate == D("0.032") and rates[2023].tax_multiplier == D("1.72")
    assert rates[2022].tax_multiplier == D("1.6") and rates[2021].tax_multiplier == D("1.44")
    assert rates[2024].shielding_rate is None  # no citable figure: missing, not guessed
    assert all(r.source for r in rates.values())
