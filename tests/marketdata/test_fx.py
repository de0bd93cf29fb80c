from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from marketdata import fx
from marketdata.providers.base import MissingExchangeRate
from tests.factories import HistoricalExchangeRateFactory

pytestmark = pytest.mark.django_db

FRIDAY = date(2024, 3, 15)


def store(base: str, target: str, day: date, rate: str):
    return HistoricalExchangeRateFactory(
        base_currency=base, target_currency=target, date=day, rate=Decimal(rate)
    )


def test_the_same_currency_is_one_without_a_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert fx.rate("NOK", "nok", FRIDAY) == 1


def test_a_rate_is_the_last_one_on_or_before_the_day():
    store("USD", "NOK", FRIDAY - timedelta(days=1), "10.4")
    store("USD", "NOK", FRIDAY, "10.5")
    store("USD", "NOK", FRIDAY + timedelta(days=3), "10.7")

    assert fx.rate("USD", "NOK", FRIDAY) == Decimal("10.5")
    # The weekend carries Friday's close forward.
    assert fx.rate("USD", "NOK", FRIDAY + timedelta(days=2)) == Decimal("10.5")
    assert fx.rate("USD", "NOK", date(2030, 1, 1)) == Decimal("10.7")


def test_a_rate_from_long_ago_is_still_found():
    store("USD", "NOK", date(2020, 1, 2), "8.8")

    assert fx.rate("USD", "NOK", FRIDAY) == Decimal("8.8")
    assert type(fx.rate("USD", "NOK", FRIDAY)) is Decimal


def test_only_the_opposite_pair_stored_gives_its_inverse():
    store("NOK", "USD", FRIDAY, "0.08")

    assert fx.rate("USD", "NOK", FRIDAY) == Decimal("12.5")


def test_the_more_recent_of_a_pair_and_its_opposite_is_used():
    store("USD", "NOK", FRIDAY - timedelta(days=30), "10")
    store("NOK", "USD", FRIDAY, "0.08")

    assert fx.rate("USD", "NOK", FRIDAY) == Decimal("12.5")
    assert fx.rate("USD", "NOK", FRIDAY - timedelta(days=1)) == Decimal("10")


def test_a_missing_rate_raises_and_is_never_one():
    store("USD", "NOK", FRIDAY, "10.5")

    with pytest.raises(MissingExchangeRate) as caught:
        fx.rate("USD", "NOK", FRIDAY - timedelta(days=1))
    assert (caught.value.base, caught.value.target) == ("USD", "NOK")
    assert "2024-03-14" in str(caught.value)
    with pytest.raises(MissingExchangeRate):
        fx.rate("SEK", "NOK", FRIDAY)


def test_many_pairs_for_one_date_in_a_constant_number_of_queries(
    django_assert_num_queries, django_assert_max_num_queries
):
    store("USD", "NOK", FRIDAY, "10.5")
    store("NOK", "SEK", FRIDAY - timedelta(days=1), "0.98")
    store("EUR", "NOK", date(2021, 6, 1), "10.1")
    pairs = [("USD", "NOK"), ("SEK", "NOK"), ("EUR", "NOK"), ("NOK", "NOK"), ("GBP", "NOK")]

    with django_assert_num_queries(1):
        recent = fx.rates_on(pairs[:2], FRIDAY)
    with django_assert_max_num_queries(3):
        table = fx.rates_on(pairs, FRIDAY)

    assert recent == {("USD", "NOK"): Decimal("10.5"), ("SEK", "NOK"): Decimal("1.0204081633")}
    assert table[("USD", "NOK")] == Decimal("10.5")
    assert table[("SEK", "NOK")] == Decimal("1.0204081633")
    assert table[("EUR", "NOK")] == Decimal("10.1")
    assert table[("NOK", "NOK")] == 1
    assert table.get(("GBP", "NOK")) is None
    assert ("GBP", "NOK") not in table
    with pytest.raises(MissingExchangeRate):
        table[("GBP", "NOK")]


def test_latest_rates_use_today():
    store("USD", "NOK", date(2024, 1, 2), "10.5")

    assert fx.latest_rates([("USD", "NOK")]).get(("USD", "NOK")) == Decimal("10.5")


def test_supported_currencies_include_what_is_stored(settings):
    settings.MARKETDATA_PROVIDER = "offline"
    store("ISK", "NOK", FRIDAY, "0.078")

    assert fx.supported_currencies() == ["ISK", "NOK"]
    settings.MARKETDATA_PROVIDER = "demo"
    assert {"EUR", "GBP", "ISK", "NOK", "SEK", "USD"} == set(fx.supported_currencies())


def test_a_pair_series_takes_each_day_by_the_rule_of_a_single_rate():
    # USD->NOK stored on Friday; NOK->USD on Thursday and Friday. Thursday has only the
    # opposite pair: 1 / 0.1 = 10. Friday has both: the direct one wins, as fx.rate does.
    thursday = FRIDAY - timedelta(days=1)
    direct = [(FRIDAY, Decimal("10.5"))]
    inverse = [(thursday, Decimal("0.1")), (FRIDAY, Decimal("0.095"))]

    assert fx.pair_series(direct, inverse) == [(thursday, Decimal(10)), (FRIDAY, Decimal("10.5"))]
    # The same days stored: fx.rate answers alike.
    store("USD", "NOK", FRIDAY, "10.5")
    for day, rate in inverse:
        store("NOK", "USD", day, str(rate))
    assert [fx.rate("USD", "NOK", day) for day in (thursday, FRIDAY)] == [
        Decimal(10),
        Decimal("10.5"),
    ]
    # 1 / 3 rounds to the stored precision, or stays at 60 digits for performance.
    assert fx.pair_series([], [(FRIDAY, Decimal(3))]) == [(FRIDAY, Decimal("0.3333333333"))]
    [(_, exact)] = fx.pair_series([], [(FRIDAY, Decimal(3))], exact=True)
    assert exact == Decimal("0." + "3" * 60)
