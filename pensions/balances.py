"""Each pension account with its latest value: what the pensions page and the household
overview (financedash.overview) both list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import OuterRef, Subquery

from pensions.models import PensionAccount, PensionValueEntry


@dataclass
class PensionBalance:
    account: PensionAccount
    value: Decimal | None  # the latest entry, in the account's currency
    as_of: date | None
    value_base: Decimal | None = None  # None: no entry yet, or no rate into the base currency


def pension_balances(user) -> list[PensionBalance]:
    """Every pension account of the user with its latest value, in one query."""
    latest = PensionValueEntry.objects.filter(account=OuterRef("pk")).order_by("-date")
    accounts = PensionAccount.objects.owned_by(user).annotate(
        latest_date=Subquery(latest.values("date")[:1]),
        latest_value=Subquery(latest.values("value")[:1]),
    )
    return [PensionBalance(a, a.latest_value, a.latest_date) for a in accounts]
