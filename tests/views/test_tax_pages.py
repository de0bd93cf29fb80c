"""The tax report page, its CSV and the year picker (ARCHITECTURE 5d)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from financedash.lib.privacy import MASK
from tests.factories import (
    HistoricalStockPriceFactory,
    InstrumentFactory,
    PortfolioFactory,
    record,
)
from tests.tax_rates import published_rates  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("published_rates")]


@pytest.fixture
def two_portfolios(owner):
    eqnr = InstrumentFactory(ticker="EQNR.OL")
    a = PortfolioFactory(user=owner, name="A")
    b = PortfolioFactory(user=owner, name="B")
    record(a, eqnr, quantity="10", price="100", date=dt.date(2023, 1, 10))
    record(b, eqnr, quantity="10", price="200", date=dt.date(2023, 2, 10))
    record(b, eqnr, "SELL", quantity="5", price="250", date=dt.date(2023, 3, 10))
    HistoricalStockPriceFactory(instrument=eqnr, date=dt.date(2023, 12, 29), close=Decimal(300))
    return a, b


def test_the_year_page(owner_client, two_portfolios):
    response = owner_client.get("/tax/2023/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="tax-sales"' in html and "EQNR.OL" in html
    assert "750.00" in html  # the FIFO gain
    assert "250.00" in html  # the average-cost gain beside it
    assert "RF-1159" in html
    assert 'id="tax-estimate"' in html and "283.80" in html  # 750 x 37.84 %
    # Regression: a tax to pay was shown signed ("+283.80"), as if it were a gain.
    assert '<dd id="tax-estimate">283.80\u00a0NOK</dd>' in html and "+283.80" not in html
    assert '<option value="2023" selected>' in html


def test_the_picker_and_a_bad_year(owner_client, two_portfolios):
    response = owner_client.get("/tax/?year=2023")
    assert response.status_code == 302 and response["Location"] == "/tax/2023/"
    assert owner_client.get("/tax/1800/").status_code == 404
    assert owner_client.get("/tax/?year=x").status_code == 302


def test_the_csv(owner_client, two_portfolios):
    response = owner_client.get("/tax/2023/export.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    sale = next(r for r in rows if r[0] == "sale")
    assert sale[1:] == [
        "EQNR.OL",
        "2023-03-10",
        "5",
        "1250.00",
        "500.00",
        "750.00",
        "0.00",
        "750.00",
        "250.00",
    ]
    assert rows.count(sale) == 1
    holding = next(r for r in rows if r[0] == "holding")
    assert holding[3] == "15"  # not 1.5E+1
    assert holding[4:8] == ["4500.00", "2500.00", "80.00", "80.00"]
    total = next(r for r in rows if r[0] == "total")
    assert total[-1] == "283.80"
    # No dividends: nothing withheld, nothing to credit.
    assert next(r for r in rows if r[0] == "credit")[4:] == ["0.00", "0.00"]


def test_another_user_sees_only_their_own(outsider_client, two_portfolios):
    html = outsider_client.get("/tax/2023/").content.decode()
    assert "EQNR.OL" not in html
    rows = list(
        csv.reader(io.StringIO(outsider_client.get("/tax/2023/export.csv").content.decode()))
    )
    assert not [r for r in rows if r[0] in ("sale", "holding", "dividend", "ask_account")]


def test_anonymous_is_sent_to_login(client):
    response = client.get("/tax/2023/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_lots_of_a_holding_pool_the_ordinary_portfolios(owner_client, two_portfolios):
    a, b = two_portfolios
    holding = b.holdings.get()
    url = f"/holdings/{holding.pk}/lots/"
    assert owner_client.get(url).status_code == 302  # a partial: the page without htmx
    html = owner_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    # B sold 5 from A's lot (FIFO): left 5 bought in A at 100 and B's 10 at 200.
    assert "2023-01-10" in html and ">A<" in html and ">B<" in html
    assert (
        "500.00\u00a0NOK" in html
        and "2\u202f000.00\u00a0NOK" in html
        and "2\u202f500.00\u00a0NOK" in html
    )
    page = owner_client.get(f"/holdings/{holding.pk}/").content.decode()
    assert 'id="tax-lots"' in page and url in page


def test_sales_and_lots_show_dates_in_the_language_of_the_page(owner_client, two_portfolios):
    # Regression: ISO "2023-03-10" in Norwegian too; tables take the short form.
    holding = two_portfolios[1].holdings.get()
    html = owner_client.get("/tax/2023/", HTTP_ACCEPT_LANGUAGE="nb").content.decode()
    assert "10.03.2023" in html and "2023-03-10" not in html
    lots = owner_client.get(
        f"/holdings/{holding.pk}/lots/", HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="nb"
    ).content.decode()
    assert "10.01.2023" in lots and "2023-01-10" not in lots
    # The CSV keeps ISO dates whatever the language.
    csv_text = owner_client.get("/tax/2023/export.csv", HTTP_ACCEPT_LANGUAGE="nb")
    assert "2023-03-10" in csv_text.content.decode()


def test_tax_if_sold_today_on_the_dashboard(owner_client, owner):
    from django.utils import timezone

    from tests.views.conftest import priced_instrument

    eqnr = priced_instrument("EQNR.OL", "300")
    main = PortfolioFactory(user=owner, name="Main")
    record(
        main, eqnr, quantity="10", price="250", date=timezone.localdate() - dt.timedelta(days=30)
    )
    page = owner_client.get("/").content.decode()
    assert 'id="tax-today"' in page and "/dashboard/tax/" in page
    assert owner_client.get("/dashboard/tax/").status_code == 302  # a partial
    html = owner_client.get("/dashboard/tax/", HTTP_HX_REQUEST="true").content.decode()
    # 10 x 300 - 2,500 = 500 gain, no shielding yet (bought this year, or in a year without
    # a rate), at the latest known factor 1.72: 500 x 37.84 % = 189.20; net worth
    # 3,000 - 189.20 = 2,810.80.
    assert '<dd id="tax-household">189.20\u00a0NOK</dd>' in html
    assert "2\u202f810.80" in html
    assert "estimate" in html.lower()


def test_the_tax_pages_carry_no_inline_script_or_style(owner_client, two_portfolios):
    import re

    a, b = two_portfolios
    pages = [
        owner_client.get("/tax/2023/").content.decode(),
        owner_client.get(
            f"/holdings/{b.holdings.get().pk}/lots/", HTTP_HX_REQUEST="true"
        ).content.decode(),
        owner_client.get("/dashboard/tax/", HTTP_HX_REQUEST="true").content.decode(),
    ]
    for html in pages:
        assert " style=" not in html
        assert not [t for t in re.findall(r"<script\b[^>]*>", html) if "src=" not in t]


def test_a_year_without_a_shielding_rate_says_missing(owner_client, two_portfolios):
    html = owner_client.get("/tax/2025/").content.decode()
    assert "Shielding rate missing" in html
    assert "No shielding rate is known for these years" in html and "2025" in html
    assert "Shielding rate missing" not in owner_client.get("/tax/2023/").content.decode()


def test_years_before_any_transaction_or_far_ahead(owner_client, two_portfolios):
    # Before the first transaction: an empty report, not an error; the range ends at 2100.
    for year in (2006, 2010, 2100):
        response = owner_client.get(f"/tax/{year}/")
        assert response.status_code == 200, year
        assert owner_client.get(f"/tax/{year}/export.csv").status_code == 200
    assert (
        "No sales in ordinary accounts this year."
        in owner_client.get("/tax/2010/").content.decode()
    )
    for year in (1999, 2005, 2101):
        assert owner_client.get(f"/tax/{year}/").status_code == 404
        assert owner_client.get(f"/tax/{year}/export.csv").status_code == 404


def test_the_kept_page_follows_a_new_sale_and_privacy_mode(owner_client, two_portfolios):
    a, b = two_portfolios
    assert "283.80" in owner_client.get("/tax/2023/").content.decode()
    # B sells 5 @ 260 = 1,300 of A's remaining 5 @ 100: gain 800; (750 + 800) x 37.84 %
    # = 586.52, though the page's report part was kept rendered.
    eqnr = b.holdings.get().instrument
    record(b, eqnr, "SELL", quantity="5", price="260", date=dt.date(2023, 4, 10))
    html = owner_client.get("/tax/2023/").content.decode()
    assert "586.52" in html and "283.80" not in html
    # Privacy mode hides the amounts of the kept part too.
    owner_client.post(reverse("privacy_toggle"), {"next": "/tax/2023/"})
    html = owner_client.get("/tax/2023/").content.decode()
    assert "586.52" not in html and MASK in html
