"""The Norwegian tax engine (portfolios.tax, ARCHITECTURE 5d): hand-worked cases and
properties. Amounts are NOK unless a case says otherwise."""

from __future__ import annotations

from datetime import date
from decimal import Context, localcontext
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from portfolios import ledger, tax
from portfolios.tax import ORDINARY, Rates

NO_RATES: dict = {}


def trade(
    kind,
    day,
    quantity,
    price,
    *,
    portfolio=1,
    symbol="EQNR.OL",
    fees="0",
    rate="1",
    nok="1",
    wrapper=ORDINARY,
    id=0,
):
    return tax.trade_event(
        wrapper=wrapper,
        portfolio_id=portfolio,
        symbol=symbol,
        type=kind,
        date=day,
        quantity=D(quantity),
        price=D(price),
        fees=D(fees),
        exchange_rate=D(rate),
        nok_rate=D(nok),
        id=id,
    )


def test_fifo_across_two_portfolios_against_average_cost():
    # Buy 10 @ 100 in A (cost 1,000), then 10 @ 200 in B (cost 2,000); B sells 5 @ 250
    # (proceeds 1,250). FIFO takes the oldest shares, A's: cost 5 x 100 = 500, gain 750.
    # B's own average-cost ledger removes 5 x 200 = 1,000: gain 250.
    events = [
        trade("BUY", date(2023, 1, 10), "10", "100", portfolio=1, id=1),
        trade("BUY", date(2023, 2, 10), "10", "200", portfolio=2, id=2),
        trade("SELL", date(2023, 3, 10), "5", "250", portfolio=2, id=3),
    ]
    result = tax.run(events, [], NO_RATES, date(2023, 12, 31))
    (sale,) = result.sales
    assert (sale.cost, sale.gain) == (D(500), D(750))
    assert (sale.average_cost, sale.average_cost_gain) == (D(1000), D(250))
    assert [(p.portfolio_id, p.quantity) for p in sale.pieces] == [(1, D(5))]
    # Left: 5 of A's lot (cost 500) and B's whole lot.
    assert [(lot.portfolio_id, lot.quantity, lot.cost) for lot in result.lots] == [
        (1, D(5), D(500)),
        (2, D(10), D(2000)),
    ]
    report = tax.year_report(result, 2023, NO_RATES, {"EQNR.OL": D(300)})
    assert report.totals.fifo_gain == D(750)
    assert report.totals.average_cost_gain == D(250)
    assert report.holdings[0].value == D(4500)  # 15 x 300
    assert report.totals.tax_estimate is None  # no multiplier for 2023 in this test
    assert report.missing_rates == [2023]


def test_shielding_over_two_years_carried_into_a_sale():
    # Rates set here: 2022 2 %, 2023 5 %, factor 1.5 in 2024.
    rates = {2022: Rates(D("0.02")), 2023: Rates(D("0.05")), 2024: Rates(D("0.01"), D("1.5"))}
    events = [
        trade("BUY", date(2022, 6, 1), "10", "100", fees="0", id=1),  # cost 1,000
        trade("SELL", date(2024, 5, 1), "10", "150", id=2),  # proceeds 1,500
    ]
    # 31.12.2022: 1,000 x 2 % = 20. 31.12.2023: (1,000 + 20) x 5 % = 51, unused 71.
    # Sold in 2024: no shielding for 2024; gain 500 - 71 = 429 taxable.
    result = tax.run(events, [], rates, date(2024, 12, 31))
    (sale,) = result.sales
    assert sale.gain == D(500)
    assert sale.shielding_used == D(71)
    assert sale.taxable_gain == D(429)
    report = tax.year_report(result, 2024, rates, {})
    # 429 x 22 % x 1.5 = 141.57
    assert report.totals.tax_estimate == D("141.570")
    assert report.totals.taxable_gain == D(429)


def test_shielding_used_against_a_dividend_rest_carried():
    rates = {2023: Rates(D("0.032"), D("1.72")), 2024: Rates(D("0.04"), D("1.72"))}
    events = [
        trade("BUY", date(2023, 1, 5), "100", "100", fees="0", id=1),  # cost 10,000
        trade("DIVIDEND", date(2023, 5, 20), "100", "2", fees="0.50", id=2),  # 200 gross
        trade("DIVIDEND", date(2024, 5, 20), "100", "5", id=3),  # 500 gross
    ]
    result = tax.run(events, [], rates, date(2023, 12, 31))
    report = tax.year_report(result, 2023, rates, {"EQNR.OL": D(110)})
    # 31.12.2023: 10,000 x 3.2 % = 320; 200 of it used against the dividend, 120 carried.
    (dividend,) = report.dividends
    assert (dividend.amount, dividend.withholding_tax) == (D(200), D("0.50"))
    assert dividend.shielding_used == D(200)
    assert dividend.taxable == 0
    (holding,) = report.holdings
    assert (holding.shielding, holding.shielding_unused) == (D(320), D(120))
    # 2024: (10,000 + 120) x 4 % = 404.80, plus 120 unused = 524.80 against 500: 24.80 left.
    result = tax.run(events, [], rates, date(2024, 12, 31))
    report = tax.year_report(result, 2024, rates, {"EQNR.OL": D(110)})
    assert report.dividends[0].shielding_used == D(500)
    assert report.holdings[0].shielding_unused == D("24.80")


def test_a_loss_is_not_deepened_by_shielding():
    rates = {2022: Rates(D("0.017")), 2023: Rates(D("0.032"), D("1.72"))}
    events = [
        trade("BUY", date(2022, 3, 1), "10", "100", id=1),  # 1,000; 17 shielding at 31.12.22
        trade("SELL", date(2023, 3, 1), "10", "80", id=2),  # 800: a loss of 200
    ]
    result = tax.run(events, [], rates, date(2023, 12, 31))
    (sale,) = result.sales
    assert (sale.gain, sale.shielding_used, sale.taxable_gain) == (D(-200), 0, D(-200))
    report = tax.year_report(result, 2023, rates, {})
    assert report.totals.deductible_loss == D(200)
    # A net loss is a deduction: -200 x 37.84 % = -75.68.
    assert report.totals.tax_estimate == D("-75.68")


def test_shielding_does_not_turn_a_small_gain_into_a_loss():
    rates = {2022: Rates(D("0.10"))}
    events = [
        trade("BUY", date(2022, 3, 1), "10", "100", id=1),  # 100 shielding at 31.12.2022
        trade("SELL", date(2023, 3, 1), "10", "103", id=2),  # gain 30
    ]
    (sale,) = tax.run(events, [], rates, date(2023, 12, 31)).sales
    assert (sale.gain, sale.shielding_used, sale.taxable_gain) == (D(30), D(30), D(0))


def test_a_split_between_buy_and_sell():
    # 10 @ 100 = 1,000; 2-for-1 split; sell 5 of the 20 new shares @ 60 = 300:
    # FIFO cost 1,000 x 5/20 = 250, gain 50. The same split recorded by a second portfolio
    # holding the share is one corporate action, applied once.
    events = [
        trade("BUY", date(2023, 1, 2), "10", "100", portfolio=1, id=1),
        trade("BUY", date(2023, 1, 3), "4", "100", portfolio=2, id=2),
        trade("SPLIT", date(2023, 6, 1), "2", "0", portfolio=1, id=3),
        trade("SPLIT", date(2023, 6, 2), "2", "0", portfolio=2, id=4),
        trade("SELL", date(2023, 7, 1), "5", "60", portfolio=1, id=5),
    ]
    result = tax.run(events, [], NO_RATES, date(2023, 12, 31))
    (sale,) = result.sales
    assert (sale.cost, sale.gain) == (D(250), D(50))
    assert [(lot.quantity, lot.cost) for lot in result.lots] == [(D(15), D(750)), (D(8), D(400))]


def test_usd_holding_at_trade_date_fx():
    # A NOK portfolio: the transaction's exchange_rate is USD->NOK on the day.
    # Buy 10 AAPL @ 150 USD at 10.00 + 50 NOK fees = 15,050; sell 10 @ 150 USD at 11.00
    # - 50 fees = 16,450: a gain of 1,400 NOK made of currency alone.
    events = [
        trade("BUY", date(2023, 1, 2), "10", "150", symbol="AAPL", fees="50", rate="10", id=1),
        trade("SELL", date(2023, 9, 1), "10", "150", symbol="AAPL", fees="50", rate="11", id=2),
    ]
    (sale,) = tax.run(events, [], NO_RATES, date(2023, 12, 31)).sales
    assert (sale.cost, sale.proceeds, sale.gain) == (D(15050), D(16450), D(1400))
    # A USD portfolio: exchange_rate 1, the portfolio's USD turned into NOK at each date's
    # stored rate (10.5, then 9.5): 1,505 USD x 10.5 = 15,802.5; 1,495 USD x 9.5 = 14,202.5.
    events = [
        trade("BUY", date(2023, 1, 2), "10", "150", symbol="AAPL", fees="5", nok="10.5", id=1),
        trade("SELL", date(2023, 9, 1), "10", "150", symbol="AAPL", fees="5", nok="9.5", id=2),
    ]
    (sale,) = tax.run(events, [], NO_RATES, date(2023, 12, 31)).sales
    assert (sale.cost, sale.proceeds, sale.gain) == (D("15802.5"), D("14202.5"), D(-1600))


def cash(kind, day, amount, portfolio=7, id=0):
    return tax.CashEvent(portfolio, kind, day, D(amount), id)


def test_ask_deposits_withdrawals_below_and_above():
    rates = {2023: Rates(D("0.032"), D("1.72")), 2024: Rates(D("0.04"), D("1.72"))}
    wrapper = tax.ask_wrapper(7)
    events = [trade("BUY", date(2023, 1, 5), "100", "100", portfolio=7, wrapper=wrapper, id=2)]
    flows = [
        cash("DEPOSIT", date(2023, 1, 2), "10000", id=1),
        cash("WITHDRAWAL", date(2023, 6, 1), "4000", id=3),  # below deposits: tax free
        cash("DEPOSIT", date(2023, 8, 1), "1000", id=4),
        cash("WITHDRAWAL", date(2024, 3, 1), "9000", id=5),  # deposits 7,000: 2,000 above
    ]
    result = tax.run(events, flows, rates, date(2023, 12, 31), asks=[7])
    # 2023: deposits 10,000 -> 6,000 -> 7,000; lowest 6,000; shielding 6,000 x 3.2 % = 192.
    report = tax.year_report(result, 2023, rates, {"EQNR.OL": D(150)}, {7: D(0)})
    (ask,) = report.ask
    assert (ask.deposits, ask.lowest_deposits, ask.shielding) == (D(7000), D(6000), D(192))
    assert ask.taxable_withdrawals == 0
    # Value 100 x 150 = 15,000; deferred (15,000 - 7,000 - 192) x 37.84 % = 2,954.5472.
    assert ask.tax_deferred_estimate == D("2954.547200")
    # Nothing inside the ASK reaches the ordinary report.
    assert report.holdings == [] and report.sales == []
    # 2024: 9,000 out of 7,000 deposits: 7,000 tax free, 2,000 above; deposits 0, lowest 0,
    # shielding (0 + 192) x 4 % = 7.68; 199.68 available against 2,000: 1,800.32 taxable.
    result = tax.run(events, flows, rates, date(2024, 12, 31), asks=[7])
    report = tax.year_report(result, 2024, rates, {"EQNR.OL": D(150)}, {7: D(0)})
    (ask,) = report.ask
    assert ask.deposits == 0
    assert ask.withdrawals == D(9000)
    assert ask.taxable_withdrawals == D("1800.32")
    assert report.totals.taxable_ask_withdrawals == D("1800.32")


def test_dividend_of_lots_sold_during_the_year_stays_taxable():
    rates = {2023: Rates(D("0.10"))}
    events = [
        trade("BUY", date(2023, 1, 2), "10", "100", id=1),
        trade("DIVIDEND", date(2023, 4, 1), "10", "5", id=2),  # 50 over 10 shares
        trade("SELL", date(2023, 5, 1), "5", "100", id=3),  # half the lot goes
    ]
    result = tax.run(events, [], rates, date(2023, 12, 31))
    report = tax.year_report(result, 2023, rates, {})
    # 5 shares left, cost 500: shielding 50, used against their 25 of the dividend.
    assert report.dividends[0].shielding_used == D(25)
    assert report.dividends[0].taxable == D(25)


def test_missing_rate_adds_no_shielding_and_is_reported():
    events = [trade("BUY", date(2021, 1, 2), "10", "100", id=1)]
    result = tax.run(events, [], {2021: Rates(D("0.005"))}, date(2022, 12, 31))
    assert result.missing_rates == {2022}
    assert result.lots[0].unused_shielding == D(5)


# -- properties -------------------------------------------------------------------------

_step = st.tuples(
    st.sampled_from(["BUY", "BUY", "SELL", "SPLIT", "DIVIDEND"]),
    st.integers(min_value=1, max_value=2),  # portfolio
    st.integers(min_value=0, max_value=900),  # days after the start
    st.decimals(min_value=D("0.5"), max_value=D("50"), places=2),  # quantity
    st.decimals(min_value=D("1"), max_value=D("500"), places=2),  # price
)


def _events(steps):
    """Valid ledgers per portfolio from random steps (sells capped at what is held), and
    the ledger entries of each portfolio."""
    held = {1: D(0), 2: D(0)}
    events, entries = [], {1: [], 2: []}
    start = date(2020, 1, 1)
    last_split = None
    steps = sorted(steps, key=lambda s: s[2])
    for n, (kind, portfolio, offset, quantity, price) in enumerate(steps, start=1):
        day = date.fromordinal(start.toordinal() + offset)
        if kind == "SELL":
            quantity = min(quantity, held[portfolio])
            if not quantity:
                continue
            held[portfolio] -= quantity
        elif kind == "SPLIT":
            # Splits of one factor within a week in different portfolios are one corporate
            # action to the engine: real splits of a share are further apart.
            if last_split is not None and (day - last_split).days <= tax.SPLIT_WINDOW_DAYS:
                continue
            last_split = day
            # A split is a corporate action: both portfolios record it (when they hold).
            for p in (1, 2):
                if held[p]:
                    held[p] *= 2
                    events.append(trade("SPLIT", day, "2", "0", portfolio=p, id=n * 10 + p))
                    entries[p].append(ledger.Entry("SPLIT", day, D(2), D(0), id=n * 10 + p))
            continue
        elif kind == "DIVIDEND":
            if not held[portfolio]:
                continue
            quantity = held[portfolio]
            price = D("1.5")
        else:
            held[portfolio] += quantity
        events.append(trade(kind, day, quantity, price, portfolio=portfolio, fees="1", id=n * 10))
        entries[portfolio].append(ledger.Entry(kind, day, quantity, price, fees=D(1), id=n * 10))
    return events, entries


@settings(max_examples=60, deadline=None)
@given(st.lists(_step, min_size=1, max_size=25))
def test_lots_quantities_equal_the_holdings(steps):
    events, entries = _events(steps)
    result = tax.run(
        events, [], {y: Rates(D("0.02")) for y in range(2020, 2023)}, date(2022, 12, 31)
    )
    lots = sum((lot.quantity for lot in result.lots), D(0))
    holdings = sum((ledger.replay(e).state.quantity for e in entries.values() if e), D(0))
    assert lots == holdings
    assert not result.warnings


@settings(max_examples=60, deadline=None)
@given(st.lists(_step, min_size=1, max_size=25))
def test_fifo_gains_equal_average_cost_gains_once_all_sold(steps):
    events, entries = _events(steps)
    # Sell everything that is left at the end, in each portfolio.
    end = date(2023, 6, 1)
    for portfolio, own in entries.items():
        left = ledger.replay(own).state.quantity if own else D(0)
        if left:
            events.append(trade("SELL", end, left, "77", portfolio=portfolio, id=10**6 + portfolio))
            own.append(ledger.Entry("SELL", end, left, D(77), id=10**6 + portfolio))
    result = tax.run(events, [], NO_RATES, date(2023, 12, 31))
    with localcontext(Context(prec=60)):  # every figure has at most 12 decimals: exact
        fifo = sum((s.gain for s in result.sales), D(0))
        average = sum((s.average_cost_gain for s in result.sales), D(0))
    assert fifo == average
    # And both equal the portfolios' own ledgers with dividends as income only.
    ledgers = ledger.sum_money(
        [
            ledger.replay(own, dividends_reduce_cost_basis=False).state.realized_gain
            for own in entries.values()
            if own
        ]
    )
    assert fifo == ledgers
    assert result.lots == []


def test_tax_if_sold_today_takes_the_oldest_lots():
    rates = Rates(D("0.01"), D("1.72"))
    lots = [
        tax.Lot(ORDINARY, "EQNR.OL", date(2022, 1, 1), 1, D(10), D(1000), D(30), buy_id=1),
        tax.Lot(ORDINARY, "EQNR.OL", date(2023, 1, 1), 2, D(10), D(2000), D(0), buy_id=2),
    ]
    prices = {"EQNR.OL": D(250)}
    # Selling 5 (portfolio 2's count) takes 5 of the 2022 lot: 1,250 - 500 = 750 gain,
    # less half its 30 unused shielding = 735 x 37.84 % = 278.124.
    assert tax.tax_if_sold(lots, prices, rates, {"EQNR.OL": D(5)}) == D("278.12400")
    # Everything: (2,500 - 1,000 - 30) + (2,500 - 2,000) = 1,970 x 37.84 % = 745.448.
    assert tax.tax_if_sold(lots, prices, rates) == D("745.4480")
    # At a loss overall: no tax, not a negative one.
    assert tax.tax_if_sold(lots, {"EQNR.OL": D(50)}, rates) == 0
    assert tax.tax_if_sold(lots, {}, rates) is None
    assert tax.tax_if_sold(lots, prices, Rates(D("0.01"))) is None


def test_the_rate_on_ordinary_income_is_22_percent_from_2019_only():
    # 2023: 22 % x 1.72 = 37.84 %; before 2019 the rate was higher and is not shipped.
    assert tax.ordinary_income_rate(2019) == D("0.22")
    assert tax.ordinary_income_rate(2018) is None
    assert tax.tax_rate(Rates(D("0.032"), D("1.72"), tax.ordinary_income_rate(2023))) == D("0.3784")
    assert tax.tax_rate(Rates(D("0.008"), D("1.33"), tax.ordinary_income_rate(2018))) is None


def test_withholding_is_credited_only_up_to_the_norwegian_tax_on_the_dividend():
    rates = {2023: Rates(D("0.10"), D("1.72"))}
    events = [
        trade("BUY", date(2023, 1, 2), "10", "100", symbol="KO", id=1),
        # 10 x 15 = 150 gross, 15 % withheld (22.50).
        trade("DIVIDEND", date(2023, 6, 1), "10", "15", symbol="KO", fees="22.50", id=2),
        trade("BUY", date(2023, 1, 2), "10", "100", symbol="SAP.DE", id=3),
        # 10 x 5 = 50 gross, 7.50 withheld; the shielding (100) covers it all.
        trade("DIVIDEND", date(2023, 6, 1), "10", "5", symbol="SAP.DE", fees="7.50", id=4),
    ]
    report = tax.year_report(tax.run(events, [], rates, date(2023, 12, 31)), 2023, rates, {})
    # KO: shielding 1,000 x 10 % = 100; taxable 150 - 100 = 50; Norwegian tax on it
    # 50 x 22 % x 1.72 = 18.92 < 22.50 withheld: 18.92 credited. SAP.DE: taxable 0, tax 0,
    # nothing credited. Withheld 30.00 in all, 18.92 creditable.
    assert report.totals.withholding_tax == D("30.00")
    assert report.totals.withholding_credit == D("18.92")
    assert report.totals.tax_estimate == D("18.92")
    # Without the year's multiplier the credit is unknown, not 0.
    no_factor = {2023: Rates(D("0.10"))}
    result = tax.run(events, [], no_factor, date(2023, 12, 31))
    assert tax.year_report(result, 2023, no_factor, {}).totals.withholding_credit is None


class _Straight(tax._Run):
    """The engine as first written: every sale and dividend sums its lots' quantities,
    and a dividend computes each lot's part anew. The reference of the running sums and
    the shared parts that make a household of thousands of lots fast."""

    def held(self, key):
        return sum((lot.quantity for lot in self.lots[key]), D(0))

    def dividend(self, e, key):
        row = self.dividends.get(key)
        if row is None:
            row = self.dividends[key] = tax.DividendYear(e.wrapper, e.symbol, e.date.year)
        row.amount += e.amount
        row.withholding_tax += e.withholding
        lots = self.lots[key]
        held = sum((lot.quantity for lot in lots), D(0))
        if not held:
            return
        left = e.amount
        for n, lot in enumerate(lots):
            part = (
                left
                if n == len(lots) - 1
                else (e.amount * lot.quantity / held).quantize(tax.QUANTUM)
            )
            lot.dividends += part
            left -= part


# Equal quantities written with different exponents share a dividend part: the same.
_same_values = st.sampled_from([D("1"), D("1.0"), D("2.50"), D("2.5"), D("0.333"), D("7")])


@settings(max_examples=80, deadline=None)
@given(
    st.lists(_step, min_size=15, max_size=40),
    st.lists(_same_values, min_size=40, max_size=40),
    st.sampled_from([date(2021, 6, 30), date(2022, 12, 31)]),
)
def test_the_engine_equals_the_straightforward_computation(steps, quantities, through):
    # Every figure, to its last digit and exponent (repr), as the plain engine gives it.
    steps = [
        (kind, p, day, quantities[n] if n % 2 else quantity, price)
        for n, (kind, p, day, quantity, price) in enumerate(steps)
    ]
    events, _entries = _events(steps)
    rates = {y: Rates(D("0.032"), D("1.72")) for y in range(2020, 2023)}
    fast = tax.run(events, [], rates, through)
    with localcontext(tax._CONTEXT):
        straight = _Straight(rates, through).go(events, [])
    assert repr(fast) == repr(straight)
