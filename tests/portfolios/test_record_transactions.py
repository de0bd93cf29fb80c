"""The batch write path, services.record_transactions: each rule once per entry, all or
nothing, and a replay that rewrites only the transactions whose figures moved."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portfolios import backfill, ledger, services
from portfolios.imports import import_transactions
from portfolios.models import Holding, Transaction
from tests.factories import HistoricalExchangeRateFactory, InstrumentFactory, PortfolioFactory

D = Decimal
JAN = dt.date(2024, 1, 2)


@pytest.fixture(autouse=True)
def _stored_market_data_only(settings):
    # A rate that is not stored is not fetched: no test reaches Yahoo.
    settings.MARKETDATA_PROVIDER = "offline"


@pytest.fixture
def portfolio(owner):
    return PortfolioFactory(user=owner, name="Nordnet ASK", currency="NOK")


@pytest.fixture
def equinor(db):
    return InstrumentFactory(ticker="EQNR.OL")


@pytest.fixture
def apple(db):
    return InstrumentFactory(ticker="AAPL", currency="USD")


def day(n: int) -> dt.date:
    return JAN + dt.timedelta(days=n)


def new(instrument, kind="BUY", *, quantity, price, date=JAN, **extra):
    return services.NewTransaction(
        instrument=instrument,
        type=kind,
        date=date,
        quantity=D(quantity),
        price=D(price),
        **extra,
    )


def figures(portfolio) -> list[tuple]:
    rows = Transaction.objects.filter(portfolio=portfolio).order_by("date", "id")
    return list(
        rows.values_list(
            "holding__instrument__ticker",
            "type",
            "date",
            "exchange_rate",
            "total_amount",
            "average_cost_at_transaction",
        )
    )


def holdings(portfolio) -> list[tuple]:
    return list(
        Holding.objects.filter(portfolio=portfolio)
        .order_by("instrument__ticker")
        .values_list(
            "instrument__ticker",
            "quantity",
            "average_cost",
            "total_cost",
            "realized_gain",
            "dividends",
            "fees",
        )
    )


def entries(equinor, apple) -> list[services.NewTransaction]:
    # Out of date order on purpose: the batch replays each holding in date order.
    return [
        new(equinor, "SELL", quantity="4", price="130", date=day(30), fees=D("10")),
        new(equinor, quantity="10", price="100", date=day(1), fees=D("20")),
        new(apple, quantity="3", price="150", date=day(2), exchange_rate=D("10.5")),
        new(equinor, "DIVIDEND", quantity="6", price="5", date=day(40)),
        new(apple, quantity="2", price="160", date=day(2), exchange_rate=D("10.123456789012")),
    ]


def test_a_batch_stores_what_recording_one_by_one_stores(owner, equinor, apple):
    one_by_one = PortfolioFactory(user=owner, name="One by one")
    batch = PortfolioFactory(user=owner, name="Batch")
    items = entries(equinor, apple)
    for item in sorted(items, key=lambda e: e.date):
        services.record_transaction(
            portfolio=one_by_one,
            instrument=item.instrument,
            type=item.type,
            date=item.date,
            quantity=item.quantity,
            price=item.price,
            fees=item.fees,
            exchange_rate=item.exchange_rate,
        )
    created = services.record_transactions(batch, items)

    # Returned in the order given, saved, with their derived figures.
    assert [t.date for t in created] == [e.date for e in items]
    assert all(t.pk for t in created)
    assert created[1].total_amount == D("1020")  # 10 x 100 + 20
    assert figures(batch) == figures(one_by_one)
    assert holdings(batch) == holdings(one_by_one)
    # The rate is rounded to the stored 10 places, as for a single transaction.
    assert created[4].exchange_rate == D("10.1234567890")


def test_each_rule_runs_once_per_entry_and_each_holding_is_replayed_once(portfolio, equinor, apple):
    items = entries(equinor, apple)
    with (
        mock.patch.object(services, "exchange_rate_for", wraps=services.exchange_rate_for) as rates,
        mock.patch.object(services, "_validate_fields", wraps=services._validate_fields) as valid,
        mock.patch.object(ledger, "replay", wraps=ledger.replay) as replays,
        mock.patch.object(backfill, "after_commit") as after_commit,
    ):
        services.record_transactions(portfolio, items)
    assert rates.call_count == len(items)
    assert valid.call_count == len(items)
    assert replays.call_count == 2  # one per holding, not one per entry
    # History is fetched once per instrument, from its earliest new date.
    after_commit.assert_called_once_with(portfolio, {equinor: day(1), apple: day(2)})


def test_a_rejected_holding_leaves_nothing_of_any_holding(portfolio, equinor, apple):
    items = [
        new(apple, quantity="3", price="150", exchange_rate=D("10.5")),
        new(equinor, quantity="10", price="100", date=day(1)),
        new(equinor, "SELL", quantity="11", price="100", date=day(2)),
    ]
    with pytest.raises(services.Rejected) as caught:
        services.record_transactions(portfolio, items)
    assert list(caught.value.errors) == [2]
    assert "Cannot sell 11 shares on 2024-01-04: only 10 held" in str(caught.value.errors[2])
    assert not Transaction.objects.exists()
    assert not Holding.objects.exists()  # nor the holdings created for the batch


def test_every_holding_is_checked_before_the_batch_is_refused(portfolio, equinor, apple):
    items = [
        new(apple, "SELL", quantity="1", price="150", exchange_rate=D("10.5")),
        new(equinor, quantity="-1", price="100", date=day(1)),
        new(equinor, quantity="1", price="-5", date=day(2)),
        new(equinor, quantity="1", price="100", date=day(3)),
    ]
    with pytest.raises(services.Rejected) as caught:
        services.record_transactions(portfolio, items)
    # Both invalid entries of EQNR (the fields of each one checked), and Apple's oversell.
    assert list(caught.value.errors) == [0, 1, 2]
    assert "quantity" in caught.value.errors[1].message_dict
    assert "price" in caught.value.errors[2].message_dict


def test_an_oversold_stored_sale_is_blamed_on_the_new_sale_before_it(portfolio, equinor):
    services.record_transactions(
        portfolio,
        [
            new(equinor, quantity="10", price="100", date=day(1)),
            new(equinor, "SELL", quantity="8", price="100", date=day(20)),
        ],
    )
    stored_sale = Transaction.objects.get(type="SELL")
    items = [
        new(equinor, quantity="1", price="100", date=day(5)),
        new(equinor, "SELL", quantity="5", price="100", date=day(10)),
        new(equinor, quantity="1", price="100", date=day(15)),
    ]
    with pytest.raises(services.Rejected) as caught:
        services.record_transactions(portfolio, items)
    assert list(caught.value.errors) == [1]
    message = caught.value.errors[1].message_dict["quantity"][0]
    assert f"(transaction #{stored_sale.pk})" in message
    assert Transaction.objects.count() == 2


def test_a_missing_rate_refuses_the_batch_before_anything_is_locked(portfolio, equinor, apple):
    items = [new(equinor, quantity="1", price="100"), new(apple, quantity="1", price="100")]
    with pytest.raises(services.Rejected) as caught:
        services.record_transactions(portfolio, items)
    assert list(caught.value.errors) == [1]
    assert "exchange_rate" in caught.value.errors[1].message_dict
    assert not Holding.objects.exists()


def test_the_days_rates_of_a_batch_are_read_in_one_query(portfolio, apple):
    for n in range(40):
        HistoricalExchangeRateFactory(date=day(n), rate=D("10") + D(n) / 100)
    items = [new(apple, quantity="1", price="100", date=day(n)) for n in range(40)]
    with CaptureQueriesContext(connection) as queries:
        created = services.record_transactions(portfolio, items)
    rate_queries = [q for q in queries if "historicalexchangerate" in q["sql"]]
    assert len(rate_queries) == 1
    assert [t.exchange_rate for t in created] == [D("10") + D(n) / 100 for n in range(40)]


# -- the replay writes only what changed ------------------------------------------------


@pytest.fixture
def ten_buys(portfolio, equinor) -> list[Transaction]:
    return services.record_transactions(
        portfolio,
        [new(equinor, quantity="10", price=str(100 + n), date=day(10 * n)) for n in range(10)],
    )


def updated_rows(action) -> set[int]:
    """The ids of the stored transactions the action rewrites."""
    with mock.patch.object(services, "_update_figures", wraps=services._update_figures) as update:
        action()
    return {pk for call in update.call_args_list for _, _, pk in call.args[0]}


def test_a_buy_after_the_last_one_rewrites_no_stored_transaction(portfolio, equinor, ten_buys):
    assert (
        updated_rows(
            lambda: services.record_transactions(
                portfolio, [new(equinor, quantity="1", price="90", date=day(95))]
            )
        )
        == set()
    )


def test_a_buy_between_others_rewrites_only_the_ones_after_it(portfolio, equinor, ten_buys):
    # A buy on day 45 moves the average cost of the buys on days 50 to 90, not before.
    later = {t.pk for t in ten_buys if t.date > day(45)}
    assert (
        updated_rows(
            lambda: services.record_transactions(
                portfolio, [new(equinor, quantity="1", price="90", date=day(45))]
            )
        )
        == later
    )
    expected = ledger.replay(
        [services._entry_for(t) for t in Transaction.objects.order_by("date", "id")]
    )
    stored = Transaction.objects.order_by("date", "id")
    assert [t.average_cost_at_transaction for t in stored] == [
        a.average_cost_at_transaction.quantize(D("0.000001")) for a in expected.applied
    ]


def test_an_edit_of_the_last_fees_rewrites_that_transaction_only(ten_buys):
    last = ten_buys[-1]
    assert updated_rows(lambda: services.update_transaction(last, fees=D("5"))) == {last.pk}
    last.refresh_from_db()
    assert last.total_amount == D("1095")  # 10 x 109 + 5


def test_a_deletion_rewrites_only_the_transactions_after_it(ten_buys):
    later = {t.pk for t in ten_buys[6:]}
    assert updated_rows(lambda: services.delete_transaction(ten_buys[5])) == later


def test_a_write_costs_the_same_queries_however_long_the_holding(portfolio, owner, equinor):
    def queries_for(count: int) -> int:
        mine = PortfolioFactory(user=owner, name=f"{count} buys")
        services.record_transactions(
            mine, [new(equinor, quantity="1", price="100", date=day(n)) for n in range(count)]
        )
        with CaptureQueriesContext(connection) as queries:
            services.record_transaction(
                portfolio=mine,
                instrument=equinor,
                type="BUY",
                date=day(count),
                quantity=D("1"),
                price=D("100"),
            )
        return len(queries)

    assert queries_for(5) == queries_for(60)


# -- the import --------------------------------------------------------------------------


def test_an_import_reads_the_rates_of_its_days_in_one_query(portfolio, apple):
    def rate_queries(days: int) -> int:
        for n in range(days):
            HistoricalExchangeRateFactory(date=day(200 + n), rate=D("10.5"))
        rows = "".join(f"{day(200 + n)},BUY,AAPL,1,100\n" for n in range(days))
        with CaptureQueriesContext(connection) as queries:
            result = import_transactions(
                portfolio=portfolio,
                data=f"date,type,symbol,quantity,price\n{rows}".encode(),
                format="generic",
                dry_run=True,
            )
        assert result.counts["created"] == days
        HistoricalExchangeRateFactory._meta.model.objects.all().delete()
        return sum("historicalexchangerate" in q["sql"] for q in queries)

    assert rate_queries(3) == rate_queries(60) == 1
