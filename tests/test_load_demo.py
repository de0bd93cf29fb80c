from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from marketdata.models import HistoricalExchangeRate, HistoricalStockPrice
from portfolios.models import Portfolio, Transaction

pytestmark = pytest.mark.django_db


def test_load_demo_creates_a_household_once(settings):
    settings.MARKETDATA_PROVIDER = "demo"
    out = StringIO()

    call_command("load_demo", "--years", "3", stdout=out)
    counts = (
        Portfolio.objects.count(),
        Transaction.objects.count(),
        HistoricalStockPrice.objects.count(),
        HistoricalExchangeRate.objects.count(),
    )
    call_command("load_demo", "--years", "3", stdout=StringIO())

    assert "demo / demo" in out.getvalue()
    assert authenticate(RequestFactory().post("/login/"), username="demo", password="demo")
    assert (
        Portfolio.objects.count(),
        Transaction.objects.count(),
        HistoricalStockPrice.objects.count(),
        HistoricalExchangeRate.objects.count(),
    ) == counts
    portfolios = Portfolio.objects.filter(user__username="demo")
    assert portfolios.count() == 3
    assert {p.currency for p in portfolios} == {"NOK", "USD"}
    assert len({p.brokerage_firm for p in portfolios}) == 3
    types = set(Transaction.objects.values_list("type", flat=True))
    assert types == {"BUY", "SELL", "DIVIDEND"}
    assert all(p.holdings.filter(quantity__gt=0).exists() for p in portfolios)
    assert HistoricalStockPrice.objects.filter(instrument__ticker="EQNR.OL").count() > 700
    foreign = Transaction.objects.filter(holding__instrument__ticker="VOLV-B.ST").first()
    assert foreign.exchange_rate != 1
    # Issue 15: every demo chart has a benchmark line to read against.
    assert {p.benchmark.ticker for p in portfolios} == {"^OSEBX"}
    assert portfolios[0].user.profile.benchmark.ticker == "^OSEBX"
