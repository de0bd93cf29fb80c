"""Provider splits are stored with the history backfill (issue 11: suggested splits)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from marketdata import history
from marketdata.models import InstrumentSplit
from tests.factories import InstrumentFactory
from tests.marketdata.yahoo_fake import Listing, weekdays_back

DAYS = weekdays_back(date(2024, 3, 15), 10)
pytestmark = pytest.mark.django_db


def test_fetching_a_window_of_closes_stores_its_splits(fake_yahoo):
    closes = {day: 100.0 + n for n, day in enumerate(DAYS)}
    fake_yahoo.listings["EQNR.OL"] = Listing(
        "NOK", "Europe/Oslo", "OSL", "Equinor ASA", closes, splits={DAYS[4]: (2, 1)}
    )
    equinor = InstrumentFactory(ticker="EQNR.OL", currency="NOK")

    assert history.sync_prices(equinor, DAYS[0], DAYS[-1]) == len(DAYS)

    assert list(InstrumentSplit.objects.values_list("instrument__ticker", "date", "ratio")) == [
        ("EQNR.OL", DAYS[4], Decimal("2"))
    ]
    # Fetched again (another process, the same window): stored once.
    history.sync_splits(equinor, DAYS[0], DAYS[-1])
    assert InstrumentSplit.objects.count() == 1


def test_a_failed_split_fetch_leaves_the_closes_stored(fake_yahoo):
    closes = dict.fromkeys(DAYS, 100.0)
    fake_yahoo.listings["EQNR.OL"] = Listing("NOK", "Europe/Oslo", "OSL", "Equinor", closes)
    equinor = InstrumentFactory(ticker="EQNR.OL", currency="NOK")
    history.sync_prices(equinor, DAYS[0], DAYS[-1])
    fake_yahoo.rate_limited.add("EQNR.OL")

    assert history.sync_splits(equinor, DAYS[0], DAYS[-1]) == 0
    assert equinor.prices.count() == len(DAYS)
