"""Pension accounts and their value entries: list, add, record a value, chart."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from financedash.lib import charts
from pensions.balances import pension_balances
from pensions.forms import PensionAccountForm, PensionValueForm
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
    return {
        "balances": pension_balances(request.user),
        "form": form or PensionAccountForm(user=request.user),
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
            messages.success(request, f"Added the pension account {account.name}.")
            return redirect("pensions:detail", pk=account.pk)
        if request.htmx:
            context = _list_context(request, form)
            return render(request, "pensions/list.html#accounts", context, status=INVALID)
        return render(request, "pensions/account_form.html", {"form": form}, status=INVALID)
    return render(request, "pensions/account_form.html", {"form": form})


def _detail_context(request: HttpRequest, account: PensionAccount, form=None) -> dict:
    entries = list(account.values.order_by("-date"))
    chart = charts.line_chart(
        [charts.Series("Value", [(e.date, e.value) for e in reversed(entries)], area=True)]
    )
    return {
        "account": account,
        "entries": entries,
        "latest": entries[0] if entries else None,
        "chart": chart,
        "chart_currency": account.currency,
        "form": form or PensionValueForm(account=account),
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
            messages.success(request, f"Saved {account.name}.")
            return redirect("pensions:detail", pk=pk)
        context = {"form": form, "account": account}
        return render(request, "pensions/account_form.html", context, status=INVALID)
    return render(request, "pensions/account_form.html", {"form": form, "account": account})


@require_http_methods(["GET", "POST"])
def account_delete(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account_for(request, pk)
    if request.method == "POST":
        account.delete()
        messages.success(request, f"Deleted the pension account {account.name}.")
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
    note = f"Recorded the value of {entry.date.isoformat()}."
    if not request.htmx:
        messages.success(request, note)
        return redirect("pensions:detail", pk=pk)
    context = _detail_context(request, account)
    context["saved"] = note
    return render(request, "pensions/detail.html#entries", context)


@require_POST
def value_delete(request: HttpRequest, pk: int) -> HttpResponse:
    entry = _entry_for(request, pk)
    account = entry.account
    entry.delete()
    if request.htmx:
        return render(request, "pensions/detail.html#entries", _detail_context(request, account))
    messages.success(request, f"Deleted the value of {entry.date.isoformat()}.")
    return redirect("pensions:detail", pk=account.pk)
