from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, ProhibitNullCharactersValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

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
from portfolios import cash
from portfolios.export import ExportRow
from portfolios.ledger import split_label


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

    class Kind(models.TextChoices):
        ORDINARY = "ordinary", _("Ordinary account")
        ASK = "ask", _("Aksjesparekonto (ASK)")

    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.ORDINARY)
    track_cash = models.BooleanField(
        default=False,
        help_text="On: the portfolio keeps a cash balance from its deposits, withdrawals, "
        "trades, dividends, interest and fees, and its value includes the cash.",
    )
    # Derived like a holding's figures: the replay of the cash transactions (section 5).
    cash_balance = models.DecimalField(**MONEY, default=ZERO, editable=False)
    dividends_reduce_cost_basis = models.BooleanField(
        default=True,
        help_text="On: dividends lower the cost basis (the original design). "
        "Off: dividends are income only.",
    )
    # The index (or any instrument) the performance chart compares with (issue 15): what
    # the same deposits and withdrawals would have become in it (portfolios.benchmark).
    benchmark = models.ForeignKey(
        Instrument,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Index or instrument the performance chart compares with, e.g. ^OSEBX.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PortfolioQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="unique_portfolio_name_per_user"),
            models.CheckConstraint(condition=Q(used_credit__gte=0), name="used_credit_gte_0"),
            models.CheckConstraint(
                condition=Q(kind__in=["ordinary", "ask"]), name="portfolio_kind_valid"
            ),
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


class ImportBatch(models.Model):
    """One import of one file: its transactions point here, so it can be listed and undone
    whole (ARCHITECTURE sections 4 and 7)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="import_batches"
    )
    portfolio = models.ForeignKey(
        Portfolio, on_delete=models.CASCADE, related_name="import_batches"
    )
    file_name = models.CharField(max_length=255)
    format = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)
    # {"created": n, "skipped": n, "errors": n, ...} as the import reported them.
    counts = models.JSONField(default=dict)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} into {self.portfolio}"


class ImportJob(models.Model):
    """A large import (a preview or a commit) run in the background (portfolios.jobs): a
    Celery task with Redis, else a thread of the web process. Its state is in the database,
    so whichever process answers the poll sees it. The file waits in `data` until the job
    has run; what the import reported stays in `result`."""

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="import_jobs"
    )
    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="import_jobs")
    file_name = models.CharField(max_length=255, blank=True)
    format = models.CharField(max_length=16)
    dry_run = models.BooleanField(default=False)
    symbol_overrides = models.JSONField(default=dict, blank=True)
    data = models.BinaryField(null=True, blank=True, editable=False)
    # The language of the request that started it: the worker writes the row messages in it
    # (a page in Norwegian, the API in English).
    language = models.CharField(max_length=8, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    # parse -> check -> save: what the job is doing, rows_done of rows_total in that step.
    phase = models.CharField(max_length=8, blank=True)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    # {"counts": {...}, "errors": [{line, field, message}, ...], "format": ..., ...}
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    batch = models.ForeignKey(
        ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "updated_at"], name="import_job_status_idx")]

    def __str__(self) -> str:
        return f"{self.file_name} into {self.portfolio} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.rows_total:
            return 0
        # Three steps over the rows: parse, check, save; each a third of the bar.
        step = {"parse": 0, "check": 1, "save": 2}.get(self.phase, 0)
        return min(99, (step * 100 + 100 * self.rows_done // self.rows_total) // 3)


class SymbolChoice(models.Model):
    """The symbol a user chose for an instrument of an import file (the preview's symbol
    field, or the API's symbol_overrides), remembered for their next import by the
    instrument's ISIN, else its name as the file writes it (upper case, single spaces)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="symbol_choices"
    )
    key = models.CharField(max_length=255)
    symbol = models.CharField(max_length=32)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="unique_symbol_choice_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.key} → {self.symbol}"


class TransactionQuerySet(models.QuerySet):
    def owned_by(self, user) -> TransactionQuerySet:
        return self.filter(portfolio__user=user)

    def for_listing(self) -> TransactionQuerySet:
        return self.select_related("holding__instrument").order_by("-date", "-id")

    def export_rows(self) -> list:
        """The transactions as portfolios.export writes them, in one query of plain values."""
        rows = self.order_by("date", "id").values_list(
            "id",
            "date",
            "type",
            "holding__instrument__ticker",
            "holding__instrument__currency",
            "quantity",
            "price",
            "fees",
            "exchange_rate",
            "total_amount",
            "notes",
        )
        return [
            ExportRow(pk, day, kind, ticker or "", currency or "", *rest)
            for pk, day, kind, ticker, currency, *rest in rows
        ]

    def cash_balances(self) -> dict[int, Decimal]:
        """The cash balance after each of these transactions, by id, per portfolio: give it
        all of a portfolio's transactions, not a filtered page of them."""
        by_portfolio: dict[int, list] = {}
        rows = self.order_by().values_list("portfolio_id", "id", "date", "type", "total_amount")
        for portfolio_id, *row in rows:
            by_portfolio.setdefault(portfolio_id, []).append(row)
        balances: dict[int, Decimal] = {}
        for rows_of_one in by_portfolio.values():
            movements = [
                cash.Movement(kind, day, amount, pk) for pk, day, kind, amount in rows_of_one
            ]
            balances.update((m.id, after) for m, after in cash.running_balances(movements))
        return balances


# Cash types have no instrument: their `total_amount` is the amount entered, in the
# portfolio currency; quantity and price are 0, the rate 1.
CASH_TYPES = ("DEPOSIT", "WITHDRAWAL", "INTEREST", "FEE")
_TYPES = ("BUY", "SELL", "DIVIDEND", "SPLIT", *CASH_TYPES)


class Transaction(models.Model):
    class Type(models.TextChoices):
        BUY = "BUY", _("Buy")
        SELL = "SELL", _("Sell")
        DIVIDEND = "DIVIDEND", _("Dividend")
        SPLIT = "SPLIT", _("Split")
        DEPOSIT = "DEPOSIT", _("Deposit")
        WITHDRAWAL = "WITHDRAWAL", _("Withdrawal")
        INTEREST = "INTEREST", _("Interest")
        FEE = "FEE", _("Fee")

    CASH_TYPES = CASH_TYPES

    # Null for the cash types only (a constraint says so).
    holding = models.ForeignKey(
        Holding, on_delete=models.CASCADE, related_name="transactions", null=True, blank=True
    )
    # Denormalised from holding.portfolio so import_key can be unique per portfolio in the
    # database and a portfolio's transaction list needs no join. Set only by services.
    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="transactions")
    type = models.CharField(max_length=10, choices=Type.choices)
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
    # Imports reach the services without a form: PostgreSQL refuses NUL in text.
    notes = models.TextField(blank=True, validators=[ProhibitNullCharactersValidator()])
    # NULL, not "", so that the per-portfolio unique constraint skips manual entries.
    import_key = models.CharField(max_length=128, null=True, blank=True, editable=False)  # noqa: DJ001
    import_batch = models.ForeignKey(
        ImportBatch,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="transactions",
        editable=False,
    )
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
            models.CheckConstraint(
                condition=Q(quantity__gt=0) | Q(type__in=CASH_TYPES), name="txn_quantity_gt_0"
            ),
            models.CheckConstraint(
                condition=Q(holding__isnull=True, type__in=CASH_TYPES)
                | (Q(holding__isnull=False) & ~Q(type__in=CASH_TYPES)),
                name="txn_holding_iff_instrument_type",
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="txn_price_gte_0"),
            models.CheckConstraint(condition=Q(fees__gte=0), name="txn_fees_gte_0"),
            models.CheckConstraint(condition=Q(exchange_rate__gt=0), name="txn_rate_gt_0"),
            models.CheckConstraint(condition=Q(type__in=_TYPES), name="txn_type_valid"),
            models.UniqueConstraint(
                fields=["portfolio", "import_key"],
                condition=Q(import_key__isnull=False),
                name="unique_import_key_per_portfolio",
            ),
        ]

    def __str__(self) -> str:
        if self.holding_id is None:
            return f"{self.get_type_display()} {self.total_amount} {self.date}"
        return f"{self.get_type_display()} {self.quantity} {self.holding.instrument} {self.date}"

    @property
    def type_label(self) -> str:
        """The type as lists show it: "Split 2:1" / "Split 1:10" for a split."""
        if self.type == self.Type.SPLIT and self.quantity:
            return f"Split {split_label(self.quantity)}"
        return self.get_type_display()


class TaxRate(models.Model):
    """One income year's published Norwegian figures (ARCHITECTURE 5d): the shielding rate
    after tax (skjermingsrente) and the factor share income is multiplied by
    (oppjusteringsfaktor). Either may be empty: a year without a citable figure is shown as
    missing, never guessed. Shared by the installation; only staff change it."""

    year = models.PositiveSmallIntegerField(unique=True)
    # 0.032 for 3.2 %.
    shielding_rate = models.DecimalField(
        max_digits=7, decimal_places=5, null=True, blank=True, validators=non_negative()
    )
    tax_multiplier = models.DecimalField(
        max_digits=5, decimal_places=3, null=True, blank=True, validators=non_negative()
    )
    source = models.TextField(blank=True, help_text="Where each figure was published.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["year"]
        constraints = [
            models.CheckConstraint(
                condition=Q(shielding_rate__gte=0) | Q(shielding_rate__isnull=True),
                name="taxrate_shielding_gte_0",
            ),
            models.CheckConstraint(
                condition=Q(tax_multiplier__gt=0) | Q(tax_multiplier__isnull=True),
                name="taxrate_multiplier_gt_0",
            ),
        ]

    def __str__(self) -> str:
        return str(self.year)
