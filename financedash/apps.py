from __future__ import annotations

from django.apps import AppConfig


class FinancedashConfig(AppConfig):
    name = "financedash"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from financedash import metrics, signals  # noqa: F401
