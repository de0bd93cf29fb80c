"""Transactions as generic CSV (portfolios.importers.generic): pure, no ORM.

The file re-imports into an empty portfolio to the same holdings: every value the ledger
replays is written at its stored precision (the exchange rate too, so the import does not
look up a rate of its own), and the rows are in the ledger's order, (date, id), since the
importer applies rows of the same day in the order of the file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from portfolios.importers import generic

CASH_TYPES = ("DEPOSIT", "WITHDRAWAL", "INTEREST", "FEE")

# The generic importer's own columns, in the order its documentation shows them.
# (A test checks that these are exactly the columns the importer reads.)
COLUMNS = (*generic.REQUIRED, "fees", "currency", "exchange_rate", "amount", "notes")


@dataclass(frozen=True)
class ExportRow:
    id: int
    date: date
    type: str
    symbol: str  # "" for cash transactions
    currency: str  # the instrument's; "" for cash transactions
    quantity: Decimal
    price: Decimal
    fees: Decimal
    exchange_rate: Decimal
    total_amount: Decimal
    notes: str


def number(value: Decimal) -> str:
    """Every digit the value has, none it has not, never an exponent: 10, 0.5, 352.1."""
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "") else text


def as_text(cell: str) -> str:
    """A cell a spreadsheet would run as a formula (CSV injection, OWASP), such as a note
    "=HYPERLINK(...)", gets the spreadsheets' own "this is text" mark, an apostrophe; the
    generic importer takes one off again (generic.typed_text), so a re-import keeps the note."""
    return f"'{cell}" if cell.lstrip("'").startswith(generic.FORMULA_STARTS) else cell


def csv_rows(row: ExportRow) -> list[str]:
    if row.type in CASH_TYPES:
        values = {
            "date": row.date.isoformat(),
            "type": row.type,
            "amount": number(row.total_amount),
        }
    else:
        values = {
            "date": row.date.isoformat(),
            "type": row.type,
            "symbol": row.symbol,
            "quantity": number(row.quantity),
            "price": number(row.price),
            "fees": number(row.fees),
            "currency": row.currency,
            "exchange_rate": number(row.exchange_rate),
        }
    values["notes"] = as_text(row.notes)
    return [values.get(column, "") for column in COLUMNS]


def to_csv(rows: Iterable[ExportRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in sorted(rows, key=lambda r: (r.date, r.id)):
        writer.writerow(csv_rows(row))
    return out.getvalue()
