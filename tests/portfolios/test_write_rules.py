"""The rules every write obeys, whatever the entry point (issue 8, defects 1, 2 and 6):
checked here at the service; tests/api, tests/views, tests/test_admin.py and
tests/portfolios/test_imports.py check that each entry point reports them its own way."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from financedash.lib.money import MONEY, PRICE, QUANTITY
from marketdata.models import HistoricalExchangeRate
from portfolios import ledger, services
from portfolios.models import Holding, Transaction
from tests.factories import (
    HistoricalExchangeRateFactory,
    InstrumentFactory,
    PortfolioFactory,
    UserFactory,
    record,
)

D = Decimal
JAN = dt.date(2024, 1, 2)
FEB = dt.date(2024, 2, 1)
LARGEST = "(99,999,999,999.9999)"


@pytest.fixture(autouse=True)
def _offline(settings):
    settings.MARKETDATA_PROVIDER = "offline"


@pytest.fixture
def portfolio(owner):
    return PortfolioFactory(user=owner, currency="NOK")


@pytest.fixture
def equinor(db):
    return InstrumentFactory(ticker="EQNR.OL", currency="NOK")


@pytest.fixture
def apple(db):
    return InstrumentFactory(ticker="AAPL", currency="USD")


def errors(caught) -> dict:
    return caught.value.message_dict


def nothing_saved():
    return not Transaction.objects.exists() and not Holding.objects.exists()


# -- defect 1: every derived figure fits its column ----------------------------------------


def test_a_buy_whose_amount_exceeds_the_money_column_is_refused(portfolio, equinor):
    # 2,000,000 x 60,000 = 120,000,000,000 NOK; MONEY stores |x| < 10^11
    with pytest.raises(ValidationError) as caught:
        record(portfolio, equinor, quantity="2000000", price="60000")
    assert errors(caught) == {
        "quantity": [
            "The amount 120,000,000,000 NOK exceeds the largest amount the ledger stores "
            f"{LARGEST}."
        ]
    }
    assert nothing_saved()


def test_the_exchange_rate_counts_in_the_amount(portfolio, apple):
    # 999,999,999 x 100 USD x 10 = 999,999,999,000 NOK
    with pytest.raises(ValidationError) as caught:
        record(portfolio, apple, quantity="999999999", price="100", exchange_rate="10")
    assert errors(caught)["quantity"] == [
        f"The amount 999,999,999,000 NOK exceeds the largest amount the ledger stores {LARGEST}."
    ]
    assert nothing_saved()


def test_the_running_total_cost_must_fit_too(portfolio, equinor):
    # each buy 600,000 x 100,000 = 60,000,000,000 fits; together 120,000,000,000 does not
    record(portfolio, equinor, quantity="600000", price="100000", date=JAN)
    with pytest.raises(ValidationError) as caught:
        record(portfolio, equinor, quantity="600000", price="100000", date=FEB)
    assert errors(caught)["quantity"] == [
        "The total cost 120,000,000,000 NOK exceeds the largest amount the ledger stores "
        f"{LARGEST}."
    ]
    assert Transaction.objects.count() == 1
    assert Holding.objects.get().total_cost == D("60000000000")


def test_the_average_cost_must_fit_the_price_column(portfolio, apple):
    # 1 x 999,999,999 USD x 10 = 9,999,999,990 NOK fits MONEY, but as the average cost per
    # share it exceeds PRICE (|x| < 10^9)
    with pytest.raises(ValidationError) as caught:
        record(portfolio, apple, quantity="1", price="999999999", exchange_rate="10")
    assert errors(caught)["quantity"] == [
        "The average cost 9,999,999,990 NOK exceeds the largest amount the ledger stores "
        "(999,999,999.999999)."
    ]
    assert nothing_saved()


def test_an_edit_that_makes_a_later_figure_too_large_names_that_transaction(portfolio, equinor):
    # buy 600,000 x 100,000 (60 bn) on JAN and FEB, with a sale of 600,000 between: editing
    # the sale away (to a later date than the second buy) makes the total cost 120 bn
    record(portfolio, equinor, quantity="600000", price="100000", date=JAN)
    sale = record(portfolio, equinor, "SELL", quantity="600000", price="100000", date=JAN)
    second = record(portfolio, equinor, quantity="600000", price="100000", date=FEB)
    with pytest.raises(ValidationError) as caught:
        services.update_transaction(sale, date=dt.date(2024, 3, 1))
    [message] = errors(caught)["quantity"]
    assert message == (
        f"This change would make the buy of 600000 on 2024-02-01 (transaction #{second.pk}) "
        "too large to store: the total cost 120,000,000,000 NOK exceeds the largest amount "
        f"the ledger stores {LARGEST}."
    )
    sale.refresh_from_db()
    assert sale.date == JAN


def test_the_largest_amount_that_fits_is_stored_exactly(portfolio, equinor):
    # 100 x 999,999,999.99999 = 99,999,999,999.999: just under 10^11, and the average
    # cost 999,999,999.99999 just under 10^9
    txn = record(portfolio, equinor, quantity="100", price="999999999.99999")
    assert txn.total_amount == D("99999999999.999")
    assert Holding.objects.get().total_cost == D("99999999999.999")


# -- defect 6: dates ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "message"),
    [
        (dt.date(1, 1, 1), "0001-01-01 is before 1900-01-01: check the year."),
        (dt.date(1899, 12, 31), "1899-12-31 is before 1900-01-01: check the year."),
    ],
)
def test_dates_before_1900_are_refused(portfolio, equinor, day, message):
    with pytest.raises(ValidationError) as caught:
        record(portfolio, equinor, quantity="1", price="100", date=day)
    assert errors(caught) == {"date": [message]}
    assert nothing_saved()


def test_future_dates_are_refused(portfolio, equinor):
    today = timezone.localdate()
    with pytest.raises(ValidationError) as caught:
        record(portfolio, equinor, quantity="1", price="100", date=today + dt.timedelta(days=30))
    assert errors(caught) == {"date": [f"The date is in the future. Today is {today}."]}
    assert nothing_saved()


def test_the_first_and_last_allowed_dates(portfolio, equinor):
    record(portfolio, equinor, quantity="1", price="100", date=dt.date(1900, 1, 1))
    record(portfolio, equinor, quantity="1", price="100", date=timezone.localdate())
    assert Transaction.objects.count() == 2


def test_an_edit_to_a_bad_date_is_refused(portfolio, equinor):
    txn = record(portfolio, equinor, quantity="1", price="100")
    with pytest.raises(ValidationError) as caught:
        services.update_transaction(txn, date=dt.date(1, 1, 1))
    assert list(errors(caught)) == ["date"]


# -- defect 6: exchange rates ------------------------------------------------------------


def test_the_portfolio_currency_trades_at_exactly_1(portfolio, equinor):
    with pytest.raises(ValidationError) as caught:
        record(portfolio, equinor, quantity="1", price="100", exchange_rate="7")
    assert errors(caught) == {
        "exchange_rate": [
            "EQNR.OL trades in NOK, the portfolio's own currency: the exchange rate is 1, not 7."
        ]
    }
    assert nothing_saved()
    txn = services.record_transaction(
        portfolio=portfolio,
        instrument=equinor,
        type="BUY",
        date=JAN,
        quantity=D("1"),
        price=D("100"),
    )
    assert txn.exchange_rate == 1


def test_a_long_rate_is_rounded_to_the_stored_precision(portfolio, apple):
    # 0.9941099999999999 -> 10 dp, half to even: 0.9941100000
    txn = record(portfolio, apple, quantity="10", price="100", exchange_rate="0.9941099999999999")
    txn.refresh_from_db()
    assert txn.exchange_rate == D("0.9941100000")
    assert txn.total_amount == D("994.11")


def test_a_rate_that_rounds_to_0_is_refused(portfolio, apple):
    with pytest.raises(ValidationError) as caught:
        record(portfolio, apple, quantity="1", price="1", exchange_rate="0.00000000001")
    assert errors(caught) == {"exchange_rate": ["The exchange rate must be greater than 0."]}


@pytest.mark.parametrize("rate", ["100000", "1" + "0" * 80])
def test_a_rate_too_large_for_its_column_is_an_error_on_the_rate(portfolio, apple, rate):
    # RATE stores |x| < 10^5; an 81-digit one must not break the rounding either
    with pytest.raises(ValidationError) as caught:
        record(portfolio, apple, quantity="1", price="1", exchange_rate=rate)
    assert errors(caught) == {
        "exchange_rate": [
            f"The exchange rate {rate} is too large: the ledger stores rates below 100,000."
        ]
    }
    assert nothing_saved()


def test_editing_only_the_date_keeps_a_hand_entered_rate(portfolio, apple):
    HistoricalExchangeRateFactory(date=JAN, rate=D("10.5"))
    txn = record(portfolio, apple, quantity="1", price="100", exchange_rate="9.87", date=JAN)
    txn = services.update_transaction(txn, date=FEB)
    txn.refresh_from_db()
    assert (txn.date, txn.exchange_rate) == (FEB, D("9.87"))
    # Asked for explicitly (None), the rate of the new date replaces it.
    txn = services.update_transaction(txn, exchange_rate=None)
    txn.refresh_from_db()
    assert txn.exchange_rate == D("10.5")


def test_moving_to_a_portfolio_currency_instrument_resets_the_rate_to_1(portfolio, apple, equinor):
    txn = record(portfolio, apple, quantity="1", price="100", exchange_rate="9.87")
    txn = services.update_transaction(txn, instrument=equinor)
    txn.refresh_from_db()
    assert txn.exchange_rate == 1


# -- defect 2: the default rate is the rate of the day, stored or fetched ------------------


def test_without_a_rate_the_stored_rate_of_the_day_is_used(portfolio, apple):
    HistoricalExchangeRateFactory(date=JAN, rate=D("10.5"))
    txn = services.record_transaction(
        portfolio=portfolio,
        instrument=apple,
        type="BUY",
        date=dt.date(2024, 1, 3),
        quantity=D("2"),
        price=D("100"),
    )
    assert txn.exchange_rate == D("10.5")
    assert txn.total_amount == D("2100")  # 2 x 100 x 10.5


def test_without_a_stored_rate_the_providers_rate_of_that_date_is_used(portfolio, apple, provider):
    # The provider has USD/NOK for 2 and 3 January; the trade of 3 January takes the 3rd's.
    provider.closes["USDNOK=X"] = {JAN: D("10.1"), dt.date(2024, 1, 3): D("10.2345")}
    txn = services.record_transaction(
        portfolio=portfolio,
        instrument=apple,
        type="BUY",
        date=dt.date(2024, 1, 3),
        quantity=D("2"),
        price=D("100"),
    )
    assert txn.exchange_rate == D("10.2345")
    assert txn.total_amount == D("2046.9")  # 2 x 100 x 10.2345
    # ... and stored for the next trade.
    assert HistoricalExchangeRate.objects.filter(base_currency="USD").count() == 2


def test_only_when_the_provider_has_no_rate_either_is_the_trade_refused(portfolio, apple, provider):
    with pytest.raises(ValidationError) as caught:
        services.record_transaction(
            portfolio=portfolio,
            instrument=apple,
            type="BUY",
            date=dt.date(2024, 1, 3),
            quantity=D("2"),
            price=D("100"),
        )
    [message] = errors(caught)["exchange_rate"]
    assert message.startswith("No exchange rate USD->NOK on or before 2024-01-03")
    assert "Enter the rate you traded at (NOK per USD)" in message
    assert provider.history_calls  # the provider was asked
    assert nothing_saved()


# -- defect 6: a dividend needs shares --------------------------------------------------------


def test_a_dividend_on_shares_never_held_is_refused(portfolio, equinor):
    with pytest.raises(ValidationError) as caught:
        record(portfolio, equinor, "DIVIDEND", quantity="100", price="5")
    assert errors(caught) == {
        "quantity": [
            "Cannot book a dividend on 100 shares on 2024-01-02: no shares were held by that date."
        ]
    }
    assert nothing_saved()


def test_a_dividend_before_the_first_buy_is_refused(portfolio, equinor):
    record(portfolio, equinor, quantity="100", price="50", date=FEB)
    with pytest.raises(ValidationError) as caught:
        record(portfolio, equinor, "DIVIDEND", quantity="100", price="5", date=JAN)
    assert list(errors(caught)) == ["quantity"]
    assert Holding.objects.get().realized_gain == 0


def test_deleting_the_buy_under_a_dividend_is_refused(portfolio, equinor):
    buy = record(portfolio, equinor, quantity="100", price="50", date=JAN)
    dividend = record(portfolio, equinor, "DIVIDEND", quantity="100", price="5", date=FEB)
    with pytest.raises(ValidationError) as caught:
        services.delete_transaction(buy)
    assert errors(caught)["quantity"] == [
        "This change would leave a dividend without shares: the dividend of 100 on "
        f"2024-02-01 (transaction #{dividend.pk}) would be paid on more shares than held: "
        "no shares were held by then."
    ]
    assert Transaction.objects.count() == 2


def test_a_dividend_on_more_shares_than_ever_held_is_refused(portfolio, equinor):
    # Found by QA: BUY 10, DIVIDEND on 10, then an edit to 20 booked 20 x 5 = 100 on shares
    # nobody held. The most held by that date is 10 (a dividend after a sale may still be
    # paid on the shares held before it, so the bound is the peak, not today's 0).
    record(portfolio, equinor, quantity="10", price="50", date=JAN)
    record(portfolio, equinor, "SELL", quantity="10", price="60", date=JAN)
    dividend = record(portfolio, equinor, "DIVIDEND", quantity="10", price="5", date=FEB)
    with pytest.raises(ValidationError) as caught:
        services.update_transaction(dividend, quantity=D("20"))
    assert errors(caught) == {
        "quantity": [
            "Cannot book a dividend on 20 shares on 2024-02-01: at most 10 shares were held "
            "by that date."
        ]
    }
    assert Transaction.objects.get(pk=dividend.pk).quantity == D("10")


def test_a_dividend_paid_after_everything_was_sold_is_still_accepted(portfolio, equinor):
    # Paid weeks after the ex-date, a dividend often lands after the sale.
    # buy 10 x 10 = 100; sell 10 x 12 = 120: realized 20; dividend 10 x 1 = 10 with no
    # cost basis left to reduce: realized 30
    record(portfolio, equinor, quantity="10", price="10", date=JAN)
    record(portfolio, equinor, "SELL", quantity="10", price="12", date=JAN)
    record(portfolio, equinor, "DIVIDEND", quantity="10", price="1", date=FEB)
    holding = Holding.objects.get()
    assert (holding.dividends, holding.realized_gain) == (D("10"), D("30"))


# -- property: whatever the replay accepts, every column can store and read back ------------

_big_quantities = st.decimals(D("0.000001"), D("999999999.999999"), places=6)
_big_prices = st.decimals(D("0"), D("999999999.999999"), places=6)
_big_rates = st.decimals(D("0.0000000001"), D("99999.9999999999"), places=10)


@st.composite
def _large_ledgers(draw):
    entries, held = [], D(0)
    for n in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["BUY", "SELL", "DIVIDEND"] if held else ["BUY"]))
        quantity = draw(_big_quantities)
        if kind == "SELL":
            quantity = min(quantity, held)
            held -= quantity
        elif kind == "BUY":
            held += quantity
        entries.append(
            ledger.Entry(
                kind,
                JAN + dt.timedelta(days=n),
                quantity,
                draw(_big_prices),
                fees=draw(st.decimals(D("0"), D("99999999999.9999"), places=4)),
                exchange_rate=draw(_big_rates),
                id=n + 1,
            )
        )
    return entries


def _reads_back(value: Decimal, shape: dict) -> None:
    # What Django does when it reads a DecimalField (SQLite stores REAL): quantize in a
    # context of max_digits digits, which raises InvalidOperation for a number too large.
    stored = value.quantize(D(1).scaleb(-shape["decimal_places"]), ROUND_HALF_EVEN)
    stored.quantize(
        D(1).scaleb(-shape["decimal_places"]), context=Context(prec=shape["max_digits"])
    )


@settings(max_examples=200, deadline=None)
@given(entries=_large_ledgers(), reduce=st.booleans())
def test_an_accepted_ledger_always_fits_its_columns(entries, reduce):
    try:
        result = services._replay_or_reject(entries, dividends_reduce_cost_basis=reduce)
    except ValidationError as exc:
        assert set(exc.message_dict) <= {"quantity", "fees"}
        return
    with localcontext(Context(prec=60)):
        for applied in result.applied:
            _reads_back(applied.total_amount, MONEY)
            _reads_back(applied.average_cost_at_transaction, PRICE)
            state = applied.state
            for value in (state.total_cost, state.realized_gain, state.dividends, state.fees):
                _reads_back(value, MONEY)
            _reads_back(state.average_cost, PRICE)
            _reads_back(state.quantity, QUANTITY)


def test_a_portfolio_name_is_unique_per_user_in_the_service(portfolio):
    # Every entry point (form, API, admin) saves through services.save_portfolio.
    twin = PortfolioFactory(user=portfolio.user, name="Other")
    twin.name = f" {portfolio.name} "
    with pytest.raises(ValidationError) as caught:
        services.save_portfolio(twin)
    assert caught.value.error_dict["name"][0].code == "duplicate"
    twin.refresh_from_db()
    assert twin.name == "Other"
    # Another user may use the same name.
    assert services.save_portfolio(PortfolioFactory.build(name=portfolio.name, user=UserFactory()))
