from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db.models import Q
from django.test import RequestFactory
from django.utils import timezone

from financedash.management.commands import load_demo
from marketdata.models import HistoricalExchangeRate, HistoricalStockPrice
from portfolios import cash
from portfolios.models import Portfolio, Transaction
from tests.tax_rates import published_rates  # noqa: F401

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
    # The withdrawal comes with the ASK's first sale, which a 3-year window may not hold.
    assert {"BUY", "SELL", "DIVIDEND", "DEPOSIT"} <= types
    assert types <= {"BUY", "SELL", "DIVIDEND", "DEPOSIT", "WITHDRAWAL"}
    ask = portfolios.get(name="Aksjesparekonto")
    assert (ask.kind, ask.track_cash) == ("ask", True)
    assert not portfolios.exclude(pk=ask.pk).filter(Q(kind="ask") | Q(track_cash=True))
    movements = [
        cash.Movement(t.type, t.date, t.total_amount, t.pk)
        for t in Transaction.objects.filter(portfolio=ask)
    ]
    # Its buys are paid from its deposits: the cash never goes below 0.
    assert min(after for _m, after in cash.running_balances(movements)) >= 0
    assert ask.cash_balance == cash.balance(movements) >= 0
    assert all(p.holdings.filter(quantity__gt=0).exists() for p in portfolios)
    assert HistoricalStockPrice.objects.filter(instrument__ticker="EQNR.OL").count() > 700
    foreign = Transaction.objects.filter(holding__instrument__ticker="VOLV-B.ST").first()
    assert foreign.exchange_rate != 1
    # Issue 15: every demo chart has a benchmark line to read against.
    assert {p.benchmark.ticker for p in portfolios} == {"^OSEBX"}
    assert portfolios[0].user.profile.benchmark.ticker == "^OSEBX"


def test_the_ask_cash_plan_pays_every_buy_and_withdraws_less_than_deposited():
    """The plan of a fixed day (pure): deposits in steps of 5,000 NOK before the buys that
    need them, one withdrawal on the day of the ASK's first sale (2023 for this day), half
    the cash then in whole thousands, below the deposits, so it is tax free."""
    trades = load_demo.plan(date(2026, 12, 1), 10)
    moves = load_demo.plan_cash(trades)
    assert moves == load_demo.plan_cash(load_demo.plan(date(2026, 12, 1), 10))
    assert {m.portfolio for m in moves} == {"Aksjesparekonto"}
    deposits = [m for m in moves if m.type == "DEPOSIT"]
    withdrawals = [m for m in moves if m.type == "WITHDRAWAL"]
    assert all(m.amount % 5000 == 0 and m.amount > 0 for m in deposits)
    assert len(withdrawals) == 1
    (withdrawal,) = withdrawals
    first_sale = min(
        t.date for t in trades if t.portfolio == "Aksjesparekonto" and t.type == "SELL"
    )
    assert withdrawal.date == first_sale
    assert withdrawal.amount % 1000 == 0
    assert 0 < withdrawal.amount < sum(m.amount for m in deposits if m.date <= withdrawal.date)
    # Replayed as the command records them (a day's deposit first, its withdrawal last),
    # the cash never dips below 0.
    rank = {"DEPOSIT": 0, "WITHDRAWAL": 2}
    own = [(t.date, 1, t) for t in trades if t.portfolio == "Aksjesparekonto"]
    own += [(m.date, rank[m.type], m) for m in moves]
    balance = Decimal(0)
    for _day, _rank, item in sorted(own, key=lambda item: item[:2]):
        if isinstance(item, load_demo.PlannedCash):
            balance += item.amount if item.type == "DEPOSIT" else -item.amount
        else:
            balance += load_demo._cash_effect(item)
        assert balance >= 0


@pytest.mark.usefixtures("published_rates")
def test_the_demo_tax_report_has_its_ask(settings, client):
    """Last year's report of the demo (page, API, CSV) has the ASK's deposits, value and
    deferred tax: (value - deposits - unused shielding) x 22 % x the factor."""
    settings.MARKETDATA_PROVIDER = "demo"
    call_command("load_demo", "--years", "3", stdout=StringIO())
    ask = Portfolio.objects.get(user__username="demo", name="Aksjesparekonto")
    client.force_login(ask.user)
    year = timezone.localdate().year - 1
    body = client.get(f"/api/v1/tax/{year}").json()
    (row,) = body["ask"]
    assert row["name"] == "Aksjesparekonto" and row["portfolio"] == ask.pk
    deposits, value = Decimal(row["deposits"]), Decimal(row["value"])
    assert 0 < deposits < value
    assert Decimal(row["tax_deferred_estimate"]) > 0
    assert not any("no deposits" in w for w in body["warnings"])
    assert 'id="tax-ask"' in client.get(f"/tax/{year}/").content.decode()
    csv_text = client.get(f"/tax/{year}/export.csv").content.decode()
    assert f"ask_account,Aksjesparekonto,{year}-12-31,,{row['deposits']}," in csv_text
