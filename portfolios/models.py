from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from financedash.lib.money import (
    ENTERED_MONEY,
    MONEY,
    PRICE,
    QUANTITY,
    RATE,
    ZERO,
    CurrencyField,
    non_negative,
)
from marketdata.models import Instrument


class PortfolioQuerySet(models.QuerySet):
    def owned_by(self, user) -> PortfolioQuerySet:
        return self.filter(user=user)


class Portfolio(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portfolios"
    )
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    brokerage_firm = models.CharField(max_length=100, blank=True)
    currency = CurrencyField(default="NOK")
    used_credit = models.DecimalField(**ENTERED_MONEY, default=ZERO, validators=non_negative())
    dividends_reduce_cost_basis = models.BooleanField(
        default=True,
        help_text="On: dividends lower the cost basis (the original design). "
        "Off: dividends are income only.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PortfolioQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="unique_portfolio_name_per_user"),
            models.CheckConstraint(condition=Q(used_credit__gte=0), name="used_credit_gte_0"),
        ]

    def __str__(self) -> str:
        return self.name


class HoldingQuerySet(models.QuerySet):
    def owned_by(self, user) -> HoldingQuerySet:
        return self.filter(portfolio__user=user)


class Holding(models.Model):
    """One instrument in one portfolio. Every number here is the replay of its transactions
    (portfolios.ledger), stored so that pages read it without replaying."""

    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="holdings")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="holdings")
    quantity = models.DecimalField(**QUANTITY, default=ZERO)
    average_cost = models.DecimalField(**PRICE, default=ZERO)
    total_cost = models.DecimalField(**MONEY, default=ZERO)
    realized_gain = models.DecimalField(**MONEY, default=ZERO)
    dividends = models.DecimalField(**MONEY, default=ZERO)
    fees = models.DecimalField(**MONEY, default=ZERO)
    updated_at = models.DateTimeField(auto_now=True)

    objects = HoldingQuerySet.as_manager()

    class Meta:
        ordering = ["portfolio", "instrument__ticker"]
        constraints = [
            models.UniqueConstraint(
                fields=["portfolio", "instrument"], name="unique_instrument_per_portfolio"
            ),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="holding_quantity_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} in {self.portfolio}"


class TransactionQuerySet(models.QuerySet):
    def owned_by(self, user) -> TransactionQuerySet:
        return self.filter(portfolio__user=user)

    def for_listing(self) -> TransactionQuerySet:
        return self.select_related("holding__instrument").order_by("-date", "-id")


class Transaction(models.Model):
    class Type(models.TextChoices):
        BUY = "BUY", "Buy"
        SELL = "SELL", "Sell"
        DIVIDEND = "DIVIDEND", "Dividend"

    holding = models.ForeignKey(Holding, on_delete=models.CASCADE, related_name="transactions")
    # Denormalised from holding.portfolio so import_key can be unique per portfolio in the
    # database and a portfolio's transaction list needs no join. Set only by services.
    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="transactions")
    type = models.CharField(max_length=8, choices=Type.choices)
    date = models.DateField()
    quantity = models.DecimalField(**QUANTITY, validators=[MinValueValidator(Decimal("0.000001"))])
    price = models.DecimalField(
        **PRICE, validators=non_negative(), help_text="Per share, in the instrument's currency."
    )
    fees = models.DecimalField(
        **MONEY,
        default=ZERO,
        validators=non_negative(),
        help_text="Commission (withholding tax for dividends), in the portfolio's currency.",
    )
    exchange_rate = models.DecimalField(
        **RATE,
        default=1,
        validators=[MinValueValidator(Decimal("0.0000000001"))],
        help_text="Portfolio-currency units per instrument-currency unit; 1 when they match.",
    )
    total_amount = models.DecimalField(**MONEY, default=ZERO, editable=False)
    average_cost_at_transaction = models.DecimalField(**PRICE, default=ZERO, editable=False)
    notes = models.TextField(blank=True)
    # NULL, not "", so that the per-portfolio unique constraint skips manual entries.
    import_key = models.CharField(max_length=128, null=True, blank=True, editable=False)  # noqa: DJ001
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TransactionQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "-id"]
        indexes = [
            models.Index(fields=["portfolio", "date"], name="txn_portfolio_date"),
            # The admin's changelist of every transaction, newest first: without it each
            # page sorts the whole table to show 20 rows.
            models.Index(fields=["-date", "-id"], name="txn_date_id"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="txn_quantity_gt_0"),
            models.CheckConstraint(condition=Q(price__gte=0), name="txn_price_gte_0"),
            models.CheckConstraint(condition=Q(fees__gte=0), name="txn_fees_gte_0"),
            models.CheckConstraint(condition=Q(exchange_rate__gt=0), name="txn_rate_gt_0"),
            models.CheckConstraint(
                condition=Q(type__in=["BUY", "SELL", "DIVIDEND"]), name="txn_type_valid"
            ),
            models.UniqueConstraint(
                fields=["portfolio", "import_key"],
                condition=Q(import_key__isnull=False),
                name="unique_import_key_per_portfolio",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.quantity} {self.holding.instrument} {self.date}"
