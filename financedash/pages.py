"""The pages that span the apps: the dashboard and the user's settings."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from financedash import backup, overview
from financedash.forms import ProfileForm, RestoreForm
from financedash.lib import charts
from financedash.lib.profiles import profile_for
from financedash.middleware import remember_language, set_language_cookie
from marketdata import fx
from marketdata.providers.base import MissingExchangeRate
from pensions import planning
from portfolios import backfill, tax_data
from portfolios.models import Portfolio
from portfolios.performance import DEFINITIONS
from portfolios.performance_data import benchmark_for
from portfolios.views import (
    RANGE_LABELS,
    first_transaction_day,
    performance_context,
    period,
    value_chart,
)


def _chart_context(request: HttpRequest, base_currency: str, profile=None) -> dict:
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
    profile = profile or profile_for(request.user)
    benchmark = benchmark_for(profile.benchmark, household)
    chart = charts.LineChart() if household.error else value_chart(household, pensions, benchmark)
    return {
        **context,
        **performance_context(household),
        "benchmark": benchmark,
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
        "total_return_definition": _(DEFINITIONS["total_return"]),
        "ranges": RANGE_LABELS,
        "allocation": [
            (_("By holding"), charts.bars(summary.by_holding)),
            (_("By currency"), charts.bars(summary.by_currency)),
            (_("By portfolio"), charts.bars(summary.by_portfolio)),
        ],
    }
    if "range" in request.GET and not summary.empty:
        context.update(_chart_context(request, profile.base_currency, profile))
    return render(request, "dashboard.html", context)


@require_GET
def dashboard_tax(request: HttpRequest) -> HttpResponse:
    """ "Tax if sold today", loaded after the page (it replays every transaction): per
    portfolio and for the household, with the net worth after it (estimates)."""
    if not request.htmx:
        return redirect("home")
    profile = profile_for(request.user)
    summary = overview.build(request.user, base_currency=profile.base_currency)
    sold = tax_data.tax_if_sold_today(request.user, [card.summary for card in summary.cards])
    after_tax = None
    if sold.household is not None:
        try:
            to_base = fx.latest_rates([("NOK", profile.base_currency)])[
                ("NOK", profile.base_currency)
            ]
        except MissingExchangeRate:
            to_base = None
        if to_base is not None:
            after_tax = summary.net_worth - sold.household * to_base
    context = {
        "sold": sold,
        "after_tax": after_tax,
        "cur": profile.base_currency,
        "nok": "NOK",
    }
    return render(request, "dashboard.html#tax_today", context)


@require_GET
def dashboard_chart(request: HttpRequest) -> HttpResponse:
    """The value-over-time chart, loaded after the page so that the figures come first."""
    if not request.htmx:
        return redirect(f"{reverse('home')}?range={request.GET.get('range', '')}")
    profile = profile_for(request.user)
    return render(
        request,
        "dashboard.html#value_chart",
        _chart_context(request, profile.base_currency, profile),
    )


def _settings_context(request: HttpRequest, **extra) -> dict:
    return {
        "restore_form": RestoreForm(),
        "can_restore": not backup.has_portfolios(request.user),
        **extra,
    }


@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    profile = profile_for(request.user)
    form = ProfileForm(request.POST or None, instance=profile)
    if request.method == "POST":
        if form.is_valid():
            profile = form.save()
            remember_language(request, profile.language)
            messages.success(request, _("Settings saved."))
            response = redirect("settings")
            set_language_cookie(response, profile.language)
            return response
        return render(request, "settings.html", _settings_context(request, form=form), status=422)
    return render(request, "settings.html", _settings_context(request, form=form))


@require_GET
def backup_download(request: HttpRequest) -> HttpResponse:
    response = JsonResponse(backup.dump(request.user), json_dumps_params={"indent": 1})
    day = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="financedash-backup-{day}.json"'
    return response


@require_POST
def backup_restore(request: HttpRequest) -> HttpResponse:
    """Restore an uploaded backup; its refusal (every bad path) shows on the settings page."""
    restore_form = RestoreForm(request.POST, request.FILES)
    problems = None
    if restore_form.is_valid():
        try:
            document = json.loads(restore_form.cleaned_data["file"].read())
            restored = backup.restore(request.user, document)
        except (ValueError, UnicodeDecodeError) as exc:
            problems = {"file": [_("Not a JSON file: %(error)s") % {"error": exc}]}
        except backup.AccountNotEmpty as exc:
            problems = {"": [str(exc)]}
        except backup.BackupInvalid as exc:
            problems = exc.errors
        else:
            messages.success(
                request,
                _("Restored %(portfolios)s with %(transactions)s and %(pensions)s.")
                % {
                    "portfolios": ngettext(
                        "%(count)d portfolio", "%(count)d portfolios", restored.portfolios
                    )
                    % {"count": restored.portfolios},
                    "transactions": ngettext(
                        "%(count)d transaction", "%(count)d transactions", restored.transactions
                    )
                    % {"count": restored.transactions},
                    "pensions": ngettext(
                        "%(count)d pension account",
                        "%(count)d pension accounts",
                        restored.pension_accounts,
                    )
                    % {"count": restored.pension_accounts},
                },
            )
            return redirect("home")
    context = _settings_context(
        request,
        form=ProfileForm(instance=profile_for(request.user)),
        restore_form=restore_form,
        restore_problems=problems,
    )
    return render(request, "settings.html", context, status=422)
