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
from portfolios.models import CASH_TYPES, Holding, ImportBatch, Portfolio, TaxRate, Transaction

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
        "kind",
        "track_cash",
        "cash_balance",
        "used_credit",
        "dividends_reduce_cost_basis",
        "updated_at",
    )
    list_filter = (
        "currency",
        "brokerage_firm",
        "kind",
        "track_cash",
        "dividends_reduce_cost_basis",
        "user",
    )
    search_fields = ("name", "brokerage_firm", "user__username")
    list_select_related = ("user",)
    # A ticker box, not a select of every instrument (one query and a long list).
    raw_id_fields = ("benchmark",)
    readonly_fields = (
        "cash_balance",
        "all_holdings",
        "newest_holdings",
        "created_at",
        "updated_at",
    )
    formfield_overrides = ADMIN_DECIMALS
    actions = ["recompute_cash"]

    @admin.action(description="Recompute the cash balance from the transactions")
    def recompute_cash(self, request, queryset):
        try:
            for portfolio in queryset:
                services.recompute_cash(portfolio)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
        else:
            self.message_user(request, "Recomputed.", messages.SUCCESS)

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
        required=False,
        help_text="Empty for the cash types (deposit, withdrawal, interest, fee).",
        widget=ForeignKeyRawIdWidget(
            Holding._meta.get_field("instrument").remote_field, admin.site
        ),
    )
    amount = DecimalInput(
        required=False,
        help_text="Cash types only: the amount (> 0, whole cents, the portfolio's currency).",
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
        # Not for cash: clean() asks for them on a trade.
        for name in ("quantity", "price", "fees"):
            self.fields[name].required = False
        if self.instance.pk:
            self.initial["portfolio"] = self.instance.portfolio_id
            if self.instance.holding_id is None:
                self.initial["amount"] = self.instance.total_amount
            else:
                self.initial["instrument"] = self.instance.holding.instrument_id
            # Moving a transaction between portfolios would change whose money it is.
            self.fields["portfolio"].disabled = True

    def clean(self):
        data = super().clean()
        if data.get("type") in CASH_TYPES:
            return self._clean_cash(data)
        for name in ("instrument", "quantity", "price", "fees"):
            if data.get(name) is None and name not in self.errors:
                self.add_error(name, "This field is required.")
        if data.get("amount") is not None:
            self.add_error("amount", "Only a cash transaction has an amount.")
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

    def _clean_cash(self, data):
        if data.get("instrument") is not None:
            self.add_error("instrument", "A cash transaction has no instrument.")
        if self.errors or data.get("portfolio") is None or data.get("date") is None:
            return data
        entry = services.NewTransaction.cash(
            type=data["type"], date=data["date"], amount=data.get("amount"), notes=data["notes"]
        )
        try:
            services.check_cash_entry(data["portfolio"], entry)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                self.add_error(name if name in self.fields else None, errors)
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
        "amount",
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
        return obj.holding.instrument if obj.holding_id is not None else "— (cash)"

    def get_actions(self, request):
        actions = super().get_actions(request)
        # The stock bulk delete would bypass the replay.
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if data["type"] in CASH_TYPES:
            values = {name: data[name] for name in services.CASH_EDITABLE_FIELDS}
            if change:
                saved = services.update_transaction(obj, **values)
            else:
                saved = services.record_transaction(portfolio=data["portfolio"], **values)
            obj.pk, obj.holding = saved.pk, None
            return
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


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    """Imports as their owners see them: read-only, undone whole through the service (a
    plain delete would leave the transactions in place, cut loose from their batch)."""

    list_display = ("file_name", "user", "portfolio", "format", "created_at", "undone_at")
    list_filter = ("format",)
    list_select_related = ("user", "portfolio")
    readonly_fields = (
        "user",
        "portfolio",
        "file_name",
        "format",
        "created_at",
        "counts",
        "undone_at",
    )
    actions = ["undo_selected"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Undo selected imports (all of each, or none of it)")
    def undo_selected(self, request, queryset):
        for batch in queryset:
            try:
                count = services.undo_import(batch)
            except services.UndoRefused as exc:
                self.message_user(request, f"{batch}: {' '.join(exc.messages)}", messages.ERROR)
            else:
                self.message_user(
                    request, f"{batch}: undone, {count} transaction(s) removed.", messages.SUCCESS
                )


class TaxRateAdminForm(forms.ModelForm):
    class Meta:
        model = TaxRate
        fields = ("year", "shielding_rate", "tax_multiplier", "source")

    def clean(self):
        data = super().clean()
        try:
            services.check_tax_rate(
                data.get("year"), data.get("shielding_rate"), data.get("tax_multiplier")
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                self.add_error(field, errors)
        return data


@admin.register(TaxRate)
class TaxRateAdmin(admin.ModelAdmin):
    """The yearly Norwegian figures (ARCHITECTURE 5d), shared by every user: staff correct
    them here, through the same service as the API."""

    form = TaxRateAdminForm
    list_display = ("year", "shielding_rate", "tax_multiplier", "updated_at")
    formfield_overrides = ADMIN_DECIMALS

    def save_model(self, request, obj, form, change):
        saved = services.save_tax_rate(
            obj.year,
            shielding_rate=obj.shielding_rate,
            tax_multiplier=obj.tax_multiplier,
            source=obj.source,
        )
        obj.pk = saved.pk
