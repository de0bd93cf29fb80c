from __future__ import annotations

import contextlib
import dataclasses
import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from portfolios.importers.base import (
    BUY,
    DEPOSIT,
    DIVIDEND,
    FEE,
    INTEREST,
    SELL,
    SPLIT,
    WITHDRAWAL,
    FieldError,
    ParsedRow,
    ParseResult,
    RowError,
    SkippedRow,
    decode,
    header_key,
    parse_currency,
    parse_date,
    parse_decimal,
    read_rows,
)

# The module's docstring, set here so that makemessages finds it: the import page shows it
# as this format's documentation, in the page's language (portfolios.views._format_docs).
__doc__ = gettext_noop(
    """Nordnet's transaction export ("Transaksjoner og notaer" / "Transaktioner och notor").

The export is UTF-16 with a BOM, tab-separated, with a decimal comma and digits grouped by
(non-breaking) spaces; older or re-saved copies come as UTF-8 or Windows-1252 with
semicolons, and both are read. Headers are Norwegian or Swedish and are matched by name,
so extra or reordered columns do no harm. Several columns are all called "Valuta": each
one is the currency of the column just before it (fees, amount, commission, ...).

What becomes a transaction:

- KJØPT / KÖPT: BUY, SALG / SÅLT: SELL, UTBYTTE / UTDELNING: DIVIDEND (Antall shares at
  Kurs per share). Dates are the trade date (Handelsdag / Affärsdag).
- Withholding tax on a dividend (KUPONGSKATT, UTBYTTESKATT, UTL KUPSKATT) is its own row
  at Nordnet. The ledger keeps it as the dividend's fees, so each tax row is added to the
  fees of the dividend it belongs to: the one with the same verification number, else the
  same security on the same date. The tax row itself is then reported as skipped, naming
  that dividend's line. A tax row with no such dividend in the file is skipped with a
  reason rather than guessed at.
- Fees are "Totale Avgifter" / "Total Avgift" (in the account currency); when a file has
  only the commission ("Kurtasje" / "Courtage") in the trade currency it is converted at
  the row's exchange rate.
- A split is two rows at Nordnet: SPLITT UTTAK VP (Swedish SPLIT UTTAG VP) takes the old
  shares out, SPLITT INNLEGG VP (SPLIT INLÄGG VP) puts the new ones in, on the same day.
  The pair becomes one SPLIT with factor new / old (2 for 2-for-1, 0.1 for 1-for-10), on
  the holding of the shares taken out. Legs are paired by verification number, else by
  security, else as the only pair of that day; a leg without its partner is skipped with a
  reason; a cancelled pair (MAK SPLITT ...) is skipped like any cancellation. Source of
  the type names: public Nordnet-export parsers on GitHub, found through code search (one
  maps the Norwegian names to the Swedish ones: SPLITT INNLEGG VP -> SPLIT INLÄGG VP,
  SPLITT UTTAK VP -> SPLIT UTTAG VP, with MAK variants; others read UTTAK as the old
  position out and INNLEGG as the new one in). Nordnet publishes no description of the
  export, so an unexpected shape is skipped with a reason rather than guessed at.
- Rows carrying a cancellation date (Makuleringsdato) and cancellation rows (MAK ...) are
  skipped: neither the cancelled trade nor its reversal changes the holding.
- Cash (for a portfolio that tracks cash): INNSKUDD / INSÄTTNING become DEPOSIT, UTTAK
  (UTTAK INTERNET, ...) / UTTAG WITHDRAWAL, interest (RENTE, RENTEINNSKUDD, KREDITRENTE,
  RÄNTA, ...) INTEREST when credited and FEE when charged (debit interest), account fees
  (PLATTFORMAVGIFT, DEPOTAVGIFT, ... any *AVGIFT row without a security) FEE; each with
  its Beløp as the amount. The cash side of a trade is its Beløp: Nordnet books the
  commission converted at the unrounded rate and rounds only the total, so the fees are
  taken as Beløp minus quantity × price × rate (in whole cents) whenever that is within
  5 øre of the fees column; then every row moves the portfolio's cash exactly as it moved
  the account's, and the imported balance equals the file's Saldo. Every other type is
  skipped with a reason.

The dedupe key is Nordnet's Id, as "nordnet:<Id>". Tickers become Yahoo symbols by the
currency they trade in: NOK → EQNR.OL, SEK → VOLV-B.ST, DKK → NOVO-B.CO, EUR → NOKIA.HE,
USD stays as it is (BRK B → BRK-B); the ISIN is kept so that an instrument Yahoo does not
know (a fund, say) can still be matched by it.
"""
)

# Canonical column -> the header names Nordnet uses for it (Norwegian, Swedish).
COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id",),
    "booking_date": ("bokføringsdag", "bokföringsdag"),
    "trade_date": ("handelsdag", "affärsdag"),
    "settlement_date": ("oppgjørsdag", "likviddag"),
    "account": ("portefølje", "depå"),
    "type": ("transaksjonstype", "transaktionstyp"),
    "security": ("verdipapir", "värdepapper"),
    "isin": ("isin",),
    "quantity": ("antall", "antal"),
    "price": ("kurs",),
    "fees": ("totale avgifter", "total avgift", "avgifter"),
    "amount": ("beløp", "belopp"),
    "purchase_value": ("kjøpsverdi", "inköpsvärde"),
    "result": ("resultat",),
    "exchange_rate": ("vekslingskurs", "växlingskurs", "växelkurs"),
    "text": ("transaksjonstekst", "transaktionstext"),
    "cancelled": ("makuleringsdato", "makuleringsdatum"),
    "verification": ("verifikationsnummer", "verifikasjonsnummer"),
    "commission": ("kurtasje", "courtage"),
    "reference_rate": ("valutakurs", "referensvalutakurs"),
    "balance": ("saldo",),
}
_BY_HEADER = {alias: canonical for canonical, aliases in COLUMNS.items() for alias in aliases}
_CURRENCY_HEADERS = ("valuta",)
REQUIRED = ("id", "type", "security", "quantity", "price")

BUY_TYPES = frozenset({"KJØPT", "KÖPT"})
SELL_TYPES = frozenset({"SALG", "SÅLT"})
DIVIDEND_TYPES = frozenset({"UTBYTTE", "UTDELNING"})
TAX_TYPES = frozenset({"KUPONGSKATT", "UTBYTTESKATT", "UTL KUPSKATT"})
DEPOSIT_TYPES = frozenset({"INNSKUDD", "INSÄTTNING", "PREMIEINNBETALING", "PREMIEINBETALNING"})
WITHDRAWAL_PREFIXES = ("UTTAK", "UTTAG")
SPLIT_OUT_TYPES = frozenset({"SPLITT UTTAK VP", "SPLIT UTTAG VP"})
SPLIT_IN_TYPES = frozenset({"SPLITT INNLEGG VP", "SPLIT INLÄGG VP"})
# A factor the ledger stores exactly (QUANTITY has 6 decimals).
_FACTOR_QUANTUM = Decimal("0.000001")
SECURITY_TRANSFER = re.compile(r"\bVP\b")
INTEREST_WORDS = ("RENTE", "RÄNTA")
FEE_WORD = re.compile(r"AVGIFT$|AVGIFT\b")
# How far the fees derived from Beløp may be from the fees column and still be the same
# fees rounded differently (Nordnet rounds the converted commission and the total apart).
FEE_ROUNDING = Decimal("0.05")

YAHOO_SUFFIX = {"NOK": ".OL", "SEK": ".ST", "DKK": ".CO", "EUR": ".HE"}
_ISIN = re.compile(r"^[A-Z]{2}[A-Z0-9]{9}\d$")
# "UTBYTTE 0,2400 USD/AKSJE", "UTDELNING 2,50 SEK/AKTIE": the per-share currency.
_PER_SHARE_CURRENCY = re.compile(r"\b([A-Z]{3})\s*/\s*(?:AKSJE|AKTIE|ANDEL|SHARE)\b")
_CENT = Decimal("0.01")
_ONE = Decimal(1)


def yahoo_symbol(ticker: str, currency: str | None) -> str:
    """Nordnet's ticker as Yahoo spells it, from the currency it trades in."""
    symbol = "-".join(ticker.upper().split())
    suffix = YAHOO_SUFFIX.get(currency or "")
    if suffix:
        return symbol + suffix
    if currency == "USD":
        return symbol.replace(".", "-")  # BRK.B -> BRK-B, as Yahoo writes class shares
    return symbol


def parse(data: bytes) -> ParseResult:
    result = ParseResult()
    header, rows = read_rows(decode(data), "\t;,")
    columns = _columns(header)
    missing = [name for name in REQUIRED if name not in columns]
    if "trade_date" not in columns and "booking_date" not in columns:
        missing.append("trade_date")
    if missing:
        wanted = ", ".join("/".join(COLUMNS[name][:2]) for name in missing)
        result.errors.append(
            RowError(
                1,
                "",
                _("Not a Nordnet export: the header lacks %(columns)s.") % {"columns": wanted},
            )
        )
        return result

    dividends: list[_Dividend] = []
    taxes: list[_Tax] = []
    splits: list[_SplitLeg] = []
    oldest = newest = None
    for line, fields in rows:
        row = _Row(line, fields, header, columns)
        try:
            row.check_width()
            _dispatch(row, result, dividends, taxes, splits)
        except _RowFailed:
            pass
        result.errors.extend(row.errors)
        if row.text("id").isdigit():
            if oldest is None or int(row.text("id")) < oldest[0]:
                oldest = (int(row.text("id")), row)
            if newest is None or int(row.text("id")) > newest[0]:
                newest = (int(row.text("id")), row)
    if newest is not None and newest[1].text("balance"):
        with contextlib.suppress(ValueError, ArithmeticError):
            result.closing_balance = parse_decimal(newest[1].text("balance"))
    if oldest is not None and not result.errors:
        opening = _opening_balance(oldest[1])
        if opening is not None:
            result.rows.append(opening)
    _attach_taxes(taxes, dividends, result)
    result.rows.extend(d.row for d in dividends if d.row is not None)
    result.rows.extend(_pair_splits(splits, result))
    result.rows.sort(key=_replay_order)
    result.errors.sort(key=lambda e: e.line)
    result.skipped.sort(key=lambda s: s.line)
    return result


def _columns(header: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    previous = None
    for index, name in enumerate(header):
        key = header_key(name)
        if key in _CURRENCY_HEADERS:
            canonical = f"{previous}_currency" if previous else "currency"
        else:
            canonical = _BY_HEADER.get(key)
            previous = canonical
        if canonical and canonical not in columns:
            columns[canonical] = index
    return columns


# The detector (importers.detect) reads a header exactly as the parser does.
header_columns = _columns


class _RowFailed(Exception):
    pass


class _Row:
    def __init__(self, line: int, fields: list[str], header: list[str], columns: dict):
        self.line = line
        self.fields = fields
        self.header = header
        self.columns = columns
        self.errors: list[RowError] = []

    def check_width(self) -> None:
        # More filled columns than headers means the columns no longer line up.
        if any(value.strip() for value in self.fields[len(self.header) :]):
            self.fail(
                "", f"The row has {len(self.fields)} columns but the header has {len(self.header)}."
            )

    def name(self, column: str) -> str:
        index = self.columns.get(column)
        return self.header[index] if index is not None else column

    def text(self, column: str) -> str:
        index = self.columns.get(column)
        if index is None or index >= len(self.fields):
            return ""
        return self.fields[index].strip()

    def error(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.line, self.name(column) if column else "", message))

    def fail(self, column: str, message: str):
        self.error(column, message)
        raise _RowFailed

    def read(self, column: str, reader, *, required: bool = False):
        value = self.text(column)
        if not value:
            if required:
                self.error(column, _("%(column)s is empty.") % {"column": self.name(column)})
            return None
        try:
            return reader(value)
        except FieldError as exc:
            self.error(column, str(exc))
            return None

    def checked(self) -> None:
        if self.errors:
            raise _RowFailed


@dataclasses.dataclass
class _Dividend:
    row: ParsedRow | None
    verification: str
    security: str


@dataclasses.dataclass
class _Tax:
    line: int
    nordnet_id: str
    on: date
    security: str
    verification: str
    amount: Decimal
    currency: str | None


def _dispatch(row: _Row, result: ParseResult, dividends: list, taxes: list, splits: list) -> None:
    kind = " ".join(row.text("type").upper().split())
    if not kind:
        row.fail("type", _("The transaction type is empty."))
    cancelled = row.text("cancelled")
    if cancelled:
        result.skipped.append(
            SkippedRow(
                row.line,
                _("%(type)s cancelled by Nordnet on %(date)s.") % {"type": kind, "date": cancelled},
            )
        )
    elif kind.startswith("MAK "):
        result.skipped.append(
            SkippedRow(
                row.line, _("%(type)s: the reversal of a cancelled booking.") % {"type": kind}
            )
        )
    elif kind in BUY_TYPES:
        result.rows.append(_trade(row, BUY))
    elif kind in SELL_TYPES:
        result.rows.append(_trade(row, SELL))
    elif kind in DIVIDEND_TYPES:
        parsed = _trade(row, DIVIDEND)
        dividends.append(_Dividend(parsed, row.text("verification"), _security_key(row)))
    elif kind in TAX_TYPES:
        taxes.append(_tax(row))
    elif kind in SPLIT_OUT_TYPES or kind in SPLIT_IN_TYPES:
        splits.append(_split_leg(row, out=kind in SPLIT_OUT_TYPES))
    elif (cash_type := _cash_type(row, kind)) is not None:
        parsed = _cash(row, kind, cash_type)
        if parsed is None:
            result.skipped.append(
                SkippedRow(row.line, _("%(type)s: no amount to book.") % {"type": kind})
            )
        else:
            result.rows.append(parsed)
    else:
        result.skipped.append(SkippedRow(row.line, _skip_reason(row, kind)))


def _cash_type(row: _Row, kind: str) -> str | None:
    """The cash type of a row that only moves cash, or None. The sign of Beløp decides
    between interest earned and interest charged."""
    if row.text("security"):
        return None
    if kind in DEPOSIT_TYPES:
        return DEPOSIT
    if kind.startswith(WITHDRAWAL_PREFIXES) and not SECURITY_TRANSFER.search(kind):
        return WITHDRAWAL
    if any(word in kind for word in INTEREST_WORDS) or FEE_WORD.search(kind):
        amount = row.read("amount", parse_decimal)
        if amount is None or amount == 0:
            return None
        if FEE_WORD.search(kind) and amount > 0:
            return None  # a refunded fee: not guessed at (skipped with the reason below)
        return INTEREST if amount > 0 else FEE
    return None


def _cash(row: _Row, kind: str, cash_type: str) -> ParsedRow | None:
    on = _date(row)
    amount = row.read("amount", parse_decimal, required=True)
    nordnet_id = row.text("id")
    if not nordnet_id:
        row.error(
            "id",
            _("%(column)s is empty: without it a re-import cannot be recognised.")
            % {"column": row.name("id")},
        )
    account_currency = _account_currency(row)
    row.checked()
    if amount == 0:
        return None
    text = row.text("text")
    note = kind if not text or text.upper() == kind else f"{kind}: {text}"
    if cash_type == FEE and any(word in kind for word in INTEREST_WORDS):
        note = f"Debit interest ({note})"
    return ParsedRow.cash(
        line=row.line,
        type=cash_type,
        date=on,
        import_key=f"nordnet:{nordnet_id}",
        account_currency=account_currency,
        notes=note,
        amount=abs(amount),
    )


def _opening_balance(row: _Row) -> ParsedRow | None:
    """The cash the account held before the file's oldest row, as a DEPOSIT (or a
    WITHDRAWAL when it was credit in use), so that an export of part of an account's
    history still ends at its Saldo: the oldest row's Saldo less its own Beløp. None for
    an export from the account's start (an opening balance of 0) or without Saldo."""
    try:
        balance = parse_decimal(row.text("balance")) if row.text("balance") else None
        amount = parse_decimal(row.text("amount")) if row.text("amount") else Decimal(0)
        on = _date(row)
    except (ValueError, ArithmeticError, _RowFailed):
        return None
    if balance is None or on is None or balance == amount:
        return None
    opening = balance - amount
    return ParsedRow.cash(
        line=1,  # the header's: it belongs to no row of the file
        type=DEPOSIT if opening > 0 else WITHDRAWAL,
        date=on,
        import_key=f"nordnet:opening:{row.text('id')}",
        account_currency=_account_currency(row),
        notes="Opening balance: the cash before the file's oldest row (its Saldo less its Beløp)",
        amount=abs(opening),
        opening=True,
    )


def _skip_reason(row: _Row, kind: str) -> str:
    if kind in DEPOSIT_TYPES:
        return _("%(type)s: a cash deposit, not a holding transaction.") % {"type": kind}
    if kind.startswith(WITHDRAWAL_PREFIXES) and not SECURITY_TRANSFER.search(kind):
        return _("%(type)s: a cash withdrawal, not a holding transaction.") % {"type": kind}
    if not row.text("security"):
        return _(
            "%(type)s: a cash booking (interest, fee, transfer), not a holding transaction."
        ) % {"type": kind}
    if "SKATT" in kind:
        return _(
            "%(type)s: a tax correction or refund, not withholding on a dividend in this file; "
            "adjust that dividend's fees by hand."
        ) % {"type": kind}
    return _(
        "%(type)s is not a buy, sale or dividend; if it changes the holding of "
        "%(security)s, record that by hand."
    ) % {"type": kind, "security": row.text("security")}


def _security_key(row: _Row) -> str:
    return (row.text("isin") or row.text("security")).upper()


def _date(row: _Row) -> date | None:
    column = "trade_date" if row.text("trade_date") else "booking_date"
    return row.read(column, parse_date, required=True)


def _trade(row: _Row, type: str) -> ParsedRow:
    on = _date(row)
    ticker = " ".join(row.text("security").split())
    if not ticker:
        row.error("security", _("%(column)s is empty.") % {"column": row.name("security")})
    nordnet_id = row.text("id")
    if not nordnet_id:
        row.error(
            "id",
            _("%(column)s is empty: without it a re-import cannot be recognised.")
            % {"column": row.name("id")},
        )
    quantity = row.read("quantity", parse_decimal, required=True)
    price = row.read("price", parse_decimal, required=True)
    account_currency = _account_currency(row)
    rate = row.read("exchange_rate", parse_decimal) or row.read("reference_rate", parse_decimal)
    row.checked()
    # Sales are sometimes exported with a negative quantity; the type carries the sign.
    quantity, price = abs(quantity), abs(price)
    if quantity == 0:
        row.fail("quantity", _("%(column)s is zero.") % {"column": row.name("quantity")})
    if rate is not None and rate <= 0:
        rate = None
    currency = _instrument_currency(row, account_currency, rate)
    fees = _fees(row, currency, account_currency, rate)
    row.checked()
    fees = _fees_from_amount(row, type, quantity * price, currency, account_currency, rate, fees)
    isin = row.text("isin").upper()
    return ParsedRow(
        line=row.line,
        type=type,
        date=on,
        ticker=ticker,
        symbol=yahoo_symbol(ticker, currency),
        isin=isin if _ISIN.match(isin) else None,
        quantity=quantity,
        price=price,
        fees=fees,
        currency=currency,
        exchange_rate=rate,
        account_currency=account_currency,
        import_key=f"nordnet:{nordnet_id}",
        notes=row.text("text"),
    )


def _account_currency(row: _Row) -> str | None:
    for column in ("amount_currency", "fees_currency", "currency"):
        currency = row.read(column, parse_currency)
        if currency:
            return currency
    return None


def _instrument_currency(row: _Row, account_currency: str | None, rate) -> str | None:
    """The trade's currency: Nordnet has no column for it, so read it off the others.

    The commission is charged in the trade currency; a dividend's text names the currency
    per share. A hint naming the account's own currency while the rate is not 1 contradicts
    itself and is ignored. Failing the hints, a rate of 1 (or none) means the account's own
    currency, and any other rate leaves it to the market data to tell.
    """
    match = _PER_SHARE_CURRENCY.search(row.text("text").upper())
    hints = (row.read("commission_currency", parse_currency), match and match.group(1))
    converted = rate is not None and rate != _ONE
    for currency in hints:
        if currency and not (converted and currency == account_currency):
            return currency
    return None if converted else account_currency


def _fees(row: _Row, currency, account_currency, rate) -> Decimal:
    for column in ("fees", "commission"):
        amount = row.read(column, parse_decimal)
        if amount is None:
            continue
        amount = abs(amount)
        charged_in = row.read(f"{column}_currency", parse_currency)
        if charged_in in (None, account_currency) or amount == 0:
            return amount
        if charged_in == currency and rate is not None:
            return (amount * rate).quantize(_CENT)
        row.fail(
            column,
            _("%(column)s is in %(currency)s and no exchange rate converts it.")
            % {"column": row.name(column), "currency": charged_in},
        )
    return Decimal(0)


def _fees_from_amount(row: _Row, type, value, currency, account_currency, rate, fees):
    """The fees that make the trade's cash side equal its Beløp (see the module notes), or
    the fees column's when Beløp is missing or says something else than a rounding."""
    amount = row.read("amount", parse_decimal)
    if amount is None or (currency != account_currency and rate is None):
        return fees
    gross = value * (rate if currency != account_currency else _ONE)
    derived = abs(amount) - gross if type == BUY else gross - abs(amount)
    derived = derived.quantize(_CENT, ROUND_HALF_UP)
    if derived < 0 or abs(derived - fees) > FEE_ROUNDING:
        return fees
    return max(derived, Decimal(0)) if derived != fees else fees


def _tax(row: _Row) -> _Tax:
    on = _date(row)
    amount = row.read("amount", parse_decimal, required=True)
    currency = _account_currency(row)
    row.checked()
    return _Tax(
        line=row.line,
        nordnet_id=row.text("id"),
        on=on,
        security=_security_key(row),
        verification=row.text("verification"),
        amount=amount,
        currency=currency,
    )


def _attach_taxes(taxes: list[_Tax], dividends: list[_Dividend], result: ParseResult) -> None:
    for tax in taxes:
        match = _matching_dividend(tax, dividends)
        if match is None:
            result.skipped.append(
                SkippedRow(
                    tax.line,
                    _(
                        "Withholding tax with no dividend of the same security and date in this "
                        "file: add it by hand as fees on that dividend."
                    ),
                )
            )
            continue
        dividend = match.row
        if tax.currency not in (None, dividend.account_currency):
            result.errors.append(
                RowError(
                    tax.line,
                    "",
                    _(
                        "Withholding tax is in %(currency)s but the dividend on line %(line)s is "
                        "booked in %(account_currency)s."
                    )
                    % {
                        "currency": tax.currency,
                        "line": dividend.line,
                        "account_currency": dividend.account_currency,
                    },
                )
            )
            continue
        # Tax withheld is booked as a negative amount; fees are the positive cost.
        withheld = -tax.amount
        note = f"Withholding tax {withheld:f} {tax.currency or dividend.account_currency or ''}"
        note = note.rstrip() + (f" (Nordnet {tax.nordnet_id})" if tax.nordnet_id else "")
        notes = f"{dividend.notes}; {note}" if dividend.notes else note
        match.row = dataclasses.replace(dividend, fees=dividend.fees + withheld, notes=notes)
        result.skipped.append(
            SkippedRow(
                tax.line,
                _("Withholding tax: added to the fees of the dividend on line %(line)s.")
                % {"line": dividend.line},
            )
        )
    for dividend in dividends:
        if dividend.row is not None and dividend.row.fees < 0:
            result.errors.append(
                RowError(
                    dividend.row.line, "", _("Refunded withholding tax exceeds the tax withheld.")
                )
            )
            dividend.row = None


def _matching_dividend(tax: _Tax, dividends: list[_Dividend]) -> _Dividend | None:
    candidates = [d for d in dividends if d.row is not None and d.security == tax.security]
    if tax.verification:
        by_verification = [d for d in candidates if d.verification == tax.verification]
        if by_verification:
            return by_verification[0]
    return next((d for d in candidates if d.row.date == tax.on), None)


@dataclasses.dataclass
class _SplitLeg:
    line: int
    out: bool  # the old shares taken out (else the new ones put in)
    nordnet_id: str
    on: date
    ticker: str
    isin: str | None
    quantity: Decimal
    verification: str
    account_currency: str | None
    paired: bool = False


def _split_leg(row: _Row, *, out: bool) -> _SplitLeg:
    on = _date(row)
    quantity = row.read("quantity", parse_decimal, required=True)
    ticker = " ".join(row.text("security").split())
    if not ticker:
        row.error("security", _("%(column)s is empty.") % {"column": row.name("security")})
    row.checked()
    if quantity == 0:
        row.fail("quantity", _("%(column)s is zero.") % {"column": row.name("quantity")})
    isin = row.text("isin").upper()
    return _SplitLeg(
        line=row.line,
        out=out,
        nordnet_id=row.text("id"),
        on=on,
        ticker=ticker,
        isin=isin if _ISIN.match(isin) else None,
        quantity=abs(quantity),  # the leg taking shares out may carry a minus sign
        verification=row.text("verification"),
        account_currency=_account_currency(row),
    )


def _pair_splits(legs: list[_SplitLeg], result: ParseResult) -> list[ParsedRow]:
    """One SPLIT per pair of legs (module docstring), factor = new / old."""
    outs = [leg for leg in legs if leg.out]
    ins = [leg for leg in legs if not leg.out]
    made = []
    for old in outs:
        same_day = [leg for leg in ins if not leg.paired and leg.on == old.on]
        match = (
            next(
                (n for n in same_day if old.verification and n.verification == old.verification),
                None,
            )
            or next((n for n in same_day if old.isin and n.isin == old.isin), None)
            or next((n for n in same_day if n.ticker == old.ticker), None)
            or (
                same_day[0]
                if len(same_day) == 1 and len([o for o in outs if o.on == old.on]) == 1
                else None
            )
        )
        if match is None:
            continue
        old.paired = match.paired = True
        factor = match.quantity / old.quantity
        if factor.quantize(_FACTOR_QUANTUM) != factor:
            result.errors.append(
                RowError(
                    old.line,
                    "",
                    _(
                        "The split of %(ticker)s (%(new)s new for %(old)s old, line %(line)s) "
                        "has a factor with more decimals than the ledger stores; record it by "
                        "hand."
                    )
                    % {
                        "ticker": old.ticker,
                        "new": f"{match.quantity.normalize():f}",
                        "old": f"{old.quantity.normalize():f}",
                        "line": match.line,
                    },
                )
            )
            continue
        made.append(
            ParsedRow(
                line=old.line,
                type=SPLIT,
                date=old.on,
                ticker=old.ticker,
                symbol=old.ticker,  # set from the trades of the same security (_same_symbol)
                isin=old.isin,
                quantity=factor,
                price=Decimal(0),
                fees=Decimal(0),
                account_currency=old.account_currency,
                import_key=f"nordnet:{old.nordnet_id}+{match.nordnet_id}",
                notes=f"Split {match.quantity.normalize():f} for {old.quantity.normalize():f} "
                f"(Nordnet {old.nordnet_id} and {match.nordnet_id})",
            )
        )
        result.skipped.append(
            SkippedRow(
                match.line, _("The new shares of the split on line %(line)s.") % {"line": old.line}
            )
        )
    for leg in legs:
        if not leg.paired:
            result.skipped.append(
                SkippedRow(
                    leg.line,
                    _(
                        "A split leg of %(ticker)s without its other half in this file: record "
                        "that by hand as a SPLIT (quantity = new shares per old share)."
                    )
                    % {"ticker": leg.ticker},
                )
            )
    return [_same_symbol(row, result.rows) for row in made]


def _same_symbol(split: ParsedRow, trades: list[ParsedRow]) -> ParsedRow:
    """A split row names no currency (it has no price): it takes the symbol and currency
    of a trade of the same security in the file, so it lands on that holding; failing one,
    the account's currency stands in, as for a trade with no other hint."""
    for trade in trades:
        if (split.isin and trade.isin == split.isin) or trade.ticker == split.ticker:
            return dataclasses.replace(split, symbol=trade.symbol, currency=trade.currency)
    currency = split.account_currency
    return dataclasses.replace(
        split, symbol=yahoo_symbol(split.ticker, currency), currency=currency
    )


def _replay_order(row: ParsedRow):
    # Nordnet lists newest first; within a day its Ids follow the order of booking.
    # A split's key joins the Ids of its two legs: the first one orders it.
    nordnet_id = row.import_key.removeprefix("nordnet:").split("+")[0]
    return (row.date, int(nordnet_id) if nordnet_id.isdigit() else -1, row.line)
