from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from financedash.lib.money import ENTERED_MONEY, CurrencyField, non_negative


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    base_currency = CurrencyField(default="NOK")
    retirement_goal_amount = models.DecimalField(
        **ENTERED_MONEY, null=True, blank=True, validators=non_negative()
    )
    retirement_goal_year = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1900), MaxValueValidator(2200)]
    )
    ynab_budget_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 - spec: nullable
    # Portfolios created later start with this dividend treatment (ARCHITECTURE section 4).
    dividends_reduce_cost_basis = models.BooleanField(default=True)
    # The household chart's benchmark line (issue 15), like a portfolio's.
    benchmark = models.ForeignKey(
        "marketdata.Instrument",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # The pages' language; blank follows the browser (Accept-Language). Applied on every
    # request by financedash.middleware.LanguageMiddleware.
    language = models.CharField(max_length=8, blank=True, default="", choices=settings.LANGUAGES)

    def __str__(self) -> str:
        return f"Profile of {self.user}"


class VersionStamp(models.Model):
    """The current version of a body of data (financedash.lib.versions). In the database, not
    the cache: a stamp changes in the same transaction as the rows it stands for, every
    process sees it, and it cannot be lost while Redis is away."""

    name = models.CharField(max_length=64, unique=True)
    value = models.CharField(max_length=32)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"
