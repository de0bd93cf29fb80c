"""Field shapes shared by every model that stores money, prices, quantities or rates.

SQLite stores DecimalField as REAL and quantizes on read, which is exact up to 15
significant digits; every field stays within that so both databases round-trip exactly.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

MONEY = {"max_digits": 15, "decimal_places": 4}  # derived money, full cents with headroom
ENTERED_MONEY = {"max_digits": 15, "decimal_places": 2}  # what a person types: credit, goals
PRICE = {"max_digits": 15, "decimal_places": 6}
QUANTITY = {"max_digits": 15, "decimal_places": 6}
RATE = {"max_digits": 15, "decimal_places": 10}

ZERO = Decimal("0")

currency_validator = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code, e.g. NOK.")


def CurrencyField(**kwargs) -> models.CharField:  # noqa: N802 - reads like a field class
    kwargs.setdefault("max_length", 3)
    kwargs.setdefault("validators", [currency_validator])
    return models.CharField(**kwargs)


def non_negative() -> list[MinValueValidator]:
    return [MinValueValidator(ZERO)]
