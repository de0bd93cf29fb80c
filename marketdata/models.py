from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from django.db import models
from django.db.models import Max, OuterRef, Q, Subquery
from django.utils import timezone

from financedash.lib.money import PRICE, QUANTITY, RATE, CurrencyField

# Latest-on-or-before reads first look this far back, which finds nearly every value with a
# small index range; only what is older falls through to a full per-key lookup.
RECENT_WINDOW = timedelta(days=14)


class Instrument(models.Model):
    """A tradable symbol (the original design's StockMetadata)."""

    ticker = models.CharField(max_length=32, unique=True, help_text="Yahoo symbol, e.g. EQNR.OL")
    company_name = models.CharField(max_length=200, blank=True)
    exchange = models.CharField(max_length=64, blank=True)
    currency = CurrencyField()
    isin = models.CharField(max_length=12, null=True, blank=True, db_index=True)  # noqa: DJ001
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["ticker"]

    def __str__(self) -> str:
        return self.ticker

    def save(self, *args, **kwargs):
        self.ticker = self.ticker.strip().upper()
        super().save(*args, **kwargs)


class HistoricalStockPriceQuerySet(models.QuerySet):
    def latest_closes(
        self, tickers: Iterable[str], on_or_before: date | None = None
    ) -> dict[str, tuple[date, object, str]]:
        """Ticker -> (date, close, currency) of its last stored close, in one or two queries."""
        tickers = set(tickers)
        if not tickers:
            return {}
        if on_or_before is None:
            on_or_before = timezone.localdate()
        rows = self.filter(instrument__ticker__in=tickers, date__lte=on_or_before)
        recent = rows.filter(date__gte=on_or_before - RECENT_WINDOW)
        found: dict[str, tuple] = {}
        for ticker, day, close, currency in recent.order_by("date").values_list(
            "instrument__ticker", "date", "close", "instrument__currency"
        ):
            found[ticker] = (day, close, currency)
        older = tickers - set(found)
        if older:
            last = self.model.objects.filter(
                instrument=OuterRef("pk"), date__lte=on_or_before
            ).order_by("-date")
            for ticker, day, close, currency in (
                Instrument.objects.filter(ticker__in=older)
                .annotate(
                    last_date=Subquery(last.values("date")[:1]),
                    last_close=Subquery(last.values("close")[:1]),
                )
                .filter(last_date__isnull=False)
                .values_list("ticker", "last_date", "last_close", "currency")
            ):
                found[ticker] = (day, close, currency)
        return found


class HistoricalStockPrice(models.Model):
    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="prices")
    date = models.DateField()
    close = models.DecimalField(**PRICE)

    objects = HistoricalStockPriceQuerySet.as_manager()

    class Meta:
        ordering = ["instrument", "date"]
        constraints = [
            models.UniqueConstraint(fields=["instrument", "date"], name="unique_price_per_day"),
            models.CheckConstraint(condition=models.Q(close__gte=0), name="price_close_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} {self.date} {self.close}"


class InstrumentSplit(models.Model):
    """A stock split as the market-data provider reports it (shared, like the closes):
    `ratio` = new shares per old share. Stored so every process sees the same history;
    the holding page suggests recording one the ledger lacks."""

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="splits")
    date = models.DateField()
    ratio = models.DecimalField(**QUANTITY)

    class Meta:
        ordering = ["instrument", "date"]
        constraints = [
            models.UniqueConstraint(fields=["instrument", "date"], name="unique_split_per_day"),
            models.CheckConstraint(condition=models.Q(ratio__gt=0), name="split_ratio_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} {self.date} x{self.ratio.normalize():f}"


class HistoricalExchangeRateQuerySet(models.QuerySet):
    def for_pairs(self, pairs: Iterable[tuple[str, str]]) -> HistoricalExchangeRateQuerySet:
        condition = Q()
        for base, target in pairs:
            condition |= Q(base_currency=base, target_currency=target)
        return self.filter(condition) if condition else self.none()

    def latest_rates(
        self, pairs: Iterable[tuple[str, str]], on_or_before: date
    ) -> dict[tuple[str, str], tuple[date, object]]:
        """(base, target) -> (date, rate) of the last stored rate on or before the date, for
        the pairs given and their opposites: one query, and two more only for pairs with no
        rate either way in the last RECENT_WINDOW."""
        pairs = set(pairs)
        if not pairs:
            return {}
        found: dict[tuple[str, str], tuple] = {}
        recent = self.for_pairs(pairs | {(t, b) for b, t in pairs}).filter(
            date__lte=on_or_before, date__gte=on_or_before - RECENT_WINDOW
        )
        for base, target, day, rate in recent.order_by("date").values_list(
            "base_currency", "target_currency", "date", "rate"
        ):
            found[(base, target)] = (day, rate)
        older = {(b, t) for b, t in pairs if (b, t) not in found and (t, b) not in found}
        if older:
            last_dates = (
                self.for_pairs(older | {(t, b) for b, t in older})
                .filter(date__lte=on_or_before)
                .values("base_currency", "target_currency")
                .annotate(last=Max("date"))
                .values_list("base_currency", "target_currency", "last")
            )
            condition = Q()
            for base, target, last in last_dates:
                condition |= Q(base_currency=base, target_currency=target, date=last)
            if condition:
                for base, target, day, rate in self.filter(condition).values_list(
                    "base_currency", "target_currency", "date", "rate"
                ):
                    found[(base, target)] = (day, rate)
        return found


class HistoricalExchangeRate(models.Model):
    """`rate` units of target_currency per one unit of base_currency on `date`."""

    base_currency = CurrencyField()
    target_currency = CurrencyField()
    date = models.DateField()
    rate = models.DecimalField(**RATE)

    objects = HistoricalExchangeRateQuerySet.as_manager()

    class Meta:
        ordering = ["base_currency", "target_currency", "date"]
        constraints = [
            models.UniqueConstraint(
                fields=["base_currency", "target_currency", "date"], name="unique_rate_per_day"
            ),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="fx_rate_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.base_currency}{self.target_currency} {self.date} {self.rate}"
