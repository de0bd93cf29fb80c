from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from financedash.lib.money import ENTERED_MONEY, MONEY, PRICE, QUANTITY, RATE
from financedash.models import Profile
from marketdata.models import HistoricalExchangeRate, HistoricalStockPrice
from pensions.models import PensionValueEntry
from portfolios.models import Holding, Portfolio, Transaction
from tests.factories import (
    HistoricalExchangeRateFactory,
    HistoricalStockPriceFactory,
    InstrumentFactory,
    PensionAccountFactory,
    PensionValueEntryFactory,
    PortfolioFactory,
    UserFactory,
)

D = Decimal
DAY = dt.date(2024, 1, 2)


def largest(shape: dict) -> Decimal:
    """999...9.99..9 with the shape's digits: e.g. 99999999999.9999 for (15, 4)."""
    digits = shape["max_digits"]
    return D(10**digits - 1).scaleb(-shape["decimal_places"])


def smallest(shape: dict) -> Decimal:
    return D(1).scaleb(-shape["decimal_places"])


def test_the_shapes_stay_within_what_sqlite_round_trips():
    # SQLite keeps 15 significant digits exactly (ARCHITECTURE section 4)
    assert {shape["max_digits"] for shape in (MONEY, ENTERED_MONEY, PRICE, QUANTITY, RATE)} == {15}
    assert [largest(s) for s in (MONEY, ENTERED_MONEY, PRICE, QUANTITY, RATE)] == [
        D("99999999999.9999"),
        D("9999999999999.99"),
        D("999999999.999999"),
        D("999999999.999999"),
        D("99999.9999999999"),
    ]
    assert [smallest(s) for s in (MONEY, ENTERED_MONEY, PRICE, QUANTITY, RATE)] == [
        D("0.0001"),
        D("0.01"),
        D("0.000001"),
        D("0.000001"),
        D("0.0000000001"),
    ]


def test_every_new_user_gets_a_profile_in_nok(db, settings):
    # NOK unless the deployment sets DEFAULT_BASE_CURRENCY
    assert Profile._meta.get_field("base_currency").default == "NOK"
    settings.DEFAULT_BASE_CURRENCY = "NOK"

    user = UserFactory()

    profile = Profile.objects.get(user=user)
    assert profile.base_currency == "NOK"
    assert profile.dividends_reduce_cost_basis is True
    assert profile.retirement_goal_amount is None


def test_new_profiles_take_the_configured_base_currency(db, settings):
    settings.DEFAULT_BASE_CURRENCY = "EUR"

    assert Profile.objects.get(user=UserFactory()).base_currency == "EUR"


def test_saving_a_user_again_keeps_one_profile(db):
    user = UserFactory()
    user.first_name = "Kari"
    user.save()

    assert Profile.objects.filter(user=user).count() == 1


# -- decimal round trips ---------------------------------------------------------------


@pytest.fixture
def holding(owner):
    return Holding.objects.create(
        portfolio=PortfolioFactory(user=owner), instrument=InstrumentFactory()
    )


def new_transaction(holding: Holding, **values) -> Transaction:
    fields = {"type": "BUY", "date": DAY, "quantity": D("1"), "price": D("1")} | values
    return Transaction.objects.create(holding=holding, portfolio=holding.portfolio, **fields)


def assert_exact(stored: Decimal, expected: Decimal, shape: dict) -> None:
    assert stored == expected
    # and at the field's scale, so str() shows what was stored
    assert stored.as_tuple().exponent == -shape["decimal_places"]


@pytest.mark.parametrize(
    "value",
    [largest(MONEY), smallest(MONEY), -largest(MONEY), -smallest(MONEY)],
    ids=str,
)
def test_holding_money_fields_round_trip_exactly(holding, value):
    # negative values matter for realized_gain; the others share its column shape
    for field in ("total_cost", "realized_gain", "dividends", "fees"):
        setattr(holding, field, value)
    holding.save()

    stored = Holding.objects.get(pk=holding.pk)
    for field in ("total_cost", "realized_gain", "dividends", "fees"):
        assert_exact(getattr(stored, field), value, MONEY)


@pytest.mark.parametrize(
    ("field", "shape"), [("quantity", QUANTITY), ("average_cost", PRICE)], ids=["quantity", "avg"]
)
@pytest.mark.parametrize("end", [largest, smallest])
def test_holding_quantity_and_average_cost_round_trip_exactly(holding, field, shape, end):
    setattr(holding, field, end(shape))
    holding.save()

    assert_exact(getattr(Holding.objects.get(pk=holding.pk), field), end(shape), shape)


TRANSACTION_FIELDS = [
    ("quantity", QUANTITY),
    ("price", PRICE),
    ("fees", MONEY),
    ("exchange_rate", RATE),
    ("total_amount", MONEY),
    ("average_cost_at_transaction", PRICE),
]


@pytest.mark.parametrize(
    ("field", "shape"), TRANSACTION_FIELDS, ids=[field for field, _ in TRANSACTION_FIELDS]
)
@pytest.mark.parametrize("end", [largest, smallest])
def test_transaction_fields_round_trip_exactly(holding, field, shape, end):
    value = end(shape)

    txn = new_transaction(holding, **{field: value})

    assert_exact(getattr(Transaction.objects.get(pk=txn.pk), field), value, shape)


@pytest.mark.parametrize("end", [largest, smallest])
def test_market_data_round_trips_exactly(db, end):
    price = HistoricalStockPriceFactory(close=end(PRICE))
    rate = HistoricalExchangeRateFactory(rate=end(RATE))

    assert_exact(HistoricalStockPrice.objects.get(pk=price.pk).close, end(PRICE), PRICE)
    assert_exact(HistoricalExchangeRate.objects.get(pk=rate.pk).rate, end(RATE), RATE)


@pytest.mark.parametrize("end", [largest, smallest])
def test_entered_money_round_trips_exactly(owner, end):
    value = end(ENTERED_MONEY)
    portfolio = PortfolioFactory(user=owner, used_credit=value)
    entry = PensionValueEntryFactory(value=value)
    Profile.objects.filter(user=owner).update(retirement_goal_amount=value)

    assert_exact(Portfolio.objects.get(pk=portfolio.pk).used_credit, value, ENTERED_MONEY)
    assert_exact(PensionValueEntry.objects.get(pk=entry.pk).value, value, ENTERED_MONEY)
    stored_goal = Profile.objects.get(user=owner).retirement_goal_amount
    assert_exact(stored_goal, value, ENTERED_MONEY)


def test_entered_money_keeps_negative_pension_values(db):
    # a pension value is a plain amount, not constrained to be positive
    entry = PensionValueEntryFactory(value=-largest(ENTERED_MONEY))

    stored = PensionValueEntry.objects.get(pk=entry.pk).value
    assert_exact(stored, D("-9999999999999.99"), ENTERED_MONEY)


# -- check constraints -------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        {"price": D("-0.000001")},
        {"quantity": D("0")},
        {"quantity": D("-1")},
        {"fees": D("-0.0001")},
        {"exchange_rate": D("0")},
        {"exchange_rate": D("-1")},
        {"type": "TRANSFER"},
    ],
    ids=lambda values: "-".join(f"{k}={v}" for k, v in values.items()),
)
def test_the_database_rejects_invalid_transactions(holding, values):
    with pytest.raises(IntegrityError), transaction.atomic():
        new_transaction(holding, **values)


def test_the_database_accepts_a_free_transaction(holding):
    # price 0 (e.g. a bonus share) and fees 0 are allowed
    txn = new_transaction(holding, price=D("0"), fees=D("0"))

    assert Transaction.objects.get(pk=txn.pk).price == 0


def test_the_database_rejects_a_negative_holding_quantity(holding):
    with pytest.raises(IntegrityError), transaction.atomic():
        Holding.objects.filter(pk=holding.pk).update(quantity=D("-0.000001"))


def test_the_database_rejects_negative_used_credit(owner):
    with pytest.raises(IntegrityError), transaction.atomic():
        PortfolioFactory(user=owner, used_credit=D("-0.01"))


@pytest.mark.parametrize(
    "make",
    [
        lambda: HistoricalStockPriceFactory(close=D("-0.000001")),
        lambda: HistoricalExchangeRateFactory(rate=D("0")),
        lambda: HistoricalExchangeRateFactory(rate=D("-1")),
    ],
    ids=["negative-close", "zero-rate", "negative-rate"],
)
def test_the_database_rejects_invalid_market_data(db, make):
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


# -- unique constraints ------------------------------------------------------------------


def test_portfolio_names_are_unique_per_user(owner, outsider):
    PortfolioFactory(user=owner, name="ASK")
    PortfolioFactory(user=outsider, name="ASK")

    with pytest.raises(IntegrityError), transaction.atomic():
        PortfolioFactory(user=owner, name="ASK")


def test_an_instrument_is_held_once_per_portfolio(holding):
    with pytest.raises(IntegrityError), transaction.atomic():
        Holding.objects.create(portfolio=holding.portfolio, instrument=holding.instrument)


def test_import_keys_are_unique_per_portfolio(holding, owner):
    new_transaction(holding, import_key="nordnet:1")
    other = Holding.objects.create(
        portfolio=PortfolioFactory(user=owner), instrument=holding.instrument
    )
    new_transaction(other, import_key="nordnet:1")

    with pytest.raises(IntegrityError), transaction.atomic():
        new_transaction(holding, import_key="nordnet:1")


def test_many_transactions_may_have_no_import_key(holding):
    new_transaction(holding, import_key=None)
    new_transaction(holding, import_key=None)

    assert Transaction.objects.filter(import_key__isnull=True).count() == 2


def test_market_data_is_unique_per_day(db):
    price = HistoricalStockPriceFactory(date=DAY)
    HistoricalExchangeRateFactory(base_currency="USD", target_currency="NOK", date=DAY)
    HistoricalExchangeRateFactory(base_currency="EUR", target_currency="NOK", date=DAY)

    with pytest.raises(IntegrityError), transaction.atomic():
        HistoricalStockPriceFactory(instrument=price.instrument, date=DAY)
    with pytest.raises(IntegrityError), transaction.atomic():
        HistoricalExchangeRateFactory(base_currency="USD", target_currency="NOK", date=DAY)


def test_pension_values_are_unique_per_day_and_names_per_user(owner):
    account = PensionAccountFactory(user=owner, name="KLP")
    PensionValueEntryFactory(account=account, date=DAY)

    with pytest.raises(IntegrityError), transaction.atomic():
        PensionValueEntryFactory(account=account, date=DAY)
    with pytest.raises(IntegrityError), transaction.atomic():
        PensionAccountFactory(user=owner, name="KLP")
