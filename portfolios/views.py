"""Portfolio pages and their live parts. Thin: fetch for this user, call a service or the
valuation read path, render. Each page and its partials are one template; an HTMX request
gets the named partial ("page.html#name"), any other request the whole page."""

from __future__ import annotations

import secrets
import sys
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.text import slugify
from django.utils.translation import gettext, gettext_lazy, ngettext, pgettext
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from financedash.lib import charts, privacy
from financedash.lib.l10n import format_day, format_month, format_number
from financedash.lib.profiles import profile_for
from marketdata import history, quotes
from portfolios import backfill, dividends_data, export, jobs, ledger, services, splits, valuation
from portfolios.benchmark import TWR_HELP as BENCHMARK_TWR
from portfolios.benchmark import VALUE_HELP as BENCHMARK_VALUE
from portfolios.forms import (
    FORMAT_LABELS,
    CashForm,
    ImportForm,
    PortfolioForm,
    TransactionFilterForm,
    TransactionForm,
    UsedCreditForm,
)
from portfolios.importers import FORMAT_CHOICES, FORMATS
from portfolios.imports import import_transactions
from portfolios.models import Holding, ImportBatch, ImportJob, Portfolio, Transaction
from portfolios.performance import DEFINITIONS
from portfolios.performance_data import benchmark_for, performance_for

# The event every write sends, so that the live parts of whatever page is open (holdings
# table and totals, a holding's figures, open transaction lists) fetch themselves again.
LEDGER_CHANGED = "ledger-changed"
INVALID = 422  # form errors: htmx is configured (base.html) to swap this status

RANGES = {"3m": timedelta(days=91), "1y": timedelta(days=365), "5y": timedelta(days=5 * 365)}
RANGE_LABELS = {
    "3m": gettext_lazy("3 months"),
    "1y": gettext_lazy("1 year"),
    "5y": gettext_lazy("5 years"),
    "max": gettext_lazy("All"),
}
DEFAULT_RANGE = "1y"

# Holdings table columns: (key, heading, HoldingRow attribute, numeric).
COLUMNS = (
    ("symbol", gettext_lazy("Holding"), "symbol", False),
    ("quantity", gettext_lazy("Quantity"), "quantity", True),
    ("average_cost", gettext_lazy("Avg cost"), "average_cost", True),
    ("price", gettext_lazy("Price"), "current_price", True),
    ("value", gettext_lazy("Value"), "current_value", True),
    ("gain", gettext_lazy("Unrealized"), "unrealized_gain_loss", True),
    ("gain_pct", gettext_lazy("Unrealized %"), "unrealized_gain_loss_percent", True),
    ("realized", gettext_lazy("Realized"), "realized_gain", True),
    ("dividends", gettext_lazy("Dividends"), "dividends", True),
    ("allocation", gettext_lazy("Allocation"), "allocation_percent", True),
)
# Hidden on a phone (the .opt rule in app.css), so that name, value and gain fit its width;
# the holding's own page has every figure.
PHONE_OPTIONAL = frozenset({"quantity", "average_cost", "price", "realized", "dividends"})
SORT_ATTRS = {key: attr for key, _, attr, _ in COLUMNS} | {"name": "company_name"}
DEFAULT_SORT = "-value"

# A holding's transactions are listed this many at a time, newest first, with a "show
# older" row for the rest: a busy holding has hundreds, and rendering every one of them
# made its page and its expanded row the slowest in the app at household scale.
TRANSACTIONS_PER_PAGE = 50


def _portfolio_for(request: HttpRequest, pk: int) -> Portfolio:
    return get_object_or_404(Portfolio.objects.owned_by(request.user), pk=pk)


def _holding_for(request: HttpRequest, pk: int) -> Holding:
    return get_object_or_404(
        Holding.objects.owned_by(request.user).select_related("portfolio", "instrument"), pk=pk
    )


def _transaction_for(request: HttpRequest, pk: int) -> Transaction:
    return get_object_or_404(
        Transaction.objects.owned_by(request.user).select_related(
            "portfolio", "holding__instrument"
        ),
        pk=pk,
    )


def _partial(request: HttpRequest, template: str, name: str) -> str:
    return f"{template}#{name}" if request.htmx else template


def _invalid(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    return render(request, template, context, status=INVALID)


def _safe_next(request: HttpRequest) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return None


def _go(request: HttpRequest, url: str) -> HttpResponse:
    """Send the browser to `url`: HX-Redirect for htmx, a plain redirect otherwise."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _ledger_changed(response: HttpResponse) -> HttpResponse:
    return trigger_client_event(response, LEDGER_CHANGED)


# Chart periods ---------------------------------------------------------------------------


def period(request: HttpRequest, first_day: date | None) -> tuple[str, date, date]:
    """(range key, start, end) from ?range=; "max" starts at the first transaction."""
    key = request.GET.get("range", DEFAULT_RANGE)
    if key not in RANGE_LABELS:
        key = DEFAULT_RANGE
    end = timezone.localdate()
    if key == "max":
        start = first_day or end - RANGES[DEFAULT_RANGE]
    else:
        start = end - RANGES[key]
        if first_day and first_day > start:
            # Nothing was held before the first transaction: a flat zero line says nothing.
            start = first_day
    return key, min(start, end), end


def value_chart(performance, pensions=None, benchmark=None) -> charts.LineChart:
    """Market value and net deposits from the opening point (the close of the day before
    the period) on, so the chart's last point minus its first is the period's change; the
    household's pensions as a line of their own; the benchmark (performance_data.
    BenchmarkLine) when it has values."""
    series = performance.series
    lines = [
        charts.Series(gettext("Market value"), [(p.date, p.value) for p in series], area=True),
        charts.Series(
            gettext("Net deposits"),
            [(p.date, p.net_deposits) for p in series],
            style="secondary",
            dashed=True,
        ),
    ]
    if pensions:
        points = list(zip((p.date for p in series), pensions, strict=True))
        lines.append(charts.Series(gettext("Pensions"), points, style="tertiary"))
    if benchmark is not None and benchmark.values:
        points = list(zip((p.date for p in series), benchmark.values, strict=True))
        label = gettext("Benchmark %(symbol)s") % {"symbol": benchmark.symbol}
        lines.append(charts.Series(label, points, style="benchmark"))
    return charts.line_chart(lines)


def performance_context(performance) -> dict:
    """What includes/performance_figures.html needs besides the performance itself."""
    by_month = performance.dividends_by_month if performance else {}
    years = []
    for year, total in sorted((performance.dividends_by_year if performance else {}).items()):
        months = [
            (date(year, int(key[5:]), 1), amount)
            for key, amount in sorted(by_month.items())
            if key.startswith(f"{year:04d}-")
        ]
        years.append((year, {"total": total, "months": [(format_month(d), a) for d, a in months]}))
    return {"definitions": page_definitions(), "dividend_years": years}


def page_definitions() -> dict[str, str]:
    """The figures' definitions in the page's language (the API keeps the English ones)."""
    return {
        **{key: gettext(text) for key, text in DEFINITIONS.items()},
        "benchmark_value": gettext(BENCHMARK_VALUE),
        "benchmark_twr": gettext(BENCHMARK_TWR),
    }


def first_transaction_day(portfolios) -> date | None:
    first = (
        Transaction.objects.filter(portfolio__in=portfolios)
        .order_by("date")
        .values_list("date", flat=True)
        .first()
    )
    return first


# Portfolios ------------------------------------------------------------------------------


@require_GET
def portfolio_list(request: HttpRequest) -> HttpResponse:
    summaries = valuation.summarize(Portfolio.objects.owned_by(request.user))
    return render(request, "portfolios/list.html", {"summaries": summaries})


@require_http_methods(["GET", "POST"])
def portfolio_create(request: HttpRequest) -> HttpResponse:
    profile = profile_for(request.user)
    initial = {
        "currency": profile.base_currency,
        "dividends_reduce_cost_basis": profile.dividends_reduce_cost_basis,
    }
    form = PortfolioForm(request.POST or None, user=request.user, initial=initial)
    context = {"form": form, "next": _safe_next(request)}
    template = "portfolios/portfolio_form.html"
    if request.method == "POST":
        portfolio = form.save() if form.is_valid() else None
        if portfolio is None:
            return _invalid(request, _partial(request, template, "form"), context)
        messages.success(
            request, gettext("Created the portfolio %(name)s.") % {"name": portfolio.name}
        )
        return _go(request, context["next"] or reverse("portfolios:detail", args=[portfolio.pk]))
    return render(request, _partial(request, template, "form"), context)


@require_http_methods(["GET", "POST"])
def portfolio_edit(request: HttpRequest, pk: int) -> HttpResponse:
    portfolio = _portfolio_for(request, pk)
    form = PortfolioForm(request.POST or None, instance=portfolio, user=request.user)
    context = {"form": form, "portfolio": portfolio}
    template = "portfolios/portfolio_form.html"
    if request.method == "POST":
        saved = form.save() if form.is_valid() else None
        if saved is None:
            return _invalid(request, _partial(request, template, "form"), context)
        messages.success(request, gettext("Saved %(name)s.") % {"name": saved.name})
        return _go(request, reverse("portfolios:detail", args=[saved.pk]))
    return render(request, _partial(request, template, "form"), context)


@require_http_methods(["GET", "POST"])
def portfolio_delete(request: HttpRequest, pk: int) -> HttpResponse:
    portfolio = _portfolio_for(request, pk)
    if request.method == "POST":
        name = portfolio.name
        services.delete_portfolio(portfolio)
        messages.success(
            request,
            gettext("Deleted the portfolio %(name)s and its transactions.") % {"name": name},
        )
        return _go(request, reverse("portfolios:list"))
    context = {"portfolio": portfolio, "transactions": portfolio.transactions.count()}
    return render(
        request, _partial(request, "portfolios/portfolio_delete.html", "confirm"), context
    )


@require_http_methods(["GET", "POST"])
def used_credit(request: HttpRequest, pk: int) -> HttpResponse:
    portfolio = _portfolio_for(request, pk)
    form = UsedCreditForm(request.POST or None, instance=portfolio)
    context = {"form": form, "portfolio": portfolio}
    template = "portfolios/credit_form.html"
    if request.method == "POST":
        saved = form.save() if form.is_valid() else None
        if saved is None:
            return _invalid(request, _partial(request, template, "form"), context)
        if not request.htmx:
            messages.success(request, gettext("Saved the used credit."))
            return redirect("portfolios:detail", pk=pk)
        # The form slot empties and the totals (net value) update out of band.
        summary = valuation.summarize([saved])[0]
        return render(request, "portfolios/credit_form.html#saved", {"summary": summary})
    return render(request, _partial(request, template, "form"), context)


def _sorted_rows(rows, sort: str):
    key = sort.lstrip("-")
    attr = SORT_ATTRS.get(key)
    if attr is None:
        return _sorted_rows(rows, DEFAULT_SORT)
    present = [r for r in rows if getattr(r, attr) is not None]
    absent = [r for r in rows if getattr(r, attr) is None]

    def by(row):
        value = getattr(row, attr)
        return value.casefold() if isinstance(value, str) else value

    present.sort(key=by, reverse=sort.startswith("-"))
    # Rows without a value (no price) go last whichever way the column is sorted.
    return present + absent


def _sort_from(request: HttpRequest) -> str:
    sort = request.GET.get("sort", DEFAULT_SORT)
    return sort if sort.lstrip("-") in SORT_ATTRS else DEFAULT_SORT


def _columns(sort: str) -> list[dict]:
    current, descending = sort.lstrip("-"), sort.startswith("-")
    columns = []
    for key, heading, _, numeric in COLUMNS:
        if key == current:
            next_sort = key if descending else f"-{key}"
            aria = "descending" if descending else "ascending"
        else:
            # Numbers start largest first; text starts at A.
            next_sort, aria = (f"-{key}" if numeric else key), None
        columns.append(
            {
                "key": key,
                "heading": heading,
                "numeric": numeric,
                "sort": next_sort,
                "aria": aria,
                "optional": key in PHONE_OPTIONAL,
            }
        )
    return columns


def _holdings_context(request: HttpRequest, portfolio: Portfolio) -> dict:
    summary = valuation.summarize([portfolio])[0]
    sort = _sort_from(request)
    return {
        "portfolio": portfolio,
        "summary": summary,
        "rows": _sorted_rows(summary.holdings, sort),
        "sort": sort,
        "columns": _columns(sort),
        "refresh_seconds": settings.LIVE_REFRESH_SECONDS,
        "ping_seconds": settings.LIVE_PING_SECONDS,
        "today": timezone.localdate(),
        "total_return_definition": gettext(DEFINITIONS["total_return"]),
    }


@require_GET
def portfolio_detail(request: HttpRequest, pk: int) -> HttpResponse:
    portfolio = _portfolio_for(request, pk)
    context = _holdings_context(request, portfolio)
    context["form"] = TransactionForm(portfolio=portfolio)
    if portfolio.track_cash:
        context["cash_form"] = CashForm(portfolio=portfolio)
        context["cash_txns"] = _recent_cash(portfolio)
    context["ranges"] = RANGE_LABELS
    context["dividends"] = dividends_data.portfolio_dividends(portfolio)
    if "range" in request.GET:
        context.update(_chart_context(request, portfolio))
    return render(request, "portfolios/detail.html", context)


@require_GET
def dividends(request: HttpRequest, pk: int) -> HttpResponse:
    """The portfolio page's dividends section (refreshed on every ledger change)."""
    portfolio = _portfolio_for(request, pk)
    if not request.htmx:
        return redirect(reverse("portfolios:detail", args=[pk]) + "#dividends")
    context = {"portfolio": portfolio, "dividends": dividends_data.portfolio_dividends(portfolio)}
    return render(request, "portfolios/_dividends.html", context)


# How many of the latest cash transactions the portfolio page lists (the full list, with
# filters, is the transaction list's).
RECENT_CASH = 20


def _recent_cash(portfolio: Portfolio) -> list[Transaction]:
    return list(
        portfolio.transactions.filter(holding__isnull=True).order_by("-date", "-id")[:RECENT_CASH]
    )


@require_GET
def cash_list(request: HttpRequest, pk: int) -> HttpResponse:
    """The portfolio page's latest cash transactions (refreshed on every ledger change)."""
    portfolio = _portfolio_for(request, pk)
    if not request.htmx:
        return redirect("portfolios:detail", pk=pk)
    context = {
        "portfolio": portfolio,
        "summary": valuation.PortfolioSummary(
            portfolio=portfolio,
            cash_balance=portfolio.cash_balance if portfolio.track_cash else Decimal(0),
        ),
        "cash_txns": _recent_cash(portfolio),
    }
    return render(request, "portfolios/detail.html#cash_list", context)


@require_GET
def holdings(request: HttpRequest, pk: int) -> HttpResponse:
    """The live holdings table; its HTMX response also carries the totals out of band."""
    portfolio = _portfolio_for(request, pk)
    context = _holdings_context(request, portfolio)
    if not request.htmx:
        return redirect(f"{reverse('portfolios:detail', args=[pk])}?sort={context['sort']}")
    context["oob"] = True
    return render(request, "portfolios/detail.html#holdings", context)


def _chart_context(request: HttpRequest, portfolio: Portfolio) -> dict:
    first = first_transaction_day([portfolio])
    key, start, end = period(request, first)
    context = {
        "chart_range": key,
        "chart_currency": portfolio.currency,
        "ranges": RANGE_LABELS,
        # A period that ends today ends at the live valuation: redraw as the table refreshes.
        "chart_refresh_seconds": settings.LIVE_REFRESH_SECONDS
        if end == timezone.localdate()
        else None,
    }
    if first is None:
        # Nothing was ever held: an empty chart says so better than a flat zero line, and
        # there is nothing live to redraw.
        context["chart_refresh_seconds"] = None
        return {**context, "chart": charts.LineChart(), "performance": None}
    context["history"] = backfill.ensure_window([portfolio], start, end)
    if not context["history"].complete:
        # Closes not stored yet would be drawn at the trade price: a flat, false line.
        return {**context, "performance": None}
    performance = performance_for(portfolio, start, end)
    benchmark = benchmark_for(portfolio.benchmark, performance)
    chart = charts.LineChart() if performance.error else value_chart(performance, None, benchmark)
    return {
        **context,
        **performance_context(performance),
        "chart": chart,
        "performance": performance,
        "benchmark": benchmark,
    }


@require_GET
def portfolio_chart(request: HttpRequest, pk: int) -> HttpResponse:
    portfolio = _portfolio_for(request, pk)
    if not request.htmx:
        return redirect(
            f"{reverse('portfolios:detail', args=[pk])}?range={request.GET.get('range', '')}"
        )
    context = {"portfolio": portfolio, **_chart_context(request, portfolio)}
    return render(request, "portfolios/detail.html#value_chart", context)


# Holdings --------------------------------------------------------------------------------


def _holding_context(request: HttpRequest, holding: Holding) -> dict:
    summary = valuation.summarize([holding.portfolio])[0]
    row = next((r for r in summary.holdings if r.id == holding.pk), None)
    ticker = holding.instrument.ticker
    return {
        # The session's figures (change, range, volume ...): the quote the valuation just
        # put in the cache, so no second provider call.
        "quote": quotes.get_quotes_lenient([ticker]).get(ticker),
        "holding": holding,
        "portfolio": holding.portfolio,
        "instrument": holding.instrument,
        "row": row,
        "total_return_definition": gettext(DEFINITIONS["total_return"]),
        "split_suggestions": splits.suggestions(holding),
    }


def _transactions_page(request: HttpRequest, holding: Holding) -> dict:
    """One page of the holding's transactions (?page=, newest first) for the list."""
    paginator = Paginator(holding.transactions.order_by("-date", "-id"), TRANSACTIONS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    return {"transactions": page.object_list, "transactions_page": page}


def _price_chart_context(request: HttpRequest, holding: Holding) -> dict:
    first = holding.transactions.order_by("date").values_list("date", flat=True).first()
    key, start, end = period(request, first)
    history_status = backfill.ensure_prices(holding.instrument, start, end)
    closes = history.stored_closes(holding.instrument, start, end)
    # Plain values, not model instances: ten years of an active holding are hundreds of
    # markers, and building a Transaction for each cost more than drawing it.
    trades = (
        holding.transactions.filter(date__gte=start, date__lte=end)
        .exclude(type__in=(Transaction.Type.DIVIDEND, Transaction.Type.SPLIT))
        .values_list("date", "price", "type", "quantity")
    )
    # The closes are split-adjusted: a trade before a split is drawn at its price in
    # today's shares, where it sits on the line.
    factor = ledger.later_splits(
        ledger.Entry(ledger.SPLIT, day, ratio, ledger.ZERO)
        for day, ratio in holding.transactions.filter(type=Transaction.Type.SPLIT).values_list(
            "date", "quantity"
        )
    )
    markers = [
        charts.Marker(
            day,
            price / factor(day),
            kind.lower(),
            f"{Transaction.Type(kind).label} {quantity.normalize():f}",
        )
        for day, price, kind, quantity in trades
    ]
    chart = charts.line_chart(
        [charts.Series(pgettext("closing price", "Close"), closes, style="primary", area=True)],
        markers=markers,
        start=start,
        end=end,
    )
    return {
        "chart": chart,
        "history": history_status,
        "chart_range": key,
        "chart_currency": holding.instrument.currency,
        "ranges": RANGE_LABELS,
    }


@require_GET
def holding_detail(request: HttpRequest, pk: int) -> HttpResponse:
    holding = _holding_for(request, pk)
    context = _holding_context(request, holding)
    if request.htmx:
        return render(request, "portfolios/holding.html#summary", context)
    context.update(_price_chart_context(request, holding))
    context.update(_transactions_page(request, holding))
    return render(request, "portfolios/holding.html", context)


@require_http_methods(["POST"])
def holding_record_split(request: HttpRequest, pk: int) -> HttpResponse:
    """The one-click "record split" of a suggestion on the holding page."""
    holding = _holding_for(request, pk)
    try:
        day = date.fromisoformat(request.POST.get("date", ""))
        ratio = Decimal(request.POST.get("ratio", ""))
    except (ValueError, ArithmeticError):
        messages.error(request, gettext("That split suggestion is no longer valid."))
    else:
        try:
            splits.record_suggested(holding, day, ratio)
        except ValidationError as exc:
            messages.error(
                request, gettext("The split was not recorded:") + " " + " ".join(exc.messages)
            )
        else:
            messages.success(
                request,
                gettext("Recorded the split %(label)s on %(day)s.")
                % {"label": ledger.split_label(ratio), "day": format_day(day, "short")},
            )
    return redirect("portfolios:holding", holding.pk)


@require_GET
def holding_chart(request: HttpRequest, pk: int) -> HttpResponse:
    holding = _holding_for(request, pk)
    if not request.htmx:
        return redirect(
            f"{reverse('portfolios:holding', args=[pk])}?range={request.GET.get('range', '')}"
        )
    context = {"holding": holding, **_price_chart_context(request, holding)}
    return render(request, "portfolios/holding.html#price_chart", context)


@require_GET
def holding_transactions(request: HttpRequest, pk: int) -> HttpResponse:
    """A holding's transactions: the lazily loaded row of the holdings table, and the
    holding page's list. A later page (?page=2, ...) answers only its rows, which the
    "show older" row they replace appends to the open table."""
    holding = _holding_for(request, pk)
    if not request.htmx:
        url = reverse("portfolios:holding", args=[pk])
        page = request.GET.get("page")
        return redirect(f"{url}?page={page}" if page and page.isdigit() else url)
    context = {
        "holding": holding,
        "portfolio": holding.portfolio,
        **_transactions_page(request, holding),
    }
    name = "transaction_rows" if context["transactions_page"].number > 1 else "transactions"
    return render(request, f"portfolios/holding.html#{name}", context)


@require_http_methods(["GET", "POST"])
def holding_delete(request: HttpRequest, pk: int) -> HttpResponse:
    holding = _holding_for(request, pk)
    if request.method == "POST":
        services.delete_holding(holding)
        messages.success(
            request,
            gettext("Deleted %(ticker)s and its transactions from %(name)s.")
            % {"ticker": holding.instrument.ticker, "name": holding.portfolio.name},
        )
        return _go(request, reverse("portfolios:detail", args=[holding.portfolio_id]))
    context = {"holding": holding, "transactions": holding.transactions.count()}
    return render(request, _partial(request, "portfolios/holding_delete.html", "confirm"), context)


# Transactions ----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def transaction_add(request: HttpRequest, pk: int) -> HttpResponse:
    initial = {"symbol": request.GET.get("symbol", "")} if request.method == "GET" else None
    return _add(
        request,
        pk,
        TransactionForm,
        "portfolios/transaction_form.html",
        lambda txn: f"{format_number(txn.quantity)} {txn.holding.instrument.ticker}",
        initial,
    )


def _add(request, pk, form_class, template, what, initial=None) -> HttpResponse:
    """The add form of a portfolio's trades or cash: a full page, or the HTMX form that
    stays open for the next entry while the tables refresh on the event."""
    portfolio = _portfolio_for(request, pk)
    form = form_class(request.POST or None, portfolio=portfolio, initial=initial)
    context = {"form": form, "portfolio": portfolio, "inline": bool(request.htmx)}
    if request.method == "POST":
        txn = form.save() if form.is_valid() else None
        if txn is None:
            return _invalid(request, _partial(request, template, "form"), context)
        done = gettext("Saved: %(kind)s of %(what)s on %(day)s.") % {
            "kind": txn.get_type_display().lower(),
            "what": what(txn),
            "day": format_day(txn.date, "short"),
        }
        if not request.htmx:
            messages.success(request, done)
            return redirect("portfolios:detail", pk=pk)
        context.update(form=form_class(portfolio=portfolio), saved=done)
        return _ledger_changed(render(request, f"{template}#form", context))
    return render(request, _partial(request, template, "form"), context)


def _after_change(holding_id: int, portfolio_id: int) -> HttpResponse:
    """The HTMX answer to an edit or delete: the open lists and tables refresh themselves
    on the event. A holding left without transactions is gone, and so is its page."""
    if Holding.objects.filter(pk=holding_id).exists():
        return _ledger_changed(HttpResponse(status=204))
    return HttpResponseClientRedirect(reverse("portfolios:detail", args=[portfolio_id]))


@require_http_methods(["GET", "POST"])
def cash_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a deposit, withdrawal, interest or fee (the portfolio page's cash form)."""
    return _add(
        request,
        pk,
        CashForm,
        "portfolios/cash_form.html",
        lambda txn: privacy.masked(f"{format_number(txn.total_amount)} {txn.portfolio.currency}"),
    )


@require_http_methods(["GET", "POST"])
def transaction_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a trade (its holding's page afterwards) or a cash transaction (the portfolio's)."""
    txn = _transaction_for(request, pk)
    holding_id, portfolio = txn.holding_id, txn.portfolio
    cash = holding_id is None
    form_class = CashForm if cash else TransactionForm
    form = form_class(request.POST or None, portfolio=portfolio, instance=txn)
    template = "portfolios/cash_form.html" if cash else "portfolios/transaction_form.html"
    context = {"form": form, "portfolio": portfolio, "txn": txn, "inline": bool(request.htmx)}
    if request.method == "POST":
        saved = form.save() if form.is_valid() else None
        if saved is None:
            return _invalid(request, _partial(request, template, "form"), context)
        if request.htmx:
            if cash:
                return _ledger_changed(HttpResponse(status=204))
            return _after_change(holding_id, portfolio.pk)
        messages.success(request, gettext("Saved the transaction."))
        if cash:
            return redirect("portfolios:detail", pk=portfolio.pk)
        return redirect("portfolios:holding", pk=saved.holding_id)
    return render(request, _partial(request, template, "form"), context)


@require_http_methods(["GET", "POST"])
def transaction_delete(request: HttpRequest, pk: int) -> HttpResponse:
    txn = _transaction_for(request, pk)
    if request.method == "GET":
        return render(request, "portfolios/transaction_delete.html", {"txn": txn})
    holding_id, portfolio_id = txn.holding_id, txn.portfolio_id
    if holding_id is None:  # cash: no holding page to return to
        services.delete_transaction(txn)
        if request.htmx:
            return _ledger_changed(HttpResponse(status=204))
        messages.success(request, gettext("Deleted the transaction."))
        return redirect("portfolios:detail", pk=portfolio_id)
    try:
        remaining = services.delete_transaction(txn)
    except ValidationError as exc:
        # Deleting a buy that a later sale depends on: nothing was deleted.
        message = " ".join(exc.messages)
        if request.htmx:
            context = {
                "holding": txn.holding,
                "portfolio": txn.portfolio,
                **_transactions_page(request, txn.holding),
                "error": message,
            }
            return render(request, "portfolios/holding.html#transactions", context)
        messages.error(request, message)
        return redirect("portfolios:holding", pk=holding_id)
    if request.htmx:
        return _after_change(holding_id, portfolio_id)
    messages.success(request, gettext("Deleted the transaction."))
    if remaining is None:
        return redirect("portfolios:detail", pk=portfolio_id)
    return redirect("portfolios:holding", pk=holding_id)


@require_GET
def instrument_search(request: HttpRequest) -> HttpResponse:
    """Ticker suggestions: the autocomplete's listbox for HTMX, a small page otherwise."""
    query = (request.GET.get("symbol") or request.GET.get("q") or "").strip()
    results = history.search_instruments(query, limit=8) if query else []
    # Option ids must be unique on the page, which may hold more than one ticker field.
    prefix = (request.htmx.target if request.htmx else None) or "option"
    context = {"query": query, "results": results, "prefix": prefix}
    return render(request, _partial(request, "portfolios/search.html", "suggestions"), context)


# The transaction list ----------------------------------------------------------------------

# Rows per page of the transaction list.
LIST_PER_PAGE = 50


def _listed(request: HttpRequest, pk: int | None):
    """(portfolio or None for all, the filter form, the filtered transactions)."""
    portfolio = _portfolio_for(request, pk) if pk is not None else None
    owned = (
        portfolio.transactions.all()
        if portfolio is not None
        else Transaction.objects.owned_by(request.user)
    )
    form = TransactionFilterForm(request.GET or None)
    return portfolio, form, form.apply(owned)


def _query(filters: dict, **more) -> str:
    """The list's query string for these filters (the export link, the page links)."""
    values = {
        name: value.isoformat() if isinstance(value, date) else value
        for name, value in filters.items()
    }
    return urlencode({**values, **{k: v for k, v in more.items() if v is not None}})


@require_GET
def transaction_list(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Every transaction of one portfolio, or of all, newest first, filtered and paginated;
    with the cash balance after each when its portfolio tracks cash. A fixed number of
    queries whatever the number of rows."""
    portfolio, form, transactions = _listed(request, pk)
    listing = transactions.select_related("holding__instrument", "portfolio").order_by(
        "-date", "-id"
    )
    page = Paginator(listing, LIST_PER_PAGE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    cash_portfolios = {t.portfolio_id for t in rows if t.portfolio.track_cash}
    if portfolio is not None and portfolio.track_cash:
        cash_portfolios.add(portfolio.pk)
    balances = {}
    if cash_portfolios:
        # The balance runs over every transaction of the portfolio, not the filtered ones.
        balances = Transaction.objects.filter(portfolio__in=cash_portfolios).cash_balances()
    for txn in rows:
        txn.cash_balance = balances.get(txn.pk) if txn.portfolio_id in cash_portfolios else None
    filters = form.filters()
    context = {
        "portfolio": portfolio,
        "form": form,
        "rows": rows,
        "page": page,
        "show_balance": bool(cash_portfolios),
        "filter_query": _query(filters),
        "export_query": _query(filters, portfolio=portfolio.pk if portfolio else None),
        "list_url": reverse("portfolios:transactions", args=[pk])
        if pk is not None
        else reverse("portfolios:all_transactions"),
    }
    return render(request, _partial(request, "portfolios/transactions.html", "list"), context)


@require_GET
def transaction_export(request: HttpRequest) -> HttpResponse:
    """The list's transactions (its filters; ?portfolio= for one portfolio) as generic CSV."""
    chosen = request.GET.get("portfolio") or None
    if chosen is not None and not chosen.isdigit():
        raise Http404("No such portfolio.")
    portfolio, _form, transactions = _listed(request, int(chosen) if chosen else None)
    return csv_download(transactions, portfolio)


def csv_download(transactions, portfolio: Portfolio | None) -> HttpResponse:
    """The CSV response both the page and the API answer with."""
    body = export.to_csv(transactions.export_rows())
    name = slugify(portfolio.name) if portfolio is not None else "all"
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    filename = f"transactions-{name or 'portfolio'}-{timezone.localdate().isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# Import ----------------------------------------------------------------------------------

PENDING_IMPORT = "pending_import"
# How long a previewed file waits for its commit.
PENDING_IMPORT_TTL = 60 * 60


def _upload_key(token: str) -> str:
    return f"import-upload:{token}"


def _forget_upload(request: HttpRequest) -> None:
    pending = request.session.pop(PENDING_IMPORT, None)
    if pending:
        cache.delete(_upload_key(pending["token"]))


def _format_docs() -> list[tuple[str, str]]:
    """Each format's own description, its parser module's docstring, as the page's help:
    written once, beside the code it describes."""
    return [
        (FORMAT_LABELS.get(name, name), gettext(sys.modules[parse.__module__].__doc__ or ""))
        for name, parse in FORMATS.items()
    ]


def _symbol_changes(request: HttpRequest) -> dict[str, str]:
    """The preview's symbol fields the user changed, {ISIN or name: symbol} ("" for one
    cleared). Each instrument posts key-N (hidden), was-N (hidden: the symbol shown) and
    symbol-N."""
    changes = {}
    for name, key in request.POST.items():
        if not name.startswith("key-"):
            continue
        n = name.removeprefix("key-")
        symbol = "".join(request.POST.get(f"symbol-{n}", "").upper().split())
        if symbol != request.POST.get(f"was-{n}", ""):
            changes[key] = symbol
    return changes


def _import_context(request: HttpRequest, form, **extra) -> dict:
    return {
        "form": form,
        "has_portfolios": Portfolio.objects.owned_by(request.user).exists(),
        "result": None,
        "format_docs": _format_docs(),
        "format_choices": [(name, FORMAT_LABELS.get(name, name)) for name in FORMAT_CHOICES],
        **extra,
    }


def _submit_job(portfolio: Portfolio, data: bytes, pending: dict, *, dry_run: bool):
    """The pending file, with its format and symbol choices, as a background job."""
    return jobs.submit(
        portfolio=portfolio,
        data=data,
        format=pending["format"],
        dry_run=dry_run,
        file_name=pending.get("name", ""),
        symbol_overrides=pending["overrides"],
    )


def _preview(request: HttpRequest, portfolio: Portfolio, data: bytes, pending: dict):
    """A dry run of the pending file with its format and symbol choices, kept for the
    commit: what is previewed is exactly what a commit then imports. A large file's dry run
    is a background job (portfolios.jobs): the ImportJob is returned instead, and its page
    shows the preview once it is done."""
    pending.pop("job", None)
    if jobs.needs_job(data):
        job = _submit_job(portfolio, data, pending, dry_run=True)
        pending["job"] = job.pk
        request.session[PENDING_IMPORT] = pending
        return job
    result = import_transactions(
        portfolio=portfolio,
        data=data,
        format=pending["format"],
        dry_run=True,
        file_name=pending["name"],
        symbol_overrides=pending["overrides"],
    )
    request.session[PENDING_IMPORT] = pending
    return result


@require_http_methods(["GET", "POST"])
def import_page(request: HttpRequest) -> HttpResponse:
    """Upload, preview (a dry run: every row's status, the holdings before and after, each
    instrument's symbol editable) and commit (all rows or none).

    Between preview and commit the file waits in the cache under a token the session
    holds (not in the session: a 5 MB file would be read and written with it on every
    request), so the commit imports exactly the bytes that were previewed, with the format
    and symbols that were previewed, and is checked again as it is written."""
    if request.method == "POST" and ("commit" in request.POST or "repreview" in request.POST):
        return _commit_import(request)
    owned = Portfolio.objects.owned_by(request.user)
    initial = {}
    chosen = request.GET.get("portfolio")
    if chosen and chosen.isdigit() and owned.filter(pk=chosen).exists():
        initial["portfolio"] = int(chosen)
    form = ImportForm(
        request.POST or None, request.FILES or None, user=request.user, initial=initial
    )
    context = _import_context(request, form)
    if request.method == "POST":
        if not form.is_valid():
            return _invalid(request, _partial(request, "portfolios/import.html", "panel"), context)
        portfolio = form.cleaned_data["portfolio"]
        data = form.cleaned_data["file"].read()
        _forget_upload(request)
        token = secrets.token_urlsafe(16)
        cache.set(_upload_key(token), data, PENDING_IMPORT_TTL)
        pending = {
            "token": token,
            "portfolio": portfolio.pk,
            "format": form.cleaned_data["format"],
            "name": form.cleaned_data["file"].name,
            "overrides": {},
        }
        result = _preview(request, portfolio, data, pending)
        if isinstance(result, ImportJob):
            return _go(request, reverse("portfolios:import_job", args=[result.pk]))
        context.update(result=result, portfolio=portfolio, token=token, pending=pending)
    return render(request, _partial(request, "portfolios/import.html", "panel"), context)


def _commit_import(request: HttpRequest) -> HttpResponse:
    token = request.POST.get("commit") or request.POST.get("repreview")
    pending = request.session.get(PENDING_IMPORT)
    data = None
    if pending and pending.get("token") == token:
        data = cache.get(_upload_key(pending["token"]))
    if data is None:
        messages.error(request, gettext("That preview has expired. Upload the file again."))
        return _go(request, reverse("portfolios:import"))
    portfolio = Portfolio.objects.owned_by(request.user).filter(pk=pending["portfolio"]).first()
    if portfolio is None:
        _forget_upload(request)
        raise Http404("No such portfolio.")
    pending.setdefault("overrides", {})
    fmt = request.POST.get("format")
    changed = False
    if fmt in FORMAT_CHOICES and fmt != pending["format"]:
        # Another format reads other instruments: the old symbol choices do not apply.
        pending.update(format=fmt, overrides={})
        changed = True
    else:
        overrides = dict(pending["overrides"])
        for key, symbol in _symbol_changes(request).items():
            if symbol:
                overrides[key] = symbol
            else:
                overrides.pop(key, None)
        if overrides != pending["overrides"]:
            pending["overrides"] = overrides
            changed = True
    form = ImportForm(user=request.user, initial={"portfolio": portfolio.pk})
    if "repreview" in request.POST or changed:
        # A commit whose symbols or format differ from the preview's is previewed again
        # instead: only what was shown is ever imported.
        result = _preview(request, portfolio, data, pending)
        if isinstance(result, ImportJob):
            return _go(request, reverse("portfolios:import_job", args=[result.pk]))
        context = _import_context(
            request,
            form,
            result=result,
            portfolio=portfolio,
            token=pending["token"],
            pending=pending,
            changed=changed and "commit" in request.POST,
        )
        return render(request, _partial(request, "portfolios/import.html", "panel"), context)
    if jobs.needs_job(data):
        # Too many rows to record within a request: a background job, and its progress page.
        job = _submit_job(portfolio, data, pending, dry_run=False)
        _forget_upload(request)
        return _go(request, reverse("portfolios:import_job", args=[job.pk]))
    result = import_transactions(
        portfolio=portfolio,
        data=data,
        format=pending["format"],
        dry_run=False,
        file_name=pending.get("name", ""),
        symbol_overrides=pending["overrides"],
    )
    if result.committed:
        _forget_upload(request)
        count = result.counts["created"]
        messages.success(
            request,
            ngettext(
                "Imported %(count)d transaction into %(name)s. "
                "You can undo the whole import from Imports.",
                "Imported %(count)d transactions into %(name)s. "
                "You can undo the whole import from Imports.",
                count,
            )
            % {"count": count, "name": portfolio.name},
        )
        return _go(request, reverse("portfolios:detail", args=[portfolio.pk]))
    context = _import_context(request, form, result=result, portfolio=portfolio)
    return _invalid(request, _partial(request, "portfolios/import.html", "panel"), context)


@require_GET
def import_job(request: HttpRequest, pk: int) -> HttpResponse:
    """A background import's progress (polled by htmx every second, or refreshed by the
    page itself without JavaScript), then its result."""
    jobs.reap_stale()
    job = get_object_or_404(
        ImportJob.objects.select_related("portfolio", "batch").defer("data"),
        pk=pk,
        user=request.user,
    )
    # A preview's page offers its commit while the previewed file waits for it.
    pending = request.session.get(PENDING_IMPORT) or {}
    token = pending.get("token") if job.dry_run and pending.get("job") == job.pk else None
    context = {"job": job, "token": token, "pending": pending}
    if token:
        context["format_choices"] = [
            (name, FORMAT_LABELS.get(name, name)) for name in FORMAT_CHOICES
        ]
    return render(request, _partial(request, "portfolios/import_job.html", "progress"), context)


@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    """The user's imports, newest first, each with its counts and an undo while it stands."""
    batches = (
        ImportBatch.objects.filter(user=request.user)
        .select_related("portfolio")
        .order_by("-created_at", "-id")
    )
    page = Paginator(batches, 50).get_page(request.GET.get("page"))
    labels = {name: FORMAT_LABELS.get(name, name) for name in FORMAT_CHOICES}
    return render(request, "portfolios/imports.html", {"page": page, "labels": labels})


@require_http_methods(["GET", "POST"])
def import_undo(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, then undo an import whole; a refusal names the transaction in the way."""
    batch = get_object_or_404(
        ImportBatch.objects.select_related("portfolio"), pk=pk, user=request.user
    )
    context = {"batch": batch, "count": batch.transactions.count(), "error": None}
    if request.method == "GET":
        return render(request, "portfolios/import_undo.html", context)
    try:
        removed = services.undo_import(batch)
    except services.UndoRefused as exc:
        context["error"] = " ".join(exc.messages)
        return _invalid(request, "portfolios/import_undo.html", context)
    messages.success(
        request,
        ngettext(
            "Undid the import of %(file)s: removed %(count)d transaction from %(name)s.",
            "Undid the import of %(file)s: removed %(count)d transactions from %(name)s.",
            removed,
        )
        % {
            "file": batch.file_name or gettext("the file"),
            "count": removed,
            "name": batch.portfolio.name,
        },
    )
    return _go(request, reverse("portfolios:imports"))
