"""Importing a broker file into a portfolio: all of it or nothing.

1. Parse (portfolios.importers). Any parse error stops here: a file that is partly
   misread is not half imported.
2. Leave out rows whose import_key the portfolio already has, or that repeat an earlier
   row of the file: re-importing a file, or an overlapping export, adds nothing twice.
3. Resolve each symbol to an Instrument, falling back to an instrument already stored
   with the row's ISIN, and settle every row's exchange rate at once by the services' rule
   (services.settle_rates: the file's, rounded; 1 for the portfolio's own currency; else
   the rate of the day, the stored ones read in one query, others fetched). This runs
   before the database transaction because resolving may ask the market-data provider,
   and no write lock should wait on the network; instruments it creates stay, even after
   a dry run, as shared reference data rather than part of the import.
4. Record the rows inside one transaction, with the portfolio row locked so that two
   imports of the same file cannot both pass the duplicate check, through
   services.record_transactions: per holding, the rows are validated and replayed with
   the holding's stored transactions before anything is written, then inserted at once
   and the holding replayed once. A rejected row (an oversell, a value out of range) is
   reported with its line; every holding is tried, so one run names every such problem,
   and then everything is rolled back. A dry run does all of this and rolls back too, so
   its report is exactly what a real run would do.

Each row of the file gets one status: created (or, when nothing is committed, would be),
duplicate, skipped (with the reason), error, or unchecked (not tried because of an error
in the file or on another row of the same holding).

The format `auto` (the default) is told from the file's content (importers.detect), and
the result says which format was used and why. Each instrument's symbol is, in order: the
caller's choice (symbol_overrides, {ISIN or name: symbol}: the preview's symbol fields,
or the API's), the user's remembered choice for that ISIN or name (SymbolChoice), or the
file's. A committed import remembers the choices made for it, and is one ImportBatch: its
transactions point to it, so it can be listed and undone whole (services.undo_import).
The result also carries, per instrument, the quantity held before and after the import,
read from the holdings the import wrote before its transaction is committed or rolled back.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from marketdata import history
from marketdata.models import Instrument
from marketdata.providers.base import (
    MarketDataError,
    UnknownSymbol,
)
from portfolios import services
from portfolios.importers import AUTO, FORMATS, ParsedRow, RowError
from portfolios.importers.detect import detect
from portfolios.models import Holding, ImportBatch, Portfolio, SymbolChoice, Transaction

# The upload limit of every entry point (form and API).
MAX_IMPORT_BYTES = 5 * 1024 * 1024

CREATED = "created"
DUPLICATE = "duplicate"
SKIPPED = "skipped"
ERROR = "error"
UNCHECKED = "unchecked"
STATUSES = (CREATED, DUPLICATE, SKIPPED, ERROR, UNCHECKED)

# The steps a background import reports its progress in: (step, rows done, rows).
PARSE, CHECK, SAVE = "parse", "check", "save"
Progress = Callable[[str, int, int], None]


_CENT = Decimal("0.01")
# Where an instrument's symbol came from (InstrumentPlan.source).
FROM_FILE, REMEMBERED, CHOSEN = "file", "remembered", "chosen"


@dataclass
class RowResult:
    line: int
    status: str
    message: str = ""
    errors: list[RowError] = field(default_factory=list)
    row: ParsedRow | None = None
    transaction_id: int | None = None  # set only when the import was committed
    # As recorded (or as they would be), in the portfolio's currency: the fees after any
    # conversion, and the transaction's total amount (cost, proceeds or net dividend; a
    # cash row's amount, also when it is not recorded).
    fees: Decimal | None = None
    amount: Decimal | None = None

    @property
    def type_label(self) -> str:
        """The row's type as the pages name it (the file's code when it is none of them)."""
        if self.row is None:
            return ""
        try:
            return str(Transaction.Type(self.row.type).label)
        except ValueError:
            return self.row.type


@dataclass
class InstrumentPlan:
    """One instrument of the file, for the preview: the symbol proposed for it (editable
    there, remembered by `key`), what it resolved to, and the quantity held before and
    after the import (None where the import does not get that far)."""

    key: str  # the ISIN, else the name as the file writes it: what a choice is stored by
    name: str
    isin: str | None
    symbol: str
    source: str  # FROM_FILE, REMEMBERED or CHOSEN
    first_line: int
    rows: int = 0
    ticker: str | None = None  # the instrument it resolved to
    problem: str = ""
    before: Decimal | None = None
    after: Decimal | None = None


@dataclass
class ImportResult:
    format: str
    dry_run: bool
    committed: bool = False
    rows: list[RowResult] = field(default_factory=list)  # one per line of the file, in order
    created_ids: list[int] = field(default_factory=list)
    detected: bool = False  # the format was told from the content (format auto)
    detection: str = ""  # what gave the format away, or why none matched
    instruments: list[InstrumentPlan] = field(default_factory=list)
    batch_id: int | None = None  # the ImportBatch of a committed import
    # The portfolio's cash balance before and after, when it tracks cash (else None).
    cash_before: Decimal | None = None
    cash_after: Decimal | None = None
    # This import switches cash tracking on (a broker's account export into an empty
    # portfolio): the preview says so, and undoing the import switches it off again.
    starts_cash: bool = False
    # The file's own closing balance (Nordnet's newest Saldo), when it gives one.
    closing_balance: Decimal | None = None

    @property
    def cash_disagrees(self) -> bool:
        """The cash after the import is not the balance the file ends with: rows are missing
        from the export, or were skipped (the preview says so)."""
        return (
            self.cash_after is not None
            and self.closing_balance is not None
            and self.cash_after != self.closing_balance
        )

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(result.status for result in self.rows)
        return {status: found[status] for status in STATUSES}

    @property
    def errors(self) -> list[RowError]:
        return [error for result in self.rows for error in result.errors]

    @property
    def ok(self) -> bool:
        return not any(result.status == ERROR for result in self.rows)


@dataclass
class _Planned:
    order: int
    row: ParsedRow
    instrument: Instrument | None  # None for a cash row
    settled: services.Settled


class _Report:
    def __init__(self, format: str, dry_run: bool):
        self.result = ImportResult(format=format, dry_run=dry_run)
        self.by_line: dict[int, RowResult] = {}
        self.plans: dict[str, InstrumentPlan] | None = None

    def set(self, line: int, status: str, message: str = "", row=None, txn=None) -> None:
        result = RowResult(line, status, message, row=row)
        if txn is not None:
            result.transaction_id = txn.pk
            result.fees, result.amount = txn.fees, txn.total_amount
        elif row is not None and row.is_cash:
            result.amount = row.amount  # as the file gives it: the row was not recorded
        self.by_line[line] = result

    def counts(self) -> dict[str, int]:
        found = Counter(result.status for result in self.by_line.values())
        return {status: found[status] for status in STATUSES}

    def fail(self, error: RowError, row: ParsedRow | None = None) -> None:
        current = self.by_line.get(error.line)
        if current is None or current.status != ERROR:
            current = RowResult(error.line, ERROR, row=row)
            self.by_line[error.line] = current
        current.errors.append(error)
        current.message = "; ".join(e.message for e in current.errors)

    def has_errors(self) -> bool:
        return any(result.status == ERROR for result in self.by_line.values())

    def finish(self, committed: bool) -> ImportResult:
        result = self.result
        result.committed = committed
        result.rows = [self.by_line[line] for line in sorted(self.by_line)]
        for row in result.rows:
            if not committed:
                row.transaction_id = None
            elif row.transaction_id is not None:
                result.created_ids.append(row.transaction_id)
        return result


def import_transactions(
    *,
    portfolio: Portfolio,
    data: bytes,
    format: str,
    dry_run: bool,
    file_name: str = "",
    symbol_overrides: dict[str, str] | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """`progress`, for a background import (portfolios.jobs), is told each step as it goes:
    (step, rows done, rows), the step one of PARSE, CHECK, SAVE."""
    report_progress = progress or (lambda step, done, total: None)
    report_progress(PARSE, 0, 0)
    detection = ""
    if format == AUTO:
        found = detect(data)
        if found.format is None:
            report = _Report(AUTO, dry_run)
            report.result.detected = True
            report.fail(RowError(1, "format", found.reason))
            return report.finish(committed=False)
        format, detection = found.format, found.reason
    try:
        parse = FORMATS[format]
    except KeyError:
        raise ValueError(f"Unknown format {format!r}: use one of {', '.join(FORMATS)}.") from None
    parsed = parse(data)
    report = _Report(format, dry_run)
    report.result.detected, report.result.detection = bool(detection), detection
    report.result.closing_balance = parsed.closing_balance
    for skipped in parsed.skipped:
        report.set(skipped.line, SKIPPED, skipped.reason)
    for error in parsed.errors:
        report.fail(error)
    rows, chosen = _choose_symbols(portfolio, parsed.rows, symbol_overrides or {})
    report.result.instruments = _instrument_plans(rows, chosen)
    if parsed.errors:
        for row in rows:
            report.set(row.line, UNCHECKED, _("Not checked: the file has errors."), row)
        return report.finish(committed=False)

    report_progress(CHECK, 0, len(rows))
    rows = _opening_rows(portfolio, rows, report)
    new_rows = _leave_out_duplicates(rows, report, _import_keys(portfolio))
    groups = _plan(portfolio, new_rows, report)
    report_progress(SAVE, 0, len(new_rows))
    with transaction.atomic():
        portfolio = Portfolio.objects.select_for_update().get(pk=portfolio.pk)
        groups = _cash_rows(portfolio, groups, report, format)
        # Another import may have committed between the first check and the lock.
        existing = _import_keys(portfolio)
        batch = None
        if not dry_run:
            batch = ImportBatch.objects.create(
                user_id=portfolio.user_id,
                portfolio=portfolio,
                file_name=(file_name or "")[:255],
                format=format,
            )
        instruments = {
            item.instrument.pk: item.instrument
            for group in groups
            for item in group[:1]
            if item.instrument is not None
        }
        before = _quantities(portfolio, instruments)
        cash_before = portfolio.cash_balance
        _record(portfolio, groups, existing, report, batch, report_progress)
        after = _quantities(portfolio, instruments)
        _held(report.result.instruments, groups, before, after)
        if portfolio.track_cash:
            report.result.cash_before = cash_before
            report.result.cash_after = (
                Portfolio.objects.filter(pk=portfolio.pk)
                .values_list("cash_balance", flat=True)
                .get()
            )
        committed = not dry_run and not report.has_errors()
        if not committed:
            transaction.set_rollback(True)
        elif report.counts()[CREATED]:
            # "started_cash": 1 when this import switched cash tracking on (undo switches
            # it off); counts are numbers, as the API's schema says.
            batch.counts = report.counts()
            if report.result.starts_cash:
                batch.counts["started_cash"] = 1
            batch.save(update_fields=["counts"])
            report.result.batch_id = batch.pk
            _remember(portfolio, chosen)
        else:
            # Nothing new (every row a duplicate or skipped): no batch to list or undo.
            batch.delete()
    return report.finish(committed=committed)


def _choose_symbols(
    portfolio: Portfolio, rows: list[ParsedRow], overrides: dict[str, str]
) -> tuple[list[ParsedRow], dict[str, tuple[str, str]]]:
    """Each row with its instrument's symbol as chosen (the caller's override, else the
    user's remembered choice, else the file's), and the choices used: key -> (symbol,
    source), for rows whose symbol is not the file's."""
    given = {choice_key(key): _symbol(value) for key, value in overrides.items()}
    given = {key: value for key, value in given.items() if key and value}
    keys = {choice_key(instrument_key(row)) for row in rows if not row.is_cash}
    remembered = dict(
        SymbolChoice.objects.filter(
            user_id=portfolio.user_id, key__in=keys - set(given)
        ).values_list("key", "symbol")
    )
    chosen: dict[str, tuple[str, str]] = {}
    chosen_rows = []
    for row in rows:
        key = choice_key(instrument_key(row))
        if row.is_cash or not key:
            chosen_rows.append(row)
            continue
        if key in given:
            chosen[key] = (given[key], CHOSEN)
        elif key in remembered:
            chosen[key] = (remembered[key], REMEMBERED)
        else:
            chosen_rows.append(row)
            continue
        chosen_rows.append(replace(row, symbol=chosen[key][0], chosen=True))
    return chosen_rows, chosen


def instrument_key(row: ParsedRow) -> str:
    """What a symbol choice is remembered by: the ISIN, else the name the file gives."""
    return row.isin or row.name or row.ticker


def choice_key(key: str) -> str:
    # An ISIN is upper case; a name is matched whatever its case and spacing.
    return " ".join(str(key).split()).upper()[:255]


def _symbol(value) -> str:
    return "".join(str(value or "").upper().split())


def _instrument_plans(
    rows: list[ParsedRow], chosen: dict[str, tuple[str, str]]
) -> list[InstrumentPlan]:
    plans: dict[str, InstrumentPlan] = {}
    for row in rows:
        if row.is_cash:
            continue
        key = choice_key(instrument_key(row))
        plan = plans.get(key)
        if plan is None:
            symbol, source = chosen.get(key, (row.symbol, FROM_FILE))
            plan = plans[key] = InstrumentPlan(
                key=instrument_key(row),
                name=row.name or row.ticker,
                isin=row.isin,
                symbol=symbol,
                source=source,
                first_line=row.line,
            )
        plan.rows += 1
    return sorted(plans.values(), key=lambda plan: plan.first_line)


def _quantities(portfolio: Portfolio, instruments: dict[int, Instrument]) -> dict[int, Decimal]:
    held = Holding.objects.filter(portfolio=portfolio, instrument_id__in=list(instruments))
    return dict(held.values_list("instrument_id", "quantity"))


def _held(
    plans: list[InstrumentPlan], groups: list[list[_Planned]], before: dict, after: dict
) -> None:
    by_key = {choice_key(plan.key): plan for plan in plans}
    for group in groups:
        instrument = group[0].instrument
        plan = by_key.get(choice_key(instrument_key(group[0].row)))
        if plan is None or instrument is None:
            continue
        plan.ticker = instrument.ticker
        plan.before = before.get(instrument.pk, Decimal(0))
        plan.after = after.get(instrument.pk, Decimal(0))


def _remember(portfolio: Portfolio, chosen: dict[str, tuple[str, str]]) -> None:
    """Keep the symbols chosen for this import for the user's next one."""
    for key, (symbol, source) in chosen.items():
        if source == CHOSEN:
            SymbolChoice.objects.update_or_create(
                user_id=portfolio.user_id, key=key, defaults={"symbol": symbol}
            )


# The formats that are a whole broker account (its deposits and withdrawals included), so
# that importing one into an empty portfolio starts its cash: Nordnet's export. A
# Ghostfolio or generic file's fees and interest without the deposits would only make a
# balance of credit that never was.
ACCOUNT_FORMATS = ("nordnet",)


def _cash_rows(portfolio: Portfolio, groups: list[list[_Planned]], report: _Report, format: str):
    """A file's cash rows (deposits, withdrawals, interest, fees) need a portfolio that
    tracks cash. An account export (ACCOUNT_FORMATS) into a portfolio with no transactions
    yet starts tracking it (inside this database transaction: a dry run or a failed import
    leaves it as it was; the preview says so). Otherwise a portfolio without cash tracking
    keeps its rule: its cash rows are skipped with the reason, the trades imported as
    before; switching cash on would give it a balance that lacks every deposit made before
    this file."""
    if not any(item.row.is_cash for group in groups for item in group):
        return groups
    if portfolio.track_cash:
        return groups
    if format in ACCOUNT_FORMATS and not Transaction.objects.filter(portfolio=portfolio).exists():
        portfolio.track_cash = True
        services.save_portfolio(portfolio)
        report.result.starts_cash = True
        return groups
    kept = []
    for group in groups:
        rows = [item for item in group if not item.row.is_cash]
        for item in group:
            if item.row.is_cash:
                report.set(
                    item.row.line,
                    SKIPPED,
                    _(
                        "%(type)s: %(portfolio)s does not track cash. Turn on “Track cash” in its "
                        "settings (and import the whole history) to book it."
                    )
                    % {"type": Transaction.Type(item.row.type).label, "portfolio": portfolio.name},
                    item.row,
                )
        if rows:
            kept.append(rows)
    return kept


def _opening_rows(portfolio: Portfolio, rows: list[ParsedRow], report: _Report):
    """A file's opening balance (the cash before its oldest row) belongs to a portfolio
    whose history starts with the file; one that already holds earlier transactions has
    its cash from them, and the opening balance would count it twice."""
    kept = []
    for row in rows:
        if (
            row.opening
            and Transaction.objects.filter(portfolio=portfolio, date__lte=row.date)
            .exclude(import_key=row.import_key)
            .exists()
        ):
            report.set(
                row.line,
                SKIPPED,
                _(
                    "Opening balance %(amount)s: %(portfolio)s already has transactions from "
                    "before this file, so its cash carries on from them."
                )
                % {"amount": f"{row.amount:,.2f}", "portfolio": portfolio.name},
                row,
            )
            continue
        kept.append(row)
    return kept


def _import_keys(portfolio: Portfolio) -> set[str]:
    keys = Transaction.objects.filter(portfolio=portfolio, import_key__isnull=False)
    return set(keys.values_list("import_key", flat=True))


def _leave_out_duplicates(
    rows: list[ParsedRow], report: _Report, existing: set[str]
) -> list[ParsedRow]:
    first_line: dict[str, int] = {}
    new_rows = []
    for row in rows:
        if row.import_key in existing:
            report.set(row.line, DUPLICATE, _("Already imported into this portfolio."), row)
        elif row.import_key in first_line:
            message = _("The same transaction as line %(line)s.") % {
                "line": first_line[row.import_key]
            }
            report.set(row.line, DUPLICATE, message, row)
        else:
            first_line[row.import_key] = row.line
            new_rows.append(row)
    return new_rows


def _plan(portfolio: Portfolio, rows: list[ParsedRow], report: _Report) -> list[list[_Planned]]:
    """Resolve instruments and rates; group the rows per holding, each group in date order.

    A holding with an unresolvable row is left out whole: replaying it without that row
    could report oversells that are not there.
    """
    instruments: dict[tuple, Instrument | tuple[str, str]] = {}
    for row in rows:
        key = (row.symbol, row.currency, row.isin)
        if key not in instruments:
            instruments[key] = None if row.is_cash else _instrument(row)
    # Every rate of the file at once: one query for the stored ones, not one per row.
    # Cash rows have no instrument: settle_rates checks their dates and gives them rate 1.
    priced = [row for row in rows if row.is_cash or isinstance(instruments[_key(row)], Instrument)]
    settled = dict(
        zip(
            (row.line for row in priced),
            services.settle_rates(
                portfolio, [_entry(row, instruments[_key(row)]) for row in priced]
            ),
            strict=True,
        )
    )
    groups: dict[int, list[_Planned]] = defaultdict(list)
    failed_lines: dict[object, int] = {}
    for order, row in enumerate(rows):
        key = _key(row)
        instrument = instruments[key]
        errors = []
        if row.is_cash:
            holding_key: object = _CASH
            errors.extend(_currency_errors(portfolio, row, None))
            rate = settled[row.line]
            if isinstance(rate, ValidationError):
                errors.append(next(iter(_row_errors(row.line, rate))))
        elif isinstance(instrument, tuple):
            errors.append(RowError(row.line, *instrument))
            plan = _plan_of(report, row)
            if plan is not None and not plan.problem:
                plan.problem = instrument[1]
            holding_key = key
        else:
            plan = _plan_of(report, row)
            if plan is not None:
                plan.ticker = instrument.ticker
            holding_key = instrument.pk
            errors.extend(_currency_errors(portfolio, row, instrument))
            rate = settled[row.line]
            if isinstance(rate, ValidationError):
                errors.append(next(iter(_row_errors(row.line, rate))))
        if errors:
            for error in errors:
                report.fail(error, row)
            failed_lines.setdefault(holding_key, row.line)
            continue
        groups[holding_key].append(_Planned(order, row, instrument, _converted_fees(row, rate)))
    for holding_key, line in failed_lines.items():
        for planned in groups.pop(holding_key, []):
            report.set(
                planned.row.line,
                UNCHECKED,
                _("Not checked: line %(line)s of the same holding has an error.") % {"line": line},
                planned.row,
            )
    return [sorted(group, key=lambda p: (p.row.date, p.order)) for group in groups.values()]


def _plan_of(report: _Report, row: ParsedRow) -> InstrumentPlan | None:
    if report.plans is None:  # one index for the file, not a search per row
        report.plans = {choice_key(plan.key): plan for plan in report.result.instruments}
    return report.plans.get(choice_key(instrument_key(row)))


def _converted_fees(row: ParsedRow, settled: services.Settled) -> services.Settled:
    """Fees the file gives in the instrument's currency, in the portfolio's at the row's
    rate, to the cent (Ghostfolio: 19 USD at 10.5 NOK/USD is 199.50 NOK)."""
    if not row.fees_in_instrument_currency or settled.exchange_rate == 1:
        return settled
    fees = (row.fees * settled.exchange_rate).quantize(_CENT)
    return services.Settled(replace(settled.entry, fees=fees), settled.exchange_rate)


# The group of a file's cash rows (they have no holding).
_CASH = "cash"


def _key(row: ParsedRow) -> tuple:
    return (row.symbol, row.currency, row.isin)


def _entry(row: ParsedRow, instrument: Instrument | None) -> services.NewTransaction:
    if row.is_cash:
        return services.NewTransaction.cash(
            type=row.type,
            date=row.date,
            amount=row.amount,
            notes=row.notes,
            import_key=row.import_key,
        )
    return services.NewTransaction(
        instrument=instrument,
        type=row.type,
        date=row.date,
        quantity=row.quantity,
        price=row.price,
        fees=row.fees,
        exchange_rate=row.exchange_rate,
        notes=row.notes,
        import_key=row.import_key,
    )


def _instrument(row: ParsedRow) -> Instrument | tuple[str, str]:
    """The row's instrument, or the field at fault and why there is none.

    A stored instrument with the row's ISIN in the row's currency comes first: it survives
    ticker changes and is how a fund Yahoo lacks (Nordnet names funds, it gives no ticker)
    is matched once the instrument has been added. The currency goes to resolve_instrument,
    which then creates an instrument the provider does not know as a manual entry does,
    only when the file wrote the symbol itself: from a symbol derived from a broker's
    ticker it would mint a wrong instrument instead of asking for the right one.
    """
    if row.isin and row.currency and not row.chosen:
        found = _by_isin(row.isin, row.currency)
        if len(found) == 1:
            return found[0]
    # A symbol chosen in the preview is the user's own entry, as a symbol the file wrote.
    currency = row.currency if row.symbol == row.ticker or row.chosen else None
    try:
        return history.resolve_instrument(row.symbol, currency=currency)
    except UnknownSymbol:
        if row.ticker != row.symbol:
            problem = _("Unknown symbol %(symbol)s (from %(ticker)r)") % {
                "symbol": row.symbol,
                "ticker": row.ticker,
            }
        else:
            problem = _("Unknown symbol %(symbol)s") % {"symbol": row.symbol}
    except MarketDataError as exc:
        problem = str(exc).rstrip(".")
    except ValidationError as exc:
        field, messages = next(iter(_row_errors_by_field(exc).items()))
        return field or "symbol", " ".join(messages)
    if row.isin and not row.chosen:
        found = _by_isin(row.isin, row.currency)
        if len(found) == 1:
            return found[0]
        if found:
            template = _("%(problem)s, and several instruments have ISIN %(isin)s")
        else:
            template = _("%(problem)s, and no instrument has ISIN %(isin)s")
        problem = template % {"problem": problem, "isin": row.isin}
    return "symbol", _(
        "%(problem)s. Choose its symbol in the preview, or add the instrument first."
    ) % {"problem": problem}


def _by_isin(isin: str, currency: str | None) -> list[Instrument]:
    candidates = Instrument.objects.filter(isin=isin)
    if currency:
        candidates = candidates.filter(currency=currency)
    return list(candidates[:2])


def _currency_errors(portfolio: Portfolio, row: ParsedRow, instrument: Instrument | None) -> list:
    errors = []
    if instrument is not None and row.currency and row.currency != instrument.currency:
        errors.append(
            RowError(
                row.line,
                "currency",
                _(
                    "The file prices %(symbol)s in %(currency)s, but %(ticker)s trades in "
                    "%(instrument_currency)s."
                )
                % {
                    "symbol": row.symbol,
                    "currency": row.currency,
                    "ticker": instrument.ticker,
                    "instrument_currency": instrument.currency,
                },
            )
        )
    if row.account_currency and row.account_currency != portfolio.currency:
        # Fees and the exchange rate are in the account's currency, and the ledger keeps
        # them in the portfolio's: they would be silently wrong.
        errors.append(
            RowError(
                row.line,
                "currency",
                _(
                    "The file books this row in %(currency)s, but the portfolio is in "
                    "%(portfolio_currency)s: import it into a %(currency)s portfolio."
                )
                % {"currency": row.account_currency, "portfolio_currency": portfolio.currency},
            )
        )
    return errors


def _record(
    portfolio: Portfolio,
    groups: list[list[_Planned]],
    existing: set,
    report: _Report,
    batch: ImportBatch | None,
    progress: Progress,
) -> None:
    """Record the new rows of every holding at once (services.record_transactions: each
    holding's rows inserted together and replayed once). When it refuses them, each
    holding's rows are reported: the rows at fault with their errors, the rows after the
    first of them as not checked, those before as (would be) created."""
    planned = []
    for group in groups:
        for item in group:
            if item.row.import_key in existing:
                report.set(
                    item.row.line, DUPLICATE, _("Already imported into this portfolio."), item.row
                )
            else:
                planned.append(item)
    if not planned:
        return
    try:
        txns = services.record_transactions(
            portfolio,
            [item.settled for item in planned],
            import_batch=batch,
            progress=lambda done, total: progress(SAVE, done, total),
        )
    except services.Rejected as rejected:
        _report_rejected(planned, rejected.errors, report)
        return
    for item, txn in zip(planned, txns, strict=True):
        report.set(item.row.line, CREATED, "", item.row, txn)


def _report_rejected(planned: list[_Planned], errors: dict, report: _Report) -> None:
    by_holding: dict[int, list[_Planned]] = defaultdict(list)
    for n, item in enumerate(planned):
        if n in errors:
            for error in _row_errors(item.row.line, errors[n]):
                report.fail(error, item.row)
        by_holding[item.instrument.pk if item.instrument is not None else None].append(item)
    for items in by_holding.values():
        failed = next((item for item in items if item.row.line in report.by_line), None)
        if failed is None:
            for item in items:
                report.set(item.row.line, CREATED, "", item.row)
            continue
        at = items.index(failed)
        for item in items[at + 1 :]:
            if item.row.line not in report.by_line:
                report.set(
                    item.row.line,
                    UNCHECKED,
                    _("Not checked: line %(line)s of the same holding failed.")
                    % {"line": failed.row.line},
                    item.row,
                )
        for item in items[:at]:
            report.set(item.row.line, CREATED, "", item.row)


def _row_errors_by_field(exc: ValidationError) -> dict[str, list[str]]:
    if not hasattr(exc, "error_dict"):
        return {"": exc.messages}
    return {
        "" if name == NON_FIELD_ERRORS else name: messages
        for name, messages in exc.message_dict.items()
    }


def _row_errors(line: int, exc: ValidationError) -> list[RowError]:
    return [
        RowError(line, name, message)
        for name, messages in _row_errors_by_field(exc).items()
        for message in messages
    ]
