"""What every broker parser returns, and the text handling they share.

Parsers are pure: bytes in, ParseResult out, no ORM and no market data. Resolving symbols,
filling exchange rates and writing to the ledger happen in portfolios.imports.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.utils.translation import gettext as _

from financedash.lib import money
from portfolios.cash import CASH_TYPES, DEPOSIT, FEE, INTEREST, WITHDRAWAL
from portfolios.ledger import BUY, DIVIDEND, SELL, SPLIT

TYPES = (BUY, SELL, DIVIDEND, SPLIT)
__all__ = ["CASH_TYPES", "DEPOSIT", "FEE", "INTEREST", "WITHDRAWAL"]


@dataclass(frozen=True)
class ParsedRow:
    """One transaction as the file states it.

    `ticker` is what the broker wrote; `symbol` is the Yahoo symbol to resolve it by (the
    same for generic files). `price` is in `currency`, the instrument's currency when the
    file says so. `fees` (withholding tax for dividends) are in `account_currency`, the
    currency the broker booked the row in, and `exchange_rate` converts `currency` into it;
    None means the file leaves it to the portfolio's currency. `exchange_rate` is None when
    the file does not give one.
    """

    line: int
    type: str
    date: date
    ticker: str
    symbol: str
    quantity: Decimal
    price: Decimal
    fees: Decimal
    import_key: str
    isin: str | None = None
    currency: str | None = None
    exchange_rate: Decimal | None = None
    account_currency: str | None = None
    notes: str = ""
    # Cash rows only (DEPOSIT, WITHDRAWAL, INTEREST, FEE): the amount (> 0) in
    # account_currency; ticker and symbol are "", quantity and price 0.
    amount: Decimal | None = None
    # The instrument's name as the file gives it (shown in the preview; the key a symbol
    # choice is remembered by when there is no ISIN).
    name: str = ""
    # Fees in `currency` (the instrument's), not the account's: converted at the row's rate.
    fees_in_instrument_currency: bool = False
    # The symbol is the user's choice (the preview or symbol_overrides), not the file's.
    chosen: bool = False
    # A cash row the file implies rather than holds: the balance before its oldest row.
    opening: bool = False

    @classmethod
    def cash(cls, *, line: int, type: str, date: date, amount: Decimal, **fields) -> ParsedRow:
        """A cash row (no instrument): ticker and symbol empty, quantity, price and fees 0."""
        zero = Decimal(0)
        fields.setdefault("import_key", "")
        return cls(
            line=line,
            type=type,
            date=date,
            ticker="",
            symbol="",
            quantity=zero,
            price=zero,
            fees=zero,
            amount=amount,
            **fields,
        )

    @property
    def is_cash(self) -> bool:
        return self.type in CASH_TYPES


@dataclass(frozen=True)
class RowError:
    line: int
    field: str  # the column at fault, named as the file's header does; "" for the whole row
    message: str


@dataclass(frozen=True)
class SkippedRow:
    line: int
    reason: str


@dataclass
class ParseResult:
    rows: list[ParsedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped: list[SkippedRow] = field(default_factory=list)
    # The account's cash balance after the file's newest row, when the file says (Nordnet's
    # Saldo): the import checks its own balance against it.
    closing_balance: Decimal | None = None


class FieldError(ValueError):
    """A value that cannot be read; the parser turns it into a RowError for its column."""


# -- text -------------------------------------------------------------------------------

_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def decode(data: bytes) -> str:
    """Bytes to text: UTF-16 (with or without BOM), UTF-8 (BOM tolerated), else Windows-1252.

    Windows-1252 is the last resort because older Nordic exports and spreadsheets saved
    "as CSV" on Windows use it, and every byte sequence decodes under it.
    """
    if data.startswith(_UTF16_BOMS):
        return data.decode("utf-16", errors="replace")
    data = data.removeprefix(codecs.BOM_UTF8)
    head = data[:200]
    if head.count(0) > len(head) // 4:
        # UTF-16 without a BOM: ASCII characters leave a zero byte on one side.
        encoding = "utf-16-le" if head[1:2] == b"\x00" else "utf-16-be"
        return data.decode(encoding, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def sniff_delimiter(header_line: str, candidates: str) -> str:
    """The candidate that occurs most often in the header line (headers carry no numbers)."""
    return max(candidates, key=header_line.count)


def read_rows(text: str, delimiters: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header and an iterator of (line number, fields) for the non-blank rows after it."""
    first_line = text.split("\n", 1)[0]
    delimiter = sniff_delimiter(first_line, delimiters)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, [])

    def rows() -> Iterator[tuple[int, list[str]]]:
        line = reader.line_num
        for fields in reader:
            # line_num counts physical lines read so far; a quoted field can span several.
            start, line = line + 1, reader.line_num
            if any(value.strip() for value in fields):
                yield start, fields

    return [name.strip().lstrip("\ufeff").strip() for name in header], rows()


def header_key(name: str) -> str:
    return " ".join(name.casefold().split())


# -- values -----------------------------------------------------------------------------


def parse_decimal(text: str) -> Decimal:
    """A number as a file writes it (financedash.lib.money.parse_decimal). Broker exports and
    spreadsheets saved as CSV write one mark per number, so a lone comma or dot is the
    decimal mark: "1,234" is 1.234."""
    try:
        return money.parse_decimal(text, single_mark_is_decimal=True)
    except money.NumberFormatError as exc:
        raise FieldError(str(exc)) from exc


def parse_date(text: str) -> date:
    """ISO 8601 (2024-01-31, also with a time, which is dropped) or day-first 31.01.2024."""
    value = text.strip()
    try:
        if re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{4}", value):
            return datetime.strptime(value, "%d.%m.%Y").date()
        if len(value) > 10:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
        return date.fromisoformat(value)
    except ValueError as exc:
        raise FieldError(_("%(value)r is not a date: use YYYY-MM-DD.") % {"value": value}) from exc


_CURRENCY = re.compile(r"^[A-Z]{3}$")


def parse_currency(text: str) -> str:
    value = text.strip().upper()
    if not _CURRENCY.match(value):
        raise FieldError(
            _("%(value)r is not a three-letter currency code.") % {"value": text.strip()}
        )
    return value
