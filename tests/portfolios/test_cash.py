"""Cash per portfolio (ARCHITECTURE section 5): the pure arithmetic (portfolios.cash) and
the one write path (services) that stores Portfolio.cash_balance with every change."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from portfolios import cash, services
from portfolios.models import Portfolio, Transaction
from tests.factories import InstrumentFactory, PortfolioFactory

D = Decimal


@pytest.fixture(autouse=True)
def _stored_market_data_only(settings):
    settings.MARKETDATA_PROVIDER = "offline"


@pytest.fixture
def account(owner):
    return PortfolioFactory(user=owner, name="Nordnet", currency="NOK", track_cash=True)


@pytest.fixture
def equinor(db):
    return InstrumentFactory(ticker="EQNR.OL", currency="NOK")


@pytest.fixture
def apple(db):
    return InstrumentFactory(ticker="AAPL", currency="USD", exchange="NMS")


def deposit(portfolio, amount, day=dt.date(2024, 1, 2), type="DEPOSIT", **kw):
    return services.record_transaction(
        portfolio=portfolio, type=type, date=day, amount=D(amount), **kw
    )


def balance(portfolio) -> Decimal:
    return Portfolio.objects.get(pk=portfolio.pk).cash_balance


# -- pure ---------------------------------------------------------------------------------


def test_effects_and_rounding_to_cents():
    assert cash.effect("DEPOSIT", D("100")) == D("100.00")
    assert cash.effect("WITHDRAWAL", D("100")) == D("-100.00")
    assert cash.effect("BUY", D("15240.732384")) == D("-15240.73")
    assert cash.effect("SELL", D("0.005")) == D("0.01")  # half up, as banks book
    assert cash.effect("SPLIT", D("0")) == 0
    movements = [
        cash.Movement("DEPOSIT", dt.date(2024, 1, 1), D("1000")),
        cash.Movement("BUY", dt.date(2024, 1, 3), D("1200.004")),
        cash.Movement("INTEREST", dt.date(2024, 1, 5), D("1.10")),
    ]
    # 1000 - 1200.00 + 1.10 = -198.90: credit in use
    assert cash.balance(movements) == D("-198.90")
    days = [dt.date(2023, 12, 31), dt.date(2024, 1, 1), dt.date(2024, 1, 4), dt.date(2024, 1, 9)]
    assert cash.daily_balances(movements, days) == [0, D("1000"), D("-200.00"), D("-198.90")]
    same_day = [
        cash.Movement("FEE", dt.date(2024, 1, 1), D("5"), id=9),
        cash.Movement("DEPOSIT", dt.date(2024, 1, 1), D("100"), id=3),
    ]
    assert [(m.id, b) for m, b in cash.running_balances(same_day)] == [(3, 100), (9, 95)]
    assert cash.external_flows(
        [*movements, cash.Movement("WITHDRAWAL", dt.date(2024, 1, 1), D("5"))]
    ) == {dt.date(2024, 1, 1): (D("1000.00"), D("5.00"))}


# -- the hand-worked sequence through the services -----------------------------------------


def test_hand_worked_sequence(account, equinor, apple):
    record = services.record_transaction
    deposit(account, "100000.00", dt.date(2024, 1, 2))
    assert balance(account) == D("100000.00")
    # BUY 100 EQNR at 300.25 + 49 fees: cost 30,025 + 49 = 30,074.00
    record(portfolio=account, instrument=equinor, type="BUY", date=dt.date(2024, 1, 3),
           quantity=D(100), price=D("300.25"), fees=D(49))  # fmt: skip
    assert balance(account) == D("69926.00")  # 100,000 - 30,074
    # BUY 10 AAPL at 185.13 USD x 10.5123 + 15.94 fees:
    # gross 1,851.30 x 10.5123 = 19,461.42099; cost 19,477.36099, booked 19,477.36
    buy = record(portfolio=account, instrument=apple, type="BUY", date=dt.date(2024, 2, 1),
                 quantity=D(10), price=D("185.13"), fees=D("15.94"),
                 exchange_rate=D("10.5123"))  # fmt: skip
    assert buy.total_amount == D("19477.3610")  # stored at 4 dp
    assert balance(account) == D("50448.64")  # 69,926 - 19,477.36
    # DIVIDEND 10 x 0.24 USD x 10.80 = 25.92, withholding 3.89: net 22.03
    record(portfolio=account, instrument=apple, type="DIVIDEND", date=dt.date(2024, 5, 15),
           quantity=D(10), price=D("0.24"), fees=D("3.89"), exchange_rate=D("10.80"))  # fmt: skip
    assert balance(account) == D("50470.67")  # 50,448.64 + 22.03
    deposit(account, "49.00", dt.date(2024, 6, 1), type="FEE", notes="Platform fee")
    assert balance(account) == D("50421.67")  # - 49
    deposit(account, "12.34", dt.date(2024, 6, 30), type="INTEREST")
    assert balance(account) == D("50434.01")  # + 12.34
    # SELL 40 EQNR at 350.50 - 49 fees: proceeds 14,020 - 49 = 13,971.00
    record(portfolio=account, instrument=equinor, type="SELL", date=dt.date(2024, 9, 2),
           quantity=D(40), price=D("350.50"), fees=D(49))  # fmt: skip
    assert balance(account) == D("64405.01")  # + 13,971
    withdrawal = deposit(account, "10000", dt.date(2024, 12, 2), type="WITHDRAWAL")
    assert balance(account) == D("54405.01")  # - 10,000
    assert withdrawal.holding_id is None and withdrawal.total_amount == D("10000")
    assert withdrawal.quantity == 0 and withdrawal.exchange_rate == 1

    # Editing and deleting move the balance in the same transaction.
    services.update_transaction(withdrawal, amount=D("60000"))
    assert balance(account) == D("4405.01")
    services.update_transaction(withdrawal, amount=D("70000"))
    assert balance(account) == D("-5594.99")  # negative: credit in use, allowed
    services.delete_transaction(Transaction.objects.get(pk=withdrawal.pk))
    assert balance(account) == D("64405.01")
    # An instrument transaction's edit too: the sale at 360.50 brings 400 more.
    sell = Transaction.objects.get(type="SELL")
    services.update_transaction(sell, price=D("360.50"))
    assert balance(account) == D("64805.01")
    # Deleting the AAPL holding takes its buy (19,477.36) and dividend (22.03) with it.
    services.delete_holding(buy.holding)
    assert balance(account) == D("84260.34")  # 64,805.01 + 19,477.36 - 22.03

    # Off: no cash is kept; on again: everything recorded counts again.
    account.track_cash = False
    services.save_portfolio(account)
    assert balance(account) == 0
    account.track_cash = True
    services.save_portfolio(account)
    assert balance(account) == D("84260.34")


def test_batch_of_cash_and_trades(account, equinor):
    txns = services.record_transactions(
        account,
        [
            services.NewTransaction.cash(type="DEPOSIT", date=dt.date(2024, 1, 2), amount=D(1000)),
            services.NewTransaction(
                instrument=equinor,
                type="BUY",
                date=dt.date(2024, 1, 3),
                quantity=D(3),
                price=D("333.33"),
                fees=D(0),
            ),  # fmt: skip
        ],
    )
    assert [t.type for t in txns] == ["DEPOSIT", "BUY"]
    assert balance(account) == D("0.01")  # 1000 - 999.99


def test_a_portfolio_without_track_cash_refuses_cash(owner):
    plain = PortfolioFactory(user=owner, name="Plain", track_cash=False)
    with pytest.raises(ValidationError) as caught:
        deposit(plain, "100")
    assert "type" in caught.value.message_dict
    assert "does not track cash" in caught.value.message_dict["type"][0]
    assert not Transaction.objects.exists()


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("0", "greater than 0"),
        ("-5", "greater than 0"),
        ("10.005", "whole cents"),
        ("100000000000", "too large"),
    ],
)
def test_amount_rules(account, amount, words):
    with pytest.raises(ValidationError) as caught:
        deposit(account, amount)
    assert words in caught.value.message_dict["amount"][0]
    assert not Transaction.objects.exists()
    assert balance(account) == 0


def test_date_rules(account):
    with pytest.raises(ValidationError) as caught:
        deposit(account, "10", dt.date.today() + dt.timedelta(days=3))
    assert "date" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        deposit(account, "10", dt.date(1899, 12, 31))
    assert "date" in caught.value.message_dict


def test_a_batch_with_one_bad_cash_entry_saves_nothing(account):
    with pytest.raises(services.Rejected) as caught:
        services.record_transactions(
            account,
            [
                services.NewTransaction.cash(type="DEPOSIT", date=dt.date(2024, 1, 2), amount=D(5)),
                services.NewTransaction.cash(type="FEE", date=dt.date(2024, 1, 3), amount=D(-1)),
            ],
        )
    assert list(caught.value.errors) == [1]
    assert not Transaction.objects.exists()


def test_cash_and_trade_types_do_not_swap(account, equinor):
    dep = deposit(account, "100")
    with pytest.raises(ValidationError) as caught:
        services.update_transaction(dep, type="BUY")
    assert "type" in caught.value.message_dict
    services.update_transaction(dep, type="INTEREST", notes="Q1")
    dep.refresh_from_db()
    assert (dep.type, dep.notes, balance(account)) == ("INTEREST", "Q1", D("100.00"))
    buy = services.record_transaction(
        portfolio=account, instrument=equinor, type="BUY", date=dt.date(2024, 1, 3),
        quantity=D(1), price=D(10),
    )  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        services.update_transaction(buy, type="DEPOSIT")
    assert "type" in caught.value.message_dict
    assert balance(account) == D("90.00")


def test_trades_without_track_cash_leave_the_balance_at_zero(owner, equinor):
    plain = PortfolioFactory(user=owner, name="Plain")
    services.record_transaction(
        portfolio=plain, instrument=equinor, type="BUY", date=dt.date(2024, 1, 3),
        quantity=D(1), price=D(10),
    )  # fmt: skip
    assert balance(plain) == 0


def test_saving_a_stale_portfolio_instance_keeps_the_stored_balance(account):
    stale = Portfolio.objects.get(pk=account.pk)  # read before the deposit
    deposit(account, "300")
    stale.description = "renamed elsewhere"
    services.save_portfolio(stale)
    assert balance(account) == D("300")


_TYPES = ["DEPOSIT", "WITHDRAWAL", "INTEREST", "FEE", "BUY", "SELL", "DIVIDEND", "SPLIT"]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(_TYPES),
            st.dates(dt.date(2020, 1, 1), dt.date(2020, 12, 31)),
            st.decimals(min_value=0, max_value=10**9, places=4, allow_nan=False),
        ),
        max_size=40,
    )
)
def test_the_balance_is_the_signed_sum_in_any_order(rows):
    movements = [cash.Movement(*row) for row in rows]
    inflow = {"DEPOSIT", "INTEREST", "SELL", "DIVIDEND"}
    outflow = {"WITHDRAWAL", "FEE", "BUY"}
    expected = sum((cash.booked(a) for t, _, a in rows if t in inflow), D(0)) - sum(
        (cash.booked(a) for t, _, a in rows if t in outflow), D(0)
    )
    assert cash.balance(movements) == expected
    assert cash.balance(reversed(movements)) == expected
    last = [dt.date(2020, 12, 31)]
    assert cash.daily_balances(movements, last) == [expected]


def test_the_balance_follows_every_write_as_a_full_replay_would(account, equinor):
    """Writes move the stored balance by what they change (no re-read of the history):
    after each one it equals the balance replayed from every transaction."""

    def check():
        stored = balance(account)
        assert stored == services.recompute_cash(Portfolio.objects.get(pk=account.pk))

    record = services.record_transaction
    first = deposit(account, "1000")
    buy = record(portfolio=account, instrument=equinor, type="BUY", date=dt.date(2024, 1, 3),
                 quantity=D(3), price=D("10.333"), fees=D("1.111"))  # fmt: skip
    check()  # 1,000 - (30.999 + 1.111 = 32.11) = 967.89
    assert balance(account) == D("967.89")
    sell = record(portfolio=account, instrument=equinor, type="SELL", date=dt.date(2024, 1, 4),
                  quantity=D(1), price=D(12))  # fmt: skip
    services.update_transaction(buy, quantity=D(4))  # 41.332 + 1.111 = 42.443 -> 42.44
    check()
    assert balance(account) == D("969.56")  # 1,000 - 42.44 + 12
    services.delete_transactions([first, sell])
    check()
    assert balance(account) == D("-42.44")
    # A stored amount that was wrong (damaged data) is corrected by the next replay of its
    # holding, and the balance with it.
    Transaction.objects.filter(pk=buy.pk).update(total_amount=D("1"))
    record(portfolio=account, instrument=equinor, type="BUY", date=dt.date(2024, 1, 5),
           quantity=D(1), price=D(10))  # fmt: skip
    assert Transaction.objects.get(pk=buy.pk).total_amount == D("42.4430")
    check()
    assert balance(account) == D("-52.44")
