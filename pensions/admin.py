from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from financedash.lib.admin import (
    INLINE_ROWS,
    BigTableAdmin,
    NewestInlineRows,
    QuickRows,
    changelist_link,
)
from financedash.lib.money import ADMIN_DECIMALS
from pensions import services
from pensions.models import PensionAccount, PensionValueEntry


class PensionValueEntryForm(forms.ModelForm):
    """Checks a value by the rules of pensions.services, so a bad one is a form error."""

    class Meta:
        model = PensionValueEntry
        fields = ("account", "date", "value", "contribution")

    def clean(self):
        data = super().clean()
        account = data.get("account") or getattr(self.instance, "account", None)
        if account is None or data.get("date") is None or data.get("value") is None:
            return data
        try:
            services.check_value(
                account,
                data["date"],
                data["value"],
                existing=self.instance,
                contribution=data.get("contribution"),
            )
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                self.add_error(name if name in self.fields else None, messages)
        return data

    def validate_unique(self):
        # The service checks (account, date), naming the date and the value it has.
        pass


def _save(entry: PensionValueEntry) -> PensionValueEntry:
    if entry.pk:
        return services.update_value(
            entry, date=entry.date, value=entry.value, contribution=entry.contribution
        )
    saved = services.record_value(
        entry.account, date=entry.date, value=entry.value, contribution=entry.contribution
    )
    entry.pk = saved.pk
    return entry


class PensionValueEntryInline(admin.TabularInline):
    model = PensionValueEntry
    form = PensionValueEntryForm
    formfield_overrides = ADMIN_DECIMALS
    fields = ("date", "value", "contribution")
    ordering = ("-date",)
    newest = INLINE_ROWS
    extra = 1

    def get_queryset(self, request):
        # Each row's title (and its form's checks) read the account: with the rows, not
        # one query per row.
        return super().get_queryset(request).select_related("account")


@admin.register(PensionAccount)
class PensionAccountAdmin(QuickRows, NewestInlineRows, admin.ModelAdmin):
    list_display = ("name", "user", "kind", "currency", "ynab_account_id", "updated_at")
    list_filter = ("kind", "currency", "user")
    search_fields = ("name", "user__username", "ynab_account_id")
    list_select_related = ("user",)
    readonly_fields = ("all_values", "created_at", "updated_at")
    inlines = [PensionValueEntryInline]

    @admin.display(description="Values")
    def all_values(self, obj):
        return changelist_link(PensionValueEntry, "account", obj, obj.values.count())

    def save_model(self, request, obj, form, change):
        services.save_account(obj)

    def save_formset(self, request, form, formset, change):
        if formset.model is not PensionValueEntry:
            return super().save_formset(request, form, formset, change)
        entries = formset.save(commit=False)
        for entry in formset.deleted_objects:
            entry.delete()
        for entry in entries:
            entry.account = form.instance
            _save(entry)
        return None


@admin.register(PensionValueEntry)
class PensionValueEntryAdmin(BigTableAdmin, admin.ModelAdmin):
    form = PensionValueEntryForm
    formfield_overrides = ADMIN_DECIMALS
    list_display = ("account", "date", "value", "contribution")
    list_filter = ("date", "account__user", "account")
    search_fields = ("account__name",)
    list_select_related = ("account",)
    # "date" as a filter (this month, this year: no query) rather than a date_hierarchy,
    # whose drill-down reads the first and last date and the distinct years on each page.

    def save_model(self, request, obj, form, change):
        _save(obj)
