from __future__ import annotations

from django.apps import AppConfig


class MarketdataConfig(AppConfig):
    name = "marketdata"

    def ready(self) -> None:
        from marketdata import signals  # noqa: F401
