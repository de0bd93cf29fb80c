"""The pension API (ARCHITECTURE section 7): accounts, values and the projection, each
scoped to its user."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import timezone

from financedash.lib.profiles import profile_for
from pensions.models import PensionAccount, PensionValueEntry
from tests.api.conftest import assert_error
from tests.factories import (
    HistoricalExchangeRateFactory,
    HistoricalStockPriceFactory,
    InstrumentFactory,
    PensionAccountFactory,
    PensionValueEntryFactory,
    PortfolioFactory,
    record,
)

ACCOUNTS = "/api/v1/pension/accounts"


def _values_url(account) -> str:
    return f"{ACCOUNTS}/{account.pk}/values"


@pytest.mark.django_db
def test_list_items_carry_the_latest_value_and_its_date(api, owner):
    ips = PensionAccountFactory(user=owner, name="IPS", kind="ips")
    PensionValueEntryFactory(account=ips, date=dt.date(2024, 1, 31), value=D("100000"))
    PensionValueEntryFactory(account=ips, date=dt.date(2024, 2, 29), value=D("101500.50"))
    PensionAccountFactory(user=owner, name="Empty")
    PensionAccountFactory(name="Someone else's")

    body = api.get(ACCOUNTS).json()

    assert [(a["name"], a["current_value"], a["current_value_date"]) for a in body] == [
        ("Empty", None, None),
        ("IPS", "101500.50", "2024-02-29"),
    ]
    assert body[1]["kind"] == "ips"


@pytest.mark.django_db
def test_create_edit_and_delete_an_account(api, owner):
    profile = profile_for(owner)
    profile.base_currency = "EUR"
    profile.save()
    created = api.post(ACCOUNTS, {"name": " EPK ", "kind": "epk"}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["name"], body["currency"], body["kind"], body["ynab_account_id"]) == (
        "EPK",
        "EUR",  # the base currency by default
        "epk",
        None,
    )
    url = f"{ACCOUNTS}/{body['id']}"
    patched = api.patch(url, {"currency": "nok", "ynab_account_id": " abc "}, format="json")
    assert patched.status_code == 200, patched.content
    assert (patched.json()["currency"], patched.json()["ynab_account_id"]) == ("NOK", "abc")
    assert api.delete(url).status_code == 204
    assert not PensionAccount.objects.filter(pk=body["id"]).exists()


@pytest.mark.django_db
def test_a_second_account_with_the_same_name_is_a_conflict(api, owner):
    PensionAccountFactory(user=owner, name="IPS")
    error = assert_error(api.post(ACCOUNTS, {"name": "IPS"}, format="json"), 409, "conflict")
    assert "IPS" in error["message"]
    assert PensionAccount.objects.filter(user=owner).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "X", "currency": "kroner"}, "currency"),
        ({"name": "X", "kind": "pillar"}, "kind"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_account_fields_are_named(api, data, field):
    error = assert_error(api.post(ACCOUNTS, data, format="json"), 400, "validation_error")
    assert field in error["details"]
    assert not PensionAccount.objects.exists()


@pytest.mark.django_db
def test_values_newest_first_and_edits(api, owner):
    account = PensionAccountFactory(user=owner)
    for day, value in [(dt.date(2024, 1, 31), "100"), (dt.date(2024, 3, 31), "300")]:
        created = api.post(_values_url(account), {"date": day, "value": value}, format="json")
        assert created.status_code == 201, created.content
    api.post(_values_url(account), {"date": "2024-02-29", "value": "200.25"}, format="json")

    listed = api.get(_values_url(account)).json()["results"]
    assert [(v["date"], v["value"]) for v in listed] == [
        ("2024-03-31", "300.00"),
        ("2024-02-29", "200.25"),
        ("2024-01-31", "100.00"),
    ]
    one = f"{_values_url(account)}/{listed[1]['id']}"
    assert api.get(one).json()["value"] == "200.25"
    assert api.patch(one, {"value": "210"}, format="json").json()["value"] == "210.00"
    assert api.put(one, {"date": "2024-02-28", "value": "211"}, format="json").status_code == 200
    assert api.delete(one).status_code == 204
    assert [str(e.value) for e in account.values.order_by("date")] == ["100.00", "300.00"]


@pytest.mark.django_db
def test_a_second_value_on_a_date_is_a_conflict(api, owner):
    account = PensionAccountFactory(user=owner)
    PensionValueEntryFactory(account=account, date=dt.date(2024, 1, 31), value=D("100"))
    other = PensionValueEntryFactory(account=account, date=dt.date(2024, 2, 29), value=D("200"))

    response = api.post(_values_url(account), {"date": "2024-01-31", "value": "5"}, format="json")
    error = assert_error(response, 409, "conflict")
    assert "2024-01-31" in error["message"]
    # Moving another entry onto that date is the same clash.
    moved = api.patch(f"{_values_url(account)}/{other.pk}", {"date": "2024-01-31"}, format="json")
    assert_error(moved, 409, "conflict")
    assert sorted(str(v) for v in account.values.values_list("value", flat=True)) == [
        "100.00",
        "200.00",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"date": "2024-01-31", "value": "-1"}, "value"),
        ({"date": "2024-01-31", "value": "1,5"}, "value"),
        ({"date": "2999-01-01", "value": "1"}, "date"),
    ],
)
def test_bad_values_are_refused(api, owner, data, field):
    account = PensionAccountFactory(user=owner)
    error = assert_error(api.post(_values_url(account), data, format="json"), 400)
    assert field in error["details"]
    assert not account.values.exists()


@pytest.mark.django_db
def test_an_edit_to_a_negative_value_is_refused(api, owner):
    entry = PensionValueEntryFactory(account=PensionAccountFactory(user=owner))
    url = f"{_values_url(entry.account)}/{entry.pk}"
    assert_error(api.patch(url, {"value": "-0.01"}, format="json"), 400, "validation_error")
    entry.refresh_from_db()
    assert entry.value == D("100000")


@pytest.mark.django_db
def test_another_users_accounts_and_values_are_not_found(outsider_api, owner):
    account = PensionAccountFactory(user=owner, name="Mine")
    entry = PensionValueEntryFactory(account=account)
    one = f"{_values_url(account)}/{entry.pk}"
    calls = [
        ("get", f"{ACCOUNTS}/{account.pk}", None),
        ("put", f"{ACCOUNTS}/{account.pk}", {"name": "Theirs"}),
        ("patch", f"{ACCOUNTS}/{account.pk}", {"name": "Theirs"}),
        ("delete", f"{ACCOUNTS}/{account.pk}", None),
        ("get", _values_url(account), None),
        ("post", _values_url(account), {"date": "2024-05-01", "value": "1"}),
        ("get", one, None),
        ("put", one, {"date": "2024-05-01", "value": "1"}),
        ("patch", one, {"value": "1"}),
        ("delete", one, None),
    ]
    for method, url, data in calls:
        assert_error(getattr(outsider_api, method)(url, data, format="json"), 404, "not_found")
    assert outsider_api.get(ACCOUNTS).json() == []
    account.refresh_from_db()
    assert account.name == "Mine"
    assert list(account.values.values_list("value", flat=True)) == [D("100000")]


@pytest.mark.django_db
def test_a_value_id_under_another_account_is_not_found(api, owner):
    first, second = PensionAccountFactory(user=owner), PensionAccountFactory(user=owner)
    entry = PensionValueEntryFactory(account=first)
    assert_error(api.get(f"{_values_url(second)}/{entry.pk}"), 404, "not_found")


# -- the projection --------------------------------------------------------------------------

PROJECTION = "/api/v1/pension/projection"


def _today():
    return timezone.localdate()


@pytest.mark.django_db
def test_the_projection_starts_from_every_account_in_the_base_currency(api, owner):
    # NOK 100,000 + EUR 1,000 at 11.5 = 111,500 NOK; the other user's account is not counted.
    profile = profile_for(owner)
    profile.retirement_goal_amount = D("200000")
    profile.save()
    nok = PensionAccountFactory(user=owner, currency="NOK")
    eur = PensionAccountFactory(user=owner, currency="EUR")
    PensionValueEntryFactory(account=nok, date=dt.date(2024, 1, 31), value=D("90000"))
    PensionValueEntryFactory(account=nok, date=dt.date(2024, 6, 30), value=D("100000"))
    PensionValueEntryFactory(account=eur, date=dt.date(2024, 6, 30), value=D("1000"))
    PensionValueEntryFactory(account=PensionAccountFactory(), value=D("5000000"))
    HistoricalExchangeRateFactory(base_currency="EUR", target_currency="NOK", rate=D("11.5"))
    year = _today().year + 1
    months = 12 + 12 - _today().month

    body = api.get(
        PROJECTION,
        {"annual_return": "0", "monthly_contribution": "1000", "retirement_year": year},
    ).json()

    # At 0 %: 111,500 + months x 1,000; the goal 200,000 needs (200,000 - 111,500) / months.
    assert body["start_value"] == "111500.00"
    assert body["months"] == months
    assert D(body["final_value"]) == D("111500") + months * 1000
    assert body["goal"] == "200000.00"
    assert D(body["surplus"]) == D(body["final_value"]) - 200000
    needed = (D("88500") / months).quantize(D("0.01"), rounding="ROUND_CEILING")
    assert D(body["required_monthly_contribution"]) == needed
    assert [y["year"] for y in body["years"]] == [_today().year, year]
    assert body["years"][0]["p50"] is None
    assert body["missing"] == []


@pytest.mark.django_db
def test_the_projection_counts_portfolios_when_asked(api, owner):
    portfolio = PortfolioFactory(user=owner, currency="NOK", used_credit=D("500"))
    eqnr = InstrumentFactory(ticker="EQNR.OL")
    record(portfolio, eqnr, quantity="10", price="300")
    HistoricalStockPriceFactory(instrument=eqnr, date=dt.date(2024, 6, 3), close=D("320"))
    year = _today().year + 1
    args = {"annual_return": "0", "retirement_year": year}
    assert api.get(PROJECTION, args).json()["start_value"] == "0.00"
    # 10 x 320 (the last close) - 500 credit = 2,700
    with_portfolios = api.get(PROJECTION, {**args, "include_portfolios": "true"}).json()
    assert with_portfolios["start_value"] == "2700.00"


@pytest.mark.django_db
def test_the_projection_names_accounts_it_cannot_convert(api, owner):
    account = PensionAccountFactory(user=owner, name="Swiss", currency="CHF")
    PensionValueEntryFactory(account=account)
    body = api.get(PROJECTION, {"retirement_year": _today().year + 5}).json()
    assert body["start_value"] == "0.00"
    assert body["missing"] == ["Swiss: no CHF→NOK exchange rate is stored."]


@pytest.mark.django_db
def test_a_retirement_year_in_the_past_is_a_400(api):
    response = api.get(PROJECTION, {"retirement_year": _today().year - 1})
    error = assert_error(response, 400, "validation_error")
    assert "retirement_year" in error["details"]


@pytest.mark.django_db
def test_the_goal_year_is_the_default_and_bands_come_with_volatility(api, owner):
    profile = profile_for(owner)
    profile.retirement_goal_year = _today().year + 30
    profile.save()
    PensionValueEntryFactory(account=PensionAccountFactory(user=owner), value=D("500000"))
    args = {"volatility": "0.15", "seed": "3", "monthly_contribution": "2000"}
    first, again = api.get(PROJECTION, args).json(), api.get(PROJECTION, args).json()
    assert first == again
    last = first["years"][-1]
    assert last["year"] == _today().year + 30
    assert D(last["p10"]) < D(last["p50"]) < D(last["p90"])
    assert first["goal"] is None and first["required_monthly_contribution"] is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"annual_return": "-1"}, "annual_return"),
        ({"annual_return": "abc"}, "annual_return"),
        ({"volatility": "-0.1"}, "volatility"),
        ({"monthly_contribution": "-5"}, "monthly_contribution"),
        ({"retirement_year": "3000"}, "retirement_year"),
    ],
)
def test_bad_projection_inputs_are_named(api, args, field):
    error = assert_error(api.get(PROJECTION, args), 400, "validation_error")
    assert field in error["details"]


def test_value_entries_are_the_model_the_api_writes():
    assert PensionValueEntry._meta.get_field("value").decimal_places == 2
