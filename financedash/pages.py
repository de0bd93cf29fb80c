"""The pages that span the apps: the dashboard and the user's settings."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from financedash import overview
from financedash.forms import ProfileForm
from financedash.lib import charts
from financedash.lib.profiles import profile_for
from pensions import planning
from portfolios import backfill
from portfolios.models import Portfolio
from portfolios.performance import DEFINITIONS
from portfolios.views import (
    RANGE_LABELS,
    first_transaction_day,
    performance_context,
    period,
    value_chart,
)


def _chart_context(request: HttpRequest, base_currency: str) -> dict:
    portfolios = list(Portfolio.objects.owned_by(request.user))
    first = first_transaction_day(portfolios)
    key, start, end = period(request, first)
    context = {
        "chart_range": key,
        "chart_currency": base_currency,
        "ranges": RANGE_LABELS,
        # A period that ends today ends at the live valuation: redraw as the table refreshes.
        "chart_refresh_seconds": settings.LIVE_REFRESH_SECONDS
        if end == timezone.localdate()
        else None,
    }
    if first is None:
        context["chart_refresh_seconds"] = None  # nothing held: nothing live to redraw
        return {**context, "chart": charts.LineChart(), "chart_missing": []}
    context["history"] = backfill.ensure_window(portfolios, start, end, base_currency=base_currency)
    if not context["history"].complete:
        # Closes not stored yet would be drawn at the trade price: a flat, false line.
        return {**context, "chart_missing": [], "performance": None}
    household = overview.household_performance(
        request.user, currency=base_currency, start=start, end=end
    )
    pensions = household.pensions if any(household.pensions) else None
    chart = charts.LineChart() if household.error else value_chart(household, pensions)
    return {
        **context,
        **performance_context(household),
        "chart": chart,
        "chart_missing": household.missing,
        "performance": household,
        "household": True,
    }


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    profile = profile_for(request.user)
    summary = overview.build(
        request.user,
        base_currency=profile.base_currency,
        goal_amount=profile.retirement_goal_amount,
        goal_year=profile.retirement_goal_year,
    )
    context = {
        "overview": summary,
        "profile": profile,
        # The projection page's own calculation, from today's net worth.
        "goal_plan": planning.goal_plan(request.user, profile, summary.net_worth, summary.missing),
        "total_return_definition": DEFINITIONS["total_return"],
        "ranges": RANGE_LABELS,
        "allocation": [
            ("By holding", charts.bars(summary.by_holding)),
            ("By currency", charts.bars(summary.by_currency)),
            ("By portfolio", charts.bars(summary.by_portfolio)),
        ],
    }
    if "range" in request.GET and not summary.empty:
        context.update(_chart_context(request, profile.base_currency))
    return render(request, "dashboard.html", context)


@require_GET
def dashboard_chart(request: HttpRequest) -> HttpResponse:
    """The value-over-time chart, loaded after the page so that the figures come first."""
    if not request.htmx:
        return redirect(f"{reverse('home')}?range={request.GET.get('range', '')}")
    profile = profile_for(request.user)
    return render(
        request, "dashboard.html#value_chart", _chart_context(request, profile.base_currency)
    )


@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    profile = profile_for(request.user)
    form = ProfileForm(request.POST or None, instance=profile)
    if request.method == "POST":
        if form.is_valid():
            form.save()
            messages.success(request, "Settings saved.")
            return redirect("settings")
        return render(request, "settings.html", {"form": form}, status=422)
    return render(request, "settings.html", {"form": form})
