"""Writes to the ledger: every path in (views, API, admin, importers, tasks) comes here.

Each change is one database transaction that locks the holding row, replays all of the
holding's transactions through portfolios.ledger and stores the results. A change that
would oversell at any point is rejected whole with a ValidationError naming the offending
transaction, and nothing is saved.

Cash (ARCHITECTURE section 5): cash transactions (DEPOSIT, WITHDRAWAL, INTEREST, FEE) have
no holding and are recorded by the same functions. Every write locks the portfolio row
first (then holdings: one lock order) and, in the same database transaction, moves the
stored Portfolio.cash_balance by the cash the change moved (portfolios.cash); a portfolio
that does not track cash refuses cash transactions and keeps a balance of 0.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from financedash.lib import versions
from financedash.lib.dates import check_entry_date
from financedash.lib.l10n import format_day, format_moment, format_number
from financedash.lib.money import (
    MONEY,
    PRICE,
    QUANTITY,
    RATE,
    fits,
    format_amount,
    limit,
    round_rate,
)
from marketdata import fx, history
from marketdata.models import Instrument
from marketdata.providers.base import MarketDataError, MissingExchangeRate
from portfolios import backfill, cash, ledger
from portfolios.models import (
    CASH_TYPES,
    Holding,
    ImportBatch,
    Portfolio,
    TaxRate,
    Transaction,
)

# Fields a caller may set on a transaction; the rest is derived.
EDITABLE_FIELDS = ("type", "date", "quantity", "price", "fees", "exchange_rate", "notes")
# ... and on a cash transaction (DEPOSIT, WITHDRAWAL, INTEREST, FEE).
CASH_EDITABLE_FIELDS = ("type", "date", "amount", "notes")
# Set by the services, not the caller: never validated field by field (the import batch's
# foreign-key check would cost one query per imported row).
_DERIVED = (
    "holding",
    "portfolio",
    "total_amount",
    "average_cost_at_transaction",
    "import_batch",
)
ONE = Decimal(1)
# How far before a trade the provider is asked for rates when none is stored: the last
# close on or before the trade date is its rate (weekends and holidays included).
RATE_LOOKBACK = timedelta(days=10)

logger = logging.getLogger(__name__)


def _quantum(shape: dict) -> Decimal:
    return Decimal(1).scaleb(-shape["decimal_places"])


_QUANTA = {id(shape): _quantum(shape) for shape in (MONEY, PRICE, QUANTITY)}


def _store(value: Decimal, shape: dict) -> Decimal:
    return value.quantize(_QUANTA.get(id(shape)) or _quantum(shape))


def _entry_for(txn: Transaction) -> ledger.Entry:
    return ledger.Entry(
        id=txn.pk,
        type=txn.type,
        date=txn.date,
        quantity=txn.quantity,
        price=txn.price,
        fees=txn.fees,
        exchange_rate=txn.exchange_rate,
    )


def _describe(entry: ledger.Entry) -> str:
    if entry.type == ledger.SPLIT:
        return gettext("the split %(label)s on %(day)s") % {
            "label": ledger.split_label(entry.quantity),
            "day": format_day(entry.date, "short"),
        }
    kind = (
        Transaction.Type(entry.type).label.lower()
        if entry.type in Transaction.Type.values
        else entry.type.lower()
    )
    return gettext("the %(kind)s of %(quantity)s on %(day)s") % {
        "kind": kind,
        "quantity": format_number(entry.quantity),
        "day": format_day(entry.date, "short"),
    }


def check_split(price: Decimal, fees: Decimal | None, given_rate: Decimal | None, factor) -> None:
    """A SPLIT moves no money: its price and fees are 0 and its rate 1 (absent is fine;
    the service sets them), and its quantity is the factor, new shares per old share."""
    if price:
        raise ValidationError(
            {"price": gettext("A split has no price: enter 0 (its quantity is the factor).")},
            code="split_price",
        )
    if fees:
        raise ValidationError({"fees": gettext("A split has no fees: enter 0.")}, code="split_fees")
    if given_rate is not None and given_rate != ONE:
        raise ValidationError(
            {"exchange_rate": gettext("A split moves no money: its exchange rate is 1.")},
            code="split_rate",
        )
    if factor == ONE:
        raise ValidationError(
            {
                "quantity": gettext(
                    "A split of 1 new share per old share changes nothing: enter the "
                    "new shares per old share, e.g. 2 for a 2-for-1 split, 0.1 for 1-for-10."
                )
            },
            code="split_factor",
        )


def exchange_rate_for(
    portfolio: Portfolio,
    instrument: Instrument,
    day: date,
    given: Decimal | None,
    known: dict | None = None,
) -> Decimal:
    """The exchange rate a transaction is recorded at: the one rule for every entry point.

    1, and only 1, when the instrument trades in the portfolio's currency. Otherwise the
    rate given, rounded to the stored precision (a rate pasted from a spreadsheet has more
    digits than any rate means), or, when none is given, the rate of that date (default_rate).
    The date is checked first: no rate is looked up for a date no transaction may have.
    `known` holds rates of days already looked up, (currency, day) -> rate or the
    ValidationError of a missing one (a batch asks for them all at once), and keeps the
    ones this asks for.
    """
    check_entry_date(day)
    if instrument.currency == portfolio.currency:
        if given is not None and given != ONE:
            raise ValidationError(
                {
                    "exchange_rate": gettext(
                        "%(ticker)s trades in %(currency)s, the portfolio's own currency: "
                        "the exchange rate is 1, not %(given)s."
                    )
                    % {
                        "ticker": instrument.ticker,
                        "currency": portfolio.currency,
                        "given": format_number(given),
                    }
                },
                code="exchange_rate_not_one",
            )
        return ONE
    if given is None:
        if known is None:
            return _default_rate(instrument.currency, portfolio.currency, day)
        key = (instrument.currency, day)
        if key not in known:
            try:
                known[key] = _default_rate(instrument.currency, portfolio.currency, day)
            except ValidationError as exc:
                known[key] = exc
        if isinstance(known[key], ValidationError):
            raise known[key]
        return known[key]
    rate = round_rate(given)
    if rate <= 0:
        raise ValidationError(
            {"exchange_rate": gettext("The exchange rate must be greater than 0.")},
            code="min_value",
        )
    if not fits(rate, RATE):
        raise ValidationError(
            {
                "exchange_rate": f"The exchange rate {given.normalize():f} is too large: the "
                f"ledger stores rates below {format_amount(limit(RATE))}."
            },
            code="max_value",
        )
    return rate


def _default_rate(base: str, target: str, day: date) -> Decimal:
    """`target` per `base` on a date: the stored rate, else the provider's for that date
    (stored for next time). Only when neither has one is it an error on exchange_rate:
    never a silent 1."""
    try:
        return fx.rate(base, target, day)
    except MissingExchangeRate:
        pass
    try:
        history.sync_fx(base, target, day - RATE_LOOKBACK, day)
    except MarketDataError as exc:
        logger.warning("Rates %s->%s for %s not fetched: %s", base, target, day, exc)
    try:
        return fx.rate(base, target, day)
    except MissingExchangeRate as exc:
        raise ValidationError(
            {
                "exchange_rate": f"{exc} "
                + gettext(
                    "Enter the rate you traded at (%(target)s per %(base)s), or store the "
                    "rates of that day."
                )
                % {"target": target, "base": base}
            },
            code="missing_exchange_rate",
        ) from exc


class _FigureTooLarge(ValueError):
    """The cause of a too-large ValidationError: which entry took a figure past its column."""

    def __init__(self, entry: ledger.Entry):
        super().__init__(entry)
        self.entry = entry


# What each running figure of a replay is stored in, and what to call it in a message.
_FIGURES = (
    ("gross", "amount", MONEY),
    ("total_amount", "amount", MONEY),
    ("total_cost", "total cost", MONEY),
    ("realized_gain", "realized gain", MONEY),
    ("dividends", "dividends", MONEY),
    ("fees", "fees", MONEY),
    ("average_cost", "average cost", PRICE),
    ("quantity", "quantity held", QUANTITY),
)


def _figures(applied: ledger.Applied) -> dict[str, Decimal]:
    state = applied.state
    return {
        "gross": applied.gross,
        "total_amount": applied.total_amount,
        "total_cost": state.total_cost,
        "realized_gain": state.realized_gain,
        "dividends": state.dividends,
        "fees": state.fees,
        "average_cost": state.average_cost,
        "quantity": state.quantity,
    }


def _check_shapes(
    entries: list[ledger.Entry], result: ledger.Replay, changed_id, currency: str
) -> None:
    """Every figure the replay derives must fit the column that stores it: a sum past the
    money shape would be saved, then make every page that reads it fail."""
    # fits()'s own first test, inline: a holding of thousands of transactions is checked on
    # every write to it, and all but a pathological figure are far from every limit.
    money, price, quantity = (limit(shape) - 1 for shape in (MONEY, PRICE, QUANTITY))
    for entry, applied in zip(entries, result.applied, strict=True):
        state = applied.state
        if entry.type == ledger.SPLIT and state.quantity != _store(state.quantity, QUANTITY):
            # Fractional shares are kept, exactly: a result with more decimals than the
            # column stores would be silently rounded.
            raise ValidationError(
                {
                    "quantity": f"The split {ledger.split_label(entry.quantity)} on "
                    f"{entry.date.isoformat()} would leave {state.quantity.normalize():f} "
                    f"shares, more decimals than the ledger stores "
                    f"({QUANTITY['decimal_places']})."
                },
                code="split_fraction",
            ) from _FigureTooLarge(entry)
        if (
            -money < applied.gross < money
            and -money < applied.total_amount < money
            and -money < state.total_cost < money
            and -money < state.realized_gain < money
            and -money < state.dividends < money
            and -money < state.fees < money
            and -price < state.average_cost < price
            and -quantity < state.quantity < quantity
        ):
            continue
        figures = _figures(applied)
        for name, label, shape in _FIGURES:
            if fits(figures[name], shape):
                continue
            largest = format_amount(limit(shape) - Decimal(1).scaleb(-shape["decimal_places"]))
            unit = f" {currency}" if currency and shape is not QUANTITY else ""
            kind = "quantity" if shape is QUANTITY else "amount"
            problem = (
                f"the {label} {format_amount(figures[name])}{unit} exceeds the largest "
                f"{kind} the ledger stores ({largest})"
            )
            # Blame the larger part of the amount: fees bigger than quantity x price x
            # rate are the fees' fault (a slip of the finger there); the rest grows from
            # the quantity (or, for the average cost, shrinks with it).
            field = (
                "fees" if name != "average_cost" and entry.fees > abs(applied.gross) else "quantity"
            )
            if entry.id is not None and entry.id != changed_id:
                message = (
                    f"This change would make {_describe(entry)} (transaction #{entry.id}) "
                    f"too large to store: {problem}."
                )
            else:
                message = f"{problem[0].upper()}{problem[1:]}."
            raise ValidationError({field: message}, code="amount_too_large") from (
                _FigureTooLarge(entry)
            )


def _replay_or_reject(
    entries: Iterable[ledger.Entry],
    *,
    dividends_reduce_cost_basis: bool,
    changed_id=None,
    currency: str = "",
) -> ledger.Replay:
    """Replay, turning an oversell, a dividend on shares never held, or a figure too large
    to store into a ValidationError on the field at fault (`quantity`, or `fees`)."""
    entries = ledger.ordered(entries)
    try:
        result = ledger.replay(entries, dividends_reduce_cost_basis=dividends_reduce_cost_basis)
    except ledger.NothingToSplitError as exc:
        if exc.entry.id is not None and exc.entry.id != changed_id:
            message = gettext(
                "This change would leave %(entry)s (transaction #%(id)s) with no shares to split."
            ) % {"entry": _describe(exc.entry), "id": exc.entry.id}
        else:
            message = gettext(
                "Cannot record a split on %(day)s: no shares are held at that date."
            ) % {"day": format_day(exc.entry.date, "short")}
        raise ValidationError({"date": message}, code="nothing_to_split") from exc
    except ledger.NothingHeldError as exc:
        held = (
            gettext("no shares were held")
            if not exc.held
            else gettext("at most %(held)s shares were held") % {"held": format_number(exc.held)}
        )
        if exc.entry.id is not None and exc.entry.id != changed_id:
            message = gettext(
                "This change would leave a dividend without shares: %(entry)s "
                "(transaction #%(id)s) would be paid on more shares than held: %(held)s by then."
            ) % {"entry": _describe(exc.entry), "id": exc.entry.id, "held": held}
        else:
            message = gettext(
                "Cannot book a dividend on %(quantity)s shares on %(day)s: %(held)s by that date."
            ) % {
                "quantity": format_number(exc.entry.quantity),
                "day": format_day(exc.entry.date, "short"),
                "held": held,
            }
        raise ValidationError({"quantity": message}, code="not_held") from exc
    except ledger.OversellError as exc:
        held = format_number(exc.held)
        if exc.entry.id is not None and exc.entry.id != changed_id:
            message = gettext(
                "This change would make a later sale oversell: %(entry)s "
                "(transaction #%(id)s) would exceed the %(held)s shares held then."
            ) % {"entry": _describe(exc.entry), "id": exc.entry.id, "held": held}
        else:
            message = gettext(
                "Cannot sell %(quantity)s shares on %(day)s: only %(held)s held at that date."
            ) % {
                "quantity": format_number(exc.entry.quantity),
                "day": format_day(exc.entry.date, "short"),
                "held": held,
            }
        raise ValidationError({"quantity": message}, code="oversell") from exc
    _check_shapes(entries, result, changed_id, currency)
    return result


@dataclass(frozen=True)
class Change:
    """A proposed transaction, for checking before saving (forms use this)."""

    portfolio: Portfolio
    instrument: Instrument
    values: dict
    existing: Transaction | None = None


def check_change(change: Change) -> ledger.Replay:
    """Replay the holding as it would be after the change, without saving or locking.

    Forms call this for early, field-level errors; the services check again under the lock.
    The exchange rate is settled as the services would (a None asks for the rate of the
    date; left out of `values`, an edit keeps its rate) and written back into `values`, so
    a form shows and saves the rate that will be recorded.
    """
    values = change.values
    rate = values["exchange_rate"] = _rate_for_change(
        change.portfolio, change.instrument, values["date"], values, change.existing
    )
    reduce = change.portfolio.dividends_reduce_cost_basis
    existing = change.existing
    if existing is not None and existing.holding.instrument_id != change.instrument.pk:
        # Moving it to another instrument: its old holding must still balance without it.
        _replay_or_reject(
            _stored(existing.holding_id, exclude=existing.pk)[0],
            dividends_reduce_cost_basis=reduce,
        )
    holding = Holding.objects.filter(
        portfolio=change.portfolio, instrument=change.instrument
    ).first()
    others = []
    if holding is not None:
        others, _ = _stored(holding.pk, exclude=existing.pk if existing else None)
    proposed = ledger.Entry(
        id=change.existing.pk if change.existing else None,
        type=change.values["type"],
        date=change.values["date"],
        quantity=change.values["quantity"],
        price=change.values["price"],
        fees=change.values.get("fees") or ledger.ZERO,
        exchange_rate=rate,
    )
    return _replay_or_reject(
        [*others, proposed],
        dividends_reduce_cost_basis=reduce,
        changed_id=proposed.id,
        currency=change.portfolio.currency,
    )


def _lock_holding(portfolio: Portfolio, instrument: Instrument) -> Holding:
    holding, _ = Holding.objects.select_for_update().get_or_create(
        portfolio=portfolio, instrument=instrument
    )
    holding.portfolio = portfolio  # the replay reads its dividend rule
    return holding


def _validate_fields(txn: Transaction) -> None:
    check_entry_date(txn.date)
    txn.full_clean(exclude=_DERIVED, validate_unique=False, validate_constraints=False)


# A stored transaction as the replay reads it: values, not model instances (a holding with
# thousands of transactions is read on every write to it).
_STORED = (
    "id",
    "type",
    "date",
    "quantity",
    "price",
    "fees",
    "exchange_rate",
    "total_amount",
    "average_cost_at_transaction",
)


def _stored(
    holding_id, *, exclude=None, changed: Transaction | None = None
) -> tuple[list[ledger.Entry], dict]:
    """The holding's stored transactions as ledger entries, and each one's stored derived
    figures by id (a replay writes only those that differ). `changed`, just saved, enters
    with its values as given."""
    entries, derived = [], {}
    rows = Transaction.objects.filter(holding_id=holding_id).order_by().values_list(*_STORED)
    for pk, kind, day, quantity, price, fees, rate, total, average in rows:
        if pk == exclude:
            continue
        if changed is not None and pk == changed.pk:
            entries.append(_entry_for(changed))
        else:
            entries.append(
                ledger.Entry(
                    id=pk,
                    type=kind,
                    date=day,
                    quantity=quantity,
                    price=price,
                    fees=fees,
                    exchange_rate=rate,
                )
            )
        derived[pk] = (total, average)
    return entries, derived


def _store_replay(
    holding: Holding,
    entries: list[ledger.Entry],
    result: ledger.Replay,
    derived: dict,
    new: dict | None = None,
    changed: Transaction | None = None,
) -> bool:
    """Store a replay: set the derived figures of `new` (id(entry) -> unsaved Transaction)
    and `changed` in place, UPDATE only the stored transactions whose figures differ (a
    late-dated change moves the figures after it, not the years before), save the holding.

    Returns whether it rewrote the amount of a stored transaction other than `changed`:
    never, unless a stored amount was wrong (a data repair), as an amount depends on its
    own transaction only; then the cash balance is replayed whole (_store_cash)."""
    updates = []
    repaired = False
    for entry, applied in zip(entries, result.applied, strict=True):
        figures = (
            _store(applied.total_amount, MONEY),
            _store(applied.average_cost_at_transaction, PRICE),
        )
        txn = new.get(id(entry)) if new else None
        if txn is None and changed is not None and entry.id == changed.pk:
            txn = changed
        if txn is not None:
            txn.total_amount, txn.average_cost_at_transaction = figures
        if entry.id is not None and derived.get(entry.id) != figures:
            updates.append((*figures, entry.id))
            old = derived.get(entry.id)
            repaired = repaired or (txn is None and old is not None and old[0] != figures[0])
    if updates:
        _update_figures(updates)
    state = result.state
    holding.quantity = _store(state.quantity, QUANTITY)
    holding.average_cost = _store(state.average_cost, PRICE)
    holding.total_cost = _store(state.total_cost, MONEY)
    holding.realized_gain = _store(state.realized_gain, MONEY)
    holding.dividends = _store(state.dividends, MONEY)
    holding.fees = _store(state.fees, MONEY)
    holding.save()
    return repaired


def _update_figures(updates: list[tuple[Decimal, Decimal, int]]) -> None:
    """(total_amount, average_cost_at_transaction, id) of each transaction to rewrite: one
    plain UPDATE run for them all, which both databases execute as a batch; bulk_update's
    CASE WHEN over thousands of ids took seconds."""
    meta = Transaction._meta
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {quote(meta.db_table)} SET "
            f"{quote(meta.get_field('total_amount').column)} = %s, "
            f"{quote(meta.get_field('average_cost_at_transaction').column)} = %s "
            f"WHERE {quote(meta.pk.column)} = %s",
            updates,
        )


def _replay_holding(
    holding: Holding, *, changed: Transaction | None = None, repairs: list | None = None
) -> Holding | None:
    """Replay a (locked) holding and store the result; delete it when nothing is left.
    `changed`, the transaction just written, gets its derived figures set in place;
    `repairs` collects whether the replay corrected a stored amount."""
    versions.bump(versions.portfolio(holding.portfolio_id))
    entries, derived = _stored(holding.pk, changed=changed)
    if not entries:
        holding.delete()
        return None
    entries = ledger.ordered(entries)
    result = _replay_or_reject(
        entries,
        dividends_reduce_cost_basis=holding.portfolio.dividends_reduce_cost_basis,
        changed_id=changed.pk if changed is not None else None,
        currency=holding.portfolio.currency,
    )
    repaired = _store_replay(holding, entries, result, derived, changed=changed)
    if repairs is not None:
        repairs.append(repaired)
    return holding


@dataclass(frozen=True)
class NewTransaction:
    """A transaction to record: what a caller sets; the rest is derived. Without an
    exchange rate it gets the rate of its date (exchange_rate_for).

    A cash transaction (DEPOSIT, WITHDRAWAL, INTEREST, FEE; NewTransaction.cash) has no
    instrument, quantity or price: only an `amount` (> 0, in the portfolio currency; the
    type gives the direction)."""

    instrument: Instrument | None
    type: str
    date: date
    quantity: Decimal
    price: Decimal
    fees: Decimal = ledger.ZERO
    exchange_rate: Decimal | None = None
    notes: str = ""
    import_key: str | None = None
    amount: Decimal | None = None

    @classmethod
    def cash(
        cls,
        *,
        type: str,
        date: date,
        amount: Decimal,
        notes: str = "",
        import_key: str | None = None,
    ) -> NewTransaction:
        return cls(
            instrument=None,
            type=type,
            date=date,
            quantity=ledger.ZERO,
            price=ledger.ZERO,
            amount=amount,
            notes=notes,
            import_key=import_key,
        )

    @property
    def is_cash(self) -> bool:
        return self.type in CASH_TYPES


@dataclass(frozen=True)
class Settled:
    """A NewTransaction with its exchange rate settled (settle_rates only makes these):
    record_transactions takes it as it is, so the rate rule runs once per entry even when
    a caller settles the rates before taking its own locks (the import)."""

    entry: NewTransaction
    exchange_rate: Decimal


class Rejected(ValidationError):
    """A batch refused whole. `errors` maps the index of each entry at fault to its
    ValidationError; every holding of the batch is checked first, so one run names every
    problem (one entry per holding at most once its fields are valid)."""

    def __init__(self, errors: dict[int, ValidationError]):
        self.errors = dict(sorted(errors.items()))
        super().__init__([message for exc in self.errors.values() for message in exc.messages])


def settle_rates(
    portfolio: Portfolio, entries: Iterable[NewTransaction]
) -> list[Settled | ValidationError]:
    """Each entry's exchange rate by exchange_rate_for, or the error saying why it has
    none. The rates of all the days the entries leave to the stored rates are read in one
    query, not one per entry; a rate not stored is asked of the provider once per currency
    and day, so call this before taking any lock."""
    entries = list(entries)
    wanted = set()
    for entry in entries:
        if entry.instrument is None or entry.type == ledger.SPLIT:
            continue
        if entry.exchange_rate is None and entry.instrument.currency != portfolio.currency:
            try:
                check_entry_date(entry.date)
            except ValidationError:
                continue  # refused below, before any rate is looked up
            wanted.add((entry.instrument.currency, portfolio.currency, entry.date))
    known: dict = {(base, day): rate for (base, _, day), rate in fx.recent_rates(wanted).items()}
    settled: list[Settled | ValidationError] = []
    for entry in entries:
        try:
            if entry.instrument is None:
                # A cash transaction: in the portfolio's own currency, no rate to find.
                check_entry_date(entry.date)
                rate = ONE
            elif entry.type == ledger.SPLIT:
                check_entry_date(entry.date)
                check_split(entry.price, entry.fees, entry.exchange_rate, entry.quantity)
                rate = ONE
            else:
                rate = exchange_rate_for(
                    portfolio, entry.instrument, entry.date, entry.exchange_rate, known
                )
        except ValidationError as exc:
            settled.append(exc)
        else:
            settled.append(Settled(entry, rate))
    return settled


def record_transactions(
    portfolio: Portfolio,
    entries: Iterable[NewTransaction | Settled],
    *,
    import_batch: ImportBatch | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Transaction]:
    """Record many transactions, in one database transaction: all of them, or none
    (Rejected). The one write path for new transactions (forms, API, imports, commands).

    Each entry gets its exchange rate (settle_rates; entries already Settled keep theirs),
    then, per holding with its row locked: its fields are validated, the holding's stored
    transactions are replayed with its new ones (in date order; on the same date, after
    the stored ones and in the order given) and checked for an oversell, a dividend on
    shares never held and figures too large to store, as if they had been recorded one by
    one, before anything is written. Then the new transactions are inserted at once, each
    holding's figures stored by one replay, and the history of each instrument fetched
    from its earliest new date once the transaction commits. An import passes its
    `import_batch`, which every new transaction then points to (undo_import). A background
    import passes `progress`, called with (entries checked, entries) as each holding's are.
    """
    entries = list(entries)
    to_settle = [n for n, entry in enumerate(entries) if not isinstance(entry, Settled)]
    if to_settle:
        settled = settle_rates(portfolio, [entries[n] for n in to_settle])
        for n, item in zip(to_settle, settled, strict=True):
            entries[n] = item
        failed = {n: item for n, item in enumerate(entries) if isinstance(item, ValidationError)}
        if failed:
            raise Rejected(failed)
    groups: dict[int, list[int]] = defaultdict(list)
    cash_indices: list[int] = []
    for n in sorted(range(len(entries)), key=lambda n: entries[n].entry.date):
        entry = entries[n].entry
        if entry.instrument is None or entry.is_cash:
            cash_indices.append(n)
        else:
            groups[entry.instrument.pk].append(n)
    created: dict[int, Transaction] = {}
    with transaction.atomic():
        # The portfolio row first (then holdings): its cash balance is the sum over all of
        # its holdings, so two writers to different holdings must not both store one.
        locked = _lock_portfolio(portfolio.pk)
        portfolio.track_cash, portfolio.cash_balance = locked.track_cash, locked.cash_balance
        errors: dict[int, ValidationError] = {}
        for n in cash_indices:
            try:
                created[n] = _cash_transaction(portfolio, entries[n].entry)
            except ValidationError as exc:
                errors[n] = exc
            else:
                created[n].import_batch_id = import_batch.pk if import_batch else None
        plans = []
        checked = len(cash_indices)
        # Holdings locked in one order, so two batches cannot wait on each other.
        for instrument_pk in sorted(groups):
            indices = groups[instrument_pk]
            instrument = entries[indices[0]].entry.instrument
            holding = _lock_holding(portfolio, instrument)
            txns = [_transaction(portfolio, holding, entries[n], import_batch) for n in indices]
            plan, failed = _check_holding(portfolio, holding, txns)
            errors.update({indices[n]: exc for n, exc in failed.items()})
            if plan is not None:
                plans.append(plan)
                created.update(zip(indices, txns, strict=True))
            if progress is not None:
                checked += len(indices)
                progress(checked, len(entries))
        if errors:
            raise Rejected(errors)
        versions.bump(versions.portfolio(portfolio.pk))
        repaired = False
        for holding, ordered, result, derived, new in plans:
            repaired = _store_replay(holding, ordered, result, derived, new=new) or repaired
        _insert([created[n] for n in sorted(created)])
        moved = _effects((t.type, t.total_amount) for t in created.values())
        try:
            _settle_cash(portfolio, moved, repaired)
        except ValidationError as exc:
            raise Rejected({max(created, key=lambda n: entries[n].entry.date): exc}) from None
        backfill.after_commit(
            portfolio,
            {
                entries[group[0]].entry.instrument: entries[group[0]].entry.date
                for group in groups.values()
            },
        )
    return [created[n] for n in range(len(entries))]


# -- cash (ARCHITECTURE section 5; the arithmetic is portfolios.cash) ----------------------


def _lock_portfolio(pk: int) -> Portfolio:
    return Portfolio.objects.select_for_update().get(pk=pk)


def _track_cash_refused(portfolio: Portfolio, type: str) -> ValidationError:
    label = Transaction.Type(type).label.lower() if type in Transaction.Type.values else type
    return ValidationError(
        {
            "type": gettext(
                "%(name)s does not track cash, so it cannot record a %(kind)s: turn on "
                "“Track cash” in the portfolio's settings first (its cash balance is then "
                "worked out from all of its transactions)."
            )
            % {"name": portfolio.name, "kind": label}
        },
        code="cash_not_tracked",
    )


def check_cash_amount(amount) -> Decimal:
    """The one rule for a cash amount: > 0, whole cents, within the money shape. The error
    names `amount`."""
    if amount is None or amount == "":
        raise ValidationError({"amount": gettext("Enter the amount.")}, code="required")
    if isinstance(amount, int) and not isinstance(amount, bool):
        amount = Decimal(amount)
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ValidationError({"amount": gettext("Enter a number.")}, code="invalid")
    if amount <= 0:
        raise ValidationError(
            {
                "amount": gettext(
                    "The amount must be greater than 0: the type gives the direction "
                    "(a withdrawal of 500 is entered as 500)."
                )
            },
            code="min_value",
        )
    if not fits(amount, MONEY):
        raise ValidationError(
            {
                "amount": f"The amount {format_amount(amount)} is too large: the ledger "
                f"stores amounts below {format_amount(limit(MONEY))}."
            },
            code="max_value",
        )
    if amount != amount.quantize(cash.CENT):  # fits: small enough to quantize
        raise ValidationError(
            {"amount": gettext("Enter the amount in whole cents (at most 2 decimals).")},
            code="max_decimal_places",
        )
    return amount


def _cash_transaction(portfolio: Portfolio, entry: NewTransaction) -> Transaction:
    """A new cash transaction, validated (not saved): a cash type, no instrument, a
    portfolio that tracks cash, a valid date and amount."""
    if entry.type not in CASH_TYPES:
        raise ValidationError(
            {"symbol": f"A {entry.type.lower()} needs an instrument: give its symbol."},
            code="required",
        )
    if entry.instrument is not None:
        raise ValidationError(
            {"type": f"A {entry.type.lower()} is cash: it has no instrument."},
            code="cash_has_no_instrument",
        )
    if not portfolio.track_cash:
        raise _track_cash_refused(portfolio, entry.type)
    check_entry_date(entry.date)
    amount = check_cash_amount(entry.amount)
    txn = Transaction(
        holding_id=None,
        portfolio_id=portfolio.pk,
        type=entry.type,
        date=entry.date,
        quantity=ledger.ZERO,
        price=ledger.ZERO,
        fees=ledger.ZERO,
        exchange_rate=ONE,
        total_amount=_store(amount, MONEY),
        average_cost_at_transaction=ledger.ZERO,
        notes=entry.notes or "",
        import_key=entry.import_key,
    )
    _PORTFOLIO.set_cached_value(txn, portfolio)
    return txn


def check_cash_entry(portfolio: Portfolio, entry: NewTransaction) -> None:
    """Validate a cash entry as recording it would, without saving (forms call this for
    field-level errors; the services check again under the lock)."""
    _cash_transaction(portfolio, entry)


def _movements(portfolio_pk: int) -> list[cash.Movement]:
    rows = (
        Transaction.objects.filter(portfolio_id=portfolio_pk)
        .order_by()
        .values_list("type", "date", "total_amount")
    )
    return [cash.Movement(*row) for row in rows]


def _shift_cash(portfolio: Portfolio, moved: Decimal) -> None:
    """Move a (locked) portfolio's stored cash balance by what a change moved: each
    transaction's cash effect depends on that transaction alone, so a write needs no
    re-read of the portfolio's history (a full one is _store_cash, for switching
    track_cash and repairs). The balance read under the lock is in `portfolio`."""
    if not portfolio.track_cash or not moved:
        return
    value = _store(portfolio.cash_balance + moved, MONEY)
    if not fits(value, MONEY):
        raise ValidationError(
            {
                "amount": f"This would take the cash balance to {format_amount(value)}, "
                f"past the largest amount the ledger stores ({format_amount(limit(MONEY))})."
            },
            code="amount_too_large",
        )
    Portfolio.objects.filter(pk=portfolio.pk).update(cash_balance=value)
    portfolio.cash_balance = value


def _settle_cash(portfolio: Portfolio, moved: Decimal, repaired: bool) -> None:
    """After a write: shift the balance by what it moved, or, when a replay corrected a
    stored amount, replay the balance whole (the old one was of the wrong amounts)."""
    if repaired:
        _store_cash(portfolio)
    else:
        _shift_cash(portfolio, moved)


def _effects(rows) -> Decimal:
    """The cash moved by (type, total_amount) rows."""
    return sum((cash.effect(kind, amount) for kind, amount in rows), ledger.ZERO)


def _store_cash(portfolio: Portfolio) -> Decimal:
    """Store the portfolio's cash balance replayed from all of its transactions (0 when it
    does not track cash), inside the caller's database transaction, with the portfolio row
    locked by the caller: on switching track_cash, and for repairs."""
    value = ledger.ZERO
    if portfolio.track_cash:
        value = _store(cash.balance(_movements(portfolio.pk)), MONEY)
        if not fits(value, MONEY):
            raise ValidationError(
                {
                    "amount": f"The cash balance {format_amount(value)} is past the largest "
                    f"amount the ledger stores ({format_amount(limit(MONEY))})."
                },
                code="amount_too_large",
            )
    if value != portfolio.cash_balance:  # the caller's instance was read under the lock
        Portfolio.objects.filter(pk=portfolio.pk).update(cash_balance=value)
        portfolio.cash_balance = value
    return value


_INSERTED = (
    "holding_id",
    "portfolio_id",
    "type",
    "date",
    "quantity",
    "price",
    "fees",
    "exchange_rate",
    "total_amount",
    "average_cost_at_transaction",
    "notes",
    "import_key",
    "import_batch_id",
)


def _insert(txns: list[Transaction]) -> None:
    """bulk_create, less the ORM's preparation of each value one by one, which is most of
    a 20,000-row import's time on SQLite: the values are validated, already of the columns'
    types, and the driver takes Decimals and dates as they are. Sets each pk. PostgreSQL's
    own bulk_create (one array per column) is faster than this, and is used there."""
    if connection.vendor != "sqlite" or not connection.features.can_return_rows_from_bulk_insert:
        Transaction.objects.bulk_create(txns)
        return
    meta = Transaction._meta
    columns = [meta.get_field(name).column for name in (*_INSERTED, "created_at")]
    now = timezone.now()
    created_at = connection.ops.adapt_datetimefield_value(now)
    rows = [(*(getattr(txn, name) for name in _INSERTED), created_at) for txn in txns]
    quote = connection.ops.quote_name
    size = max(1, connection.ops.bulk_batch_size(columns, txns))
    row = f"({', '.join(['%s'] * len(columns))})"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            batch = rows[start : start + size]
            cursor.execute(
                f"INSERT INTO {quote(meta.db_table)} ({', '.join(map(quote, columns))}) "
                f"VALUES {', '.join([row] * len(batch))} RETURNING {quote(meta.pk.column)}",
                [value for values in batch for value in values],
            )
            for txn, (pk,) in zip(txns[start : start + size], cursor.fetchall(), strict=True):
                txn.pk, txn.created_at = pk, now
                txn._state.adding = False
                txn._state.db = connection.alias


def _transaction(
    portfolio: Portfolio, holding: Holding, settled: Settled, batch: ImportBatch | None = None
) -> Transaction:
    entry = settled.entry
    txn = Transaction(
        holding_id=holding.pk,
        portfolio_id=portfolio.pk,
        type=entry.type,
        date=entry.date,
        quantity=entry.quantity,
        price=entry.price,
        fees=entry.fees,
        exchange_rate=settled.exchange_rate,
        notes=entry.notes,
        import_key=entry.import_key,
        import_batch_id=batch.pk if batch is not None else None,
    )
    # What the caller reads back (the API shows the holding), without the checks of
    # assigning a related object, which cost a 20,000-row import a noticeable second.
    _HOLDING.set_cached_value(txn, holding)
    _PORTFOLIO.set_cached_value(txn, portfolio)
    return txn


_HOLDING = Transaction._meta.get_field("holding")
_PORTFOLIO = Transaction._meta.get_field("portfolio")


def _check_holding(portfolio: Portfolio, holding: Holding, txns: list[Transaction]):
    """Validate one holding's new transactions and replay them with its stored ones.
    Returns what _store_replay needs, or None and the errors by index into `txns`: every
    one whose fields are invalid, else the one a failed replay is blamed on."""
    errors = {}
    for n, txn in enumerate(txns):
        try:
            _validate_fields(txn)
        except ValidationError as exc:
            errors[n] = exc
    if errors:
        return None, errors
    stored, derived = _stored(holding.pk)
    new = [_entry_for(txn) for txn in txns]
    ordered = ledger.ordered([*stored, *new])
    try:
        result = _replay_or_reject(
            ordered,
            dividends_reduce_cost_basis=portfolio.dividends_reduce_cost_basis,
            currency=portfolio.currency,
        )
    except ValidationError as exc:
        return None, {_culprit(exc, new): exc}
    by_entry = {id(entry): txn for entry, txn in zip(new, txns, strict=True)}
    return (holding, ordered, result, derived, by_entry), {}


def _culprit(exc: ValidationError, new: list[ledger.Entry]) -> int:
    """Which new entry (index, in date order) a failed replay is blamed on: the entry at
    fault when it is new; when it is a stored one, the last new sale on or before it (an
    oversell) or the last new entry on or before it (a figure grown too large)."""
    at_fault = exc.__cause__.entry
    for n, entry in enumerate(new):
        if entry is at_fault:
            return n
    sells_only = isinstance(exc.__cause__, ledger.OversellError)
    return next(
        (
            n
            for n in reversed(range(len(new)))
            if (new[n].type == ledger.SELL or not sells_only) and new[n].date <= at_fault.date
        ),
        0,
    )


def record_transaction(
    *,
    portfolio: Portfolio,
    instrument: Instrument | None = None,
    type: str,
    date: date,
    quantity: Decimal = ledger.ZERO,
    price: Decimal = ledger.ZERO,
    fees: Decimal = ledger.ZERO,
    exchange_rate: Decimal | None = None,
    notes: str = "",
    import_key: str | None = None,
    amount: Decimal | None = None,
) -> Transaction:
    """Record a transaction: record_transactions with one entry, its error raised as is.
    Without an exchange rate it gets the rate of its date (exchange_rate_for), settled
    before any lock is taken: it may ask the provider. A cash transaction (DEPOSIT,
    WITHDRAWAL, INTEREST, FEE) takes no instrument, only an `amount`."""
    entry = NewTransaction(
        instrument=instrument,
        type=type,
        date=date,
        quantity=quantity,
        price=price,
        fees=fees,
        exchange_rate=exchange_rate,
        notes=notes,
        import_key=import_key,
        amount=amount,
    )
    try:
        return record_transactions(portfolio, [entry])[0]
    except Rejected as rejected:
        raise rejected.errors[0] from rejected.errors[0].__cause__


def update_transaction(txn: Transaction, *, instrument: Instrument | None = None, **changes):
    """Edit a transaction; moving it to another instrument replays both holdings.

    Without `exchange_rate` in the changes the stored rate is kept (a rate typed by hand
    stays when only the date changes), unless the instrument's currency changes; an
    `exchange_rate` of None asks for the rate of the (new) date."""
    if txn.holding_id is None:
        return _update_cash_transaction(txn, instrument, changes)
    if changes.get("type") in CASH_TYPES:
        raise ValidationError(
            {
                "type": gettext(
                    "A trade cannot become a cash transaction (it has an instrument): "
                    "delete it and record the cash transaction on its own."
                )
            },
            code="invalid_choice",
        )
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    new_instrument = instrument or txn.holding.instrument
    changes["exchange_rate"] = _rate_for_change(
        txn.portfolio, new_instrument, changes.get("date", txn.date), changes, txn
    )
    with transaction.atomic():
        portfolio = _lock_portfolio(txn.portfolio_id)
        old_holding = Holding.objects.select_for_update().get(pk=txn.holding_id)
        txn = Transaction.objects.get(pk=txn.pk)
        before = cash.effect(txn.type, txn.total_amount)
        for field, value in changes.items():
            setattr(txn, field, value)
        new_holding = old_holding
        if instrument is not None and instrument.pk != old_holding.instrument_id:
            new_holding = _lock_holding(old_holding.portfolio, instrument)
            txn.holding = new_holding
        _validate_fields(txn)
        txn.save()
        repairs: list[bool] = []
        if new_holding.pk != old_holding.pk:
            _replay_holding(old_holding, repairs=repairs)
        _replay_holding(new_holding, changed=txn, repairs=repairs)
        after = cash.effect(txn.type, txn.total_amount)
        _settle_cash(portfolio, after - before, any(repairs))
        backfill.after_commit(
            new_holding.portfolio, {instrument or new_holding.instrument: txn.date}
        )
    return txn


def _update_cash_transaction(txn: Transaction, instrument, changes: dict) -> Transaction:
    """Edit a cash transaction: its type (another cash type), date, amount or notes. The
    same rules as recording one (a portfolio that tracks cash, the date, the amount)."""
    unknown = set(changes) - set(CASH_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable on a cash transaction: {', '.join(sorted(unknown))}")
    new_type = changes.get("type", txn.type)
    if instrument is not None or new_type not in CASH_TYPES:
        raise ValidationError(
            {
                "type": gettext(
                    "A cash transaction cannot become a trade (it has no instrument): "
                    "delete it and record the trade on its own."
                )
            },
            code="invalid_choice",
        )
    with transaction.atomic():
        portfolio = _lock_portfolio(txn.portfolio_id)
        txn = Transaction.objects.get(pk=txn.pk)
        before = cash.effect(txn.type, txn.total_amount)
        entry = NewTransaction.cash(
            type=new_type,
            date=changes.get("date", txn.date),
            amount=changes.get("amount", txn.total_amount),
            notes=changes.get("notes", txn.notes),
        )
        checked = _cash_transaction(portfolio, entry)
        txn.type, txn.date, txn.notes = checked.type, checked.date, checked.notes
        txn.total_amount = checked.total_amount
        txn.save(update_fields=["type", "date", "notes", "total_amount"])
        versions.bump(versions.portfolio(portfolio.pk))
        _shift_cash(portfolio, cash.effect(txn.type, txn.total_amount) - before)
    return txn


def _rate_for_change(
    portfolio: Portfolio,
    instrument: Instrument,
    day: date,
    changes: dict,
    existing: Transaction | None,
) -> Decimal:
    kind = changes.get("type", existing.type if existing is not None else None)
    if kind == ledger.SPLIT:
        check_entry_date(day)
        check_split(
            changes.get("price", existing.price if existing else ledger.ZERO),
            changes.get("fees", existing.fees if existing else ledger.ZERO),
            changes.get("exchange_rate"),
            changes.get("quantity", existing.quantity if existing else None),
        )
        return ONE
    if "exchange_rate" in changes:
        given = changes["exchange_rate"]
    elif existing is not None and existing.type == ledger.SPLIT:
        given = None  # a split's rate of 1 meant nothing: the new type gets its date's
    elif existing is not None and existing.holding.instrument.currency == instrument.currency:
        given = existing.exchange_rate
    else:
        given = None
    if (
        existing is not None
        and given is not None
        and day != existing.date
        and given == existing.exchange_rate
        and _was_market_rate(existing, instrument, portfolio)
    ):
        # The rate was its old day's market rate (not one typed in): it follows the date.
        given = None
    return exchange_rate_for(portfolio, instrument, day, given)


def _was_market_rate(txn: Transaction, instrument: Instrument, portfolio: Portfolio) -> bool:
    if instrument.currency == portfolio.currency:
        return False
    try:
        return fx.rate(instrument.currency, portfolio.currency, txn.date) == txn.exchange_rate
    except MissingExchangeRate:
        return False


@transaction.atomic
def delete_transaction(txn: Transaction) -> Holding | None:
    """Delete a transaction; returns the replayed holding, or None if it is gone too (or
    it was a cash transaction). The portfolio's cash balance follows."""
    portfolio = _lock_portfolio(txn.portfolio_id)
    rows = Transaction.objects.filter(pk=txn.pk)
    removed = _effects(rows.values_list("type", "total_amount"))
    if txn.holding_id is None:
        rows.delete()
        versions.bump(versions.portfolio(portfolio.pk))
        _shift_cash(portfolio, -removed)
        return None
    holding = Holding.objects.select_for_update().get(pk=txn.holding_id)
    rows.delete()
    repairs: list[bool] = []
    replayed = _replay_holding(holding, repairs=repairs)
    _settle_cash(portfolio, -removed, any(repairs))
    return replayed


@transaction.atomic
def delete_transactions(txns: Iterable[Transaction]) -> None:
    """Delete many transactions at once, replaying each affected holding once: all or
    nothing, so a deletion that would leave a sale oversold removes none of them."""
    ids = [t.pk for t in txns]
    portfolio_ids = set(
        Transaction.objects.filter(pk__in=ids).values_list("portfolio_id", flat=True)
    )
    portfolios = {pk: _lock_portfolio(pk) for pk in sorted(portfolio_ids)}
    # Read again under the locks: the amounts they had when they went.
    rows = list(
        Transaction.objects.filter(pk__in=ids).values_list(
            "holding_id", "portfolio_id", "type", "total_amount"
        )
    )
    moved = dict.fromkeys(portfolios, ledger.ZERO)
    for _, portfolio_id, kind, amount in rows:
        moved[portfolio_id] -= cash.effect(kind, amount)
    holding_ids = {h for h, *_ in rows if h is not None}
    holdings = list(
        Holding.objects.select_for_update().filter(pk__in=holding_ids).select_related("portfolio")
    )
    Transaction.objects.filter(pk__in=ids).delete()
    repaired: set[int] = set()
    for holding in holdings:
        repairs: list[bool] = []
        _replay_holding(holding, repairs=repairs)
        if any(repairs):
            repaired.add(holding.portfolio_id)
    for pk, portfolio in portfolios.items():
        versions.bump(versions.portfolio(pk))
        _settle_cash(portfolio, moved[pk], pk in repaired)


@transaction.atomic
def delete_holding(holding: Holding) -> None:
    portfolio = _lock_portfolio(holding.portfolio_id)
    locked = Holding.objects.select_for_update().filter(pk=holding.pk)
    list(locked)  # the lock, before its amounts are read
    removed = _effects(
        Transaction.objects.filter(holding_id=holding.pk).values_list("type", "total_amount")
    )
    locked.delete()
    versions.bump(versions.portfolio(holding.portfolio_id))
    _shift_cash(portfolio, -removed)


@transaction.atomic
def replay_holdings(holdings: Iterable[Holding]) -> int:
    """Re-derive stored figures from the transactions (admin action, data repair), and
    the cash balance of each portfolio they are in."""
    count = 0
    ids = [h.pk for h in holdings]
    portfolio_ids = set(Holding.objects.filter(pk__in=ids).values_list("portfolio_id", flat=True))
    portfolios = [_lock_portfolio(pk) for pk in sorted(portfolio_ids)]
    for holding in (
        Holding.objects.select_for_update().filter(pk__in=ids).select_related("portfolio")
    ):
        _replay_holding(holding)
        count += 1
    for portfolio in portfolios:
        _store_cash(portfolio)
    return count


@transaction.atomic
def recompute_cash(portfolio: Portfolio) -> Decimal:
    """Re-derive a portfolio's cash balance (admin action, data repair)."""
    locked = _lock_portfolio(portfolio.pk)
    value = _store_cash(locked)
    portfolio.cash_balance = value
    versions.bump(versions.portfolio(portfolio.pk))
    return value


@transaction.atomic
def save_portfolio(portfolio: Portfolio) -> Portfolio:
    """Save a portfolio: a name unique per user (else a ValidationError coded "duplicate",
    which the API answers with 409); a change of dividend treatment re-derives every
    holding."""
    portfolio.name = (portfolio.name or "").strip()
    try:
        check_portfolio_name(portfolio.user_id, portfolio.name, portfolio.pk)
    except ValidationError as exc:
        raise ValidationError({"name": exc}) from None
    previous = previous_cash = None
    if portfolio.pk:
        previous, previous_cash, stored_cash = (
            Portfolio.objects.select_for_update()
            .filter(pk=portfolio.pk)
            .values_list("dividends_reduce_cost_basis", "track_cash", "cash_balance")
            .first()
        ) or (None, None, None)
        if stored_cash is not None:
            # Derived, never the caller's: an instance read before another write must not
            # save its old balance over the stored one.
            portfolio.cash_balance = stored_cash
    portfolio.full_clean()
    try:
        with transaction.atomic():
            portfolio.save()
    except IntegrityError:  # a concurrent request took the name
        raise ValidationError({"name": _portfolio_name_taken(portfolio.name)}) from None
    versions.bump(versions.portfolio(portfolio.pk))
    if previous is not None and previous != portfolio.dividends_reduce_cost_basis:
        replay_holdings(portfolio.holdings.all())
    if previous_cash is not None and previous_cash != portfolio.track_cash:
        # Switched on: the balance of everything recorded so far; off: none is kept (the
        # cash transactions stay, and count again when it is switched back on).
        _store_cash(portfolio)
    return portfolio


def benchmark_instrument(symbol: str | None, field: str = "benchmark") -> Instrument | None:
    """The instrument a benchmark symbol names (a portfolio's or the household's; the
    forms and the API call this before saving), None for a blank one. A symbol the
    provider does not know, or cannot be asked about now, is an error on `field`."""
    symbol = (symbol or "").strip()
    if not symbol:
        return None
    try:
        return history.resolve_instrument(symbol)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from None
    except MarketDataError as exc:
        raise ValidationError(
            {
                field: gettext("%(symbol)s cannot be used as a benchmark: %(reason)s")
                % {"symbol": symbol.upper(), "reason": exc}
            }
        ) from None


def check_portfolio_name(user_id: int, name: str, pk: int | None = None) -> None:
    """A portfolio's name is unique per user (forms call it too, to show it beside the
    other fields' errors)."""
    clash = Portfolio.objects.filter(user_id=user_id, name=name)
    if pk:
        clash = clash.exclude(pk=pk)
    if clash.exists():
        raise _portfolio_name_taken(name)


def _portfolio_name_taken(name: str) -> ValidationError:
    # Coded on the field's error (a dict's own code is dropped): the API answers 409.
    return ValidationError(
        gettext("You already have a portfolio named %(name)r.") % {"name": name}, code="duplicate"
    )


@transaction.atomic
def delete_portfolio(portfolio: Portfolio) -> None:
    """Delete a portfolio with its holdings and transactions."""
    Portfolio.objects.select_for_update().filter(pk=portfolio.pk).delete()
    versions.bump(versions.portfolio(portfolio.pk))


class UndoRefused(ValidationError):
    """An import that cannot be undone: `code` is "already_undone", or "depended_on" when
    a later transaction needs it (the API answers both with 409)."""


def undo_import(batch: ImportBatch) -> int:
    """Undo an import whole: delete every transaction of the batch and replay each holding
    it touched, all or nothing; returns how many transactions went.

    Refused (UndoRefused) when the batch is already undone, or when a transaction recorded
    since depends on it: a later sale that only the imported buys make possible, or a
    dividend on shares only they hold. The message names that transaction. Replaying the
    rest of a holding reproduces exactly the figures it had before the import, since a
    holding's figures are nothing but the replay of its transactions; the cash balance is
    stored again from the transactions left (its cash entries go with the batch).
    """
    with transaction.atomic():
        # The portfolio row first, then the holdings, as every write takes them: its cash
        # balance is stored from all of its transactions.
        portfolio = _lock_portfolio(batch.portfolio_id)
        batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.undone_at is not None:
            when = format_moment(timezone.localtime(batch.undone_at))
            raise UndoRefused(
                gettext("This import was already undone on %(when)s.") % {"when": when},
                code="already_undone",
            )
        txns = Transaction.objects.filter(import_batch=batch)
        holding_ids = set(txns.exclude(holding=None).values_list("holding_id", flat=True))
        holdings = list(
            # Only the holdings are locked, not the instruments they join (shared by all).
            Holding.objects.select_for_update(of=("self",))
            .filter(pk__in=holding_ids)
            .select_related("instrument")
            .order_by("pk")
        )
        batch_ids = set(txns.values_list("pk", flat=True))
        for holding in holdings:
            rest = [entry for entry in _stored(holding.pk)[0] if entry.id not in batch_ids]
            try:
                _replay_or_reject(
                    rest,
                    dividends_reduce_cost_basis=portfolio.dividends_reduce_cost_basis,
                    currency=portfolio.currency,
                )
            except ValidationError as exc:
                later = exc.__cause__.entry
                raise UndoRefused(
                    f"Cannot undo this import: {_describe(later)} of "
                    f"{holding.instrument.ticker} (transaction #{later.id}), recorded outside "
                    f"it, needs the shares it imported. Delete or change that transaction "
                    "first.",
                    code="depended_on",
                ) from exc
        count = Transaction.objects.filter(pk__in=batch_ids).delete()[0]
        for holding in holdings:
            holding.portfolio = portfolio
            _replay_holding(holding)
        versions.bump(versions.portfolio(portfolio.pk))
        if batch.counts.get("started_cash") and not portfolio.transactions.exists():
            # The import switched cash tracking on for an empty portfolio: undone, the
            # portfolio is as it was.
            portfolio.track_cash = False
            Portfolio.objects.filter(pk=portfolio.pk).update(track_cash=False)
        _store_cash(portfolio)
        batch.undone_at = timezone.now()
        batch.save(update_fields=["undone_at"])
    return count


# The years a tax rate may be entered for: the shareholder model began in 2006, and a
# year far ahead is a typo.
FIRST_TAX_YEAR = 2006
LAST_TAX_YEAR = 2100


@transaction.atomic
def save_tax_rate(
    year: int,
    *,
    shielding_rate: Decimal | None,
    tax_multiplier: Decimal | None,
    source: str | None = None,
) -> TaxRate:
    """Create or change one year's Norwegian tax figures (ARCHITECTURE 5d): the admin and
    PUT /api/v1/tax/rates/{year} come here. A rate is a fraction (0.032 for 3.2 %), at most
    1; the factor is above 0 and at most 10; either may be None (missing). Errors name the
    field; nothing is saved then."""
    check_tax_rate(year, shielding_rate, tax_multiplier)
    rate = TaxRate.objects.select_for_update().filter(year=year).first() or TaxRate(year=year)
    rate.shielding_rate = shielding_rate
    rate.tax_multiplier = tax_multiplier
    if source is not None:
        rate.source = source
    rate.full_clean()
    rate.save()
    return rate


def check_tax_rate(year, shielding_rate: Decimal | None, tax_multiplier: Decimal | None) -> None:
    """The rules of save_tax_rate, for forms to show beside their other errors."""
    errors = {}
    if year is None or not FIRST_TAX_YEAR <= year <= LAST_TAX_YEAR:
        errors["year"] = f"Enter a year from {FIRST_TAX_YEAR} to {LAST_TAX_YEAR}."
    if shielding_rate is not None and not Decimal(0) <= shielding_rate <= 1:
        errors["shielding_rate"] = "Enter the rate as a fraction from 0 to 1 (0.032 for 3.2 %)."
    if tax_multiplier is not None and not Decimal(0) < tax_multiplier <= 10:
        errors["tax_multiplier"] = "Enter a factor above 0 and at most 10 (e.g. 1.72)."
    if errors:
        raise ValidationError(errors)
