from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from pensions.models import PensionAccount, PensionValueEntry

pytestmark = pytest.mark.django_db


def test_the_demo_has_two_pensions_with_monthly_values_and_a_goal(settings, client):
    settings.MARKETDATA_PROVIDER = "demo"
    call_command("load_demo", "--years", "3", stdout=StringIO())
    count = PensionValueEntry.objects.count()
    call_command("load_demo", "--years", "3", stdout=StringIO())  # once only

    accounts = PensionAccount.objects.filter(user__username="demo").order_by("name")
    assert [(a.name, a.kind) for a in accounts] == [
        ("Employer pension (Storebrand)", "employer"),
        ("IPS (Nordnet)", "ips"),
    ]
    assert PensionValueEntry.objects.count() == count
    for account in accounts:
        dates = list(account.values.order_by("date").values_list("date", flat=True))
        assert len(dates) >= 35  # a month end for each of three years
        assert all((b - a).days in range(28, 32) for a, b in zip(dates, dates[1:], strict=False))
        assert all(v > 0 for v in account.values.values_list("value", flat=True))

    # Through the login page, as a person would (axes checks every login by its request).
    client.post(reverse("login"), {"username": "demo", "password": "demo"})
    page = client.get(reverse("pensions:projection"))
    assert page.status_code == 200
    assert page.context["plan"].result.goal is not None
    assert 'id="goal-projection"' in client.get(reverse("home")).content.decode()
    # 1,250 NOK a month into the IPS: this year's contributions are 1,250 per month end
    # so far, against the cap.
    listing = client.get(reverse("pensions:list"))
    assert listing.status_code == 200
    ips = next(s for s in listing.context["summaries"] if s.account.kind == "ips")
    assert (
        ips.ips.contributed
        == 1250
        * ips.account.values.filter(date__year=ips.ips.year, contribution__isnull=False).count()
    )
