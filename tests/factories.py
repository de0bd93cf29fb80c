from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from marketdata.models import HistoricalExchangeRate, HistoricalStockPrice, Instrument
from pensions.models import PensionAccount, PensionValueEntry
from portfolios import services
from portfolios.models import Portfolio, Transaction

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805 - factory_boy hook signature
        if create:
            obj.save()


class InstrumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Instrument
        django_get_or_create = ("ticker",)

    ticker = factory.Sequence(lambda n: f"TICK{n}.OL")
    company_name = factory.LazyAttribute(lambda i: f"{i.ticker} ASA")
    exchange = "OSL"
    currency = "NOK"


class PortfolioFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Portfolio

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Portfolio {n}")
    brokerage_firm = "Nordnet"
    currency = "NOK"


class HistoricalStockPriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HistoricalStockPrice

    instrument = factory.SubFactory(InstrumentFactory)
    date = dt.date(2024, 1, 2)
    close = Decimal("100")


class HistoricalExchangeRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HistoricalExchangeRate

    base_currency = "USD"
    target_currency = "NOK"
    date = dt.date(2024, 1, 2)
    rate = Decimal("10.5")


class PensionAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PensionAccount

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Pension {n}")
    currency = "NOK"


class PensionValueEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PensionValueEntry

    account = factory.SubFactory(PensionAccountFactory)
    date = dt.date(2024, 1, 31)
    value = Decimal("100000")


def record(
    portfolio: Portfolio,
    instrument: Instrument,
    type: str = "BUY",
    *,
    quantity: str | Decimal,
    price: str | Decimal,
    date: dt.date = dt.date(2024, 1, 2),
    fees: str | Decimal = "0",
    exchange_rate: str | Decimal = "1",
    **extra,
) -> Transaction:
    """Record a transaction through the ledger service, as every real write does."""
    return services.record_transaction(
        portfolio=portfolio,
        instrument=instrument,
        type=type,
        date=date,
        quantity=Decimal(quantity),
        price=Decimal(price),
        fees=Decimal(fees),
        exchange_rate=Decimal(exchange_rate),
        **extra,
    )
