"""Each pension account's latest value, its change since the previous entry and over twelve
months, this year's IPS contributions against IPS_YEARLY_CAP, and the chart of all accounts
in the base currency: worked by hand, through pensions.stats and the two pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils import timezone

from pensions import stats
from pensions.models import PensionAccount, PensionValueEntry
from tests.factories import (
    HistoricalExchangeRateFactory,
    PensionAccountFactory,
    PensionValueEntryFactory,
)
from tests.views.conftest import htmx

NNBSP = "\u202f"  # the money filter's digit grouping


def _entry(day, value, contribution=None):
    return PensionValueEntry(date=day, value=D(value), contribution=contribution)


def _account(kind="other", currency="NOK"):
    return PensionAccount(name="A", kind=kind, currency=currency)


def test_changes_since_previous_and_over_twelve_months():
    entries = [
        _entry(dt.date(2023, 1, 31), "100000.00"),
        _entry(dt.date(2023, 12, 31), "110000.00"),
        _entry(dt.date(2024, 1, 31), "112000.00"),
    ]
    summary = stats.summarize(_account(), entries, dt.date(2024, 2, 10))
    assert summary.latest.value == D("112000.00")
    # 112000 - 110000 = 2000; 2000 / 110000 = 1.8181...%
    assert summary.since_previous.amount == D("2000.00")
    assert summary.since_previous.percent.quantize(D("0.0001")) == D("1.8182")
    assert summary.since_previous.since == dt.date(2023, 12, 31)
    # A year before 2024-01-31 is 2023-01-31, which has an entry: 112000 - 100000 = 12000,
    # 12000 / 100000 = 12 %.
    assert summary.over_year.amount == D("12000.00")
    assert summary.over_year.percent == D("12")
    assert summary.over_year.since == dt.date(2023, 1, 31)
    assert summary.ips is None


def test_twelve_months_use_the_latest_entry_on_or_before_a_year_earlier():
    entries = [
        _entry(dt.date(2023, 5, 31), "100000.00"),
        _entry(dt.date(2023, 7, 31), "105000.00"),  # after 2023-06-30: not this one
        _entry(dt.date(2024, 6, 30), "120000.00"),
    ]
    summary = stats.summarize(_account(), entries, dt.date(2024, 7, 1))
    # 120000 - 100000 = 20000, 20 %; since previous: 120000 - 105000 = 15000,
    # 15000 / 105000 = 14.2857...%
    assert (summary.over_year.amount, summary.over_year.percent) == (D("20000.00"), D("20"))
    assert summary.since_previous.amount == D("15000.00")
    assert summary.since_previous.percent.quantize(D("0.01")) == D("14.29")


def test_no_entry_a_year_earlier_no_previous_and_a_zero_before():
    assert stats.summarize(_account(), [], dt.date(2024, 1, 1)).latest is None
    one = stats.summarize(_account(), [_entry(dt.date(2024, 1, 31), "5")], dt.date(2024, 2, 1))
    assert (one.latest.value, one.since_previous, one.over_year) == (D("5"), None, None)
    short = [_entry(dt.date(2023, 6, 30), "0"), _entry(dt.date(2024, 1, 31), "500")]
    summary = stats.summarize(_account(), short, dt.date(2024, 2, 1))
    assert summary.over_year is None  # nothing on or before 2023-01-31
    # From 0 the amount is known and the percent is not.
    assert (summary.since_previous.amount, summary.since_previous.percent) == (D("500"), None)


def test_a_year_before_29_february_is_28_february():
    assert stats.year_before(dt.date(2024, 2, 29)) == dt.date(2023, 2, 28)
    entries = [_entry(dt.date(2023, 2, 28), "100"), _entry(dt.date(2024, 2, 29), "150")]
    summary = stats.summarize(_account(), entries, dt.date(2024, 3, 1))
    assert (summary.over_year.amount, summary.over_year.percent) == (D("50"), D("50"))


def test_ips_contributions_this_year_against_the_cap(settings):
    settings.IPS_YEARLY_CAP = D("15000")
    entries = [
        _entry(dt.date(2023, 12, 31), "10000", D("15000.00")),  # last year: not counted
        _entry(dt.date(2024, 3, 31), "15500", D("5000.00")),
        _entry(dt.date(2024, 6, 30), "23500", D("7500.50")),
        _entry(dt.date(2024, 9, 30), "24000"),  # no contribution recorded
    ]
    ips = stats.summarize(_account("ips"), entries, dt.date(2024, 12, 1)).ips
    # 5000.00 + 7500.50 = 12500.50 of 15000: 2499.50 left, 83.3367 % used.
    assert ips.year == 2024
    assert ips.contributed == D("12500.50")
    assert ips.remaining == D("2499.50")
    assert ips.over == D("0")
    assert ips.percent.quantize(D("0.0001")) == D("83.3367")
    assert ips.unknown == 1 and ips.comparable
    settings.IPS_YEARLY_CAP = D("10000")
    ips = stats.summarize(_account("ips"), entries, dt.date(2024, 12, 1)).ips
    assert (ips.cap, ips.remaining, ips.over) == (D("10000"), D("0"), D("2500.50"))
    in_euro = stats.summarize(_account("ips", "EUR"), entries, dt.date(2024, 12, 1)).ips
    assert not in_euro.comparable


def test_each_account_is_read_at_its_latest_value_on_every_date():
    a = [(dt.date(2024, 1, 1), D("100")), (dt.date(2024, 3, 1), D("150"))]
    days = [dt.date(2023, 12, 1), dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 3, 1)]
    # Before the first value 0; then the latest value on or before each day.
    assert [v for _, v in stats.stepped(a, days)] == [D("0"), D("100"), D("100"), D("150")]


@pytest.mark.django_db
def test_the_accounts_chart_stacks_one_band_per_account_under_their_total(owner):
    # A (NOK) 100 on 1 Jan, 150 on 1 Mar; B (NOK) 10 on 1 Feb. Bands: A from 0 up to A,
    # B from A up to A + B; the top line is the total: Jan 100, Feb 110, Mar 160. The
    # legend says each account's own latest value (150, 10) and the total (160).
    a = PensionAccountFactory(user=owner, name="A", currency="NOK")
    b = PensionAccountFactory(user=owner, name="B", currency="NOK")
    entries = {
        a.pk: [
            PensionValueEntryFactory(account=a, date=dt.date(2024, 1, 1), value=D("100")),
            PensionValueEntryFactory(account=a, date=dt.date(2024, 3, 1), value=D("150")),
        ],
        b.pk: [PensionValueEntryFactory(account=b, date=dt.date(2024, 2, 1), value=D("10"))],
    }
    today = dt.date(2024, 12, 1)
    summaries = [stats.summarize(account, entries[account.pk], today) for account in (a, b)]
    for summary in summaries:
        summary.rate = D("1")
    chart = stats.history_chart(summaries, entries)
    assert [(s.label, s.last) for s in chart.series] == [
        ("A", D("150")),
        ("B", D("10")),
        ("Total", D("160")),
    ]
    assert chart.series[0].area and chart.series[1].area and not chart.series[2].area


# -- the pages ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_list_shows_changes_base_values_and_a_warning_for_a_missing_rate(owner_client, owner):
    otp = PensionAccountFactory(user=owner, name="OTP", currency="NOK")
    PensionValueEntryFactory(account=otp, date=dt.date(2023, 1, 31), value=D("100000"))
    PensionValueEntryFactory(account=otp, date=dt.date(2023, 12, 31), value=D("110000"))
    PensionValueEntryFactory(account=otp, date=dt.date(2024, 1, 31), value=D("112000"))
    usd = PensionAccountFactory(user=owner, name="401k", currency="USD")
    PensionValueEntryFactory(account=usd, date=dt.date(2024, 1, 31), value=D("1000"))
    sek = PensionAccountFactory(user=owner, name="PPM", currency="SEK")
    PensionValueEntryFactory(account=sek, date=dt.date(2024, 1, 31), value=D("50000"))
    PensionAccountFactory(user=owner, name="Empty")
    HistoricalExchangeRateFactory(base_currency="USD", target_currency="NOK", rate=D("10.5"))
    response = owner_client.get(reverse("pensions:list"))
    assert response.status_code == 200
    body = response.content.decode()
    # 1000\u00a0USD × 10.5 = 10500\u00a0NOK; the total is 112000 + 10500 = 122500 (PPM has no rate).
    assert f"10{NNBSP}500.00\u00a0NOK" in body
    assert response.context["total_base"] == D("122500.0")
    assert f'id="pensions-total">122{NNBSP}500.00\u00a0NOK' in body
    assert "PPM: no SEK→NOK exchange rate is stored" in body
    assert f"+2{NNBSP}000.00\u00a0NOK <small>+1.82\u00a0%</small>" in body
    assert f"+12{NNBSP}000.00\u00a0NOK <small>+12.00\u00a0%</small>" in body
    # The chart: one stacked band per account with a rate, then their total.
    labels = [s.label for s in response.context["chart"].series]
    assert labels == ["401k", "OTP", "Total"]  # the accounts by name
    total = response.context["chart"].series[-1]
    # 2023-01-31: OTP 100000 alone; 2024-01-31: 112000 + 10500.
    assert (total.first, total.last) == (D("100000"), D("122500.0"))


@pytest.mark.django_db
def test_list_works_with_no_values_and_one_value(owner_client, owner):
    account = PensionAccountFactory(user=owner, name="New")
    body = owner_client.get(reverse("pensions:list")).content.decode()
    assert "no value yet" in body and "Record values to start the chart." in body
    PensionValueEntryFactory(account=account, date=dt.date(2024, 1, 31), value=D("500"))
    response = owner_client.get(reverse("pensions:list"))
    assert response.status_code == 200
    assert [s.label for s in response.context["chart"].series] == ["New"]
    assert htmx(owner_client, reverse("pensions:list")).status_code == 200


@pytest.mark.django_db
def test_account_page_shows_changes_and_the_history(owner_client, owner):
    account = PensionAccountFactory(user=owner, currency="SEK")  # no SEK rate: no matter
    for day, value in [
        (dt.date(2023, 1, 31), "100000"),
        (dt.date(2023, 12, 31), "110000"),
        (dt.date(2024, 1, 31), "112000"),
    ]:
        PensionValueEntryFactory(account=account, date=day, value=D(value))
    response = owner_client.get(reverse("pensions:detail", args=[account.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    since = 'id="pension-since-previous"><span class="gain" title="Since 31 Dec 2023">'
    assert f"{since}+2{NNBSP}000.00\u00a0SEK <small>+1.82\u00a0%</small>" in body
    assert f"+12{NNBSP}000.00\u00a0SEK <small>+12.00\u00a0%</small>" in body
    assert response.context["chart"].series[0].last == D("112000")
    assert "ips-cap" not in body


@pytest.mark.django_db
def test_account_page_with_no_value_or_one(owner_client, owner):
    account = PensionAccountFactory(user=owner, kind="ips")
    url = reverse("pensions:detail", args=[account.pk])
    body = owner_client.get(url).content.decode()
    assert "no value yet" in body and 'title="No earlier entry to compare with">—' in body
    PensionValueEntryFactory(account=account, date=dt.date(2024, 1, 31), value=D("5"))
    response = owner_client.get(url)
    assert response.status_code == 200
    assert response.context["summary"].over_year is None


@pytest.mark.django_db
def test_ips_cap_on_both_pages(owner_client, owner, settings):
    settings.IPS_YEARLY_CAP = D("15000")
    year = timezone.localdate().year
    account = PensionAccountFactory(user=owner, name="IPS", kind="ips", currency="NOK")
    PensionValueEntryFactory(
        account=account, date=dt.date(year - 1, 12, 31), value=D("9000"), contribution=D("15000")
    )
    PensionValueEntryFactory(
        account=account, date=dt.date(year, 1, 1), value=D("21000"), contribution=D("12000")
    )
    # 12000 of 15000 this year: 3000 left, 80.0 % (last year's 15000 does not count).
    for url in (reverse("pensions:list"), reverse("pensions:detail", args=[account.pk])):
        body = owner_client.get(url).content.decode()
        assert (
            f"12{NNBSP}000.00\u00a0NOK paid in of the 15{NNBSP}000.00\u00a0NOK yearly cap (80.0"
            in body
        )
        assert f"3{NNBSP}000.00\u00a0NOK left" in body
    settings.IPS_YEARLY_CAP = D("10000")
    body = owner_client.get(reverse("pensions:list")).content.decode()
    assert f"2{NNBSP}000.00\u00a0NOK over the cap" in body


@pytest.mark.django_db
def test_the_value_form_takes_a_contribution(owner_client, owner):
    account = PensionAccountFactory(user=owner, kind="ips")
    url = reverse("pensions:value_add", args=[account.pk])
    bad = owner_client.post(url, {"date": "2024-01-31", "value": "100", "contribution": "-1"})
    assert bad.status_code == 422
    assert bad.context["form"].errors["contribution"]
    assert not account.values.exists()
    data = {"date": "2024-01-31", "value": "100", "contribution": "1 500,50"}
    good = owner_client.post(url, data)
    assert good.status_code == 302
    assert account.values.get().contribution == D("1500.50")
