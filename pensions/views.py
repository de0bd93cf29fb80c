"""Pension accounts and their value entries: list, add, record a value, chart."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from financedash.lib import charts, privacy
from financedash.lib.l10n import format_day, format_number
from financedash.lib.money import ZERO
from financedash.lib.profiles import profile_for
from pensions import planning, projection, services, stats, ynab
from pensions.forms import PasteValuesForm, PensionAccountForm, PensionValueForm, ProjectionForm
from pensions.models import PensionAccount, PensionValueEntry

INVALID = 422


def _account_for(request: HttpRequest, pk: int) -> PensionAccount:
    return get_object_or_404(PensionAccount.objects.owned_by(request.user), pk=pk)


def _entry_for(request: HttpRequest, pk: int) -> PensionValueEntry:
    return get_object_or_404(
        PensionValueEntry.objects.owned_by(request.user).select_related("account"),
        pk=pk,
    )


def _list_context(request: HttpRequest, form=None) -> dict:
    profile = profile_for(request.user)
    base = profile.base_currency
    summaries, by_account = stats.summaries(request.user, timezone.localdate(), base)
    no_rate = [s for s in summaries if s.rate is None and s.latest is not None]
    values = [s.value_base for s in summaries if s.value_base is not None]
    return {
        "summaries": summaries,
        "no_rate": no_rate,
        "total_base": sum(values, ZERO) if values else None,
        "chart": stats.history_chart(summaries, by_account),
        "chart_currency": base,
        "form": form or PensionAccountForm(user=request.user),
        "ynab_ready": ynab.configured() and bool(profile.ynab_budget_id),
    }


@require_GET
def account_list(request: HttpRequest) -> HttpResponse:
    return render(request, "pensions/list.html", _list_context(request))


@require_http_methods(["GET", "POST"])
def account_create(request: HttpRequest) -> HttpResponse:
    form = PensionAccountForm(request.POST or None, user=request.user)
    if request.method == "POST":
        if form.is_valid():
            account = form.save()
            if request.htmx:
                # The new row is the confirmation; a queued message would surface later,
                # on an unrelated page.
                return render(request, "pensions/list.html#accounts", _list_context(request))
            messages.success(
                request, gettext("Added the pension account %(name)s.") % {"name": account.name}
            )
            return redirect("pensions:detail", pk=account.pk)
        if request.htmx:
            context = _list_context(request, form)
            return render(request, "pensions/list.html#accounts", context, status=INVALID)
        return render(request, "pensions/account_form.html", {"form": form}, status=INVALID)
    return render(request, "pensions/account_form.html", {"form": form})


def _detail_context(
    request: HttpRequest, account: PensionAccount, form=None, paste_form=None
) -> dict:
    entries = list(account.values.order_by("-date"))
    chart = charts.line_chart(
        [charts.Series(gettext("Value"), [(e.date, e.value) for e in reversed(entries)], area=True)]
    )
    summary = stats.summarize(account, entries, timezone.localdate())
    return {
        "account": account,
        "entries": entries,
        "latest": summary.latest,
        "summary": summary,
        "chart": chart,
        "chart_currency": account.currency,
        "form": form or PensionValueForm(account=account),
        "paste_form": paste_form or PasteValuesForm(account=account),
    }


@require_GET
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account_for(request, pk)
    template = "pensions/detail.html#entries" if request.htmx else "pensions/detail.html"
    return render(request, template, _detail_context(request, account))


@require_http_methods(["GET", "POST"])
def account_edit(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account_for(request, pk)
    form = PensionAccountForm(request.POST or None, instance=account, user=request.user)
    if request.method == "POST":
        if form.is_valid():
            form.save()
            messages.success(request, gettext("Saved %(name)s.") % {"name": account.name})
            return redirect("pensions:detail", pk=pk)
        context = {"form": form, "account": account}
        return render(request, "pensions/account_form.html", context, status=INVALID)
    return render(request, "pensions/account_form.html", {"form": form, "account": account})


@require_http_methods(["GET", "POST"])
def account_delete(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account_for(request, pk)
    if request.method == "POST":
        services.delete_account(account)
        messages.success(
            request, gettext("Deleted the pension account %(name)s.") % {"name": account.name}
        )
        if request.htmx:
            return HttpResponseClientRedirect(reverse("pensions:list"))
        return redirect("pensions:list")
    return render(request, "pensions/delete.html", {"account": account})


@require_POST
def value_add(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account_for(request, pk)
    form = PensionValueForm(request.POST, account=account)
    entry = form.save() if form.is_valid() else None
    if entry is None:
        if request.htmx:
            context = _detail_context(request, account, form)
            return render(request, "pensions/detail.html#entries", context, status=INVALID)
        context = _detail_context(request, account, form)
        return render(request, "pensions/detail.html", context, status=INVALID)
    note = gettext("Recorded the value of %(day)s.") % {"day": format_day(entry.date, "short")}
    if not request.htmx:
        messages.success(request, note)
        return redirect("pensions:detail", pk=pk)
    context = _detail_context(request, account)
    context["saved"] = note
    return render(request, "pensions/detail.html#entries", context)


@require_POST
def value_paste(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account_for(request, pk)
    form = PasteValuesForm(request.POST, account=account)
    saved = form.save() if form.is_valid() else None
    if saved is None:
        context = _detail_context(request, account, paste_form=form)
        template = "pensions/detail.html#entries" if request.htmx else "pensions/detail.html"
        return render(request, template, context, status=INVALID)
    note = ngettext("Recorded %(count)d value.", "Recorded %(count)d values.", len(saved)) % {
        "count": len(saved)
    }
    if not request.htmx:
        messages.success(request, note)
        return redirect("pensions:detail", pk=pk)
    context = _detail_context(request, account)
    context["pasted"] = note
    return render(request, "pensions/detail.html#entries", context)


@require_POST
def value_delete(request: HttpRequest, pk: int) -> HttpResponse:
    entry = _entry_for(request, pk)
    account = entry.account
    services.delete_value(entry)
    if request.htmx:
        return render(request, "pensions/detail.html#entries", _detail_context(request, account))
    messages.success(
        request, gettext("Deleted the value of %(day)s.") % {"day": format_day(entry.date, "short")}
    )
    return redirect("pensions:detail", pk=account.pk)


@require_POST
def sync_ynab(request: HttpRequest) -> HttpResponse:
    """The "Sync from YNAB" button: today's balances, then back to the list with what was
    stored and what was not (a YNAB failure leaves the stored values as they were)."""
    try:
        result = services.sync_ynab(request.user)
    except ynab.YnabError as exc:
        messages.error(request, exc.message)
    else:
        for entry in result.synced:
            messages.success(
                request,
                gettext("%(name)s: %(value)s %(currency)s on %(day)s.")
                % {
                    "name": entry.account.name,
                    "value": privacy.masked(format_number(entry.value, grouped=True)),
                    "currency": entry.account.currency,
                    "day": format_day(entry.date, "short"),
                },
            )
        for error in result.errors:
            messages.warning(request, f"{error['name']}: {error['message']}")
        if not result.synced and not result.errors:
            messages.info(request, gettext("No pension account is linked to a YNAB account yet."))
    if request.htmx:
        return HttpResponseClientRedirect(reverse("pensions:list"))
    return redirect("pensions:list")


def _projection_form(request: HttpRequest) -> ProjectionForm:
    if request.GET:
        return ProjectionForm(request.GET)
    # The first visit: the defaults, the profile's goal year, everything counted.
    profile = profile_for(request.user)
    today = timezone.localdate()
    return ProjectionForm(
        {
            "return_percent": planning.DEFAULT_RETURN * 100,
            "contribution": "0",
            "year": profile.retirement_goal_year or today.year + 20,
            "inflation_percent": planning.DEFAULT_INFLATION * 100,
            "volatility_percent": "15",
            "include_portfolios": "on",
        }
    )


@require_GET
def projection_page(request: HttpRequest) -> HttpResponse:
    form = _projection_form(request)
    plan = None
    if form.is_valid():
        try:
            plan = planning.plan_for(request.user, form.inputs())
        except projection.ProjectionError as exc:
            form.add_projection_errors(exc.errors)
    context = {
        "form": form,
        "plan": plan,
        "chart": projection_chart(plan) if plan else charts.LineChart(),
        "chart_currency": plan.currency if plan else profile_for(request.user).base_currency,
        "last": plan.result.years[-1] if plan else None,
    }
    status = 200 if plan else INVALID
    if request.htmx:
        return render(request, "pensions/projection.html#results", context, status=status)
    return render(request, "pensions/projection.html", context, status=status)


def projection_chart(plan: planning.Plan) -> charts.LineChart:
    """Each year's end: the projected value, the same in today's money, the 10th-90th
    percentile range when there are bands, and the goal."""
    years = plan.result.years
    at = [(date(y.year, 12, 31), y) for y in years]
    series = [
        charts.Series(gettext("Projected"), [(d, y.value) for d, y in at], area=True),
        charts.Series(
            gettext("In today's money"),
            [(d, y.value_real) for d, y in at],
            style="secondary",
            dashed=True,
        ),
    ]
    if years and years[-1].p10 is not None:
        series += [
            charts.Series(
                gettext("10th percentile"), [(d, y.p10) for d, y in at], style="tertiary"
            ),
            charts.Series(
                gettext("90th percentile"), [(d, y.p90) for d, y in at], style="tertiary"
            ),
        ]
    if plan.result.goal is not None:
        series.append(
            charts.Series(
                gettext("Goal"),
                [(d, plan.result.goal) for d, _ in at],
                style="tertiary",
                dashed=True,
            )
        )
    return charts.line_chart(series)
