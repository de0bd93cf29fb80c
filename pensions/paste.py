"""Reading the "paste many" box: lines of `date value [contribution]` as a spreadsheet or a
bank export gives them. Only reading: what the rows may be (a stored date, a negative
value) is pensions.services.record_values' to decide."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from financedash.lib.money import ENTERED_MONEY, NumberFormatError, fits, parse_decimal

# Columns are split on tabs or semicolons when the line has them (a spreadsheet, a
# Norwegian CSV export); otherwise the date is the first word and the value the rest, so
# "31.01.2024 1 234 567,89" keeps its grouping spaces.
_COLUMNS = re.compile(r"\s*[\t;]\s*")
_FORMATS = (
    (re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$"), "%Y-%m-%d"),
    (re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4}$"), "%d.%m.%Y"),
)


@dataclass(frozen=True)
class Row:
    line: int  # 1-based, as an editor numbers the box
    text: str
    date: date
    value: Decimal
    contribution: Decimal | None = None


@dataclass(frozen=True)
class LineError:
    line: int
    text: str
    reason: str


def parse_lines(text: str) -> tuple[list[Row], list[LineError]]:
    """Every line read, or why not. Blank lines are skipped, and so is a first line with no
    digit in it (a column header such as "Dato;Verdi")."""
    rows: list[Row] = []
    errors: list[LineError] = []
    first = True
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if first and not any(c.isdigit() for c in line):
            first = False
            continue
        first = False
        try:
            rows.append(_row(number, line))
        except ValueError as exc:
            errors.append(LineError(number, line, str(exc)))
    return rows, errors


def _row(number: int, line: str) -> Row:
    if "\t" in line or ";" in line:
        fields = _COLUMNS.split(line)
        while fields and not fields[-1]:
            fields.pop()
    else:
        fields = line.split(None, 1)
    if len(fields) < 2:
        raise ValueError("Bad line: write a date and a value, e.g. 31.01.2024 1 234,50.")
    if len(fields) > 3:
        raise ValueError("Too many columns: a date, a value and an optional contribution.")
    day = _date(fields[0])
    value = _number(fields[1], "value")
    contribution = _number(fields[2], "contribution") if len(fields) == 3 else None
    return Row(number, line, day, value, contribution)


def _date(text: str) -> date:
    for pattern, fmt in _FORMATS:
        if pattern.match(text):
            try:
                return datetime.strptime(text, fmt).date()
            except ValueError:
                break
    raise ValueError(
        f"Bad date {text!r}: write 31.01.2024 or 2024-01-31 (a real day, four-digit year)."
    )


def _number(text: str, name: str) -> Decimal:
    try:
        number = parse_decimal(text)
    except NumberFormatError as exc:
        raise ValueError(f"Bad {name}: {exc}") from None
    if number.as_tuple().exponent < -ENTERED_MONEY["decimal_places"] or not fits(
        number, ENTERED_MONEY
    ):
        raise ValueError(f"Bad {name}: {text!r} has more than two decimals or is too large.")
    return number
