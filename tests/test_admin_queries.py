"""Queries per admin page at household scale (issue 9): each changelist and change page the
benchmark times asks the database a fixed number of questions, however many rows it shows
or the tables hold (no query per row, no count of a whole table of closes).

One household (seed_household at scale 0.05, two years: 10 portfolios, 1,000 transactions,
~10,000 closes) is built once for the module; each page is then asked twice, with more
rows added in between, and must ask no more the second time.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib import admin
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from financedash.lib.admin import CappedPaginator, QuickRows
from financedash.management import household as household_data
from marketdata.models import HistoricalStockPrice
from pensions import services as pension_services
from portfolios import services
from portfolios.models import Transaction

# (name, url, most queries): the session, the user (twice: the admin's permission check
# reads it again), then the page's own, e.g. for a changelist its capped count, its rows
# with their related rows, and the choices of its filters.
PAGES = [
    ("index", lambda h: "/admin/", 3),
    ("transactions", lambda h: "/admin/portfolios/transaction/", 6),
    (
        "transactions of a portfolio",
        lambda h: f"/admin/portfolios/transaction/?portfolio__id__exact={h.big_portfolio.pk}",
        6,
    ),
    (
        "transactions of a holding",
        lambda h: f"/admin/portfolios/transaction/?holding__id__exact={h.big_holding.pk}",
        6,
    ),
    (
        "transaction change",
        lambda h: f"/admin/portfolios/transaction/{h.transaction.pk}/change/",
        7,
    ),
    ("transaction add", lambda h: "/admin/portfolios/transaction/add/", 2),
    ("holdings", lambda h: "/admin/portfolios/holding/", 7),
    ("holding change", lambda h: f"/admin/portfolios/holding/{h.big_holding.pk}/change/", 7),
    ("portfolios", lambda h: "/admin/portfolios/portfolio/", 8),
    (
        "portfolio change",
        lambda h: f"/admin/portfolios/portfolio/{h.big_portfolio.pk}/change/",
        6,
    ),
    ("prices", lambda h: "/admin/marketdata/historicalstockprice/", 5),
    ("prices search", lambda h: f"/admin/marketdata/historicalstockprice/?q={h.symbol}", 6),
    ("exchange rates", lambda h: "/admin/marketdata/historicalexchangerate/", 6),
    ("instruments", lambda h: "/admin/marketdata/instrument/", 6),
    (
        "instrument change",
        lambda h: f"/admin/marketdata/instrument/{h.big_holding.instrument_id}/change/",
        7,
    ),
    ("pension values", lambda h: "/admin/pensions/pensionvalueentry/", 6),
    ("pension accounts", lambda h: "/admin/pensions/pensionaccount/", 7),
    (
        "pension account change",
        lambda h: f"/admin/pensions/pensionaccount/{h.pension.pk}/change/",
        7,
    ),
    ("profiles", lambda h: "/admin/financedash/profile/", 6),
    ("users", lambda h: "/admin/auth/user/", 6),
]


@pytest.fixture(scope="module")
def household(django_db_setup, django_db_blocker):
    # Module-wide, so the per-test offline provider is not installed yet: nothing may
    # reach Yahoo while the household is built.
    with django_db_blocker.unblock(), override_settings(MARKETDATA_PROVIDER="offline"):
        household_data.remove()
        built = household_data.build(scale=0.05, years=2)
        yield built
        household_data.remove()


def _grow(h) -> None:
    """More rows in every table the pages list: a page that queries per row asks more."""
    day = h.end - dt.timedelta(days=1)
    for _ in range(3):
        services.record_transaction(
            portfolio=h.big_portfolio,
            instrument=h.big_holding.instrument,
            type="BUY",
            date=day,
            quantity=Decimal("1"),
            price=Decimal("10"),
        )
    pension_services.record_value(h.pension, date=h.end + dt.timedelta(days=1), value=Decimal(1))


def _queries(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return [query["sql"] for query in captured.captured_queries]


@pytest.mark.django_db
def test_every_admin_page_asks_a_fixed_few_queries(client, household):
    client.force_login(household.user)
    urls = {name: (url(household), most) for name, url, most in PAGES}
    for url, _ in urls.values():
        client.get(url)  # one-off lookups (content types, permissions) are cached
    before = {name: _queries(client, url) for name, (url, _) in urls.items()}
    _grow(household)
    failures = {}
    for name, (url, most) in urls.items():
        after = _queries(client, url)
        if len(after) > most or len(after) > len(before[name]):
            failures[name] = (len(before[name]), len(after), most, after)
    assert not failures, {name: failure[:3] for name, failure in failures.items()}


@pytest.mark.django_db
def test_no_page_counts_or_sorts_a_whole_big_table(client, household):
    client.force_login(household.user)
    for name, url, _ in PAGES:
        for sql in _queries(client, url(household)):
            big = ("marketdata_historicalstockprice", "portfolios_transaction")
            if "COUNT(" in sql and any(f'FROM "{table}"' in sql for table in big):
                # A count stops at the paginator's cap (a LIMIT inside the count), or
                # counts the rows of one parent through its index ("All 412 transactions").
                assert "LIMIT" in sql or '_id" = ' in sql, (name, sql)
            assert "date_trunc" not in sql, (name, sql)  # a date_hierarchy's years


@pytest.mark.django_db
def test_the_transaction_changelist_reads_the_date_index_not_a_sort(household):
    # The changelist's order (newest first) read off an index, not a sort of every row.
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's plan")
    queryset = Transaction.objects.select_related("holding__instrument", "portfolio")
    sql, params = queryset[:25].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "txn_date_id" in plan and "TEMP B-TREE" not in plan, plan


@pytest.mark.django_db
def test_a_capped_count_says_more_than(client, household, monkeypatch):
    monkeypatch.setattr(CappedPaginator, "cap", 100)
    client.force_login(household.user)
    assert HistoricalStockPrice.objects.count() > 100
    body = client.get("/admin/marketdata/historicalstockprice/").content.decode()
    assert "more than 100 historical stock prices" in body
    # A search counts up to the cap too: ~500 closes of one instrument in two years.
    body = client.get(
        f"/admin/marketdata/historicalstockprice/?q={household.symbol}&p=2"
    ).content.decode()
    assert "more than 100 results" in body
    # Under the cap, the exact count.
    monkeypatch.setattr(CappedPaginator, "cap", 10_000)
    body = client.get(f"/admin/marketdata/historicalstockprice/?q={household.symbol}").content
    closes = HistoricalStockPrice.objects.filter(instrument__ticker=household.symbol).count()
    assert f"{closes} results".encode() in body
    # Pages past the cap are not offered.
    response = client.get("/admin/marketdata/historicalstockprice/?p=999")
    assert response.status_code == 302  # the admin's answer to a page out of range


@pytest.mark.django_db
def test_the_row_checkbox_is_the_markup_of_djangos_widget(household):
    row = Transaction.objects.select_related("holding__instrument", "portfolio").first()
    row.holding.instrument.ticker = 'A&B "<x>"'  # escaped once, as the widget does
    model_admin = admin.site._registry[Transaction]
    assert QuickRows.action_checkbox(model_admin, row) == admin.ModelAdmin.action_checkbox(
        model_admin, row
    )


@pytest.mark.django_db
def test_price_search_finds_the_closes_of_matching_tickers(client, household):
    client.force_login(household.user)
    symbol = household.symbol
    part = symbol[1:4].lower()  # a case-insensitive fragment, as the stock search
    body = client.get(f"/admin/marketdata/historicalstockprice/?q={part}").content.decode()
    assert symbol in body
    body = client.get("/admin/marketdata/historicalstockprice/?q=no-such-ticker").content
    assert b"0 historical stock prices" in body or b"0 results" in body


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["", "?o=-2.3", "?type__exact=BUY&q=h"])
def test_quick_rows_are_djangos_rows(rf, household, query):
    """Every changelist's rows, cell for cell the markup Django's own renders (sorted,
    filtered: the change links carry the filters back)."""
    from django.contrib.admin.templatetags import admin_list

    from financedash.lib.admin import _column, quick_results

    compared = 0
    for model, model_admin in admin.site._registry.items():
        request = rf.get(f"/admin/{model._meta.app_label}/{model._meta.model_name}/{query}")
        request.user = household.user
        try:
            changelist = model_admin.get_changelist_instance(request)
        except Exception:  # a filter this model does not have: not this model's query
            continue
        changelist.formset = None  # as the changelist view sets it without list_editable
        ours = [list(row) for row in quick_results(changelist)]
        djangos = [list(row) for row in admin_list.results(changelist)]
        assert ours == djangos, model
        compared += bool(ours)
        if model._meta.app_label in {"portfolios", "marketdata", "pensions", "financedash"}:
            # Our own changelists take the quick path, not the fallback to Django's.
            columns = enumerate(changelist.list_display)
            assert all(_column(changelist, index, name, None) for index, name in columns)
    assert compared >= (1 if "type" in query else 8)
