from __future__ import annotations

from django.contrib import admin

from financedash.lib.money import ADMIN_DECIMALS
from marketdata.models import HistoricalExchangeRate, HistoricalStockPrice, Instrument


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = ("ticker", "company_name", "exchange", "currency", "isin", "updated_at")
    list_filter = ("currency", "exchange")
    search_fields = ("ticker", "company_name", "isin")
    readonly_fields = ("created_at", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        # Every transaction in it carries prices and an exchange rate in this currency:
        # changing it would silently revalue users' holdings (and refuse their next buys).
        if obj is not None and obj.holdings.exists():
            return (*self.readonly_fields, "currency")
        return self.readonly_fields


# Price and rate tables hold hundreds of thousands of rows: the changelists order by the
# primary key (newest first) and skip the full count and the date drill-down, each of which
# would scan the whole table on every page.
@admin.register(HistoricalStockPrice)
class HistoricalStockPriceAdmin(admin.ModelAdmin):
    formfield_overrides = ADMIN_DECIMALS
    list_display = ("instrument", "date", "close")
    list_filter = ("instrument__currency",)
    search_fields = ("instrument__ticker",)
    list_select_related = ("instrument",)
    ordering = ("-id",)
    show_full_result_count = False
    autocomplete_fields = ("instrument",)


@admin.register(HistoricalExchangeRate)
class HistoricalExchangeRateAdmin(admin.ModelAdmin):
    formfield_overrides = ADMIN_DECIMALS
    list_display = ("base_currency", "target_currency", "date", "rate")
    list_filter = ("base_currency", "target_currency")
    search_fields = ("base_currency", "target_currency")
    ordering = ("-id",)
    show_full_result_count = False
