"""Writes to the ledger: every path in (views, API, admin, importers, tasks) comes here.

Each change is one database transaction that locks the holding row, replays all of the
holding's transactions through portfolios.ledger and stores the results. A change that
would oversell at any point is rejected whole with a ValidationError naming the offending
transaction, and nothing is saved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from financedash import versions
from financedash.money import MONEY, PRICE, QUANTITY
from marketdata.models import Instrument
from portfolios import backfill, ledger
from portfolios.models import Holding, Portfolio, Transaction

# Fields a caller may set on a transaction; the rest is derived.
EDITABLE_FIELDS = ("type", "date", "quantity", "price", "fees", "exchange_rate", "notes")
_DERIVED = ("holding", "portfolio", "total_amount", "average_cost_at_transaction")


def _quantum(shape: dict) -> Decimal:
    return Decimal(1).scaleb(-shape["decimal_places"])


def _store(value: Decimal, shape: dict) -> Decimal:
    return value.quantize(_quantum(shape))


def entry_for(txn: Transaction) -> ledger.Entry:
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
    return f"the {entry.type.lower()} of {entry.quantity.normalize():f} on {entry.date.isoformat()}"


def replay_or_reject(
    entries: Iterable[ledger.Entry], *, dividends_reduce_cost_basis: bool, changed_id=None
) -> ledger.Replay:
    """Replay, turning an oversell into a ValidationError on the `quantity` field."""
    try:
        return ledger.replay(entries, dividends_reduce_cost_basis=dividends_reduce_cost_basis)
    except ledger.OversellError as exc:
        held = f"{exc.held.normalize():f}"
        if exc.entry.id is not None and exc.entry.id != changed_id:
            message = (
                f"This change would make a later sale oversell: {_describe(exc.entry)} "
                f"(transaction #{exc.entry.id}) would exceed the {held} shares held then."
            )
        else:
            message = (
                f"Cannot sell {exc.entry.quantity.normalize():f} shares on "
                f"{exc.entry.date.isoformat()}: only {held} held at that date."
            )
        raise ValidationError({"quantity": message}, code="oversell") from exc


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
    """
    reduce = change.portfolio.dividends_reduce_cost_basis
    existing = change.existing
    if existing is not None and existing.holding.instrument_id != change.instrument.pk:
        # Moving it to another instrument: its old holding must still balance without it.
        replay_or_reject(
            [entry_for(t) for t in existing.holding.transactions.exclude(pk=existing.pk)],
            dividends_reduce_cost_basis=reduce,
        )
    holding = Holding.objects.filter(
        portfolio=change.portfolio, instrument=change.instrument
    ).first()
    others = []
    if holding is not None:
        others = [
            entry_for(t)
            for t in holding.transactions.all()
            if change.existing is None or t.pk != change.existing.pk
        ]
    proposed = ledger.Entry(
        id=change.existing.pk if change.existing else None,
        type=change.values["type"],
        date=change.values["date"],
        quantity=change.values["quantity"],
        price=change.values["price"],
        fees=change.values.get("fees") or ledger.ZERO,
        exchange_rate=change.values.get("exchange_rate") or Decimal(1),
    )
    return replay_or_reject(
        [*others, proposed], dividends_reduce_cost_basis=reduce, changed_id=proposed.id
    )


def lock_holding(portfolio: Portfolio, instrument: Instrument) -> Holding:
    holding, _ = Holding.objects.select_for_update().get_or_create(
        portfolio=portfolio, instrument=instrument
    )
    holding.portfolio = portfolio  # the replay reads its dividend rule
    return holding


def validate_transaction_fields(txn: Transaction) -> None:
    txn.full_clean(exclude=_DERIVED, validate_unique=False, validate_constraints=False)


def replay_holding(holding: Holding, *, changed: Transaction | None = None) -> Holding | None:
    """Replay a (locked) holding and store the result; delete it when nothing is left.
    `changed`, the transaction just written, gets its derived figures set in place."""
    versions.bump(versions.portfolio(holding.portfolio_id))
    txns = [
        changed if changed is not None and t.pk == changed.pk else t
        for t in holding.transactions.order_by("date", "id")
    ]
    changed_id = changed.pk if changed is not None else None
    if not txns:
        holding.delete()
        return None
    result = replay_or_reject(
        [entry_for(t) for t in txns],
        dividends_reduce_cost_basis=holding.portfolio.dividends_reduce_cost_basis,
        changed_id=changed_id,
    )
    for txn, applied in zip(txns, result.applied, strict=True):
        txn.total_amount = _store(applied.total_amount, MONEY)
        txn.average_cost_at_transaction = _store(applied.average_cost_at_transaction, PRICE)
    Transaction.objects.bulk_update(txns, ["total_amount", "average_cost_at_transaction"])
    state = result.state
    holding.quantity = _store(state.quantity, QUANTITY)
    holding.average_cost = _store(state.average_cost, PRICE)
    holding.total_cost = _store(state.total_cost, MONEY)
    holding.realized_gain = _store(state.realized_gain, MONEY)
    holding.dividends = _store(state.dividends, MONEY)
    holding.fees = _store(state.fees, MONEY)
    holding.save()
    return holding


@transaction.atomic
def record_transaction(
    *,
    portfolio: Portfolio,
    instrument: Instrument,
    type: str,
    date: date,
    quantity: Decimal,
    price: Decimal,
    fees: Decimal = ledger.ZERO,
    exchange_rate: Decimal = Decimal(1),
    notes: str = "",
    import_key: str | None = None,
) -> Transaction:
    holding = lock_holding(portfolio, instrument)
    txn = Transaction(
        holding=holding,
        portfolio=portfolio,
        type=type,
        date=date,
        quantity=quantity,
        price=price,
        fees=fees,
        exchange_rate=exchange_rate,
        notes=notes,
        import_key=import_key,
    )
    validate_transaction_fields(txn)
    txn.save()
    replay_holding(holding, changed=txn)
    backfill.after_commit(portfolio, {instrument: date})
    return txn


@transaction.atomic
def update_transaction(txn: Transaction, *, instrument: Instrument | None = None, **changes):
    """Edit a transaction; moving it to another instrument replays both holdings."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    old_holding = Holding.objects.select_for_update().get(pk=txn.holding_id)
    txn = Transaction.objects.get(pk=txn.pk)
    for field, value in changes.items():
        setattr(txn, field, value)
    new_holding = old_holding
    if instrument is not None and instrument.pk != old_holding.instrument_id:
        new_holding = lock_holding(old_holding.portfolio, instrument)
        txn.holding = new_holding
    validate_transaction_fields(txn)
    txn.save()
    if new_holding.pk != old_holding.pk:
        replay_holding(old_holding)
    replay_holding(new_holding, changed=txn)
    backfill.after_commit(new_holding.portfolio, {instrument or new_holding.instrument: txn.date})
    return txn


@transaction.atomic
def delete_transaction(txn: Transaction) -> Holding | None:
    """Delete a transaction; returns the replayed holding, or None if it is gone too."""
    holding = Holding.objects.select_for_update().get(pk=txn.holding_id)
    Transaction.objects.filter(pk=txn.pk).delete()
    return replay_holding(holding)


@transaction.atomic
def delete_transactions(txns: Iterable[Transaction]) -> None:
    """Delete many transactions at once, replaying each affected holding once: all or
    nothing, so a deletion that would leave a sale oversold removes none of them."""
    ids = [t.pk for t in txns]
    holding_ids = set(Transaction.objects.filter(pk__in=ids).values_list("holding_id", flat=True))
    holdings = list(
        Holding.objects.select_for_update().filter(pk__in=holding_ids).select_related("portfolio")
    )
    Transaction.objects.filter(pk__in=ids).delete()
    for holding in holdings:
        replay_holding(holding)


@transaction.atomic
def delete_holding(holding: Holding) -> None:
    Holding.objects.select_for_update().filter(pk=holding.pk).delete()
    versions.bump(versions.portfolio(holding.portfolio_id))


@transaction.atomic
def replay_holdings(holdings: Iterable[Holding]) -> int:
    """Re-derive stored figures from the transactions (admin action, data repair)."""
    count = 0
    for holding in (
        Holding.objects.select_for_update()
        .filter(pk__in=[h.pk for h in holdings])
        .select_related("portfolio")
    ):
        replay_holding(holding)
        count += 1
    return count


@transaction.atomic
def save_portfolio(portfolio: Portfolio) -> Portfolio:
    """Save a portfolio; a change of dividend treatment re-derives every holding."""
    previous = None
    if portfolio.pk:
        previous = (
            Portfolio.objects.select_for_update()
            .filter(pk=portfolio.pk)
            .values_list("dividends_reduce_cost_basis", flat=True)
            .first()
        )
    portfolio.full_clean()
    portfolio.save()
    versions.bump(versions.portfolio(portfolio.pk))
    if previous is not None and previous != portfolio.dividends_reduce_cost_basis:
        replay_holdings(portfolio.holdings.all())
    return portfolio


@transaction.atomic
def delete_portfolio(portfolio: Portfolio) -> None:
    """Delete a portfolio with its holdings and transactions."""
    Portfolio.objects.select_for_update().filter(pk=portfolio.pk).delete()
    versions.bump(versions.portfolio(portfolio.pk))
