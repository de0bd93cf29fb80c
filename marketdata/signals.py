from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from financedash.lib import versions
from marketdata.models import HistoricalExchangeRate, HistoricalStockPrice


@receiver([post_save, post_delete], sender=HistoricalStockPrice)
@receiver([post_save, post_delete], sender=HistoricalExchangeRate)
def market_data_changed(sender, **kwargs):
    # Row-by-row edits (the admin); the bulk paths in marketdata.history bump it themselves.
    versions.bump(versions.MARKET_DATA)
