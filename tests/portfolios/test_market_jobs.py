"""The periodic jobs that keep the market data of what the portfolios hold fresh
(portfolios.market, portfolios.tasks and their cron commands)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command

from financedash.celery import app as celery_app
from marketdata import quotes
from marketdata.providers.base import ProviderUnavailable
from portfolios import tasks
from tests.factories import InstrumentFactory, PortfolioFactory, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager_celery():
    conf = celery_app.conf
    previous = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager = conf.task_eager_propagates = True
    yield celery_app
    conf.task_always_eager, conf.task_eager_propagates = previous


def test_the_refresh_task_refills_the_cache_for_held_instruments(settings, eager_celery):
    settings.MARKETDATA_PROVIDER = "demo"
    portfolio = PortfolioFactory()
    eqnr = InstrumentFactory(ticker="EQNR.OL")
    record(portfolio, eqnr, quantity="10", price="250")
    InstrumentFactory(ticker="AAPL", currency="USD")  # not held: not refreshed

    tasks.refresh_quotes.delay()

    assert cache.get(quotes.quote_key("EQNR.OL")) is not None
    assert cache.get(quotes.quote_key("AAPL")) is None


@pytest.fixture
def without_prewarm():
    """The sync's own provider calls only: the pre-warm that follows it (a year's window
    of each household, which may fetch more) is tested in test_fast_read_path."""
    from financedash.signals import warm_performance
    from portfolios.performance_data import history_synced

    history_synced.disconnect(warm_performance)
    yield
    history_synced.connect(warm_performance)


def test_the_history_task_syncs_held_instruments_and_currency_pairs_in_use(
    provider, eager_celery, yesterday, without_prewarm
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
        "portfolios.tasks.reap_import_jobs",
    }
    assert names <= set(celery_app.tasks)
