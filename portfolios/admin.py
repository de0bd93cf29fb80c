"""Admin for data fixes: every write goes through portfolios.services, like everything else.

Derived figures are read-only; transaction forms run the same oversell check as the UI,
so a bad change is a form error rather than a 500.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse

from financedash.lib.admin import (
    INLINE_ROWS,
    LIST_ROWS,
    BigTableAdmin,
    QuickRows,
    changelist_link,
    newest_rows,
)
from financedash.lib.money import ADMIN_DECIMALS, DecimalInput
from marketdata.models import Instrument
from portfolios import services
from portfolios.models import Holding, Portfolio, Transaction

DERIVED_HOLDING_FIELDS = (
    "quantity",
    "average_cost",
    "total_cost",
    "realized_gain",
    "dividends",
    "fees",
    "updated_at",
)


@admin.register(Portfolio)
class PortfolioAdmin(QuickRows, admin.ModelAdmin):
    list_display = (
        "name",
        "user",
        "brokerage_firm",
        "currency",
        "used_credit",
        "dividends_reduce_cost_basis",
        "updated_at",
    )
    list_filter = ("currency", "brokerage_firm", "dividends_reduce_cost_basis", "user")
    search_fields = ("name", "brokerage_firm", "user__username")
    list_select_related = ("user",)
    readonly_fields = ("all_holdings", "newest_holdings", "created_at", "updated_at")
    formfield_overrides = ADMIN_DECIMALS

    @admin.display(description="Holdings")
    def all_holdings(self, obj):
        return changelist_link(Holding, "portfolio", obj, obj.holdings.count())

    @admin.display(description=f"Newest {INLINE_ROWS}")
    def newest_holdings(self, obj):
        if obj.pk is None:
            return "-"
        holdings = obj.holdings.select_related("instrument").order_by("-id")
        return newest_rows(holdings, ("instrument", *DERIVED_HOLDING_FIELDS[:-1]))

    def save_model(self, request, obj, form, change):
        services.save_portfolio(obj)


@admin.register(Holding)
class HoldingAdmin(QuickRows, admin.ModelAdmin):
    list_display = ("instrument", "portfolio", *DERIVED_HOLDING_FIELDS)
    list_filter = ("portfolio__user", "portfolio", "instrument__currency")
    search_fields = ("instrument__ticker", "instrument__company_name", "portfolio__name")
    list_select_related = ("instrument", "portfolio")
    readonly_fields = (
        "portfolio",
        "instrument",
        *DERIVED_HOLDING_FIELDS,
        "all_transactions",
        "newest_transactions",
    )
    show_full_result_count = False
    list_per_page = LIST_ROWS
    actions = ["replay_selected"]

    @admin.display(description="Transactions")
    def all_transactions(self, obj):
        return changelist_link(Transaction, "holding", obj, obj.transactions.count())

    @admin.display(description=f"Newest {INLINE_ROWS}")
    def newest_transactions(self, obj):
        return newest_rows(
            obj.transactions.order_by("-date", "-id"),
            (
                "date",
                "type",
                "quantity",
                "price",
                "fees",
                "exchange_rate",
                "total_amount",
                "average_cost_at_transaction",
            ),
        )

    def has_add_permission(self, request):
        # A holding exists because it has transactions: add a transaction instead.
        return False

    @admin.action(description="Replay selected holdings from their transactions")
    def replay_selected(self, request, queryset):
        try:
            count = services.replay_holdings(queryset)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
        else:
            self.message_user(request, f"Replayed {count} holding(s).", messages.SUCCESS)

    def delete_model(self, request, obj):
        services.delete_holding(obj)


class TransactionAdminForm(forms.ModelForm):
    # Raw ids: a select of every portfolio and instrument grows with the database.
    portfolio = forms.ModelChoiceField(
        queryset=Portfolio.objects.select_related("user"),
        widget=ForeignKeyRawIdWidget(
            Transaction._meta.get_field("portfolio").remote_field, admin.site
        ),
    )
    instrument = forms.ModelChoiceField(
        queryset=Instrument.objects.all(),
        widget=ForeignKeyRawIdWidget(
            Holding._meta.get_field("instrument").remote_field, admin.site
        ),
    )
    # Empty by default, never a silent 1: the services fill in the rate of the day (1 when
    # the currencies match) and round a long one to the stored precision.
    exchange_rate = DecimalInput(
        required=False,
        help_text="Portfolio-currency units per instrument-currency unit. Leave empty for "
        "the rate of the day (1 when the currencies match).",
    )

    class Meta:
        model = Transaction
        fields = ("type", "date", "quantity", "price", "fees", "exchange_rate", "notes")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["portfolio"] = self.instance.portfolio_id
            self.initial["instrument"] = self.instance.holding.instrument_id
            # Moving a transaction between portfolios would change whose money it is.
            self.fields["portfolio"].disabled = True

    def clean(self):
        data = super().clean()
        needed = ("portfolio", "instrument", "type", "date", "quantity", "price")
        if self.errors or any(data.get(name) is None for name in needed):
            return data
        # Settles data["exchange_rate"] too: the rate of the day when left empty, rounded.
        services.check_change(
            services.Change(
                portfolio=data["portfolio"],
                instrument=data["instrument"],
                values=data,
                existing=self.instance if self.instance.pk else None,
            )
        )
        return data


@admin.register(Transaction)
class TransactionAdmin(BigTableAdmin, admin.ModelAdmin):
    form = TransactionAdminForm
    list_display = (
        "date",
        "type",
        "instrument",
        "portfolio",
        "quantity",
        "price",
        "fees",
        "exchange_rate",
        "total_amount",
        "average_cost_at_transaction",
    )
    # "date" as a filter (today, this month, this year: no query), not a date_hierarchy,
    # whose distinct years scan every transaction on each page (75 ms at 20,000).
    list_filter = ("type", "date", "portfolio__user", "portfolio")
    search_fields = ("holding__instrument__ticker", "holding__instrument__company_name", "notes")
    list_select_related = ("holding__instrument", "portfolio")
    fields = (
        "portfolio",
        "instrument",
        "type",
        "date",
        "quantity",
        "price",
        "fees",
        "exchange_rate",
        "notes",
        "total_amount",
        "average_cost_at_transaction",
        "import_key",
        "created_at",
    )
    readonly_fields = ("total_amount", "average_cost_at_transaction", "import_key", "created_at")
    actions = ["delete_with_replay"]
    formfield_overrides = ADMIN_DECIMALS

    @admin.display(ordering="holding__instrument__ticker")
    def instrument(self, obj):
        return obj.holding.instrument

    def get_actions(self, request):
        actions = super().get_actions(request)
        # The stock bulk delete would bypass the replay.
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        values = {name: data[name] for name in services.EDITABLE_FIELDS}
        if change:
            saved = services.update_transaction(obj, instrument=data["instrument"], **values)
        else:
            saved = services.record_transaction(
                portfolio=data["portfolio"], instrument=data["instrument"], **values
            )
        # The admin's redirect and log entry need the saved object's primary key.
        obj.pk = saved.pk
        obj.holding = saved.holding

    def delete_model(self, request, obj):
        services.delete_transaction(obj)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return redirect(reverse("admin:portfolios_transaction_change", args=[object_id]))

    @admin.action(description="Delete selected transactions (replaying their holdings)")
    def delete_with_replay(self, request, queryset):
        try:
            services.delete_transactions(queryset)
        except ValidationError as exc:
            self.message_user(
                request, "Nothing was deleted: " + " ".join(exc.messages), messages.ERROR
            )
        else:
            self.message_user(request, "Deleted and replayed.", messages.SUCCESS)
