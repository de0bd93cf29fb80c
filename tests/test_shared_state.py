"""Several worker processes and no Redis (the embedded default): whatever decides an answer
is shared by all of them (ARCHITECTURE section 6; issue 8, defect 5).

Each "process" below is a set of caches as a separate worker would have them: any cache
the settings keep in local memory is its own, while the database (and Redis, when
configured) is common to all. With the old settings (a local-memory default cache holding
the version stamps), a buy made through one process left the other answering the old
figures for HISTORY_CACHE_TTL.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.test import override_settings

from financedash.lib.cache import results
from tests.conftest import bearer
from tests.factories import (
    HistoricalStockPriceFactory,
    InstrumentFactory,
    PortfolioFactory,
    UserFactory,
    record,
)
from tests.marketdata.conftest import _fresh_breakers, provider  # noqa: F401

pytestmark = pytest.mark.django_db
LOCMEM = "django.core.cache.backends.locmem.LocMemCache"
START, END = dt.date(2024, 1, 1), dt.date(2024, 1, 10)


@pytest.fixture
def worker(settings):
    """worker(name): a context in which requests are served by that worker process."""
    configured = dict(settings.CACHES)
    names = set()

    @contextmanager
    def serve(name: str):
        names.add(name)
        own = {
            alias: {"BACKEND": LOCMEM, "LOCATION": f"worker-{name}-{alias}"}
            if conf["BACKEND"].endswith("LocMemCache")
            else conf
            for alias, conf in configured.items()
        }
        with override_settings(CACHES=own):
            yield

    yield serve
    for name in names:
        with serve(name):
            caches["default"].clear()
            results.clear()


@pytest.fixture
def holding(settings, owner):
    settings.MARKETDATA_PROVIDER = "offline"
    portfolio = PortfolioFactory(user=owner, currency="NOK")
    eqnr = InstrumentFactory(ticker="EQNR.OL", currency="NOK")
    record(portfolio, eqnr, quantity="10", price="100", date=START)
    for day in range(1, 11):
        HistoricalStockPriceFactory(instrument=eqnr, date=dt.date(2024, 1, day), close=100)
    return portfolio, eqnr


def closing_value(client, portfolio) -> str:
    response = client.get(
        f"/api/v1/portfolios/{portfolio.pk}/performance",
        {"start": START.isoformat(), "end": END.isoformat()},
    )
    assert response.status_code == 200, response.content
    return response.json()["series"][-1]["value"]


def test_a_buy_through_one_worker_is_seen_by_the_other_at_once(worker, holding, owner):
    portfolio, eqnr = holding
    a, b = bearer(owner), bearer(owner)
    for name, client in (("a", a), ("b", b)):
        with worker(name):
            assert closing_value(client, portfolio) == "1000.00"  # 10 × 100, now cached

    with worker("a"):
        response = a.post(
            "/api/v1/transactions",
            {
                "portfolio": portfolio.pk,
                "symbol": "EQNR.OL",
                "type": "BUY",
                "date": "2024-01-05",
                "quantity": "5",
                "price": "100",
            },
            format="json",
        )
        assert response.status_code == 201, response.content

    # 15 × 100 in both, not the 1000 worker b computed before the buy.
    for name, client in (("b", b), ("a", a)):
        with worker(name):
            assert closing_value(client, portfolio) == "1500.00"


def test_a_cron_price_import_is_seen_by_running_workers(worker, holding, owner, tmp_path):
    portfolio, eqnr = holding
    a, b = bearer(owner), bearer(owner)
    for name, client in (("a", a), ("b", b)):
        with worker(name):
            assert closing_value(client, portfolio) == "1000.00"
    prices = tmp_path / "prices.csv"
    prices.write_text("symbol,date,close\nEQNR.OL,2024-01-10,130\n")

    with worker("cron"):
        call_command("import_prices", str(prices), stdout=None)

    for name, client in (("a", a), ("b", b)):
        with worker(name):
            assert closing_value(client, portfolio) == "1300.00"  # 10 × 130


def test_a_quote_fetched_by_one_worker_is_reused_by_the_other(worker, provider, owner):  # noqa: F811
    a, b = bearer(owner), bearer(owner)
    with worker("a"):
        first = a.get("/api/v1/stocks/EQNR.OL").json()
    with worker("b"):
        second = b.get("/api/v1/stocks/EQNR.OL").json()
    assert first == second
    assert provider.quote_calls == [["EQNR.OL"]]


def test_login_failures_count_across_workers(worker, settings, anon_api):
    settings.LOGIN_FAILURE_LIMIT = 4
    UserFactory(username="alice")
    wrong = {"username": "alice", "password": "wrong"}
    for name in "aba":
        with worker(name):
            assert anon_api.post("/api/v1/auth/login", wrong, format="json").status_code == 401
    # The fourth failure, in yet another worker, reaches the limit and is the lockout.
    with worker("c"):
        response = anon_api.post("/api/v1/auth/login", wrong, format="json")
    assert response.status_code == 429


def test_stamps_are_database_rows(worker, holding):
    """A stamp written while the cache was unreachable is not lost: it is a row."""
    from financedash.lib import versions
    from financedash.models import VersionStamp

    portfolio, _ = holding
    before = versions.current(versions.portfolio(portfolio.pk))
    versions.bump(versions.portfolio(portfolio.pk))
    after = VersionStamp.objects.get(name=versions.portfolio(portfolio.pk)).value
    assert after != before
    assert versions.current(versions.portfolio(portfolio.pk)) == after


# Redis configured but unreachable (nothing listens on port 1), as settings.py sets it up.
REDIS_DOWN = {
    "BACKEND": "django_prometheus.cache.backends.redis.RedisCache",
    "LOCATION": "redis://127.0.0.1:1/0",
    "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2, "IGNORE_EXCEPTIONS": True},
}


def buy_five(client, portfolio):
    response = client.post(
        "/api/v1/transactions",
        {
            "portfolio": portfolio.pk,
            "symbol": "EQNR.OL",
            "type": "BUY",
            "date": "2024-01-05",
            "quantity": "5",
            "price": "100",
        },
        format="json",
    )
    assert response.status_code == 201, response.content


def test_the_app_serves_from_the_database_while_redis_is_down(settings, holding, owner, client):
    settings.CACHES = {"default": REDIS_DOWN, "results": REDIS_DOWN}
    portfolio, _ = holding
    api = bearer(owner)
    assert closing_value(api, portfolio) == "1000.00"
    buy_five(api, portfolio)
    assert closing_value(api, portfolio) == "1500.00"
    quote = api.get("/api/v1/stocks/EQNR.OL").json()
    assert (quote["price"], quote["stale"]) == ("100.000000", True)  # the stored close
    client.force_login(owner)
    assert client.get(f"/portfolios/{portfolio.pk}/").status_code == 200
    assert client.get("/").status_code == 200
    health = client.get("/health")
    assert (health.status_code, health.json()["cache"]) == (200, "down")


def test_a_change_made_while_redis_was_down_is_not_lost(settings, holding, owner):
    """Results cached before the outage must not come back afterwards: the stamp that
    retires them was written to the database, not to the missing cache."""
    portfolio, _ = holding
    api = bearer(owner)
    up = {"BACKEND": LOCMEM, "LOCATION": "redis-stand-in"}
    settings.CACHES = {"default": up, "results": up}
    assert closing_value(api, portfolio) == "1000.00"
    settings.CACHES = {"default": REDIS_DOWN, "results": REDIS_DOWN}
    buy_five(api, portfolio)
    settings.CACHES = {"default": up, "results": up}
    try:
        assert closing_value(api, portfolio) == "1500.00"
    finally:
        caches["default"].clear()
