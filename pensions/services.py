"""Writes of pension accounts and values: the pages, the API, the admin, the YNAB sync and
the commands come here, so the rules (a date from 1900 to today, a value of at least 0, one
value per account and day, a name unique per user) live once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from financedash.lib import privacy
from financedash.lib.dates import check_entry_date
from financedash.lib.l10n import format_day, format_number
from financedash.lib.money import ENTERED_MONEY, ZERO, fits
from financedash.lib.profiles import profile_for
from pensions import ynab
from pensions.models import PensionAccount, PensionValueEntry
from pensions.paste import LineError, Row

CENT = Decimal("0.01")


def check_value(
    account: PensionAccount,
    day: date,
    value: Decimal,
    *,
    existing: PensionValueEntry | None = None,
    contribution: Decimal | None = None,
) -> None:
    """Refuse a bad date, a negative value or contribution, or a second value on a day that
    has one: a value typed for a date already recorded is more often a slip than a
    correction, and a silent replacement would lose the first."""
    _check_fields(day, value, contribution)
    if account.pk is None:  # an account being created along with its values
        return
    clash = PensionValueEntry.objects.filter(account=account, date=day)
    if existing is not None and existing.pk:
        clash = clash.exclude(pk=existing.pk)
    found = clash.first()
    if found is not None:
        raise _duplicate(account, found)


def _check_fields(day: date, value: Decimal, contribution: Decimal | None) -> None:
    check_entry_date(day)
    if value < ZERO:
        raise ValidationError(
            {"value": gettext("A pension value cannot be negative.")}, code="min_value"
        )
    if contribution is not None and contribution < ZERO:
        raise ValidationError(
            {"contribution": gettext("A contribution cannot be negative.")}, code="min_value"
        )


def _duplicate(account: PensionAccount, entry: PensionValueEntry) -> ValidationError:
    return ValidationError({"date": ValidationError(_taken(account, entry), code="duplicate")})


def _taken(account: PensionAccount, entry: PensionValueEntry) -> str:
    return gettext(
        "%(name)s already has a value on %(day)s (%(value)s %(currency)s): delete or edit "
        "that one instead."
    ) % {
        "name": account.name,
        "day": format_day(entry.date, "short"),
        "value": privacy.masked(format_number(entry.value, grouped=True)),
        "currency": account.currency,
    }


def record_value(
    account: PensionAccount, *, date: date, value: Decimal, contribution: Decimal | None = None
) -> PensionValueEntry:
    check_value(account, date, value, contribution=contribution)
    try:
        with transaction.atomic():
            return PensionValueEntry.objects.create(
                account=account, date=date, value=value, contribution=contribution
            )
    except IntegrityError:
        # Another request recorded that day between the check and the insert.
        found = PensionValueEntry.objects.get(account=account, date=date)
        raise _duplicate(account, found) from None


_KEEP = object()


def update_value(
    entry: PensionValueEntry, *, date: date, value: Decimal, contribution=_KEEP
) -> PensionValueEntry:
    """Change a value; its contribution stays as it was unless one is given (None clears it)."""
    if contribution is _KEEP:
        contribution = entry.contribution
    check_value(entry.account, date, value, existing=entry, contribution=contribution)
    entry.date, entry.value, entry.contribution = date, value, contribution
    try:
        with transaction.atomic():
            entry.save()
    except IntegrityError:
        found = PensionValueEntry.objects.get(account=entry.account, date=date)
        raise _duplicate(entry.account, found) from None
    return entry


def delete_value(entry: PensionValueEntry) -> None:
    entry.delete()


def store_value(account: PensionAccount, *, date: date, value: Decimal) -> PensionValueEntry:
    """The value of a day, replacing the one already there: for a sync, which restates a
    balance, not for a person typing one (record_value refuses a second value)."""
    with transaction.atomic():
        found = PensionValueEntry.objects.select_for_update().filter(account=account, date=date)
        entry = found.first()
        if entry is None:
            return record_value(account, date=date, value=value)
        return update_value(entry, date=date, value=value)


def check_values(account: PensionAccount, rows: list[Row]) -> list[LineError]:
    """Each row's refusal, by the rules of check_value, plus a date twice in the rows."""
    stored = set(account.values.values_list("date", flat=True)) if account.pk else set()
    seen: dict[date, int] = {}
    errors = []
    for row in rows:
        reason = None
        if row.date in seen:
            reason = gettext("%(day)s is also on line %(line)s.") % {
                "day": format_day(row.date, "short"),
                "line": seen[row.date],
            }
        elif row.date in stored:
            reason = gettext("%(name)s already has a value on %(day)s.") % {
                "name": account.name,
                "day": format_day(row.date, "short"),
            }
        else:
            try:  # the stored dates are known already: no query per row
                _check_fields(row.date, row.value, row.contribution)
            except ValidationError as exc:
                reason = " ".join(m for ms in exc.message_dict.values() for m in ms)
        seen.setdefault(row.date, row.line)
        if reason:
            errors.append(LineError(row.line, row.text, reason))
    return errors


class ValuesRefused(Exception):
    def __init__(self, errors: list[LineError]):
        super().__init__(f"{len(errors)} line(s) refused")
        self.errors = errors


def record_values(account: PensionAccount, rows: list[Row]) -> list[PensionValueEntry]:
    """Many values at once (the paste box), all or nothing: any refused row refuses all,
    with every row's reason (ValuesRefused)."""
    errors = check_values(account, rows)
    if errors:
        raise ValuesRefused(errors)
    try:
        with transaction.atomic():
            return PensionValueEntry.objects.bulk_create(
                PensionValueEntry(
                    account=account, date=r.date, value=r.value, contribution=r.contribution
                )
                for r in rows
            )
    except IntegrityError:  # a date taken by another request meanwhile
        raise ValuesRefused(check_values(account, rows)) from None


# -- accounts ------------------------------------------------------------------------------


def save_account(account: PensionAccount) -> PensionAccount:
    """Create or edit an account: a name unique per user, an ISO currency code, a known
    kind, and "no YNAB account" stored as NULL."""
    account.name = (account.name or "").strip()
    account.currency = (account.currency or "").strip().upper()
    account.ynab_account_id = (account.ynab_account_id or "").strip() or None
    account.full_clean(exclude=["user"], validate_unique=False, validate_constraints=False)
    clash = PensionAccount.objects.filter(user_id=account.user_id, name=account.name)
    if account.pk:
        clash = clash.exclude(pk=account.pk)
    if clash.exists():
        raise _name_taken(account.name)
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError:  # a concurrent request took the name
        raise _name_taken(account.name) from None
    return account


def _name_taken(name: str) -> ValidationError:
    message = gettext("You already have a pension account named %(name)r.") % {"name": name}
    # The code on the field's error (a dict's own code is dropped): the API answers 409.
    return ValidationError({"name": ValidationError(message, code="duplicate")})


def delete_account(account: PensionAccount) -> None:
    account.delete()


# -- YNAB ----------------------------------------------------------------------------------


def set_ynab_budget(profile, budget_id: str | None) -> str | None:
    """Link the user's YNAB budget, checked against YNAB first (a mistyped id is refused
    now, not at the first sync); None unlinks. Returns the budget's currency."""
    budget_id = (budget_id or "").strip() or None
    currency = ynab.budget_currency(budget_id) if budget_id else None
    profile.ynab_budget_id = budget_id
    profile.save(update_fields=["ynab_budget_id"])
    return currency


def budget_of(user) -> str:
    budget_id = profile_for(user).ynab_budget_id
    ynab.check_configured()
    if not budget_id:
        raise ynab.YnabNotConfigured("Choose your YNAB budget in Settings first.")
    return budget_id


@dataclass
class SyncResult:
    synced: list[PensionValueEntry] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)


def sync_ynab(user, *, today: date | None = None) -> SyncResult:
    """Store today's YNAB balance of every pension account of the user linked to a YNAB
    account (replacing today's value if there is one). A failure of YNAB itself raises and
    stores nothing; a problem with one account is reported in `errors` and the others are
    stored."""
    today = today or timezone.localdate()
    linked = list(PensionAccount.objects.owned_by(user).exclude(ynab_account_id=None))
    result = SyncResult()
    if not linked:
        return result
    budget_id = budget_of(user)
    by_id = {a.id: a for a in ynab.accounts(budget_id, fresh=True)}
    currency = ynab.currency_of(budget_id)
    for account in linked:
        found = by_id.get(account.ynab_account_id)
        if found is None:
            result.errors.append(
                _sync_error(
                    account,
                    "ynab_not_found",
                    f"YNAB has no account {account.ynab_account_id} in this budget: "
                    "link another account.",
                )
            )
            continue
        if currency and currency != account.currency:
            result.errors.append(
                _sync_error(
                    account,
                    "currency_mismatch",
                    f"The YNAB budget is in {currency} and {account.name} in "
                    f"{account.currency}: nothing stored.",
                )
            )
            continue
        value = found.balance.quantize(CENT, ROUND_HALF_EVEN)
        if not fits(value, ENTERED_MONEY):
            result.errors.append(
                _sync_error(account, "validation_error", f"{value} is too large to store.")
            )
            continue
        try:
            result.synced.append(store_value(account, date=today, value=value))
        except ValidationError as exc:
            message = " ".join(m for ms in exc.message_dict.values() for m in ms)
            result.errors.append(
                _sync_error(account, "validation_error", f"YNAB balance {found.balance}: {message}")
            )
    return result


def _sync_error(account: PensionAccount, code: str, message: str) -> dict:
    return {"account": account.pk, "name": account.name, "code": code, "message": message}


def sync_everyone(today: date | None = None) -> dict[str, SyncResult | str]:
    """The beat task's and the command's sync: every user with a budget and a linked
    account; one user's failure does not stop the others."""
    outcome: dict[str, SyncResult | str] = {}
    users = (
        PensionAccount.objects.exclude(ynab_account_id=None)
        .values_list("user", flat=True)
        .distinct()
    )
    for user in get_user_model().objects.filter(pk__in=users).order_by("pk"):
        try:
            outcome[user.get_username()] = sync_ynab(user, today=today)
        except ynab.YnabError as exc:
            outcome[user.get_username()] = exc.message
    return outcome
