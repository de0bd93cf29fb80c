from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from marketdata import history
from marketdata.providers.base import MarketDataError

REQUIRED = ("symbol", "date", "close")


class _Rollback(Exception):
    pass


def read_rows(path: Path) -> tuple[dict[str, dict], list[str]]:
    """symbol -> {"currency", "rows": [(date, close)], "lines": [...]} and the file's errors.
    Pure file reading; nothing is stored."""
    errors: list[str] = []
    by_symbol: dict[str, dict] = defaultdict(lambda: {"currency": "", "rows": [], "lines": []})
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = [(c or "").strip().lower() for c in (reader.fieldnames or [])]
        missing = [c for c in REQUIRED if c not in columns]
        if missing:
            return {}, [
                f"Missing column(s): {', '.join(missing)} (need symbol,date,close[,currency])."
            ]
        reader.fieldnames = columns
        for line, record in enumerate(reader, start=2):
            symbol = (record.get("symbol") or "").strip().upper()
            if not symbol:
                errors.append(f"Line {line}: no symbol.")
                continue
            entry = by_symbol[symbol]
            currency = (record.get("currency") or "").strip().upper()
            if currency and entry["currency"] and currency != entry["currency"]:
                errors.append(
                    f"Line {line}: {symbol} is in {entry['currency']} on an earlier line, "
                    f"not {currency}."
                )
                continue
            entry["currency"] = entry["currency"] or currency
            entry["rows"].append(((record.get("date") or "").strip(), record.get("close") or ""))
            entry["lines"].append(line)
    return dict(by_symbol), errors


def _line_errors(exc: ValidationError, symbol: str, lines: list[int]) -> list[str]:
    # store_prices numbers rows within one symbol; report the file's line numbers instead.
    messages = []
    for field, items in exc.message_dict.items():
        for message in items:
            head, sep, rest = message.partition(":")
            words = head.split()
            if sep and len(words) >= 2 and words[0] == "Row" and words[1].isdigit():
                row = int(words[1])
                messages.append(f"Line {lines[row - 1]} ({symbol}):{rest}")
            else:
                messages.append(f"{symbol}: {message}" if field != "__all__" else message)
    return messages


class Command(BaseCommand):
    help = (
        "Import daily closes from a CSV file with the columns symbol,date,close[,currency] "
        "(dates YYYY-MM-DD, a dot for decimals). All or nothing: any bad row stops the import."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        by_symbol, errors = read_rows(file)
        stored = 0
        try:
            with transaction.atomic():
                for symbol, entry in by_symbol.items():
                    try:
                        stored += history.store_prices(
                            symbol, entry["currency"] or None, entry["rows"]
                        )
                    except ValidationError as exc:
                        errors.extend(_line_errors(exc, symbol, entry["lines"]))
                    except MarketDataError as exc:
                        errors.append(f"{symbol}: {exc}")
                if errors:
                    raise _Rollback
        except _Rollback:
            raise CommandError(
                "Nothing imported; fix these rows and run it again:\n" + "\n".join(errors)
            ) from None
        self.stdout.write(f"Imported {stored} closes for {len(by_symbol)} instruments.")
