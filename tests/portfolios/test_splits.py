"""SPLIT through the one write path (services): ARCHITECTURE section 5, issue 11 item 2."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from portfolios import services
from portfolios.models import Holding, Transaction
from tests.factories import InstrumentFactory, PortfolioFactory, record

D = Decimal
JAN = dt.date(2024, 1, 2)
FEB = dt.date(2024, 2, 1)
MAR = dt.date(2024, 3, 1)
pytestmark = pytest.mark.django_db


@pytest.fixture
def portfolio(owner):
    return PortfolioFactory(user=owner)


@pytest.fixture
def equinor(db):
    return InstrumentFactory(ticker="EQNR.OL")


def split(portfolio, instrument, factor, *, date=FEB, **extra):
    return record(portfolio, instrument, "SPLIT", quantity=factor, price="0", date=date, **extra)


def figures(holding_id) -> tuple:
    h = Holding.objects.get(pk=holding_id)
    return h.quantity, h.average_cost, h.total_cost, h.realized_gain


def test_a_two_for_one_split_then_a_sale_that_needs_it(portfolio, equinor):
    # buy 10 x 100 + 10 = 1010 (average 101); split 2:1 -> 20 shares, average 50.5
    # sell 15 x 60 - 5 = 895; removed 15 x 50.5 = 757.5; realized 137.5
    # left 5 shares, cost 252.5, average 50.5. Selling 15 is an oversell only without
    # the split (10 held).
    buy = record(portfolio, equinor, quantity="10", price="100", fees="10", date=JAN)
    done = split(portfolio, equinor, "2")
    assert done.total_amount == 0
    assert done.average_cost_at_transaction == D("50.5")
    record(portfolio, equinor, "SELL", quantity="15", price="60", fees="5", date=MAR)

    assert figures(buy.holding_id) == (D("5"), D("50.5"), D("252.5"), D("137.5"))
    assert done.type_label == "Split 2:1"

    # Deleting the split would leave the sale oversold: refused, nothing changes.
    with pytest.raises(ValidationError) as caught:
        services.delete_transaction(done)
    assert "would make a later sale oversell" in caught.value.message_dict["quantity"][0]
    assert Transaction.objects.filter(pk=done.pk).exists()
    assert figures(buy.holding_id) == (D("5"), D("50.5"), D("252.5"), D("137.5"))


def test_a_one_for_ten_reverse_split_then_a_sale(portfolio, equinor):
    # buy 1000 x 2 + 20 = 2020 (average 2.02); split 1:10 -> 100 shares, average 20.2
    # sell 40 x 25 - 10 = 990; removed 40 x 20.2 = 808; realized 182
    # left 60 shares, cost 1212, average 20.2
    buy = record(portfolio, equinor, quantity="1000", price="2", fees="20", date=JAN)
    done = split(portfolio, equinor, "0.1")
    record(portfolio, equinor, "SELL", quantity="40", price="25", fees="10", date=MAR)

    assert figures(buy.holding_id) == (D("60"), D("20.2"), D("1212"), D("182"))
    assert done.type_label == "Split 1:10"


def test_a_sale_that_oversells_only_without_the_split(portfolio, equinor):
    record(portfolio, equinor, quantity="10", price="100", date=JAN)
    with pytest.raises(ValidationError) as caught:
        record(portfolio, equinor, "SELL", quantity="15", price="60", date=MAR)
    assert "only 10 held" in caught.value.message_dict["quantity"][0]

    split(portfolio, equinor, "2")
    sale = record(portfolio, equinor, "SELL", quantity="15", price="60", date=MAR)
    assert sale.holding.quantity == D("5")


def test_a_split_with_nothing_held_is_refused_naming_the_date(portfolio, equinor):
    with pytest.raises(ValidationError) as caught:
        split(portfolio, equinor, "2", date=JAN)
    assert caught.value.message_dict == {
        "date": ["Cannot record a split on 2024-01-02: no shares are held at that date."]
    }
    assert not Transaction.objects.exists()
    assert not Holding.objects.exists()


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("price", {"price": D("5")}),
        ("fees", {"fees": D("1")}),
        ("exchange_rate", {"exchange_rate": D("10")}),
        ("quantity", {"quantity": D("1")}),
    ],
)
def test_a_split_moves_no_money_and_errors_name_the_field(portfolio, equinor, field, values):
    record(portfolio, equinor, quantity="10", price="100", date=JAN)
    entry = {
        "portfolio": portfolio,
        "instrument": equinor,
        "type": "SPLIT",
        "date": FEB,
        "quantity": D("2"),
        "price": D("0"),
        **values,
    }
    with pytest.raises(ValidationError) as caught:
        services.record_transaction(**entry)
    assert list(caught.value.message_dict) == [field]
    assert Transaction.objects.count() == 1


def test_a_foreign_instruments_split_needs_no_exchange_rate(portfolio):
    apple = InstrumentFactory(ticker="AAPL", currency="USD")
    record(portfolio, apple, quantity="3", price="100", exchange_rate="10", date=JAN)
    # No USD/NOK rate is stored for FEB, and none is asked for: a split's rate is 1.
    done = services.record_transaction(
        portfolio=portfolio,
        instrument=apple,
        type="SPLIT",
        date=FEB,
        quantity=D("4"),
        price=D("0"),
    )
    assert done.exchange_rate == 1
    assert done.holding.quantity == D("12")


def test_fractional_shares_after_a_reverse_split_are_kept_exactly(portfolio, equinor):
    # 1005 shares, 1:10 -> 100.5 (cost 3015, average 30)
    buy = record(portfolio, equinor, quantity="1005", price="3", date=JAN)
    split(portfolio, equinor, "0.1")
    assert figures(buy.holding_id)[:3] == (D("100.5"), D("30"), D("3015"))


def test_a_split_result_the_column_cannot_hold_is_refused_naming_quantity(portfolio, equinor):
    # 1.000001 shares x 0.1 = 0.1000001: seven decimals, the ledger stores six
    record(portfolio, equinor, quantity="1.000001", price="3", date=JAN)
    with pytest.raises(ValidationError) as caught:
        split(portfolio, equinor, "0.1")
    message = caught.value.message_dict["quantity"][0]
    assert "0.1000001" in message and "more decimals than the ledger stores" in message
    assert Transaction.objects.count() == 1


def test_editing_a_buy_to_after_the_split_rescales_nothing_twice(portfolio, equinor):
    # buy 10 (JAN), split 2:1 (FEB), buy 5 more (MAR, post-split shares): 25 shares.
    record(portfolio, equinor, quantity="10", price="100", date=JAN)
    split(portfolio, equinor, "2")
    late = record(portfolio, equinor, quantity="5", price="50", date=MAR)
    assert late.holding.quantity == D("25")
    # Moving the second buy before the split doubles it: (10 + 5) x 2 = 30.
    services.update_transaction(late, date=dt.date(2024, 1, 15))
    assert Holding.objects.get(pk=late.holding_id).quantity == D("30")


def test_a_later_dividend_counts_post_split_shares(portfolio, equinor):
    # 10 held, 2:1 -> 20: a dividend on 20 shares is fine, on 21 more than ever held.
    record(portfolio, equinor, quantity="10", price="100", date=JAN)
    split(portfolio, equinor, "2")
    record(portfolio, equinor, "DIVIDEND", quantity="20", price="1", date=MAR)
    with pytest.raises(ValidationError) as caught:
        record(portfolio, equinor, "DIVIDEND", quantity="21", price="1", date=MAR)
    assert "at most 20 shares were held" in caught.value.message_dict["quantity"][0]
