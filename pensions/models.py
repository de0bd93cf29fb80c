from __future__ import annotations

from django.conf import settings
from django.db import models

from financedash.lib.money import ENTERED_MONEY, CurrencyField


class PensionAccountQuerySet(models.QuerySet):
    def owned_by(self, user) -> PensionAccountQuerySet:
        return self.filter(user=user)


class PensionValueEntryQuerySet(models.QuerySet):
    def owned_by(self, user) -> PensionValueEntryQuerySet:
        return self.filter(account__user=user)


class PensionAccount(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pension_accounts"
    )
    name = models.CharField(max_length=100)
    currency = CurrencyField(default="NOK")
    ynab_account_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 - spec: nullable
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PensionAccountQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="unique_pension_name_per_user")
        ]

    def __str__(self) -> str:
        return self.name


class PensionValueEntry(models.Model):
    account = models.ForeignKey(PensionAccount, on_delete=models.CASCADE, related_name="values")
    date = models.DateField()
    value = models.DecimalField(**ENTERED_MONEY)

    objects = PensionValueEntryQuerySet.as_manager()

    class Meta:
        ordering = ["account", "-date"]
        verbose_name_plural = "pension value entries"
        constraints = [
            models.UniqueConstraint(fields=["account", "date"], name="unique_pension_value_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.date} {self.value}"
