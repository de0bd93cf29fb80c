from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portfolios import ledger, services
from portfolios.models import Holding, Transaction
from tests.factories import InstrumentFactory, PortfolioFactory, UserFactory, record

D = Decimal
JAN = dt.date(2024, 1, 2)
FEB = dt.date(2024, 2, 1)
MAR = dt.date(2024, 3, 1)

requires_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks need PostgreSQL: select_for_update is a no-op on SQLite, "
    "which serializes writers itself",
)


@pytest.fixture
def portfolio(owner):
    return PortfolioFactory(user=owner, name="Nordnet ASK")


@pytest.fixture
def equinor(db):
    return InstrumentFactory(ticker="EQNR.OL")


@pytest.fixture
def dnb(db):
    return InstrumentFactory(ticker="DNB.OL")


def holding_figures(holding: Holding) -> dict:
    holding = Holding.objects.get(pk=holding.pk)
    return {
        field: getattr(holding, field)
        for field in ("quantity", "average_cost", "total_cost", "realized_gain", "dividends")
    }


def quantity_error(caught) -> str:
    errors = caught.value.message_dict
    assert list(errors) == ["quantity"]
    return errors["quantity"][0]


# -- record --------------------------------------------------------------------------


def test_it_creates_the_holding_with_replayed_figures(portfolio, equinor):
    # buy 3 x 10 + 1 = 31: average 10.333... stored to 6 dp
    txn = record(portfolio, equinor, quantity="3", price="10", fees="1")

    holding = Holding.objects.get(portfolio=portfolio, instrument=equinor)
    assert txn.holding == holding
    assert txn.portfolio == portfolio
    assert txn.total_amount == D("31")
    assert txn.average_cost_at_transaction == D("10.333333")
    assert holding.quantity == D("3")
    assert holding.total_cost == D("31")
    assert holding.average_cost == D("10.333333")
    assert holding.fees == D("1")
    assert holding.realized_gain == 0


def test_it_replays_the_whole_holding_on_every_record(portfolio, equinor):
    # buy 20 x 100 + 20 = 2020 (avg 101); sell 5 x 130 - 10 = 640: realized 135
    # dividend 15 x 4 = 60 reduces cost: 1515 - 60 = 1455, avg 97
    record(portfolio, equinor, quantity="20", price="100", fees="20", date=JAN)
    sale = record(portfolio, equinor, "SELL", quantity="5", price="130", fees="10", date=FEB)
    dividend = record(portfolio, equinor, "DIVIDEND", quantity="15", price="4", date=MAR)

    holding = Holding.objects.get()
    assert holding_figures(holding) == {
        "quantity": D("15"),
        "average_cost": D("97"),
        "total_cost": D("1455"),
        "realized_gain": D("135"),
        "dividends": D("60"),
    }
    assert (sale.total_amount, sale.average_cost_at_transaction) == (D("640"), D("101"))
    assert (dividend.total_amount, dividend.average_cost_at_transaction) == (D("60"), D("97"))


def test_it_stores_what_the_ledger_computes(portfolio):
    # A foreign instrument: only there may the rate be other than 1.
    apple = InstrumentFactory(ticker="AAPL", currency="USD")
    record(portfolio, apple, quantity="7", price="123.456789", fees="9.99", exchange_rate="1.1")
    record(portfolio, apple, quantity="3", price="99.1", fees="4.5", date=FEB)
    record(portfolio, apple, "SELL", quantity="4", price="150", fees="3", date=MAR)

    holding = Holding.objects.get()
    txns = list(holding.transactions.order_by("date", "id"))
    expected = ledger.replay([services._entry_for(t) for t in txns])
    assert holding.quantity == expected.state.quantity
    assert holding.total_cost == expected.state.total_cost.quantize(D("0.0001"))
    assert holding.realized_gain == expected.state.realized_gain.quantize(D("0.0001"))
    assert holding.average_cost == expected.state.average_cost.quantize(D("0.000001"))
    for txn, applied in zip(txns, expected.applied, strict=True):
        assert txn.total_amount == applied.total_amount.quantize(D("0.0001"))


def test_it_rejects_oversell_and_saves_nothing(portfolio, equinor):
    record(portfolio, equinor, quantity="10", price="100", date=JAN)
    holding = Holding.objects.get()
    before = holding_figures(holding)

    with pytest.raises(ValidationError) as caught:
        record(portfolio, equinor, "SELL", quantity="10.5", price="120", date=FEB)

    message = quantity_error(caught)
    assert "10.5" in message
    assert "2024-02-01" in message
    assert "only 10 held" in message
    assert Transaction.objects.count() == 1
    assert holding_figures(holding) == before


def test_it_leaves_no_holding_behind_when_the_first_transaction_is_rejected(portfolio, equinor):
    with pytest.raises(ValidationError) as caught:
        record(portfolio, equinor, "SELL", quantity="1", price="100")

    assert "2024-01-02" in quantity_error(caught)
    assert not Holding.objects.exists()
    assert not Transaction.objects.exists()


def test_it_rejects_a_backdated_sell_before_the_buy(portfolio, equinor):
    record(portfolio, equinor, quantity="10", price="100", date=FEB)

    with pytest.raises(ValidationError) as caught:
        record(portfolio, equinor, "SELL", quantity="5", price="100", date=JAN)

    assert "2024-01-02" in quantity_error(caught)
    assert Transaction.objects.count() == 1


def test_it_orders_a_same_day_sell_after_earlier_entries(portfolio, equinor):
    record(portfolio, equinor, quantity="10", price="100", date=JAN)

    record(portfolio, equinor, "SELL", quantity="10", price="100", date=JAN)

    assert Holding.objects.get().quantity == 0


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("price", {"price": "-0.01"}),
        ("price", {"price": "abc"}),
        ("quantity", {"quantity": "0"}),
        ("quantity", {"quantity": "-1"}),
        ("quantity", {"quantity": "0.0000001"}),  # more than 6 decimal places
        ("fees", {"fees": "-1"}),
        ("exchange_rate", {"exchange_rate": "0"}),
        ("type", {"type": "TRANSFER"}),
    ],
)
def test_it_rejects_invalid_fields_by_name(portfolio, equinor, field, values):
    kwargs = {
        "portfolio": portfolio,
        "instrument": equinor,
        "type": "BUY",
        "date": JAN,
        "quantity": D("10"),
        "price": D("100"),
        "fees": D("0"),
        "exchange_rate": D("1"),
    }
    # "abc" is the wrong type on purpose: the service must not trust its callers
    kwargs.update({k: v if k == "type" or v == "abc" else D(v) for k, v in values.items()})

    with pytest.raises(ValidationError) as caught:
        services.record_transaction(**kwargs)

    assert field in caught.value.message_dict
    assert not Holding.objects.exists()
    assert not Transaction.objects.exists()


def test_it_locks_the_holding_row(portfolio, equinor):
    record(portfolio, equinor, quantity="10", price="100")

    with CaptureQueriesContext(connection) as queries:
        record(portfolio, equinor, "SELL", quantity="4", price="110", date=FEB)

    assert Holding.objects.get().quantity == D("6")
    locking = [q["sql"] for q in queries if "FOR UPDATE" in q["sql"]]
    if connection.vendor == "postgresql":
        assert locking
        assert any('"portfolios_holding"' in sql for sql in locking)
    else:
        # select_for_update compiles to a plain SELECT where the database has no row locks
        assert connection.features.has_select_for_update is False
        assert locking == []


# -- update --------------------------------------------------------------------------


def test_editing_a_transaction_replays_the_holding(portfolio, equinor):
    buy = record(portfolio, equinor, quantity="10", price="100", date=JAN)
    record(portfolio, equinor, "SELL", quantity="5", price="120", date=FEB)

    # buy now 10 x 90 + 10 = 910, avg 91; sale 600 - 455 = 145
    services.update_transaction(buy, price=D("90"), fees=D("10"))

    holding = Holding.objects.get()
    assert holding.total_cost == D("455")
    assert holding.realized_gain == D("145")
    buy.refresh_from_db()
    assert buy.total_amount == D("910")


def test_it_rejects_an_edit_that_makes_a_later_sell_oversell(portfolio, equinor):
    buy = record(portfolio, equinor, quantity="10", price="100", date=JAN)
    sale = record(portfolio, equinor, "SELL", quantity="8", price="120", date=FEB)
    before = holding_figures(buy.holding)

    with pytest.raises(ValidationError) as caught:
        services.update_transaction(buy, quantity=D("5"))

    message = quantity_error(caught)
    assert f"#{sale.pk}" in message
    assert "2024-02-01" in message
    buy.refresh_from_db()
    assert buy.quantity == D("10")
    assert holding_figures(buy.holding) == before


def test_it_rejects_moving_a_buy_after_the_sell_that_needs_it(portfolio, equinor):
    buy = record(portfolio, equinor, quantity="10", price="100", date=JAN)
    sale = record(portfolio, equinor, "SELL", quantity="8", price="120", date=FEB)

    with pytest.raises(ValidationError) as caught:
        services.update_transaction(buy, date=MAR)

    assert f"#{sale.pk}" in quantity_error(caught)
    buy.refresh_from_db()
    assert buy.date == JAN


def test_moving_a_transaction_to_another_instrument_replays_both(portfolio, equinor, dnb):
    record(portfolio, equinor, quantity="10", price="100", date=JAN)
    moved = record(portfolio, equinor, quantity="5", price="110", date=FEB)
    record(portfolio, dnb, quantity="2", price="50", date=JAN)

    services.update_transaction(moved, instrument=dnb)

    equinor_holding = Holding.objects.get(instrument=equinor)
    dnb_holding = Holding.objects.get(instrument=dnb)
    assert (equinor_holding.quantity, equinor_holding.total_cost) == (D("10"), D("1000"))
    # 2 x 50 + 5 x 110 = 650 for 7 shares
    assert (dnb_holding.quantity, dnb_holding.total_cost) == (D("7"), D("650"))
    moved.refresh_from_db()
    assert moved.holding == dnb_holding
    assert moved.average_cost_at_transaction == D("92.857143")  # 650 / 7


def test_moving_the_only_transaction_removes_the_old_holding(portfolio, equinor, dnb):
    txn = record(portfolio, equinor, quantity="10", price="100")

    services.update_transaction(txn, instrument=dnb)

    assert list(Holding.objects.values_list("instrument__ticker", "quantity")) == [
        ("DNB.OL", D("10"))
    ]


def test_it_rejects_moving_a_buy_a_sell_depends_on(portfolio, equinor, dnb):
    buy = record(portfolio, equinor, quantity="10", price="100", date=JAN)
    sale = record(portfolio, equinor, "SELL", quantity="3", price="100", date=FEB)

    with pytest.raises(ValidationError) as caught:
        services.update_transaction(buy, instrument=dnb)

    assert f"#{sale.pk}" in quantity_error(caught)
    assert not Holding.objects.filter(instrument=dnb).exists()
    assert Holding.objects.get(instrument=equinor).quantity == D("7")


def test_it_refuses_to_edit_derived_fields(portfolio, equinor):
    txn = record(portfolio, equinor, quantity="10", price="100")

    with pytest.raises(ValueError, match="total_amount"):
        services.update_transaction(txn, total_amount=D("1"))


def test_it_rejects_an_invalid_edit_by_field(portfolio, equinor):
    txn = record(portfolio, equinor, quantity="10", price="100")

    with pytest.raises(ValidationError) as caught:
        services.update_transaction(txn, price=D("-1"))

    assert "price" in caught.value.message_dict
    txn.refresh_from_db()
    assert txn.price == D("100")


# -- delete --------------------------------------------------------------------------


def test_deleting_a_transaction_replays_the_holding(portfolio, equinor):
    record(portfolio, equinor, quantity="10", price="100", date=JAN)
    sale = record(portfolio, equinor, "SELL", quantity="4", price="150", date=FEB)

    holding = services.delete_transaction(sale)

    assert holding is not None
    assert holding_figures(holding) == {
        "quantity": D("10"),
        "average_cost": D("100"),
        "total_cost": D("1000"),
        "realized_gain": D("0"),
        "dividends": D("0"),
    }


def test_deleting_the_last_transaction_deletes_the_holding(portfolio, equinor):
    buy = record(portfolio, equinor, quantity="10", price="100", date=JAN)
    sale = record(portfolio, equinor, "SELL", quantity="10", price="150", date=FEB)

    assert services.delete_transaction(sale) is not None
    assert services.delete_transaction(buy) is None

    assert not Holding.objects.exists()
    assert not Transaction.objects.exists()


def test_it_rejects_deleting_a_buy_a_later_sell_needs(portfolio, equinor):
    first = record(portfolio, equinor, quantity="6", price="100", date=JAN)
    record(portfolio, equinor, quantity="4", price="100", date=FEB)
    sale = record(portfolio, equinor, "SELL", quantity="5", price="120", date=MAR)
    before = holding_figures(first.holding)

    with pytest.raises(ValidationError) as caught:
        services.delete_transaction(first)

    message = quantity_error(caught)
    assert f"#{sale.pk}" in message
    assert "2024-03-01" in message
    assert Transaction.objects.filter(pk=first.pk).exists()
    assert holding_figures(first.holding) == before


# -- check_change ----------------------------------------------------------------------


def change(portfolio, instrument, existing=None, **values) -> services.Change:
    defaults = {"type": "BUY", "date": JAN, "quantity": D("1"), "price": D("100")}
    return services.Change(portfolio, instrument, {**defaults, **values}, existing)


def test_check_change_rejects_an_oversell_like_the_service_without_saving(portfolio, equinor):
    record(portfolio, equinor, quantity="10", price="100", date=JAN)

    with pytest.raises(ValidationError) as checked:
        services.check_change(change(portfolio, equinor, type="SELL", date=FEB, quantity=D("11")))
    assert Transaction.objects.count() == 1

    with pytest.raises(ValidationError) as recorded:
        record(portfolio, equinor, "SELL", quantity="11", price="100", date=FEB)

    assert quantity_error(checked) == quantity_error(recorded)


def test_check_change_accepts_what_the_service_accepts(portfolio, equinor):
    record(portfolio, equinor, quantity="10", price="100", fees="10", date=JAN)
    values = {"type": "SELL", "date": FEB, "quantity": D("4"), "price": D("120")}

    checked = services.check_change(change(portfolio, equinor, **values))

    assert Transaction.objects.count() == 1
    assert Holding.objects.get().quantity == D("10")
    # 1010 / 10 = 101 each; 480 - 404 = 76
    assert checked.state.quantity == D("6")
    assert checked.state.realized_gain == D("76")
    record(portfolio, equinor, "SELL", quantity="4", price="120", date=FEB)
    assert Holding.objects.get().realized_gain == checked.state.realized_gain


def test_check_change_names_the_later_sell_an_edit_breaks(portfolio, equinor):
    buy = record(portfolio, equinor, quantity="10", price="100", date=JAN)
    sale = record(portfolio, equinor, "SELL", quantity="8", price="120", date=FEB)

    with pytest.raises(ValidationError) as checked:
        services.check_change(change(portfolio, equinor, existing=buy, quantity=D("5")))
    with pytest.raises(ValidationError) as updated:
        services.update_transaction(buy, quantity=D("5"))

    assert f"#{sale.pk}" in quantity_error(checked)
    assert quantity_error(checked) == quantity_error(updated)


def test_check_change_on_a_new_holding_saves_nothing(portfolio, equinor):
    with pytest.raises(ValidationError):
        services.check_change(change(portfolio, equinor, type="SELL"))

    assert services.check_change(change(portfolio, equinor)).state.quantity == D("1")
    assert not Holding.objects.exists()


# -- replay_holdings -------------------------------------------------------------------


def test_replay_holdings_repairs_tampered_figures(portfolio, equinor, dnb):
    record(portfolio, equinor, quantity="10", price="100", fees="10", date=JAN)
    sale = record(portfolio, equinor, "SELL", quantity="5", price="120", date=FEB)
    record(portfolio, dnb, quantity="1", price="50")
    repaired = Holding.objects.get(instrument=equinor)
    untouched = Holding.objects.get(instrument=dnb)
    good = holding_figures(repaired)
    Holding.objects.update(quantity=D("99"), total_cost=D("1"), realized_gain=D("-5"))
    Transaction.objects.filter(pk=sale.pk).update(
        total_amount=D("0"), average_cost_at_transaction=D("0")
    )

    assert services.replay_holdings([repaired]) == 1

    assert holding_figures(repaired) == good
    sale.refresh_from_db()
    assert (sale.total_amount, sale.average_cost_at_transaction) == (D("600"), D("101"))
    # only the holdings asked for are replayed
    assert holding_figures(untouched)["quantity"] == D("99")


def test_replay_holdings_applies_a_changed_dividend_rule(portfolio, equinor):
    record(portfolio, equinor, quantity="10", price="100", date=JAN)
    record(portfolio, equinor, "DIVIDEND", quantity="10", price="5", date=FEB)
    assert Holding.objects.get().total_cost == D("950")

    portfolio.dividends_reduce_cost_basis = False
    portfolio.save()
    services.replay_holdings(Holding.objects.all())

    holding = Holding.objects.get()
    assert (holding.total_cost, holding.average_cost, holding.dividends) == (
        D("1000"),
        D("100"),
        D("50"),
    )


def test_holdings_of_other_portfolios_are_left_alone(portfolio, equinor):
    other = PortfolioFactory(user=UserFactory(username="someone"), name="Nordnet ASK")
    record(other, equinor, quantity="1", price="10")

    record(portfolio, equinor, quantity="10", price="100")
    services.delete_transaction(Transaction.objects.get(portfolio=portfolio))

    assert list(Holding.objects.values_list("portfolio", "quantity")) == [(other.pk, D("1"))]


# -- concurrency -----------------------------------------------------------------------


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_sells_of_the_whole_position_let_exactly_one_through():
    portfolio = PortfolioFactory()
    instrument = InstrumentFactory()
    record(portfolio, instrument, quantity="10", price="100", date=JAN)

    # Hold each writer between its replay and its commit. Without the row lock both
    # would read only the BUY, both pass, and the position would be sold twice.
    check_holding = services._check_holding

    def slow_replay(*args, **kwargs):
        result = check_holding(*args, **kwargs)
        time.sleep(0.3)
        return result

    start = threading.Barrier(2)
    outcomes: list[object] = []

    def sell():
        try:
            start.wait(timeout=10)
            outcomes.append(
                record(portfolio, instrument, "SELL", quantity="10", price="110", date=FEB)
            )
        except Exception as exc:  # the assertions below inspect it
            outcomes.append(exc)
        finally:
            connection.close()

    with mock.patch.object(services, "_check_holding", slow_replay):
        threads = [threading.Thread(target=sell) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

    saved = [o for o in outcomes if isinstance(o, Transaction)]
    rejected = [o for o in outcomes if isinstance(o, ValidationError)]
    assert len(saved) == 1, outcomes
    assert len(rejected) == 1, outcomes
    assert "quantity" in rejected[0].message_dict
    holding = Holding.objects.get()
    assert holding.quantity == 0
    assert holding.total_cost == 0
    assert Transaction.objects.filter(type="SELL").count() == 1


class TestDeleteTransactions:
    def test_it_deletes_many_and_replays_each_holding(self, portfolio, equinor, dnb):
        buy = record(portfolio, equinor, quantity="10", price="100")
        sell = record(
            portfolio, equinor, "SELL", quantity="10", price="110", date=dt.date(2024, 2, 1)
        )
        kept = record(portfolio, dnb, quantity="5", price="200")
        extra = record(portfolio, dnb, quantity="5", price="220", date=dt.date(2024, 3, 1))
        services.delete_transactions([buy, sell, extra])
        assert list(Transaction.objects.values_list("pk", flat=True)) == [kept.pk]
        assert not Holding.objects.filter(instrument=equinor).exists()
        assert Holding.objects.get(instrument=dnb).quantity == Decimal("5")

    def test_it_deletes_nothing_when_a_sale_would_oversell(self, portfolio, equinor, dnb):
        buy = record(portfolio, equinor, quantity="10", price="100")
        record(portfolio, equinor, "SELL", quantity="10", price="110", date=dt.date(2024, 2, 1))
        other = record(portfolio, dnb, quantity="5", price="200")
        with pytest.raises(ValidationError):
            services.delete_transactions([other, buy])
        assert Transaction.objects.count() == 3
        assert Holding.objects.get(instrument=dnb).quantity == Decimal("5")
