from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.cache import cache
from django.core.management import CommandError, call_command

from financedash.celery import app as celery_app
from marketdata import quotes
from marketdata.models import HistoricalExchangeRate, HistoricalStockPrice, Instrument
from marketdata.providers.base import ProviderUnavailable
from portfolios import tasks
from portfolios.models import Portfolio, Transaction
from tests.factories import InstrumentFactory, PortfolioFactory, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager_celery():
    conf = celery_app.conf
    previous = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager = conf.task_eager_propagates = True
    yield celery_app
    conf.task_always_eager, conf.task_eager_propagates = previous


def write(tmp_path, text: str):
    path = tmp_path / "prices.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_import_prices_stores_every_row(tmp_path, settings):
    settings.MARKETDATA_PROVIDER = "offline"
    InstrumentFactory(ticker="EQNR.OL", currency="NOK")
    path = write(
        tmp_path,
        "\ufeffsymbol,date,close,currency\n"
        "EQNR.OL,2024-01-02,280.50,\n"
        "eqnr.ol,2024-01-03,281.125,NOK\n"
        "MYFUND,2024-01-02,101.5,NOK\n",
    )
    out = StringIO()

    call_command("import_prices", path, stdout=out)

    assert "Imported 3 closes for 2 instruments." in out.getvalue()
    assert list(
        HistoricalStockPrice.objects.filter(instrument__ticker="EQNR.OL")
        .order_by("date")
        .values_list("close", flat=True)
    ) == [Decimal("280.5"), Decimal("281.125")]
    assert Instrument.objects.get(ticker="MYFUND").currency == "NOK"


def test_import_prices_reports_every_bad_row_and_stores_nothing(tmp_path, settings):
    settings.MARKETDATA_PROVIDER = "offline"
    InstrumentFactory(ticker="EQNR.OL", currency="NOK")
    path = write(
        tmp_path,
        "symbol,date,close\n"
        "EQNR.OL,2024-01-02,280.5\n"
        "EQNR.OL,02.01.2024,281\n"
        ",2024-01-03,1\n"
        "NEWONE,2024-01-03,-5\n"
        "NEWTWO,2024-01-03,5\n",
    )

    with pytest.raises(CommandError) as caught:
        call_command("import_prices", path)

    message = str(caught.value)
    assert "Nothing imported" in message
    assert "Line 3 (EQNR.OL): '02.01.2024' is not a date (use YYYY-MM-DD)." in message
    assert "Line 4: no symbol." in message
    assert "Line 5 (NEWONE): close must not be negative, got -5." in message
    assert "NEWTWO: Unknown symbol 'NEWTWO'" in message
    assert not HistoricalStockPrice.objects.exists()
    assert list(Instrument.objects.values_list("ticker", flat=True)) == ["EQNR.OL"]


def test_import_prices_needs_its_columns(tmp_path):
    with pytest.raises(CommandError, match="Missing column"):
        call_command("import_prices", write(tmp_path, "ticker,day,price\nA,2024-01-02,1\n"))
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_prices", str(tmp_path / "missing.csv"))


def test_load_demo_creates_a_household_once(settings):
    settings.MARKETDATA_PROVIDER = "demo"
    out = StringIO()

    call_command("load_demo", "--years", "3", stdout=out)
    counts = (
        Portfolio.objects.count(),
        Transaction.objects.count(),
        HistoricalStockPrice.objects.count(),
        HistoricalExchangeRate.objects.count(),
    )
    call_command("load_demo", "--years", "3", stdout=StringIO())

    assert "demo / demo" in out.getvalue()
    assert authenticate(username="demo", password="demo") is not None
    assert (
        Portfolio.objects.count(),
        Transaction.objects.count(),
        HistoricalStockPrice.objects.count(),
        HistoricalExchangeRate.objects.count(),
    ) == counts
    portfolios = Portfolio.objects.filter(user__username="demo")
    assert portfolios.count() == 3
    assert {p.currency for p in portfolios} == {"NOK", "USD"}
    assert len({p.brokerage_firm for p in portfolios}) == 3
    types = set(Transaction.objects.values_list("type", flat=True))
    assert types == {"BUY", "SELL", "DIVIDEND"}
    assert all(p.holdings.filter(quantity__gt=0).exists() for p in portfolios)
    assert HistoricalStockPrice.objects.filter(instrument__ticker="EQNR.OL").count() > 700
    foreign = Transaction.objects.filter(holding__instrument__ticker="VOLV-B.ST").first()
    assert foreign.exchange_rate != 1


def test_the_refresh_task_refills_the_cache_for_held_instruments(settings, eager_celery):
    settings.MARKETDATA_PROVIDER = "demo"
    portfolio = PortfolioFactory()
    eqnr = InstrumentFactory(ticker="EQNR.OL")
    record(portfolio, eqnr, quantity="10", price="250")
    InstrumentFactory(ticker="AAPL", currency="USD")  # not held: not refreshed

    tasks.refresh_quotes.delay()

    assert cache.get(quotes.quote_key("EQNR.OL")) is not None
    assert cache.get(quotes.quote_key("AAPL")) is None


def test_the_history_task_syncs_held_instruments_and_currency_pairs_in_use(
    provider, eager_celery, yesterday
):
    owner_nok = PortfolioFactory(currency="NOK")
    owner_usd = PortfolioFactory(user=owner_nok.user, currency="USD")
    aapl = InstrumentFactory(ticker="AAPL", currency="USD")
    eqnr = InstrumentFactory(ticker="EQNR.OL", currency="NOK")
    bought = yesterday - timedelta(days=40)
    record(owner_nok, aapl, quantity="5", price="180", exchange_rate="10.5", date=bought)
    record(owner_usd, eqnr, quantity="5", price="280", exchange_rate="0.095", date=bought)
    record(owner_nok, eqnr, quantity="5", price="280", date=bought + timedelta(days=3))

    tasks.sync_history.delay()

    assert sorted(provider.history_calls) == [
        ("AAPL", bought, yesterday),
        ("EQNR.OL", bought, yesterday),
        ("NOKUSD=X", bought, yesterday),
        ("USDNOK=X", bought, yesterday),
    ]


def test_sync_history_command_reports_failures_and_carries_on(provider, yesterday):
    portfolio = PortfolioFactory()
    record(portfolio, InstrumentFactory(ticker="EQNR.OL"), quantity="1", price="1")
    record(portfolio, InstrumentFactory(ticker="DNB.OL"), quantity="1", price="1")
    provider.error = RuntimeError("boom")

    with pytest.raises(RuntimeError):
        call_command("sync_history", stdout=StringIO())

    provider.error = ProviderUnavailable("Yahoo is down")
    err = StringIO()
    call_command("sync_history", stdout=StringIO(), stderr=err)
    assert "DNB.OL" in err.getvalue() and "EQNR.OL" in err.getvalue()


def test_refresh_quotes_command(settings):
    settings.MARKETDATA_PROVIDER = "demo"
    record(PortfolioFactory(), InstrumentFactory(ticker="EQNR.OL"), quantity="1", price="1")
    out = StringIO()

    call_command("refresh_quotes", stdout=out)

    assert out.getvalue().startswith("1 quotes (0 stale), 0 errors.")


def test_the_beat_schedule_names_real_tasks_and_celery_is_eager_without_redis(settings):
    assert settings.CELERY_TASK_ALWAYS_EAGER is (not settings.REDIS_URL)
    assert celery_app.conf.task_always_eager is settings.CELERY_TASK_ALWAYS_EAGER
    broker = settings.CELERY_BROKER_URL
    assert broker == (settings.REDIS_URL or "memory://")
    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    celery_app.loader.import_default_modules()  # the worker's autodiscovery of tasks.py
    assert names == {
        "portfolios.tasks.refresh_quotes",
        "portfolios.tasks.sync_history",
        "pensions.tasks.sync_ynab",
    }
    assert names <= set(celery_app.tasks)
