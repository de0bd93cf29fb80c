"""History fetched when it is needed (ARCHITECTURE section 6, issue 8 defect 2): after a
write that gives a holding its first (or an earlier) transaction, and before a chart or a
performance figure needs a window. No test reaches the network: the demo provider is local,
the fake one is "remote" and records its calls."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from financedash.lib import versions
from marketdata import backfill as market_backfill
from marketdata import tasks
from marketdata.models import HistoricalExchangeRate, HistoricalStockPrice
from marketdata.providers import demo
from marketdata.providers.base import ProviderUnavailable, as_rate
from portfolios import backfill, services, valuation
from portfolios.imports import import_transactions
from portfolios.performance_data import performance_for
from tests.factories import InstrumentFactory, PortfolioFactory, record
from tests.marketdata.conftest import FakeProvider, fake_yahoo  # noqa: F401
from tests.marketdata.yahoo_fake import Listing, weekdays_back

D = Decimal
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def a_year_ago(today):
    return today - dt.timedelta(days=365)


@pytest.fixture
def demo_data(settings):
    settings.MARKETDATA_PROVIDER = "demo"


@pytest.fixture
def fake(settings, monkeypatch):
    provider = FakeProvider()
    provider.currency_of = {"EQNR.OL": "NOK", "META": "USD"}
    settings.MARKETDATA_PROVIDER = "fake"
    monkeypatch.setattr("marketdata.providers._instances", {"fake": provider})
    monkeypatch.setattr("marketdata.resilience._breakers", {})
    return provider


@pytest.fixture
def portfolio(owner):
    return PortfolioFactory(user=owner, name="Main", currency="NOK")


def weekdays(start, end):
    day = start
    while day <= end:
        if day.weekday() < 5:
            yield day
        day += dt.timedelta(days=1)


def last_close(ticker: str, on_or_before: dt.date) -> D:
    return (
        HistoricalStockPrice.objects.filter(instrument__ticker=ticker, date__lte=on_or_before)
        .latest("date")
        .close
    )


def last_rate(base: str, target: str, on_or_before: dt.date) -> D:
    return (
        HistoricalExchangeRate.objects.filter(
            base_currency=base, target_currency=target, date__lte=on_or_before
        )
        .latest("date")
        .rate
    )


# -- the example: AKRBP.OL and META bought a year ago, no holding page opened ---


@pytest.fixture
def akrbp_and_meta(demo_data, portfolio, a_year_ago, django_capture_on_commit_callbacks):
    akrbp = InstrumentFactory(ticker="AKRBP.OL", company_name="Aker BP ASA", currency="NOK")
    meta = InstrumentFactory(ticker="META", company_name="Meta Platforms", currency="USD")
    rate = as_rate(demo.rate_on("USD", "NOK", a_year_ago))
    with django_capture_on_commit_callbacks(execute=True):
        record(portfolio, akrbp, quantity="50", price="240", date=a_year_ago)
    with django_capture_on_commit_callbacks(execute=True):
        record(portfolio, meta, quantity="5", price="600", date=a_year_ago, exchange_rate=rate)
    return akrbp, meta


def test_a_first_buy_stores_the_closes_and_rates_from_its_date(akrbp_and_meta, a_year_ago):
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    trading_days = list(weekdays(a_year_ago, yesterday))
    for ticker in ("AKRBP.OL", "META"):
        stored = HistoricalStockPrice.objects.filter(instrument__ticker=ticker)
        assert stored.count() == len(trading_days)
        assert stored.earliest("date").date == trading_days[0]
    # META converts USD->NOK; the portfolio is in the owner's base currency, so no more.
    pairs = set(HistoricalExchangeRate.objects.values_list("base_currency", "target_currency"))
    assert pairs == {("USD", "NOK")}


def test_the_series_uses_stored_closes_and_ends_at_the_live_table(
    akrbp_and_meta, portfolio, a_year_ago, today
):
    [summary] = valuation.summarize([portfolio])
    performance = performance_for(portfolio, a_year_ago, today, summary=summary)

    # Valued at the closes, not at the trade prices: before the fix nothing was stored and
    # the series was 50 x 240 + 5 x 600 x rate, moving only with the USD rate.
    yesterday = today - dt.timedelta(days=1)
    assert performance.series[-2].value == D(50) * last_close("AKRBP.OL", yesterday) + D(
        5
    ) * last_close("META", yesterday) * last_rate("USD", "NOK", yesterday)
    assert performance.series[1].value == D(50) * last_close("AKRBP.OL", a_year_ago) + D(
        5
    ) * last_close("META", a_year_ago) * last_rate("USD", "NOK", a_year_ago)
    # Today's point is the live table's total, to the øre (ARCHITECTURE section 5b).
    assert performance.closing_value == summary.total_value


def test_the_portfolio_chart_is_drawn_from_closes_without_a_holding_page_visit(
    akrbp_and_meta, portfolio, owner_client
):
    response = owner_client.get(
        reverse("portfolios:chart", args=[portfolio.pk]), {"range": "1y"}, **HTMX
    )

    assert response.status_code == 200
    assert response.context["history"].complete
    assert b"Fetching history" not in response.content
    assert b"<svg" in response.content


# -- a provider that fails or is slow ---------------------------------------------------


def test_a_failing_provider_leaves_the_write_saved_and_the_chart_fetching(
    fake, portfolio, owner, api, owner_client, a_year_ago, django_capture_on_commit_callbacks
):
    InstrumentFactory(ticker="EQNR.OL", currency="NOK")
    fake.error = ProviderUnavailable("Yahoo is down")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api.post(
            "/api/v1/transactions",
            {
                "portfolio": portfolio.pk,
                "symbol": "EQNR.OL",
                "type": "BUY",
                "date": a_year_ago.isoformat(),
                "quantity": "10",
                "price": "250",
            },
            format="json",
        )

    assert response.status_code == 201, response.content
    assert history_fetches(callbacks) == 1, "the history is fetched after the commit"
    assert fake.history_calls, "the provider was asked"
    assert portfolio.transactions.count() == 1

    chart = owner_client.get(
        reverse("portfolios:chart", args=[portfolio.pk]), {"range": "1y"}, **HTMX
    )
    assert chart.status_code == 200
    body = chart.content.decode()
    assert "Fetching history for EQNR.OL" in body
    assert 'hx-trigger="load delay:2s"' in body
    # Without JavaScript the same words come with a link that reloads the page.
    assert f'href="{reverse("portfolios:detail", args=[portfolio.pk])}?range=1y"' in body
    assert "<svg" not in body

    performance = api.get(f"/api/v1/portfolios/{portfolio.pk}/performance")
    assert performance.status_code == 200
    assert performance.json()["history_complete"] is False
    assert performance.json()["history_missing"] == ["EQNR.OL"]

    # The provider recovers: the next poll draws the chart, the API says complete.
    fake.error = None
    fake.closes["EQNR.OL"] = {day: D("260") for day in weekdays(a_year_ago, timezone.localdate())}
    cache.delete_many(list(_attempt_keys(fake, ["EQNR.OL"])))
    chart = owner_client.get(
        reverse("portfolios:chart", args=[portfolio.pk]), {"range": "1y"}, **HTMX
    )
    assert "Fetching history" not in chart.content.decode()
    performance = api.get(f"/api/v1/portfolios/{portfolio.pk}/performance").json()
    assert performance["history_complete"] is True and performance["history_missing"] == []
    # 10 x 260 at yesterday's close (today's point is the live quote, section 5b).
    assert D(performance["series"][-2]["value"]) == D("2600.00")


def database_reads(captured) -> int:
    """Queries other than the cache's (Redis in production, a table in the embedded one)."""
    return sum("financedash_cache" not in query["sql"] for query in captured.captured_queries)


def history_fetches(callbacks) -> int:
    return sum(getattr(c, "func", None) is backfill._fetch_after_write for c in callbacks)


def _attempt_keys(provider, labels):
    return [market_backfill._attempt_key(provider, label) for label in labels]


def test_a_provider_error_after_commit_never_fails_the_form(
    fake, portfolio, owner_client, a_year_ago, monkeypatch, django_capture_on_commit_callbacks
):
    InstrumentFactory(ticker="EQNR.OL", currency="NOK")

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the fetch")

    monkeypatch.setattr(market_backfill, "fetch", broken)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = owner_client.post(
            reverse("portfolios:transaction_add", args=[portfolio.pk]),
            {
                "symbol": "EQNR.OL",
                "type": "BUY",
                "date": a_year_ago.isoformat(),
                "quantity": "10",
                "price": "250",
                "fees": "0",
                "exchange_rate": "",
                "currency": "",
                "notes": "",
            },
        )

    assert history_fetches(callbacks) == 1
    assert response.status_code == 302, response.content
    assert portfolio.transactions.count() == 1


def test_the_holding_page_says_fetching_while_its_closes_are_missing(
    fake, portfolio, owner_client, a_year_ago
):
    eqnr = InstrumentFactory(ticker="EQNR.OL", currency="NOK")
    fake.error = ProviderUnavailable("Yahoo is down")
    txn = record(portfolio, eqnr, quantity="10", price="250", date=a_year_ago)

    page = owner_client.get(reverse("portfolios:holding", args=[txn.holding_id]))

    assert page.status_code == 200
    assert "Fetching history for EQNR.OL" in page.content.decode()


def test_a_slow_provider_stops_at_the_budget_and_the_next_view_fetches_the_rest(
    fake, owner, a_year_ago, today, monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.HISTORY_FETCH_BUDGET = 3
    now = [0.0]
    monkeypatch.setattr(market_backfill, "clock", lambda: now[0])
    real_rows = fake._rows

    def slow_rows(key, start, end):
        now[0] += 2  # every provider call takes two seconds
        return real_rows(key, start, end)

    monkeypatch.setattr(fake, "_rows", slow_rows)
    # A SEK portfolio of an owner who counts in NOK: META needs USD->SEK and SEK->NOK.
    portfolio = PortfolioFactory(user=owner, currency="SEK")
    meta = InstrumentFactory(ticker="META", currency="USD")

    with django_capture_on_commit_callbacks(execute=True):
        txn = record(
            portfolio, meta, quantity="5", price="600", date=a_year_ago, exchange_rate="11"
        )

    assert txn.pk
    # At 0 s META, at 2 s USD->SEK; at 4 s the 3 s are spent and SEK->NOK is left.
    assert [call[0] for call in fake.history_calls] == ["META", "USDSEK=X"]
    status = backfill.ensure_window([portfolio], a_year_ago, today, base_currency="NOK")
    assert status.missing == ("SEKNOK=X",)
    assert len(fake.history_calls) == 2  # it was given up on a moment ago

    cache.delete_many(_attempt_keys(fake, ["SEKNOK=X"]))  # two seconds later
    status = backfill.ensure_window([portfolio], a_year_ago, today, base_currency="NOK")
    assert status.complete
    assert [call[0] for call in fake.history_calls] == ["META", "USDSEK=X", "SEKNOK=X"]


def test_a_request_does_not_ask_again_for_what_it_just_failed_to_get(
    fake, portfolio, a_year_ago, today
):
    eqnr = InstrumentFactory(ticker="EQNR.OL", currency="NOK")
    fake.error = ProviderUnavailable("Yahoo is down")
    record(portfolio, eqnr, quantity="10", price="250", date=a_year_ago)

    first = backfill.ensure_window([portfolio], a_year_ago, today)
    performance_for(portfolio, a_year_ago, today)  # the page's second loader
    again = backfill.ensure_window([portfolio], a_year_ago, today)

    assert first.missing == again.missing == ("EQNR.OL",)
    assert len(fake.history_calls) == 1


# -- edits and imports --------------------------------------------------------------------


def test_moving_a_transaction_earlier_fetches_the_closes_before_it(
    demo_data, portfolio, today, django_capture_on_commit_callbacks
):
    eqnr = InstrumentFactory(ticker="EQNR.OL", currency="NOK")
    month_ago = today - dt.timedelta(days=30)
    with django_capture_on_commit_callbacks(execute=True):
        txn = record(portfolio, eqnr, quantity="10", price="250", date=month_ago)
    first_stored = HistoricalStockPrice.objects.filter(instrument=eqnr).earliest("date").date
    assert first_stored >= month_ago

    two_years_ago = today - dt.timedelta(days=730)
    with django_capture_on_commit_callbacks(execute=True):
        services.update_transaction(txn, date=two_years_ago)

    earliest = HistoricalStockPrice.objects.filter(instrument=eqnr).earliest("date").date
    assert earliest == next(weekdays(two_years_ago, today))


def test_moving_a_transaction_to_another_instrument_fetches_that_one(
    demo_data, portfolio, a_year_ago, django_capture_on_commit_callbacks
):
    eqnr = InstrumentFactory(ticker="EQNR.OL", currency="NOK")
    nhy = InstrumentFactory(ticker="NHY.OL", currency="NOK")
    txn = record(portfolio, eqnr, quantity="10", price="250", date=a_year_ago)

    with django_capture_on_commit_callbacks(execute=True):
        services.update_transaction(txn, instrument=nhy)

    assert HistoricalStockPrice.objects.filter(instrument=nhy).exists()


IMPORT = "date,type,symbol,quantity,price\n" + "".join(
    f"2024-0{month}-0{day},BUY,EQNR.OL,1,{200 + day}\n" for month in (2, 3) for day in range(1, 6)
)


def test_an_import_fetches_each_instrument_once(
    fake, portfolio, django_capture_on_commit_callbacks
):
    InstrumentFactory(ticker="EQNR.OL", currency="NOK")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = import_transactions(
            portfolio=portfolio, data=IMPORT.encode(), format="generic", dry_run=False
        )

    assert result.counts["created"] == 10
    assert history_fetches(callbacks) == 1
    # One provider call for the ten rows, from the earliest of them.
    assert [(key, start) for key, start, _ in fake.history_calls] == [
        ("EQNR.OL", dt.date(2024, 2, 1))
    ]


def test_a_dry_run_import_fetches_nothing(fake, portfolio, django_capture_on_commit_callbacks):
    InstrumentFactory(ticker="EQNR.OL", currency="NOK")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        import_transactions(
            portfolio=portfolio, data=IMPORT.encode(), format="generic", dry_run=True
        )

    assert history_fetches(callbacks) == 0
    assert fake.history_calls == []


# -- cost -----------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [2, 20])
def test_checking_a_complete_window_costs_the_same_however_many_holdings(
    demo_data, portfolio, a_year_ago, today, count, django_assert_num_queries
):
    for n in range(count):
        instrument = InstrumentFactory(ticker=f"T{n}", currency="USD" if n % 2 else "NOK")
        record(portfolio, instrument, quantity="10", price="100", date=a_year_ago)
    # The demo provider does not know T0..T19: the first look notes that it has nothing.
    backfill.ensure_window([portfolio], a_year_ago, today)
    versions.bump(versions.portfolio(portfolio.pk))  # forget the answer, keep the data

    # The same seven however many holdings: the version stamps (market data, portfolio);
    # the transactions grouped per instrument, the stored closes' extents, the rates'; the
    # stamps again for the answer's key. Cache reads and writes (the coverage markers, the
    # recent attempts, the answer) are batched too, but land in Redis or in the database
    # cache's table depending on the setup, so they are not counted here.
    with CaptureQueriesContext(connection) as captured:
        status = backfill.ensure_window([portfolio], a_year_ago, today)
    assert status.complete
    assert database_reads(captured) == 7
    # Then remembered until something changes: the two stamps.
    with CaptureQueriesContext(connection) as captured:
        backfill.ensure_window([portfolio], a_year_ago, today)
    assert database_reads(captured) == 2


def test_a_queued_fetch_runs_in_the_worker_without_a_budget(db, fake, a_year_ago, today):
    InstrumentFactory(ticker="EQNR.OL", currency="NOK")
    fake.closes["EQNR.OL"] = {day: D("250") for day in weekdays(a_year_ago, today)}

    result = tasks.fetch_history(
        {"EQNR.OL": a_year_ago.isoformat()},
        [["USD", "NOK", a_year_ago.isoformat()]],
        (today - dt.timedelta(days=1)).isoformat(),
    )

    assert result == {"missing": []}
    assert HistoricalStockPrice.objects.filter(instrument__ticker="EQNR.OL").exists()


def test_what_a_request_runs_out_of_time_for_is_queued_once_when_a_worker_runs(
    fake, portfolio, a_year_ago, today, monkeypatch, request
):
    from financedash.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    request.addfinalizer(lambda: setattr(app.conf, "task_always_eager", eager))
    queued = []
    monkeypatch.setattr(tasks.fetch_history, "delay", lambda *args: queued.append(args))
    eqnr = InstrumentFactory(ticker="EQNR.OL", currency="NOK")
    fake.error = ProviderUnavailable("Yahoo is down")
    record(portfolio, eqnr, quantity="10", price="250", date=a_year_ago)

    backfill.ensure_window([portfolio], a_year_ago, today)
    cache.delete_many(_attempt_keys(fake, ["EQNR.OL"]))
    backfill.ensure_window([portfolio], a_year_ago, today)

    assert queued == [
        ({"EQNR.OL": a_year_ago.isoformat()}, [], (today - dt.timedelta(days=1)).isoformat()),
    ]


def test_the_dashboard_chart_waits_for_the_rate_into_the_base_currency(
    fake, owner, owner_client, a_year_ago, today
):
    # A SEK portfolio of an owner who counts in NOK: its closes are there, SEK->NOK is not.
    portfolio = PortfolioFactory(user=owner, currency="SEK")
    volvo = InstrumentFactory(ticker="VOLV-B.ST", currency="SEK")
    fake.closes["VOLV-B.ST"] = {day: D("250") for day in weekdays(a_year_ago, today)}
    record(portfolio, volvo, quantity="10", price="240", date=a_year_ago)
    fake.error = ProviderUnavailable("Yahoo is down")

    response = owner_client.get(reverse("dashboard_chart"), {"range": "1y"}, **HTMX)

    assert response.status_code == 200
    assert "Fetching history for VOLV-B.ST, SEKNOK=X" in response.content.decode()
    # The provider answers again: the next poll draws the chart.
    fake.error = None
    cache.delete_many(_attempt_keys(fake, ["VOLV-B.ST", "SEKNOK=X"]))
    fake.closes["SEKNOK=X"] = {day: D("0.95") for day in weekdays(a_year_ago, today)}
    response = owner_client.get(reverse("dashboard_chart"), {"range": "1y"}, **HTMX)
    assert "Fetching history" not in response.content.decode()
    assert response.context["history"].complete


def test_a_complete_household_window_answers_for_each_portfolio_too(
    demo_data, owner, a_year_ago, today, django_assert_num_queries
):
    portfolios = [PortfolioFactory(user=owner, currency=code) for code in ("NOK", "SEK")]
    for n, portfolio in enumerate(portfolios):
        record(
            portfolio, InstrumentFactory(ticker=f"T{n}"), quantity="1", price="1", date=a_year_ago
        )
    assert backfill.ensure_window(portfolios, a_year_ago, today, base_currency="NOK").complete

    # What the dashboard's value history then asks per portfolio is already known: per
    # portfolio its two version stamps and the remembered answer, nothing fetched or counted.
    with CaptureQueriesContext(connection) as captured:
        for portfolio in portfolios:
            assert backfill.ensure_window([portfolio], a_year_ago, today).complete
    assert database_reads(captured) == 2 * 2


@pytest.fixture
def yahoo(request):
    """Yahoo's HTTP API faked (tests/marketdata/yahoo_fake.py): yfinance's own code runs."""
    return request.getfixturevalue("fake_yahoo")


@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_a_buy_through_the_api_stores_yahoos_closes(
    yahoo, portfolio, api, today, django_capture_on_commit_callbacks
):
    days = weekdays_back(today - dt.timedelta(days=1), 15)
    closes = {day: 250.0 + n for n, day in enumerate(days)}
    yahoo.listings["EQNR.OL"] = Listing("NOK", "Europe/Oslo", "OSL", "Equinor ASA", closes)
    InstrumentFactory(ticker="EQNR.OL", currency="NOK")

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/transactions",
            {
                "portfolio": portfolio.pk,
                "symbol": "EQNR.OL",
                "type": "BUY",
                "date": days[0].isoformat(),
                "quantity": "10",
                "price": "240",
            },
            format="json",
        )

    assert response.status_code == 201, response.content
    assert ("chart", "EQNR.OL") in yahoo.requests
    stored = HistoricalStockPrice.objects.filter(instrument__ticker="EQNR.OL")
    assert sorted(stored.values_list("date", flat=True)) == days
    performance = api.get(
        f"/api/v1/portfolios/{portfolio.pk}/performance", {"start": days[0].isoformat()}
    ).json()
    assert performance["history_complete"] is True
    assert D(performance["closing_value"]) == D(10) * D(str(closes[days[-1]]))


def _chart_queries(client, portfolio, count, a_year_ago) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for n in range(count):
        instrument = InstrumentFactory(ticker=f"Q{n}", currency="USD" if n % 2 else "NOK")
        record(portfolio, instrument, quantity="1", price="100", date=a_year_ago, exchange_rate="1")
    url = reverse("portfolios:chart", args=[portfolio.pk])
    client.get(url, {"range": "1y"}, **HTMX)  # fetches what is missing
    versions.bump(versions.portfolio(portfolio.pk))  # nothing remembered, everything stored
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, {"range": "1y"}, **HTMX).status_code == 200
    return len(queries)


def test_the_chart_costs_the_same_queries_for_two_holdings_or_twelve(
    demo_data, owner, owner_client, a_year_ago
):
    few = _chart_queries(owner_client, PortfolioFactory(user=owner), 2, a_year_ago)
    many = _chart_queries(owner_client, PortfolioFactory(user=owner), 12, a_year_ago)

    assert few == many
