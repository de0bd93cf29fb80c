"""Splits the provider reports and a holding's ledger lacks (issue 11): suggested on the
holding page, recorded in one click through the one write path (services)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext

from marketdata.models import InstrumentSplit
from portfolios import ledger, services
from portfolios.models import Holding, Transaction


@dataclass(frozen=True)
class Suggestion:
    date: date
    ratio: Decimal

    @property
    def label(self) -> str:
        return ledger.split_label(self.ratio)


def _entries(holding: Holding) -> list[ledger.Entry]:
    rows = holding.transactions.order_by().values_list("id", "type", "date", "quantity")
    return [
        ledger.Entry(id=pk, type=kind, date=day, quantity=quantity, price=ledger.ZERO)
        for pk, kind, day, quantity in rows
    ]


def suggestions(holding: Holding) -> list[Suggestion]:
    """The stored provider splits of the holding's instrument that its transactions miss
    (ledger.missing_splits). Two small queries; none when the instrument has no splits."""
    reported = list(
        InstrumentSplit.objects.filter(instrument_id=holding.instrument_id).values_list(
            "date", "ratio"
        )
    )
    if not reported:
        return []
    return [Suggestion(d, r) for d, r in ledger.missing_splits(_entries(holding), reported)]


def record_suggested(holding: Holding, day: date, ratio: Decimal) -> Transaction:
    """Record a suggested split: only one the provider reported for this instrument (the
    one click posts its date and ratio), through services.record_transaction."""
    if not InstrumentSplit.objects.filter(
        instrument_id=holding.instrument_id, date=day, ratio=ratio
    ).exists():
        raise ValidationError(
            {
                "date": gettext("No split of %(ticker)s on %(day)s is known.")
                % {"ticker": holding.instrument.ticker, "day": day.isoformat()}
            },
            code="unknown_split",
        )
    return services.record_transaction(
        portfolio=holding.portfolio,
        instrument=holding.instrument,
        type=Transaction.Type.SPLIT,
        date=day,
        quantity=ratio,
        price=ledger.ZERO,
        notes="From the market data's split history.",
    )
