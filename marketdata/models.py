from __future__ import annotations

from django.db import models

from financedash.money import PRICE, RATE, CurrencyField


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


class HistoricalStockPrice(models.Model):
    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="prices")
    date = models.DateField()
    close = models.DecimalField(**PRICE)

    class Meta:
        ordering = ["instrument", "date"]
        constraints = [
            models.UniqueConstraint(fields=["instrument", "date"], name="unique_price_per_day"),
            models.CheckConstraint(condition=models.Q(close__gte=0), name="price_close_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} {self.date} {self.close}"


class HistoricalExchangeRate(models.Model):
    """`rate` units of target_currency per one unit of base_currency on `date`."""

    base_currency = CurrencyField()
    target_currency = CurrencyField()
    date = models.DateField()
    rate = models.DecimalField(**RATE)

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
