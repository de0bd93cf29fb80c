from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext_lazy as _

from financedash.lib.money import ENTERED_MONEY, CurrencyField, non_negative


class PensionAccountQuerySet(models.QuerySet):
    def owned_by(self, user) -> PensionAccountQuerySet:
        return self.filter(user=user)

    def with_current_value(self) -> PensionAccountQuerySet:
        """Each account with its latest entry as `current_value` and `current_value_date`,
        in the same query."""
        latest = PensionValueEntry.objects.filter(account=OuterRef("pk")).order_by("-date")
        return self.annotate(
            current_value_date=Subquery(latest.values("date")[:1]),
            current_value=Subquery(latest.values("value")[:1]),
        )


class PensionValueEntryQuerySet(models.QuerySet):
    def owned_by(self, user) -> PensionValueEntryQuerySet:
        return self.filter(account__user=user)


class PensionAccount(models.Model):
    class Kind(models.TextChoices):
        IPS = "ips", _("IPS (individual pension savings)")
        EPK = "epk", _("EPK (own pension account)")
        EMPLOYER = "employer", _("Employer pension")
        OTHER = "other", _("Other")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pension_accounts"
    )
    name = models.CharField(max_length=100)
    currency = CurrencyField(default="NOK")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.OTHER)
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
    # What was paid in since the previous entry, when the statement says: the IPS yearly
    # cap counts payments, not growth. Null: not known (not the same as 0).
    contribution = models.DecimalField(
        **ENTERED_MONEY,
        null=True,
        blank=True,
        validators=non_negative(),
        help_text=_("Paid in since the previous value (optional); counts against the IPS cap."),
    )

    objects = PensionValueEntryQuerySet.as_manager()

    class Meta:
        ordering = ["account", "-date"]
        verbose_name_plural = "pension value entries"
        constraints = [
            models.UniqueConstraint(fields=["account", "date"], name="unique_pension_value_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.date} {self.value}"


class YnabBudgetState(models.Model):
    """What YNAB last told us about a budget's accounts: the merged account list and the
    server knowledge to send as `last_knowledge_of_server`, so the next listing is a delta
    (only what changed) and survives a cache flush or a restart."""

    budget_id = models.CharField(max_length=64, unique=True)
    server_knowledge = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)  # the budget's, "" until known
    accounts = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"YNAB budget {self.budget_id} at {self.server_knowledge}"
