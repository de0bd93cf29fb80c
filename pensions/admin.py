from __future__ import annotations

from django.contrib import admin

from pensions.models import PensionAccount, PensionValueEntry


class PensionValueEntryInline(admin.TabularInline):
    model = PensionValueEntry
    fields = ("date", "value")
    ordering = ("-date",)
    extra = 1


@admin.register(PensionAccount)
class PensionAccountAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "currency", "ynab_account_id", "updated_at")
    list_filter = ("currency", "user")
    search_fields = ("name", "user__username", "ynab_account_id")
    list_select_related = ("user",)
    readonly_fields = ("created_at", "updated_at")
    inlines = [PensionValueEntryInline]


@admin.register(PensionValueEntry)
class PensionValueEntryAdmin(admin.ModelAdmin):
    list_display = ("account", "date", "value")
    list_filter = ("account__user", "account")
    search_fields = ("account__name",)
    list_select_related = ("account",)
    date_hierarchy = "date"
