from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.browser.conftest import log_in
from tests.factories import PensionAccountFactory, PensionValueEntryFactory

pytestmark = pytest.mark.browser


def test_the_pensions_table_scrolls_in_its_box_not_the_page(page, user):
    # A wide table's visually hidden header cell (absolutely positioned) escaped its
    # scrolling box and widened the whole page by ~60 px at 1280 px; the box is now the
    # cell's containing block, so only the table scrolls.
    today = timezone.localdate()
    for name, kind in [("Employer pension (Storebrand)", "employer"), ("IPS (Nordnet)", "ips")]:
        account = PensionAccountFactory(user=user, name=name, kind=kind)
        for months, value in [(13, "1000000.00"), (1, "1100000.00"), (0, "1114357.25")]:
            PensionValueEntryFactory(
                account=account,
                date=today - dt.timedelta(days=30 * months),
                value=Decimal(value),
                contribution=Decimal("1250") if kind == "ips" else None,
            )
    log_in(page)
    for width in (1280, 360):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto("/pensions/")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the page scrolls sideways by {overflow} px at {width} px"
