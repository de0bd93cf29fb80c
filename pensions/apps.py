from __future__ import annotations

from django.apps import AppConfig


class PensionsConfig(AppConfig):
    name = "pensions"
