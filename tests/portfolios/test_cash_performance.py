"""Performance of a portfolio that tracks cash (section 5b): its external flows are the
deposits and withdrawals, and each day's value includes the cash at that day's end."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from portfolios import cash, services
from portfolios.performance import Trade, compute_performance
from portfolios.performance_data import compute_for
from tests.factories import HistoricalStockPriceFactory, InstrumentFactory, PortfolioFactory

D = Decimal
DAY1 = dt.date(2024, 1, 1)
DAYS = [DAY1 + dt.timedelta(days=n) for n in range(4)]
CLOSES = {"EQNR": [(DAYS[0], D(100)), (DAYS[1], D(110)), (DAYS[2], D(110)), (DAYS[3], D(121))]}
BUY = Trade(DAYS[0], "BUY", "EQNR", "NOK", D(10), D(100))
MOVEMENTS = [
    cash.Movement("DEPOSIT", DAYS[0], D(1000)),
    cash.Movement("BUY", DAYS[0], D(1000)),  # its total_amount: 10 x 100
    cash.Movement("DEPOSIT", DAYS[2], D(1100)),
]


def test_twr_with_two_deposits_by_hand():
    # Day 1: deposit 1,000 and buy 10 at 100: cash 0, value 10 x 100 = 1,000.
    # Day 2: close 110: value 1,100.
    # Day 3: deposit 1,100 (in at the start of the day), close 110: 1,100 + 1,100 = 2,200.
    # Day 4: close 121: 1,210 + cash 1,100 = 2,310.
    # Sub-periods break at the day-3 inflow:
    #   (0 + 1,000) -> 1,100 (the eve of the inflow, day 2): x 1.1
    #   (1,100 + 1,100) -> 2,310: x 1.05
    # TWR = 1.1 x 1.05 - 1 = 0.155 (the idle cash earns nothing; without cash tracking the
    # buy alone would be the flow and the TWR the share's 21 %).
    result = compute_performance(
        [BUY], CLOSES, {}, currency="NOK", start=DAYS[0], end=DAYS[3], cash_movements=MOVEMENTS
    )
    assert [p.value for p in result.series] == [0, D(1000), D(1100), D(2200), D(2310)]
    assert [p.flow for p in result.series] == [0, D(1000), 0, D(1100), 0]
    assert [p.net_deposits for p in result.series][-1] == D(2100)
    assert result.twr == D("0.155")
    # Gain = 2,310 - 0 - 2,100 = 210: 100 on day 2, 110 on day 4.
    assert result.gain == D(210)
    without = compute_performance([BUY], CLOSES, {}, currency="NOK", start=DAYS[0], end=DAYS[3])
    assert without.twr == D("0.21")


def test_deposits_before_the_period_are_its_opening():
    # From day 3: the opening (day 2) is 1,100 of shares and 0 cash, net deposits 1,000.
    result = compute_performance(
        [BUY], CLOSES, {}, currency="NOK", start=DAYS[2], end=DAYS[3], cash_movements=MOVEMENTS
    )
    assert result.series[0].value == D(1100) and result.series[0].net_deposits == D(1000)
    # (1,100 + 1,100) -> 2,310
    assert result.twr == D("0.05")


@pytest.fixture(autouse=True)
def _stored_market_data_only(settings):
    settings.MARKETDATA_PROVIDER = "offline"


def test_the_loader_feeds_the_cash_of_a_tracking_portfolio(owner):
    equinor = InstrumentFactory(ticker="EQNR.OL")
    for day, close in CLOSES["EQNR"]:
        HistoricalStockPriceFactory(instrument=equinor, date=day, close=close)
    account = PortfolioFactory(user=owner, name="Account", track_cash=True)
    services.record_transaction(portfolio=account, type="DEPOSIT", date=DAYS[0], amount=D(1000))
    services.record_transaction(
        portfolio=account, instrument=equinor, type="BUY", date=DAYS[0],
        quantity=D(10), price=D(100),
    )  # fmt: skip
    services.record_transaction(portfolio=account, type="DEPOSIT", date=DAYS[2], amount=D(1100))
    result = compute_for(account, DAYS[0], DAYS[3])
    assert result.error is None
    assert result.twr == D("0.155")
    # Switched off, the same ledger is measured on its trades alone (and cash ignored).
    account.track_cash = False
    services.save_portfolio(account)
    assert compute_for(account, DAYS[0], DAYS[3]).twr == D("0.21")


def test_the_household_counts_a_tracking_portfolios_cash_and_its_deposits(owner):
    """One portfolio tracks cash, one does not: the household adds the first one's cash
    to its value and takes its deposits (not its buy) as its flows, and the second one's
    buy as its flow."""
    from financedash import overview

    equinor = InstrumentFactory(ticker="EQNR.OL")
    for day, close in CLOSES["EQNR"]:
        HistoricalStockPriceFactory(instrument=equinor, date=day, close=close)
    dnb = InstrumentFactory(ticker="DNB.OL")
    for day, close in zip(DAYS, (D(200), D(200), D(220), D(220)), strict=True):
        HistoricalStockPriceFactory(instrument=dnb, date=day, close=close)
    account = PortfolioFactory(user=owner, name="Account", track_cash=True)
    services.record_transaction(portfolio=account, type="DEPOSIT", date=DAYS[0], amount=D(1000))
    services.record_transaction(
        portfolio=account, instrument=equinor, type="BUY", date=DAYS[0],
        quantity=D(10), price=D(100),
    )  # fmt: skip
    services.record_transaction(portfolio=account, type="DEPOSIT", date=DAYS[2], amount=D(1100))
    services.record_transaction(portfolio=account, type="INTEREST", date=DAYS[3], amount=D(10))
    other = PortfolioFactory(user=owner, name="Other")
    services.record_transaction(
        portfolio=other, instrument=dnb, type="BUY", date=DAYS[1], quantity=D(5), price=D(200)
    )

    result = overview.household_performance(owner, currency="NOK", start=DAYS[0], end=DAYS[3])
    assert result.error is None and result.missing == []
    # Account (shares + cash): 1,000 + 0; 1,100 + 0; 1,100 + 1,100; 1,210 + 1,110 (the
    # interest is a return, not a flow). Other: 0; 5 x 200; 5 x 220; 5 x 220.
    assert [p.value for p in result.series] == [0, D(1000), D(2100), D(3300), D(3420)]
    # Flows: the account's deposits on days 1 and 3, the other's buy on day 2.
    assert [p.flow for p in result.series] == [0, D(1000), D(1000), D(1100), 0]
    assert result.series[-1].net_deposits == D(3100)
    # Sub-periods break at each inflow:
    #   (0 + 1,000) -> 1,000 (the eve of day 2's inflow): x 1
    #   (1,000 + 1,000) -> 2,100 (the eve of day 3's): x 1.05
    #   (2,100 + 1,100) -> 3,420: x 1.06875
    # TWR = 1.05 x 1.06875 - 1 = 0.1221875.
    assert result.twr == D("0.1221875")
    # Gain = 3,420 - 0 - 3,100 = 320: the account's 100 + 110 + 10, the other's 100.
    assert result.gain == D(320)


def test_a_new_cash_transaction_is_answered_at_once(owner):
    """A tracking portfolio's cached API responses (its own and the household's) are
    keyed by its version stamp, which every cash write moves."""
    from tests.conftest import bearer

    equinor = InstrumentFactory(ticker="EQNR.OL")
    bought = dt.date.today() - dt.timedelta(days=30)
    HistoricalStockPriceFactory(instrument=equinor, date=bought, close=D(100))
    account = PortfolioFactory(user=owner, name="Account", track_cash=True)
    services.record_transaction(portfolio=account, type="DEPOSIT", date=bought, amount=D(1500))
    services.record_transaction(
        portfolio=account, instrument=equinor, type="BUY", date=bought,
        quantity=D(10), price=D(100),
    )  # fmt: skip
    api = bearer(owner)
    urls = ["/api/v1/performance", f"/api/v1/portfolios/{account.pk}/performance"]
    day = (dt.date.today() - dt.timedelta(days=10)).isoformat()
    before = [api.get(url).json() for url in urls]
    assert [api.get(url).json() for url in urls] == before  # answered from the cache
    services.record_transaction(
        portfolio=account, type="DEPOSIT", date=dt.date.fromisoformat(day), amount=D(250)
    )
    after = [api.get(url).json() for url in urls]
    for old, new in zip(before, after, strict=True):
        # 10 x 100 of shares and 500 of cash, then 250 more cash, a flow of its own.
        assert {p["date"]: p["value"] for p in old["series"]}[day] == "1500.00"
        assert {p["date"]: p["value"] for p in new["series"]}[day] == "1750.00"
        assert {p["date"]: p["flow"] for p in new["series"]}[day] == "250.00"
