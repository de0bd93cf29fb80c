from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin
from django.db import transaction

from financedash.lib import versions
from financedash.lib.admin import LIST_ROWS, BigTableAdmin, QuickRows
from financedash.lib.money import ADMIN_DECIMALS, DecimalInput, round_rate
from marketdata import history
from marketdata.models import (
    HistoricalExchangeRate,
    HistoricalStockPrice,
    Instrument,
    InstrumentSplit,
)


class StoredThroughHistory(BigTableAdmin, admin.ModelAdmin):
    """Closes and rates are written by marketdata.history, as the API and import_prices
    write them: one set of checks (rates rounded to the stored precision), and cached
    valuations see the change at once (the market-data version stamp)."""

    formfield_overrides = ADMIN_DECIMALS
    ordering = ("-id",)

    # Each subclass names its row's natural key (`key_fields`) and writes the row through
    # marketdata.history (`store`).

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        if change:
            # The row as it was: a changed date or pair moves the value to another key.
            type(obj).objects.filter(pk=obj.pk).delete()
        self.store(obj)
        obj.pk = type(obj).objects.get(**{f: getattr(obj, f) for f in self.key_fields}).pk

    @transaction.atomic
    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        versions.bump(versions.MARKET_DATA)

    @transaction.atomic
    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        versions.bump(versions.MARKET_DATA)


@admin.register(Instrument)
class InstrumentAdmin(QuickRows, admin.ModelAdmin):
    list_display = ("ticker", "company_name", "exchange", "currency", "isin", "updated_at")
    list_filter = ("currency", "exchange")
    search_fields = ("ticker", "company_name", "isin")
    readonly_fields = ("created_at", "updated_at")
    show_full_result_count = False
    list_per_page = LIST_ROWS

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
class HistoricalStockPriceAdmin(StoredThroughHistory):
    list_display = ("instrument", "date", "close")
    list_filter = ("instrument__currency",)
    search_fields = ("instrument__ticker",)
    list_select_related = ("instrument",)
    autocomplete_fields = ("instrument",)
    key_fields = ("instrument", "date")

    def store(self, obj) -> None:
        history.store_prices(obj.instrument, None, [(obj.date, obj.close)])

    def get_search_results(self, request, queryset, search_term):
        # The matching instruments first (a few hundred rows), then their closes through
        # the (instrument, date) index: searched through the join, SQLite read every
        # close and looked up its instrument (35 ms for one ticker's 2,600 closes).
        if not search_term:
            return queryset, False
        tickers = Instrument.objects.filter(ticker__icontains=search_term.strip())
        return queryset.filter(instrument__in=list(tickers.values_list("pk", flat=True))), False


class RateForm(forms.ModelForm):
    # Unbounded here: a rate pasted with more digits than stored is rounded, not refused
    # (money.round_rate, as for a transaction's rate); store_rates checks what is left.
    rate = DecimalInput(min_value=Decimal("0.0000000001"))

    class Meta:
        model = HistoricalExchangeRate
        fields = ("base_currency", "target_currency", "date", "rate")

    def clean_rate(self):
        return round_rate(self.cleaned_data["rate"])


@admin.register(HistoricalExchangeRate)
class HistoricalExchangeRateAdmin(StoredThroughHistory):
    list_display = ("base_currency", "target_currency", "date", "rate")
    # The base currency's distinct values come off the (base, target, date) index; the
    # target's would read every rate (3 ms a page): search finds either side instead.
    list_filter = ("base_currency",)
    search_fields = ("base_currency", "target_currency")
    key_fields = ("base_currency", "target_currency", "date")

    def store(self, obj) -> None:
        history.store_rates(obj.base_currency, obj.target_currency, [(obj.date, obj.rate)])

    form = RateForm


@admin.register(InstrumentSplit)
class InstrumentSplitAdmin(admin.ModelAdmin):
    """The provider's split history, correctable by staff: it only feeds the holding
    page's suggestions (nothing is valued from it), so a plain save is enough."""

    list_display = ("instrument", "date", "ratio")
    search_fields = ("instrument__ticker",)
    list_select_related = ("instrument",)
    autocomplete_fields = ("instrument",)
    formfield_overrides = ADMIN_DECIMALS
    ordering = ("-date",)
