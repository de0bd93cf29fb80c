"""The dividend forecast and yield on cost (portfolios.dividends), worked by hand, and the
portfolio page's dividends section."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from financedash.templatetags.dates import month
from portfolios.dividends import (
    Held,
    Payment,
    Split,
    add_months,
    forecast,
    in_window,
    window_start,
    year_on,
)
from portfolios.dividends_data import portfolio_dividends
from tests.factories import HistoricalExchangeRateFactory, PortfolioFactory, record
from tests.views.conftest import htmx, priced_instrument

D = Decimal
TODAY = dt.date(2026, 12, 1)


def test_the_window_is_the_trailing_twelve_months_by_day():
    # Regression: it was the calendar months Jan-Dec 2026 on 1 December 2026, so last
    # December's payments were neither received nor forecast.
    assert window_start(TODAY) == dt.date(2025, 12, 2)
    assert window_start(dt.date(2027, 3, 31)) == dt.date(2026, 4, 1)
    assert window_start(dt.date(2028, 2, 29)) == dt.date(2027, 3, 1)
    assert year_on(dt.date(2028, 2, 29)) == dt.date(2029, 2, 28)
    assert not in_window(dt.date(2025, 12, 1), TODAY)
    assert in_window(dt.date(2025, 12, 2), TODAY) and in_window(TODAY, TODAY)
    assert not in_window(dt.date(2026, 12, 2), TODAY)
    assert add_months(dt.date(2026, 12, 15), 1) == dt.date(2027, 1, 1)
    assert add_months(dt.date(2026, 1, 15), -13) == dt.date(2024, 12, 1)


def _case():
    equinor = Held(1, "EQNR.OL", "NOK", quantity=D("20"), total_cost=D("5000"))
    apple = Held(2, "AAPL", "USD", quantity=D("4"), total_cost=D("6000"))
    sold = Held(3, "NHY.OL", "NOK", quantity=D("0"), total_cost=D("0"))
    volvo = Held(4, "VOLV-B.ST", "SEK", quantity=D("10"), total_cost=D("1000"))
    quiet = Held(5, "TEL.OL", "NOK", quantity=D("100"), total_cost=D("15000"))
    december = Held(6, "DNB.OL", "NOK", quantity=D("10"), total_cost=D("2000"))
    payments = [
        # 10 shares before the 2-for-1 split of June: 3.50 a share then is 1.75 now.
        Payment(1, dt.date(2026, 2, 15), D("10"), D("3.50")),
        Payment(1, dt.date(2026, 8, 15), D("20"), D("2.00")),
        # Before the window (November last year): neither received nor forecast.
        Payment(1, dt.date(2025, 11, 15), D("10"), D("9.99")),
        # 5 shares x 0.25 USD at 10.00 = 12.50 NOK gross, 1.875 (15 %) withheld.
        Payment(2, dt.date(2026, 5, 10), D("5"), D("0.25"), D("10.00"), D("1.875")),
        Payment(3, dt.date(2026, 3, 1), D("50"), D("1.00")),
        Payment(4, dt.date(2026, 4, 20), D("10"), D("5"), D("0.95")),
        # A year and a day ago: out. 2 and 8 December last year: in, forecast for this
        # December (after today). Today: in, forecast for next December.
        Payment(6, dt.date(2025, 12, 1), D("10"), D("50")),
        Payment(6, dt.date(2025, 12, 2), D("10"), D("2.00")),
        Payment(6, dt.date(2025, 12, 8), D("10"), D("1.00")),
        Payment(6, dt.date(2026, 12, 1), D("10"), D("0.50")),
    ]
    splits = [Split(1, dt.date(2026, 6, 1), D("2")), Split(1, dt.date(2025, 6, 1), D("3"))]
    holdings = [equinor, apple, sold, volvo, quiet, december]
    return holdings, payments, splits


def test_forecast_worked_by_hand():
    holdings, payments, splits = _case()
    result = forecast(TODAY, "NOK", holdings, payments, splits, {"USD": D("11")})
    months = {m.received_month: m for m in result.months}
    # 2 December 2025 to today: 13 months touched, each beside the same month a year on.
    assert [m.received_month for m in result.months] == [dt.date(2025, 12, 1)] + [
        dt.date(2026, i, 1) for i in range(1, 13)
    ]
    assert [m.forecast_month for m in result.months] == [dt.date(2026, 12, 1)] + [
        dt.date(2027, i, 1) for i in range(1, 13)
    ]
    # December 2025: 10 x 2.00 + 10 x 1.00 = 30.00 both ways (forecast for December 2026);
    # the 50.00 of 1 December 2025 is a year and a day ago.
    last_december = months[dt.date(2025, 12, 1)]
    assert (last_december.received, last_december.forecast) == (D("30.00"), D("30.00"))
    assert last_december.forecast_month == dt.date(2026, 12, 1)
    # Today's 10 x 0.50 = 5.00, forecast for December 2027.
    assert (months[dt.date(2026, 12, 1)].received, months[dt.date(2026, 12, 1)].forecast) == (
        D("5.00"),
        D("5.00"),
    )
    # February: received 10 x 3.50 = 35.00; forecast 20 x 3.50 / 2 (the later split) = 35.00.
    assert (months[dt.date(2026, 2, 1)].received, months[dt.date(2026, 2, 1)].forecast) == (
        D("35.00"),
        D("35.00"),
    )
    # August: 20 x 2.00 = 40.00 both ways (the split was before it).
    assert months[dt.date(2026, 8, 1)].forecast == D("40.00")
    # May: received 12.50 - 1.875 = 10.625; forecast 4 x 0.25 x 11 (today's rate)
    # x (1 - 1.875 / 12.50 = 0.85) = 9.35.
    assert months[dt.date(2026, 5, 1)].received == D("10.625")
    assert months[dt.date(2026, 5, 1)].forecast == D("9.35")
    # March: the sold-out holding paid 50.00 and is forecast to pay nothing.
    assert (months[dt.date(2026, 3, 1)].received, months[dt.date(2026, 3, 1)].forecast) == (
        D("50.00"),
        D("0"),
    )
    # April: the SEK holding paid 10 x 5 x 0.95 = 47.50, but no SEK rate is known now.
    assert months[dt.date(2026, 4, 1)].received == D("47.50")
    assert months[dt.date(2026, 4, 1)].forecast == D("0")
    assert result.missing == [
        "VOLV-B.ST: no SEK→NOK exchange rate is stored, so its dividends are not forecast."
    ]
    # Totals: 35 + 40 + 10.625 + 50 + 47.50 + 30 + 5 received; 35 + 40 + 9.35 + 30 + 5
    # forecast.
    assert result.received == D("218.125")
    assert result.forecast == D("119.35")


def test_yield_on_cost_worked_by_hand():
    holdings, payments, splits = _case()
    result = forecast(TODAY, "NOK", holdings, payments, splits, {"USD": D("11")})
    rows = {h.symbol: h for h in result.holdings}
    # Only holdings that paid in the window are listed (TEL.OL paid nothing).
    assert list(rows) == ["EQNR.OL", "AAPL", "NHY.OL", "VOLV-B.ST", "DNB.OL"]
    # The December payer: (20 + 10 + 5) / 2000 x 100 = 1.75 %.
    assert rows["DNB.OL"].received == D("35.00") and rows["DNB.OL"].forecast == D("35.00")
    assert rows["DNB.OL"].yield_on_cost == D("1.75")
    # (35 + 40) / 5000 = 1.5 %.
    assert rows["EQNR.OL"].received == D("75.00")
    assert rows["EQNR.OL"].forecast == D("75.00")
    assert rows["EQNR.OL"].yield_on_cost == D("1.5")
    # 10.625 / 6000 x 100 = 0.17708...
    assert rows["AAPL"].yield_on_cost == D("10.625") / D("6000") * 100
    # Sold out: no cost basis to yield on; unconverted: no forecast, the yield still stands.
    assert rows["NHY.OL"].yield_on_cost is None and rows["NHY.OL"].forecast == D("0")
    assert rows["VOLV-B.ST"].forecast is None
    assert rows["VOLV-B.ST"].yield_on_cost == D("4.75")


def test_a_payment_after_today_or_of_an_unknown_holding_is_ignored():
    holdings, _, _ = _case()
    payments = [
        Payment(1, dt.date(2026, 12, 2), D("20"), D("1")),
        Payment(99, dt.date(2026, 6, 1), D("20"), D("1")),
    ]
    result = forecast(TODAY, "NOK", holdings, payments, [], {})
    assert result.empty and result.received == 0 and result.forecast == 0


def test_a_window_ending_on_a_month_end_has_twelve_rows():
    result = forecast(dt.date(2026, 11, 30), "NOK", [], [], [], {})
    assert [m.received_month for m in result.months] == [dt.date(2025, 12, 1)] + [
        dt.date(2026, i, 1) for i in range(1, 12)
    ]


@given(
    day=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 1, 1)),
    today=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 1, 1)),
)
def test_every_payment_received_is_forecast_within_the_next_twelve_months(day, today):
    if in_window(day, today):
        assert window_start(today) <= day <= today < year_on(day) <= year_on(today)


@given(
    quantity=st.decimals(min_value="0.0001", max_value="100000", places=4),
    per_share=st.decimals(min_value="0.01", max_value="1000", places=2),
)
def test_an_unchanged_holding_is_forecast_to_pay_what_it_paid(quantity, per_share):
    # Same quantity, no split, no tax, its own currency: next year's month is this year's.
    held = Held(1, "X", "NOK", quantity=quantity, total_cost=D("1"))
    payment = Payment(1, dt.date(2026, 6, 30), quantity, per_share)
    result = forecast(TODAY, "NOK", [held], [payment], [], {})
    assert result.forecast == payment.net.quantize(D("0.01"))
    assert result.received == payment.net


@pytest.mark.django_db
def test_the_portfolio_page_shows_the_history_beside_the_forecast(owner_client, owner):
    portfolio = PortfolioFactory(user=owner, currency="NOK")
    apple = priced_instrument("AAPL", "200", currency="USD")
    today = dt.date.today()
    HistoricalExchangeRateFactory(
        base_currency="USD", target_currency="NOK", date=today - dt.timedelta(days=1), rate=D("11")
    )
    buy = record(
        portfolio,
        apple,
        quantity="4",
        price="150",
        exchange_rate="10",
        date=today - dt.timedelta(days=60),
    )
    # 4 x 0.50 USD x 10 = 20.00 NOK, 3.00 withheld: 17.00 received; forecast 4 x 0.50 x 11
    # x (17 / 20) = 18.70. Cost 4 x 150 x 10 = 6000 (less the 17.00 dividend: 5983.00).
    record(
        portfolio,
        apple,
        "DIVIDEND",
        quantity="4",
        price="0.50",
        exchange_rate="10",
        fees="3",
        date=today - dt.timedelta(days=30),
    )
    forecast = portfolio_dividends(portfolio, today)
    assert forecast.received == D("17.00") and forecast.forecast == D("18.70")
    assert forecast.holdings[0].yield_on_cost == D("17.00") / D("5983.00") * 100

    body = owner_client.get(reverse("portfolios:detail", args=[portfolio.pk])).content.decode()
    assert 'id="dividends"' in body
    assert '<td id="dividends-received">17.00</td>' in body
    assert '<td id="dividends-forecast">18.70</td>' in body
    assert f'id="dividends-{buy.holding_id}"' in body and "0.28\u00a0%" in body

    # Months in the page's language: lower case in Norwegian as CLDR writes them.
    paid = (today - dt.timedelta(days=30)).replace(day=1)
    norwegian = owner_client.get(
        reverse("portfolios:detail", args=[portfolio.pk]), HTTP_ACCEPT_LANGUAGE="nb"
    ).content.decode()
    with translation.override("nb"):
        assert f'<th scope="row" class="text">{month(paid)}</th>' in norwegian
        assert month(paid) == month(paid).lower()

    partial = htmx(owner_client, reverse("portfolios:dividends", args=[portfolio.pk]))
    assert partial.status_code == 200 and "<html" not in partial.content.decode()
    assert '<td id="dividends-forecast">18.70</td>' in partial.content.decode()
    page = owner_client.get(reverse("portfolios:dividends", args=[portfolio.pk]))
    assert page.status_code == 302 and page["Location"].endswith("/#dividends")


@pytest.mark.django_db
def test_last_decembers_dividend_is_read_and_forecast_on_the_first_of_december(owner):
    portfolio = PortfolioFactory(user=owner, currency="NOK")
    equinor = priced_instrument("EQNR.OL", "300")
    record(portfolio, equinor, quantity="10", price="250", date=dt.date(2025, 1, 10))
    # 10 x 7.00 = 70.00 on 8 December 2025: received, and forecast for December 2026.
    record(portfolio, equinor, "DIVIDEND", quantity="10", price="7", date=dt.date(2025, 12, 8))
    result = portfolio_dividends(portfolio, TODAY)
    assert (result.received, result.forecast) == (D("70.00"), D("70.00"))
    first = result.months[0]
    assert (first.received_month, first.forecast_month) == (
        dt.date(2025, 12, 1),
        dt.date(2026, 12, 1),
    )
    assert (first.received, first.forecast) == (D("70.00"), D("70.00"))


@pytest.mark.django_db
def test_without_dividends_the_section_says_so(owner_client, owner):
    portfolio = PortfolioFactory(user=owner, currency="NOK")
    record(portfolio, priced_instrument("EQNR.OL", "300"), quantity="10", price="250")
    body = owner_client.get(reverse("portfolios:detail", args=[portfolio.pk])).content.decode()
    assert "No dividends in the last 12 months" in body


@pytest.mark.django_db
def test_the_api_answers_the_forecast(owner, api):
    portfolio = PortfolioFactory(user=owner, currency="NOK")
    equinor = priced_instrument("EQNR.OL", "300")
    today = dt.date.today()
    record(portfolio, equinor, quantity="10", price="250", date=today - dt.timedelta(days=60))
    # 10 x 4.125 = 41.25 received; forecast the same (same quantity, no split, no tax).
    record(
        portfolio,
        equinor,
        "DIVIDEND",
        quantity="10",
        price="4.125",
        date=today - dt.timedelta(days=20),
    )
    response = api.get(f"/api/v1/portfolios/{portfolio.pk}/dividends")
    assert response.status_code == 200
    body = response.json()
    assert (body["currency"], body["received"], body["forecast"]) == ("NOK", "41.25", "41.25")
    # 13 months touched unless today is the last of its month.
    assert len(body["months"]) == (12 if (today + dt.timedelta(days=1)).day == 1 else 13)
    paid = (today - dt.timedelta(days=20)).replace(day=1)
    month = next(m for m in body["months"] if m["received_month"] == paid.isoformat())
    assert month["forecast_month"] == paid.replace(year=paid.year + 1).isoformat()
    assert (month["received"], month["forecast"]) == ("41.25", "41.25")
    # 41.25 / (2500 - 41.25 = 2458.75, the cost basis less the dividend) x 100 = 1.6776...
    [holding] = body["holdings"]
    assert (holding["symbol"], holding["yield_on_cost"]) == ("EQNR.OL", "1.68")
    assert body["missing"] == []
