"""The "paste many" box (issue 10, item 1): lines of `date value` in Norwegian or ISO
formats, read by pensions.paste, stored all or nothing by services.record_values, through
the account page's form; every refused line named with its number, text and reason."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils import timezone

from pensions import services
from pensions.models import PensionValueEntry
from pensions.paste import parse_lines
from tests.factories import PensionAccountFactory, PensionValueEntryFactory
from tests.views.conftest import htmx

# A header, a Norwegian CSV line, a spreadsheet (tab) line, a blank line, a line typed with
# spaces (grouping spaces kept in the value) and one with a third column, the contribution.
GOOD = (
    "Dato;Verdi\n"
    "31.01.2024;1 234 567,89\n"
    "2024-02-29\t1234567.89\n"
    "\n"
    "31.03.2024 1 300 000,50\n"
    "2024-04-30; 1 310 000 ; 1 500,00\n"
)


def test_norwegian_and_iso_lines_are_read():
    rows, errors = parse_lines(GOOD)
    assert errors == []
    assert [(r.line, r.date, r.value, r.contribution) for r in rows] == [
        (2, dt.date(2024, 1, 31), D("1234567.89"), None),
        (3, dt.date(2024, 2, 29), D("1234567.89"), None),
        (5, dt.date(2024, 3, 31), D("1300000.50"), None),
        (6, dt.date(2024, 4, 30), D("1310000"), D("1500.00")),
    ]
    assert rows[0].text == "31.01.2024;1 234 567,89"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("32.01.2024 100", "Bad date"),
        ("2024-02-30 100", "Bad date"),
        ("31.01.24 100", "Bad date"),  # a two-digit year is refused, not guessed
        ("2024-01-31 12,3,4", "Bad value"),
        ("2024-01-31 1,234", "Bad value"),  # 1234 or 1.234: refused as ambiguous
        ("2024-01-31 1.234,567", "more than two decimals"),
        ("2024-01-31;100;x", "Bad contribution"),
        ("2024-01-31;1;2;3", "Too many columns"),
        ("2024-01-31", "write a date and a value"),
    ],
)
def test_unreadable_lines_say_why(line, reason):
    rows, errors = parse_lines(f"2024-01-01 5\n{line}")
    assert len(rows) == 1
    assert [(e.line, e.text) for e in errors] == [(2, line)]
    assert reason in errors[0].reason


@pytest.mark.django_db
def test_record_values_stores_every_row():
    account = PensionAccountFactory(currency="NOK")
    rows, _ = parse_lines(GOOD)
    saved = services.record_values(account, rows)
    assert [(e.date, e.value, e.contribution) for e in saved] == [
        (dt.date(2024, 1, 31), D("1234567.89"), None),
        (dt.date(2024, 2, 29), D("1234567.89"), None),
        (dt.date(2024, 3, 31), D("1300000.50"), None),
        (dt.date(2024, 4, 30), D("1310000.00"), D("1500.00")),
    ]
    stored = account.values.order_by("date")
    assert [e.value for e in stored] == [
        D("1234567.89"),
        D("1234567.89"),
        D("1300000.50"),
        D("1310000.00"),
    ]


def _bad_paste() -> tuple[str, list[int]]:
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    lines = [
        "2024-01-31 100",  # 1: fine, but not stored: the paste is all or nothing
        "32.01.2024 100",  # 2: bad date
        "2024-02-01 12,3,4",  # 3: bad number
        "2024-02-02 -5",  # 4: negative
        "2024-01-31 200",  # 5: the date of line 1 again
        "2024-02-03 7",  # 6: fine
        "1899-12-31 5",  # 7: before 1900
        f"{tomorrow} 5",  # 8: in the future
        "31.12.2023 5",  # 9: a date already stored
        "2024-02-04;5;-1",  # 10: a negative contribution
    ]
    return "\n".join(lines), [2, 3, 4, 5, 7, 8, 9, 10]


@pytest.mark.django_db
def test_one_bad_row_refuses_all_with_each_reason():
    account = PensionAccountFactory(name="OTP")
    PensionValueEntryFactory(account=account, date=dt.date(2023, 12, 31), value=D("90"))
    text, bad = _bad_paste()
    rows, errors = parse_lines(text)
    assert [e.line for e in errors] == [2, 3]
    with pytest.raises(services.ValuesRefused) as refused:
        services.record_values(account, rows)
    reasons = {e.line: e.reason for e in refused.value.errors}
    assert sorted(reasons) == [4, 5, 7, 8, 9, 10]
    assert reasons[4] == "A pension value cannot be negative."
    assert reasons[5] == "2024-01-31 is also on line 1."
    assert "before 1900-01-01" in reasons[7]
    assert "in the future" in reasons[8]
    assert reasons[9] == "OTP already has a value on 2023-12-31."
    assert reasons[10] == "A contribution cannot be negative."
    assert list(account.values.values_list("date", flat=True)) == [dt.date(2023, 12, 31)]


@pytest.mark.django_db
def test_the_form_stores_all_and_says_how_many(owner_client, owner):
    account = PensionAccountFactory(user=owner)
    url = reverse("pensions:value_paste", args=[account.pk])
    response = owner_client.post(url, {"lines": GOOD}, follow=True)
    assert response.status_code == 200
    assert "Recorded 4 values." in response.content.decode()
    assert account.values.count() == 4
    assert account.values.get(date=dt.date(2024, 4, 30)).contribution == D("1500.00")


@pytest.mark.django_db
def test_the_form_lists_every_bad_line_and_stores_nothing(owner_client, owner):
    account = PensionAccountFactory(user=owner, name="OTP")
    PensionValueEntryFactory(account=account, date=dt.date(2023, 12, 31), value=D("90"))
    text, bad = _bad_paste()
    url = reverse("pensions:value_paste", args=[account.pk])
    for response in (
        owner_client.post(url, {"lines": text}),
        htmx(owner_client, url, {"lines": text}, "post"),
    ):
        assert response.status_code == 422
        form = response.context["paste_form"]
        assert [e.line for e in form.line_errors] == bad
        body = response.content.decode()
        assert "Nothing was saved: 8 lines to fix" in body
        assert "<code>32.01.2024 100</code>" in body and "Bad date" in body
        assert "2024-01-31 is also on line 1." in body
    assert account.values.count() == 1
    # The pasted text is kept in the box, to be fixed rather than typed again.
    assert "2024-02-03 7" in body


@pytest.mark.django_db
def test_an_empty_paste_is_an_error(owner_client, owner):
    account = PensionAccountFactory(user=owner)
    url = reverse("pensions:value_paste", args=[account.pk])
    response = owner_client.post(url, {"lines": "Dato;Verdi\n\n"})
    assert response.status_code == 422
    assert response.context["paste_form"].errors["lines"] == [
        "Paste at least one line with a date and a value."
    ]


@pytest.mark.django_db
def test_another_users_account_is_404(outsider_client, owner):
    account = PensionAccountFactory(user=owner)
    url = reverse("pensions:value_paste", args=[account.pk])
    assert outsider_client.post(url, {"lines": GOOD}).status_code == 404
    assert htmx(outsider_client, url, {"lines": GOOD}, "post").status_code == 404
    assert outsider_client.get(reverse("pensions:detail", args=[account.pk])).status_code == 404
    assert not PensionValueEntry.objects.exists()
