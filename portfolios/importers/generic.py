from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import replace
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from portfolios.importers.base import (
    TYPES,
    FieldError,
    ParsedRow,
    ParseResult,
    RowError,
    decode,
    header_key,
    parse_currency,
    parse_date,
    parse_decimal,
    read_rows,
)
from portfolios.ledger import SPLIT

# The module's docstring, set here so that makemessages finds it: the import page shows it
# as this format's documentation, in the page's language (portfolios.views._format_docs).
__doc__ = gettext_noop(
    """Generic CSV: one transaction per row, from any broker or spreadsheet.

The first row names the columns, in any order and any letter case:

    date,type,symbol,quantity,price,fees,currency,exchange_rate,notes
    2024-01-02,BUY,EQNR.OL,10,352.10,49,NOK,,first lot
    2024-03-15,BUY,AAPL,5,172.50,15,USD,10.4820,
    2024-05-16,DIVIDEND,AAPL,5,0.24,1.93,USD,10.7000,withholding tax as fees
    2024-06-03,SELL,EQNR.OL,4,301.00,49,NOK,,

- date: the trade date, ISO 8601 (2024-01-31).
- type: BUY, SELL, DIVIDEND, SPLIT, or a cash transaction: DEPOSIT, WITHDRAWAL, INTEREST,
  FEE.
- symbol: the Yahoo Finance symbol, e.g. EQNR.OL, VOLV-B.ST, AAPL.
- quantity: shares, more than zero. For a dividend, the shares it was paid on; for a split,
  the new shares per old share (2 for a 2-for-1 split, 0.1 for a 1-for-10 reverse split).
- price: per share, in the instrument's currency. For a dividend, the amount per share;
  for a split, 0 or empty.
- fees (optional, default 0): commission in the portfolio's currency; for a dividend, the
  tax withheld.
- currency (optional): the instrument's currency, for checking and for symbols the market
  data cannot place.
- exchange_rate (optional): portfolio-currency units per unit of the instrument's
  currency. Left empty, the stored rate of that date is used (1 when the currencies match).
- amount (optional): for the cash transactions only, the amount (more than zero, in the
  portfolio's currency; the type gives the direction). Their symbol, quantity, price, fees,
  currency and exchange_rate stay empty.
- notes (optional): free text.

The file is UTF-8 (a byte-order mark is fine), separated by commas or semicolons (detected
from the header). Numbers take a decimal point or a decimal comma (1234.5, 1234,5,
1 234,50); with comma-separated columns, quote numbers that contain a comma. Other columns
are refused, so that a misspelt optional column does not pass unnoticed. Rows of the same
day are applied in the order of the file.

Re-importing a file skips the rows already imported: each row is recognised by its date,
type, symbol, quantity, price, fees, currency and exchange rate (not its notes), counting
identical rows in the file separately.
"""
)

REQUIRED = ("date", "type", "symbol", "quantity", "price")
OPTIONAL = ("fees", "currency", "exchange_rate", "amount", "notes")
CASH_TYPES = ("DEPOSIT", "WITHDRAWAL", "INTEREST", "FEE")
GENERIC_TYPES = (*TYPES, *CASH_TYPES)
COLUMNS = REQUIRED + OPTIONAL


def parse(data: bytes) -> ParseResult:
    result = ParseResult()
    header, rows = read_rows(decode(data), ",;")
    names = [header_key(name) for name in header]
    problems = []
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        problems.append(_("missing %(columns)s") % {"columns": ", ".join(missing)})
    unknown = [name for name, key in zip(header, names, strict=True) if key not in COLUMNS]
    if unknown:
        problems.append(_("unknown %(columns)s") % {"columns": ", ".join(unknown)})
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        problems.append(_("repeated %(columns)s") % {"columns": ", ".join(repeated)})
    if problems:
        result.errors.append(
            RowError(
                1,
                "",
                _("Columns %(problems)s. Expected %(required)s and optionally %(optional)s.")
                % {
                    "problems": "; ".join(problems),
                    "required": ", ".join(REQUIRED),
                    "optional": ", ".join(OPTIONAL),
                },
            )
        )
        return result

    seen: Counter[str] = Counter()
    for line, fields in rows:
        values = dict(zip(names, (value.strip() for value in fields), strict=False))
        errors: list[RowError] = []
        if len(fields) > len(names) and any(value.strip() for value in fields[len(names) :]):
            errors.append(
                RowError(
                    line,
                    "",
                    _("The row has %(row)s columns, the header %(header)s.")
                    % {"row": len(fields), "header": len(names)},
                )
            )
        row = _row(line, values, errors)
        result.errors.extend(errors)
        if row is None:
            continue
        normalised = _normalised(row)
        seen[normalised] += 1
        key = hashlib.sha256(f"{normalised}#{seen[normalised]}".encode()).hexdigest()
        result.rows.append(replace(row, import_key=f"generic:{key}"))
    return result


def _row(line: int, values: dict[str, str], errors: list[RowError]) -> ParsedRow | None:
    def read(column: str, reader, *, required: bool = False, default=None):
        value = values.get(column, "")
        if not value:
            if required:
                errors.append(
                    RowError(line, column, _("%(column)s is empty.") % {"column": column})
                )
            return default
        try:
            return reader(value)
        except FieldError as exc:
            errors.append(RowError(line, column, str(exc)))
            return default

    def check(column: str, value, ok: bool, message: str) -> None:
        if value is not None and not ok:
            errors.append(RowError(line, column, message))

    on = read("date", parse_date, required=True)
    kind = read("type", _type, required=True)
    if kind in CASH_TYPES:
        return _cash_row(line, values, on, kind, read, errors)
    symbol = read("symbol", lambda text: "".join(text.upper().split()), required=True)
    quantity = read("quantity", parse_decimal, required=True)
    price = read("price", parse_decimal, required=kind != SPLIT, default=Decimal(0))
    fees = read("fees", parse_decimal, default=Decimal(0))
    currency = read("currency", parse_currency)
    rate = read("exchange_rate", parse_decimal)
    check("quantity", quantity, quantity is not None and quantity > 0, _("quantity must be > 0."))
    check("price", price, price is not None and price >= 0, _("price must not be negative."))
    check("fees", fees, fees is not None and fees >= 0, _("fees must not be negative."))
    check("exchange_rate", rate, rate is not None and rate > 0, _("exchange_rate must be > 0."))
    if errors:
        return None
    return ParsedRow(
        line=line,
        type=kind,
        date=on,
        ticker=symbol,
        symbol=symbol,
        quantity=quantity,
        price=price,
        fees=fees,
        currency=currency,
        exchange_rate=rate,
        notes=_notes(values),
        import_key="",
    )


# What a spreadsheet runs as a formula when a cell starts with it.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def typed_text(cell: str) -> str:
    """The text as typed, from a cell portfolios.export.as_text marked with an apostrophe."""
    if cell.startswith("'") and cell.lstrip("'").startswith(FORMULA_STARTS):
        return cell[1:]
    return cell


def _notes(values: dict[str, str]) -> str:
    return typed_text(values.get("notes", ""))


def _cash_row(line, values, on, kind, read, errors) -> ParsedRow | None:
    """A deposit, withdrawal, interest or fee: a date and an amount, nothing of a trade."""
    amount = read("amount", parse_decimal, required=True)
    if amount is not None and amount <= 0:
        errors.append(RowError(line, "amount", _("amount must be > 0.")))
    for column in ("symbol", "quantity", "price", "fees", "currency", "exchange_rate"):
        if values.get(column, ""):
            errors.append(
                RowError(
                    line,
                    column,
                    _("A %(type)s has an amount only: leave %(column)s empty.")
                    % {"type": kind.lower(), "column": column},
                )
            )
    if errors:
        return None
    return ParsedRow.cash(line=line, type=kind, date=on, amount=amount, notes=_notes(values))


def _type(text: str) -> str:
    kind = text.strip().upper()
    if kind not in GENERIC_TYPES:
        raise FieldError(
            _("%(value)r is not a transaction type: use %(types)s.")
            % {"value": text, "types": ", ".join(GENERIC_TYPES)}
        )
    return kind


def _normalised(row: ParsedRow) -> str:
    def number(value: Decimal | None) -> str:
        return "" if value is None else f"{value.normalize():f}"

    key = "|".join(
        (
            row.date.isoformat(),
            row.type,
            row.symbol,
            number(row.quantity),
            number(row.price),
            number(row.fees),
            row.currency or "",
            number(row.exchange_rate),
        )
    )
    # Appended only for cash rows, so the keys of rows imported before stay the same.
    return key if row.amount is None else f"{key}|{number(row.amount)}"
