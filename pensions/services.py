"""Writes of pension values: the form, the admin and any script come here, so the rules
(a date from 1900 to today, a value of at least 0, one value per account and day) live once.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from financedash.lib.dates import check_entry_date
from financedash.lib.money import ZERO, format_amount
from pensions.models import PensionAccount, PensionValueEntry


def check_value(
    account: PensionAccount, day: date, value: Decimal, *, existing: PensionValueEntry | None = None
) -> None:
    """Refuse a bad date, a negative value, or a second value on a day that has one: a value
    typed for a date already recorded is more often a slip than a correction, and a silent
    replacement would lose the first."""
    check_entry_date(day)
    if value < ZERO:
        raise ValidationError({"value": "A pension value cannot be negative."})
    if account.pk is None:  # an account being created along with its values
        return
    clash = PensionValueEntry.objects.filter(account=account, date=day)
    if existing is not None and existing.pk:
        clash = clash.exclude(pk=existing.pk)
    found = clash.first()
    if found is not None:
        raise _duplicate(account, found)


def _duplicate(account: PensionAccount, entry: PensionValueEntry) -> ValidationError:
    """An error on the date, coded "duplicate" (the API answers it with 409)."""
    message = (
        f"{account.name} already has a value on {entry.date.isoformat()} "
        f"({format_amount(entry.value)} {account.currency}): delete or edit that one instead."
    )
    return ValidationError({"date": ValidationError(message, code="duplicate")})


def record_value(account: PensionAccount, *, date: date, value: Decimal) -> PensionValueEntry:
    check_value(account, date, value)
    try:
        with transaction.atomic():
            return PensionValueEntry.objects.create(account=account, date=date, value=value)
    except IntegrityError:
        # Another request recorded that day between the check and the insert.
        found = PensionValueEntry.objects.get(account=account, date=date)
        raise _duplicate(account, found) from None


def update_value(entry: PensionValueEntry, *, date: date, value: Decimal) -> PensionValueEntry:
    check_value(entry.account, date, value, existing=entry)
    entry.date, entry.value = date, value
    try:
        with transaction.atomic():
            entry.save()
    except IntegrityError:
        found = PensionValueEntry.objects.get(account=entry.account, date=date)
        raise _duplicate(entry.account, found) from None
    return entry
