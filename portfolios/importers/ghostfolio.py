from __future__ import annotations

import codecs
import hashlib
import json
import re
from collections import Counter
from dataclasses import replace
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from portfolios.importers.base import (
    BUY,
    DIVIDEND,
    SELL,
    FieldError,
    ParsedRow,
    ParseResult,
    RowError,
    SkippedRow,
    parse_currency,
    parse_date,
    parse_decimal,
)

# The module's docstring, set here so that makemessages finds it: the import page shows it
# as this format's documentation, in the page's language (portfolios.views._format_docs).
__doc__ = gettext_noop(
    """Ghostfolio's JSON export (Portfolio → Activities → Export), for moving over from it.

The file is one JSON object; what is read from it:

    {"meta": {"date": ..., "version": ...},
     "assetProfiles": [{"dataSource", "symbol", "name", "isin", "currency", ...}],
     "activities": [{"id", "type", "date", "symbol", "dataSource", "quantity",
                     "unitPrice", "fee", "currency", "comment", ...}], ...}

Each activity becomes one transaction; its "line" in the report is its position in the
activities list (1 for the first), since a JSON file's lines mean nothing.

- BUY, SELL: quantity shares at unitPrice, in the activity's currency; fee is the
  commission in that same currency (converted at the row's exchange rate).
- DIVIDEND: quantity shares at unitPrice per share; fee is the tax withheld.
- FEE: a cash fee of `fee` (Ghostfolio keeps a fee's amount there; quantity × unitPrice
  when fee is 0). INTEREST: cash interest of quantity × unitPrice.
- LIABILITY, ITEM and any other type are skipped with the reason: they are debts and
  valuables Ghostfolio tracks by hand, not transactions of a brokerage account.

The symbol is Ghostfolio's when its data source is Yahoo; for a manual or other data
source the asset profile's name stands in (a manual profile's symbol is a random id), and
the preview lets you choose the right symbol, remembered by ISIN or name for the next
import. Dates are read in UTC, as Ghostfolio writes them. Re-importing skips activities
already imported (by Ghostfolio's activity id).
"""
)

TRADES = {"BUY": BUY, "SELL": SELL, "DIVIDEND": DIVIDEND}
CASH = {"FEE", "INTEREST"}
SKIP_REASONS = {
    "LIABILITY": gettext_lazy(
        "LIABILITY: a debt Ghostfolio tracks by hand, not a transaction of a brokerage account."
    ),
    "ITEM": gettext_lazy("ITEM: a valuable Ghostfolio tracks by hand, not a listed instrument."),
}
_ISIN = re.compile(r"^[A-Z]{2}[A-Z0-9]{9}\d$")
_ZERO = Decimal(0)


def read_document(data: bytes):
    """The JSON document, numbers as Decimal (exactly as written), or None when the
    bytes are not JSON at all."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16", errors="replace")
    else:
        text = data.removeprefix(codecs.BOM_UTF8).decode("utf-8", errors="replace")
    text = text.lstrip("\ufeff \t\r\n")
    if not text.startswith(("{", "[")):
        return None
    try:
        return json.loads(text, parse_float=Decimal)
    except ValueError:
        return None


def parse(data: bytes) -> ParseResult:
    result = ParseResult()
    document = read_document(data)
    if not isinstance(document, dict) or not isinstance(document.get("activities"), list):
        result.errors.append(
            RowError(1, "", _("Not a Ghostfolio export: expected a JSON object with activities."))
        )
        return result
    profiles = _profiles(document.get("assetProfiles"))
    seen: Counter[str] = Counter()
    for line, activity in enumerate(document["activities"], start=1):
        if not isinstance(activity, dict):
            result.errors.append(RowError(line, "", _("The activity is not a JSON object.")))
            continue
        errors: list[RowError] = []
        row = _activity(line, activity, profiles, errors, result)
        result.errors.extend(errors)
        if row is None:
            continue
        key = activity.get("id")
        if not isinstance(key, str) or not key.strip():
            # Older exports have no id: the activity's own fields identify it.
            normalised = json.dumps(activity, sort_keys=True, default=str)
            seen[normalised] += 1
            key = hashlib.sha256(f"{normalised}#{seen[normalised]}".encode()).hexdigest()[:40]
        result.rows.append(replace(row, import_key=f"ghostfolio:{key.strip()}"))
    # Ghostfolio lists activities newest first in its own table, in any order in a file:
    # replay order is by date, the file's order within a day.
    result.rows.sort(key=lambda row: (row.date, row.line))
    return result


def _profiles(profiles) -> dict[tuple[str, str], dict]:
    found = {}
    for profile in profiles if isinstance(profiles, list) else []:
        if isinstance(profile, dict):
            found[(str(profile.get("dataSource") or ""), str(profile.get("symbol") or ""))] = (
                profile
            )
    return found


def _activity(
    line: int, activity: dict, profiles: dict, errors: list[RowError], result: ParseResult
) -> ParsedRow | None:
    kind = str(activity.get("type") or "").strip().upper()
    if not kind:
        errors.append(RowError(line, "type", _("type is empty.")))
        return None
    if kind not in TRADES and kind not in CASH:
        reason = SKIP_REASONS.get(kind) or _(
            "%(type)s is not a Ghostfolio activity type this import knows."
        ) % {"type": kind}
        result.skipped.append(SkippedRow(line, str(reason)))
        return None

    def read(name: str, reader, *, required: bool = True):
        value = activity.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                errors.append(RowError(line, name, _("%(column)s is empty.") % {"column": name}))
            return None
        try:
            return reader(str(value))
        except FieldError as exc:
            errors.append(RowError(line, name, str(exc)))
            return None

    on = read("date", parse_date)
    quantity = read("quantity", parse_decimal)
    price = read("unitPrice", parse_decimal)
    fee = read("fee", parse_decimal, required=False) or _ZERO
    profile = profiles.get(
        (str(activity.get("dataSource") or ""), str(activity.get("symbol") or "")), {}
    )
    currency = read("currency", parse_currency, required=False) or (
        _currency(profile.get("currency"))
    )
    for name, value in (("quantity", quantity), ("unitPrice", price), ("fee", fee)):
        if value is not None and value < 0:
            errors.append(
                RowError(line, name, _("%(column)s must not be negative.") % {"column": name})
            )
    if errors:
        return None
    notes = str(activity.get("comment") or "").strip()
    if kind in CASH:
        amount = fee if kind == "FEE" and fee else quantity * price
        if amount == 0:
            result.skipped.append(
                SkippedRow(line, _("%(type)s of 0: nothing to record.") % {"type": kind})
            )
            return None
        return ParsedRow.cash(
            line=line,
            type=kind,
            date=on,
            currency=currency,
            # A cash amount is booked in the account's currency: Ghostfolio's is the
            # activity's.
            account_currency=currency,
            amount=amount,
            notes=notes,
        )
    if quantity == 0:
        result.skipped.append(
            SkippedRow(
                line,
                _("%(type)s of 0 shares: an entry without shares, nothing to record.")
                % {"type": kind},
            )
        )
        return None
    symbol = str(activity.get("symbol") or "").strip()
    name = str(profile.get("name") or "").strip()
    isin = str(profile.get("isin") or "").strip().upper()
    # A manual profile's symbol is a random id: its name is what a person recognises.
    manual = str(activity.get("dataSource") or "").upper() != "YAHOO"
    ticker = name if manual and name else symbol
    if not ticker:
        errors.append(RowError(line, "symbol", _("symbol is empty.")))
        return None
    return ParsedRow(
        line=line,
        type=TRADES[kind],
        date=on,
        ticker=ticker,
        symbol="".join(ticker.upper().split()),
        quantity=quantity,
        price=price,
        fees=fee,
        import_key="",
        isin=isin if _ISIN.match(isin) else None,
        currency=currency,
        notes=notes,
        name=name or symbol,
        fees_in_instrument_currency=True,
    )


def _currency(value) -> str | None:
    try:
        return parse_currency(str(value)) if value else None
    except FieldError:
        return None
