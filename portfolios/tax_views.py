"""The Norwegian tax report pages (ARCHITECTURE 5d): the year page, its CSV and the year
picker. Thin: the figures come from portfolios.tax_data, the same as the API's."""

from __future__ import annotations

import csv
import io

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from financedash.lib import privacy
from portfolios import services, tax_data, views
from portfolios.models import Portfolio, Transaction


def _years(user) -> list[int]:
    """From the year of the user's first transaction (or this year) to last year, newest
    first; this year too, for a running estimate."""
    this_year = timezone.localdate().year
    first = (
        Transaction.objects.owned_by(user).order_by("date").values_list("date", flat=True).first()
    )
    start = first.year if first else this_year
    return list(range(this_year, start - 1, -1))


@require_GET
def tax_index(request: HttpRequest) -> HttpResponse:
    """The year picker's target (?year=), else last year's report."""
    try:
        year = int(request.GET.get("year", ""))
    except ValueError:
        year = timezone.localdate().year - 1
    year = min(max(year, services.FIRST_TAX_YEAR), services.LAST_TAX_YEAR)
    return redirect("portfolios:tax_year", year)


def _report(request: HttpRequest, year: int) -> dict:
    if not services.FIRST_TAX_YEAR <= year <= services.LAST_TAX_YEAR:
        raise Http404
    return tax_data.report_data(tax_data.year_report(request.user, year))


@require_GET
def tax_year(request: HttpRequest, year: int) -> HttpResponse:
    data = _report(request, year)
    context = {
        "year": year,
        "report": data,
        "years": _years(request.user),
        "nok": "NOK",
        # The report's part of the page is kept rendered (its key carries the report's
        # inputs; the amounts are written differently when privacy mode hides them).
        "fragment_key": f"{tax_data.cache_key(request.user, 'page', year)}:{privacy.hidden()}",
    }
    return render(request, "portfolios/tax.html", context)


@require_GET
def tax_export(request: HttpRequest, year: int) -> HttpResponse:
    """The report as one CSV: a `section` column, then that section's fields (amounts in
    NOK, full precision rounded to cents, dot decimals)."""
    data = _report(request, year)
    out = io.StringIO()
    writer = csv.writer(out)

    def cents(value):
        return "" if value is None else f"{value:.2f}"

    writer.writerow(["section", "symbol", "date", "quantity", "a", "b", "c", "d", "e", "f"])
    writer.writerow(
        ["holdings", "symbol", "", "quantity", "value", "cost", "shielding", "shielding_unused"]
    )
    for h in data["holdings"]:
        writer.writerow(
            [
                "holding",
                h.symbol,
                f"{year}-12-31",
                f"{h.quantity.normalize():f}",
                cents(h.value),
                cents(h.cost),
                cents(h.shielding),
                cents(h.shielding_unused),
            ]
        )
    writer.writerow(
        [
            "sales",
            "symbol",
            "date",
            "quantity",
            "proceeds",
            "cost",
            "gain",
            "shielding_used",
            "taxable_gain",
            "average_cost_gain",
        ]
    )
    for s in data["sales"]:
        writer.writerow(
            [
                "sale",
                s.symbol,
                s.date.isoformat(),
                f"{s.quantity.normalize():f}",
                cents(s.proceeds),
                cents(s.cost),
                cents(s.gain),
                cents(s.shielding_used),
                cents(s.taxable_gain),
                cents(s.average_cost_gain),
            ]
        )
    writer.writerow(
        ["dividends", "symbol", "", "", "amount", "withholding_tax", "shielding_used", "taxable"]
    )
    for d in data["dividends"]:
        writer.writerow(
            [
                "dividend",
                d["symbol"],
                "",
                "",
                cents(d["amount"]),
                cents(d["withholding_tax"]),
                cents(d["shielding_used"]),
                cents(d["taxable"]),
            ]
        )
    writer.writerow(
        [
            "ask_accounts",
            "portfolio",
            "",
            "",
            "deposits",
            "value",
            "shielding",
            "taxable_withdrawals",
            "tax_deferred_estimate",
        ]
    )
    for a in data["ask"]:
        writer.writerow(
            [
                "ask_account",
                a["name"],
                f"{year}-12-31",
                "",
                cents(a["deposits"]),
                cents(a["value"]),
                cents(a["shielding"]),
                cents(a["taxable_withdrawals"]),
                cents(a["tax_deferred_estimate"]),
            ]
        )
    t = data["totals"]
    writer.writerow(
        [
            "totals",
            "",
            "",
            "",
            "taxable_gain",
            "deductible_loss",
            "taxable_dividends",
            "taxable_ask_withdrawals",
            "withholding_tax",
            "tax_estimate",
        ]
    )
    writer.writerow(
        [
            "total",
            "",
            "",
            "",
            cents(t.taxable_gain),
            cents(t.deductible_loss),
            cents(t.taxable_dividends),
            cents(t.taxable_ask_withdrawals),
            cents(t.withholding_tax),
            cents(t.tax_estimate),
        ]
    )
    writer.writerow(["credits", "", "", "", "withholding_tax", "withholding_credit"])
    writer.writerow(["credit", "", "", "", cents(t.withholding_tax), cents(t.withholding_credit)])
    writer.writerow(["note", _("All amounts are estimates in NOK.")])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="tax-{year}.csv"'
    return response


@require_GET
def holding_lots(request: HttpRequest, pk: int) -> HttpResponse:
    """The open FIFO lots of a holding's share (ARCHITECTURE 5d), beside the average-cost
    figures of the holding page: for an ordinary portfolio, the lots of every ordinary
    portfolio of the user (FIFO pools them); for an ASK, that account's own."""
    holding = views._holding_for(request, pk)
    if not request.htmx:
        return redirect("portfolios:holding", pk)
    lots = tax_data.holding_lots(request.user, holding.portfolio, holding.instrument.ticker)
    names = dict(Portfolio.objects.owned_by(request.user).values_list("pk", "name"))
    context = {
        "holding": holding,
        "rows": [{"lot": lot, "portfolio": names.get(lot.portfolio_id, "")} for lot in lots.lots],
        "lots": lots,
        "nok": "NOK",
    }
    return render(request, "portfolios/tax_lots.html", context)
