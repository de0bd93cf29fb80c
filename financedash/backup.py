"""A user's whole data as one JSON document, and back (issue 11; ARCHITECTURE section 7).

The document holds what the user entered, never what is derived from it: the profile,
each portfolio with every field and every transaction as entered (the derived figures,
holdings and cash balance are the services' replay on restore), its import batches, and the
pension accounts with their values. Instruments are referenced by symbol and currency, as
an import names them: market data belongs to the installation, not to a user.

Restoring goes through the same services as every other write (portfolios.services,
pensions.services), into an account without portfolios, all of it or nothing. A refusal
names the path of each bad value, e.g. `portfolios[0].transactions[12].quantity`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils import timezone
from rest_framework import serializers

from financedash.lib.errors import AppError
from financedash.lib.money import ENTERED_MONEY
from financedash.lib.profiles import profile_for
from financedash.models import Profile
from marketdata import history
from marketdata.models import HistoricalExchangeRate, Instrument
from marketdata.providers.base import MarketDataError
from pensions import services as pension_services
from pensions.models import PensionAccount
from pensions.paste import Row
from portfolios import services
from portfolios.models import CASH_TYPES, ImportBatch, Portfolio, Transaction

FORMAT = "financedash-backup"
VERSION = 1
# The largest backup file the pages and the API take: a household's ten years of
# transactions are a few MB of JSON.
MAX_BYTES = 50 * 1024 * 1024


class BackupInvalid(AppError):
    """A document that cannot be restored: `errors` maps each bad value's path to why."""

    status_code = 400
    error_code = "invalid_backup"

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        path, messages = next(iter(errors.items()))
        where = f"{path}: " if path else ""
        super().__init__(f"Nothing was restored: {where}{messages[0]}")

    def details(self) -> dict:
        return self.errors


class AccountNotEmpty(AppError):
    status_code = 409
    error_code = "account_not_empty"

    def __init__(self):
        super().__init__(
            "A backup is restored only into an account without portfolios: "
            "delete them first, or restore into a new account."
        )


# -- writing a backup -----------------------------------------------------------------------


def _number(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.normalize():f}"


def _moment(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def dump(user) -> dict:
    """The user's data as a JSON-ready dict: strings for every Decimal (exact), ISO dates."""
    profile = profile_for(user)
    portfolios = []
    for portfolio in Portfolio.objects.owned_by(user).order_by("name"):
        batches = list(portfolio.import_batches.order_by("created_at", "id"))
        batch_ref = {batch.pk: n for n, batch in enumerate(batches)}
        txns = portfolio.transactions.select_related("holding__instrument").order_by("date", "id")
        portfolios.append(
            {
                "name": portfolio.name,
                "description": portfolio.description,
                "brokerage_firm": portfolio.brokerage_firm,
                "currency": portfolio.currency,
                "kind": portfolio.kind,
                "track_cash": portfolio.track_cash,
                "used_credit": _number(portfolio.used_credit),
                "dividends_reduce_cost_basis": portfolio.dividends_reduce_cost_basis,
                "benchmark": _benchmark_out(portfolio),
                "import_batches": [
                    {
                        "file_name": batch.file_name,
                        "format": batch.format,
                        "created_at": _moment(batch.created_at),
                        "counts": batch.counts,
                        "undone_at": _moment(batch.undone_at),
                    }
                    for batch in batches
                ],
                "transactions": [_transaction(txn, batch_ref) for txn in txns],
            }
        )
    accounts = []
    for account in PensionAccount.objects.owned_by(user).order_by("name"):
        accounts.append(
            {
                "name": account.name,
                "currency": account.currency,
                "kind": account.kind,
                "ynab_account_id": account.ynab_account_id,
                "values": [
                    {
                        "date": entry.date.isoformat(),
                        "value": _number(entry.value),
                        "contribution": _number(entry.contribution),
                    }
                    for entry in account.values.order_by("date")
                ],
            }
        )
    return {
        "format": FORMAT,
        "version": VERSION,
        "created_at": timezone.now().isoformat(),
        "profile": {
            "base_currency": profile.base_currency,
            "retirement_goal_amount": _number(profile.retirement_goal_amount),
            "retirement_goal_year": profile.retirement_goal_year,
            "ynab_budget_id": profile.ynab_budget_id,
            "dividends_reduce_cost_basis": profile.dividends_reduce_cost_basis,
            "benchmark": _benchmark_out(profile),
        },
        "portfolios": portfolios,
        "pension_accounts": accounts,
        "market_data": _market_data(user, profile.base_currency),
    }


def _benchmark_out(owner) -> str | None:
    return owner.benchmark.ticker if owner.benchmark_id else None


def _benchmark_in(symbol: str | None):
    """The instrument of a backed-up benchmark; one the market data cannot tell now is
    left out (a chart preference, not worth refusing the whole restore for)."""
    try:
        return services.benchmark_instrument(symbol)
    except ValidationError:
        return None


def _market_data(user, base_currency: str) -> dict:
    """The closes of the user's instruments and the rates between the currencies they use:
    shared data, carried so that a restore into a fresh installation (one without the
    provider, or with prices entered by hand) values everything as before."""
    instruments = Instrument.objects.filter(holdings__portfolio__user=user).distinct()
    closes = []
    for instrument in instruments.order_by("ticker"):
        rows = instrument.prices.order_by("date").values_list("date", "close")
        closes.append(
            {
                "symbol": instrument.ticker,
                "currency": instrument.currency,
                "prices": [[day.isoformat(), _number(close)] for day, close in rows],
            }
        )
    currencies = {base_currency, *(i.currency for i in instruments)}
    currencies |= set(Portfolio.objects.owned_by(user).values_list("currency", flat=True))
    currencies |= set(PensionAccount.objects.owned_by(user).values_list("currency", flat=True))
    pairs: dict[tuple[str, str], list] = {}
    stored = (
        HistoricalExchangeRate.objects.filter(
            base_currency__in=currencies, target_currency__in=currencies
        )
        .order_by("base_currency", "target_currency", "date")
        .values_list("base_currency", "target_currency", "date", "rate")
    )
    for base, target, day, rate in stored:
        pairs.setdefault((base, target), []).append([day.isoformat(), _number(rate)])
    rates = [{"base": b, "target": t, "rates": rows} for (b, t), rows in pairs.items()]
    return {"closes": closes, "rates": rates}


def _transaction(txn: Transaction, batch_ref: dict[int, int]) -> dict:
    entry = {"type": txn.type, "date": txn.date.isoformat()}
    if txn.type in CASH_TYPES:
        # The amount entered is stored as the total: for cash, not derived.
        entry["amount"] = _number(txn.total_amount)
    else:
        instrument = txn.holding.instrument
        entry.update(
            symbol=instrument.ticker,
            currency=instrument.currency,
            quantity=_number(txn.quantity),
            price=_number(txn.price),
            fees=_number(txn.fees),
            exchange_rate=_number(txn.exchange_rate),
        )
    entry.update(
        notes=txn.notes,
        import_key=txn.import_key,
        import_batch=batch_ref.get(txn.import_batch_id),
    )
    return entry


# -- reading one ---------------------------------------------------------------------------

# Every number is read as the exact decimal it is written as; the services check ranges.
# Free text is kept as written (DRF would trim it).
_DECIMAL = {"max_digits": None, "decimal_places": None}


class _ProfileIn(serializers.Serializer):
    base_currency = serializers.RegexField(r"^[A-Z]{3}$")
    retirement_goal_amount = serializers.DecimalField(**_DECIMAL, allow_null=True, default=None)
    retirement_goal_year = serializers.IntegerField(allow_null=True, default=None)
    ynab_budget_id = serializers.CharField(allow_null=True, allow_blank=True, default=None)
    dividends_reduce_cost_basis = serializers.BooleanField(default=True)
    benchmark = serializers.CharField(allow_null=True, allow_blank=True, default=None)


class _TransactionIn(serializers.Serializer):
    type = serializers.ChoiceField(choices=Transaction.Type.values)
    date = serializers.DateField()
    symbol = serializers.CharField(required=False)
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False)
    quantity = serializers.DecimalField(**_DECIMAL, required=False)
    price = serializers.DecimalField(**_DECIMAL, required=False)
    fees = serializers.DecimalField(**_DECIMAL, default=Decimal(0))
    exchange_rate = serializers.DecimalField(**_DECIMAL, required=False)
    amount = serializers.DecimalField(**_DECIMAL, required=False)
    notes = serializers.CharField(allow_blank=True, default="", trim_whitespace=False)
    import_key = serializers.CharField(allow_null=True, default=None, max_length=128)
    import_batch = serializers.IntegerField(allow_null=True, default=None, min_value=0)

    def validate(self, attrs):
        if attrs["type"] in CASH_TYPES:
            needed = ("amount",)
        else:
            needed = ("symbol", "currency", "quantity", "price", "exchange_rate")
        missing = {name: "This field is required." for name in needed if name not in attrs}
        if missing:
            raise serializers.ValidationError(missing)
        return attrs


class _BatchIn(serializers.Serializer):
    file_name = serializers.CharField(max_length=255)
    format = serializers.CharField(max_length=16)
    created_at = serializers.DateTimeField()
    counts = serializers.DictField(default=dict)
    undone_at = serializers.DateTimeField(allow_null=True, default=None)


class _PortfolioIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(allow_blank=True, default="", trim_whitespace=False)
    brokerage_firm = serializers.CharField(
        allow_blank=True, default="", max_length=100, trim_whitespace=False
    )
    currency = serializers.RegexField(r"^[A-Z]{3}$")
    kind = serializers.ChoiceField(choices=Portfolio.Kind.values, default=Portfolio.Kind.ORDINARY)
    track_cash = serializers.BooleanField(default=False)
    used_credit = serializers.DecimalField(**_DECIMAL, default=Decimal(0))
    dividends_reduce_cost_basis = serializers.BooleanField(default=True)
    benchmark = serializers.CharField(allow_null=True, allow_blank=True, default=None)
    import_batches = _BatchIn(many=True, default=list)
    transactions = _TransactionIn(many=True, default=list)

    def validate(self, attrs):
        count = len(attrs["import_batches"])
        errors = {}
        keys: dict[str, int] = {}
        for n, txn in enumerate(attrs["transactions"]):
            if txn["import_batch"] is not None and txn["import_batch"] >= count:
                errors[f"transactions[{n}].import_batch"] = (
                    f"No import batch {txn['import_batch']}: the portfolio has {count}."
                )
            key = txn["import_key"]
            if key is not None and key in keys:
                # Unique per portfolio in the database: refused here, by path, not there.
                errors[f"transactions[{n}].import_key"] = (
                    f"The same import key as transactions[{keys[key]}]."
                )
            elif key is not None:
                keys[key] = n
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class _ValueIn(serializers.Serializer):
    # The pension services check dates and signs; the column's shape is checked here.
    date = serializers.DateField()
    value = serializers.DecimalField(**ENTERED_MONEY)
    contribution = serializers.DecimalField(**ENTERED_MONEY, allow_null=True, default=None)


class _PensionAccountIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    currency = serializers.RegexField(r"^[A-Z]{3}$")
    kind = serializers.ChoiceField(
        choices=PensionAccount.Kind.values, default=PensionAccount.Kind.OTHER
    )
    ynab_account_id = serializers.CharField(allow_null=True, allow_blank=True, default=None)
    values = _ValueIn(many=True, default=list)


class _BackupIn(serializers.Serializer):
    format = serializers.CharField()
    version = serializers.IntegerField()
    profile = _ProfileIn(required=False)
    portfolios = _PortfolioIn(many=True, default=list)
    pension_accounts = _PensionAccountIn(many=True, default=list)
    # Checked row by row when restored (history.clean_rows names each bad one).
    market_data = serializers.DictField(required=False)

    def validate_format(self, value):
        if value != FORMAT:
            raise serializers.ValidationError(f"Not a financedash backup (format {FORMAT!r}).")
        return value

    def validate_version(self, value):
        if value != VERSION:
            raise serializers.ValidationError(
                f"This is a version {value} backup; this installation reads version {VERSION}."
            )
        return value


def _paths(errors) -> dict[str, list[str]]:
    """DRF's nested errors as {"portfolios[0].transactions[3].quantity": [messages]}."""
    found: dict[str, list[str]] = {}

    def walk(node, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("non_field_errors", NON_FIELD_ERRORS):
                    walk(value, path)
                elif isinstance(key, int):  # a list's errors by index (DRF >= 3.15)
                    walk(value, f"{path}[{key}]")
                else:
                    walk(value, f"{path}.{key}" if path else key)
        elif isinstance(node, list) and not all(isinstance(item, str) for item in node):
            for n, item in enumerate(node):
                if item:  # a valid item of a list has no errors: {}
                    walk(item, f"{path}[{n}]")
        else:
            found.setdefault(path, []).extend(
                str(item) for item in (node if isinstance(node, list) else [node])
            )

    walk(errors, "")
    return found


def _service_errors(exc: ValidationError, prefix: str) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {
            prefix if name == NON_FIELD_ERRORS else f"{prefix}.{name}": messages
            for name, messages in exc.message_dict.items()
        }
    return {prefix: exc.messages}


def parse(data) -> dict:
    """The document checked field by field (BackupInvalid naming every bad path)."""
    if not isinstance(data, dict):
        raise BackupInvalid({"": ["A backup is a JSON object."]})
    document = _BackupIn(data=data)
    if not document.is_valid():
        raise BackupInvalid(_paths(document.errors))
    return document.validated_data


# -- restoring -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Restored:
    portfolios: int
    transactions: int
    import_batches: int
    pension_accounts: int
    pension_values: int
    closes: int = 0
    rates: int = 0
    # Shared market data is restored by staff (and the operator's command) only: a user's
    # file must not put prices in front of everyone else.
    market_data_skipped: bool = False


def restore(user, data, *, trusted: bool = False) -> Restored:
    """Restore a backup into `user`'s account, which must have no portfolios
    (AccountNotEmpty): all of it or nothing (BackupInvalid names every bad path).

    Instruments are looked up first, outside the database transaction (the provider may be
    asked; no lock should wait on it). `trusted` (the operator's import_data command) may
    create an instrument from the backup's currency while the provider is unavailable.
    """
    document = parse(data)
    if has_portfolios(user):
        raise AccountNotEmpty()
    instruments = _instruments(document, trusted)
    errors: dict[str, list[str]] = {}
    profile = profile_for(user)
    with transaction.atomic():
        # The profile row is the account's lock: a second restore of the same account
        # waits here, then finds the portfolios the first one wrote.
        Profile.objects.select_for_update().filter(pk=profile.pk).first()
        if has_portfolios(user):
            raise AccountNotEmpty()
        if "profile" in document:
            errors.update(_restore_profile(user, document["profile"]))
        counts = {"transactions": 0, "import_batches": 0, "values": 0, "closes": 0, "rates": 0}
        market = document.get("market_data") or {}
        skipped = bool(market) and not (trusted or user.is_staff)
        if market and not skipped:
            errors.update(_restore_market_data(market, counts))
        for n, entry in enumerate(document["portfolios"]):
            errors.update(_restore_portfolio(user, entry, f"portfolios[{n}]", instruments, counts))
        for n, entry in enumerate(document["pension_accounts"]):
            errors.update(_restore_account(user, entry, f"pension_accounts[{n}]", counts))
        if errors:
            transaction.set_rollback(True)
    if errors:
        raise BackupInvalid(errors)
    return Restored(
        portfolios=len(document["portfolios"]),
        transactions=counts["transactions"],
        import_batches=counts["import_batches"],
        pension_accounts=len(document["pension_accounts"]),
        pension_values=counts["values"],
        closes=counts["closes"],
        rates=counts["rates"],
        market_data_skipped=skipped,
    )


def _restore_market_data(market: dict, counts: dict) -> dict[str, list[str]]:
    """Closes and rates the database lacks (never overwriting what it has)."""
    errors: dict[str, list[str]] = {}
    for n, entry in enumerate(market.get("closes") or []):
        path = f"market_data.closes[{n}]"
        try:
            if not isinstance(entry, dict):
                raise ValidationError({"prices": "Expected {symbol, currency, prices}."})
            counts["closes"] += history.store_prices(
                str(entry.get("symbol", "")),
                entry.get("currency"),
                entry.get("prices") or [],
                only_missing=True,
            )
        except ValidationError as exc:
            errors.update(_service_errors(exc, path))
    for n, entry in enumerate(market.get("rates") or []):
        path = f"market_data.rates[{n}]"
        try:
            if not isinstance(entry, dict):
                raise ValidationError({"rates": "Expected {base, target, rates}."})
            counts["rates"] += history.store_rates(
                str(entry.get("base", "")),
                str(entry.get("target", "")),
                entry.get("rates") or [],
                only_missing=True,
            )
        except ValidationError as exc:
            errors.update(_service_errors(exc, path))
    return errors


def _instruments(document: dict, trusted: bool) -> dict:
    """(symbol, currency) -> Instrument, or BackupInvalid naming the first transaction of
    each symbol that cannot be placed."""
    found, errors = {}, {}
    for p, portfolio in enumerate(document["portfolios"]):
        for t, txn in enumerate(portfolio["transactions"]):
            if txn["type"] in CASH_TYPES:
                continue
            key = (txn["symbol"], txn["currency"])
            if key in found:
                continue
            path = f"portfolios[{p}].transactions[{t}]"
            try:
                found[key] = history.resolve_instrument(*key, trusted=trusted)
            except ValidationError as exc:
                errors.update(_service_errors(exc, path))
            except MarketDataError as exc:
                errors[f"{path}.symbol"] = [str(exc)]
            if key not in found:
                found[key] = None  # reported once
    if errors:
        raise BackupInvalid(errors)
    return found


def _restore_profile(user, values: dict) -> dict[str, list[str]]:
    profile = profile_for(user)
    values = dict(values)
    profile.benchmark = _benchmark_in(values.pop("benchmark", None))
    for name, value in values.items():
        setattr(profile, name, value)
    profile.ynab_budget_id = (profile.ynab_budget_id or "").strip() or None
    try:
        profile.full_clean(exclude=["user"])
    except ValidationError as exc:
        return _service_errors(exc, "profile")
    profile.save()
    return {}


def _restore_portfolio(user, entry: dict, path: str, instruments: dict, counts: dict) -> dict:
    portfolio = Portfolio(
        user=user,
        **{
            name: entry[name]
            for name in (
                "name",
                "description",
                "brokerage_firm",
                "currency",
                "kind",
                "track_cash",
                "used_credit",
                "dividends_reduce_cost_basis",
            )
        },
        benchmark=_benchmark_in(entry["benchmark"]),
    )
    try:
        services.save_portfolio(portfolio)
    except ValidationError as exc:
        return _service_errors(exc, path)
    errors = {}
    new, positions = [], []
    for n, txn in enumerate(entry["transactions"]):
        if txn["type"] in CASH_TYPES:
            new.append(
                services.NewTransaction.cash(
                    type=txn["type"],
                    date=txn["date"],
                    amount=txn["amount"],
                    notes=txn["notes"],
                    import_key=txn["import_key"],
                )
            )
            positions.append(n)
            continue
        new.append(
            services.NewTransaction(
                instrument=instruments[(txn["symbol"], txn["currency"])],
                type=txn["type"],
                date=txn["date"],
                quantity=txn["quantity"],
                price=txn["price"],
                fees=txn["fees"],
                exchange_rate=txn["exchange_rate"],
                notes=txn["notes"],
                import_key=txn["import_key"],
            )
        )
        positions.append(n)
    if errors:
        return errors
    try:
        # One batch per portfolio: every holding replayed once, as an import is.
        created = services.record_transactions(portfolio, new)
    except services.Rejected as rejected:
        for index, exc in rejected.errors.items():
            errors.update(_service_errors(exc, f"{path}.transactions[{positions[index]}]"))
        return errors
    counts["transactions"] += len(created)
    batches = [
        ImportBatch.objects.create(
            user=user,
            portfolio=portfolio,
            file_name=batch["file_name"],
            format=batch["format"],
            counts=batch["counts"],
            undone_at=batch["undone_at"],
        )
        for batch in entry["import_batches"]
    ]
    for batch, values in zip(batches, entry["import_batches"], strict=True):
        # created_at is set on insert (auto_now_add): the original time is written after.
        ImportBatch.objects.filter(pk=batch.pk).update(created_at=values["created_at"])
    for n, batch in enumerate(batches):
        ids = [
            txn.pk
            for txn, position in zip(created, positions, strict=True)
            if entry["transactions"][position]["import_batch"] == n
        ]
        Transaction.objects.filter(pk__in=ids).update(import_batch=batch)
    counts["import_batches"] += len(batches)
    return {}


def _restore_account(user, entry: dict, path: str, counts: dict) -> dict:
    account = PensionAccount(
        user=user,
        name=entry["name"],
        currency=entry["currency"],
        kind=entry["kind"],
        ynab_account_id=entry["ynab_account_id"],
    )
    try:
        pension_services.save_account(account)
    except ValidationError as exc:
        return _service_errors(exc, path)
    rows = [
        Row(
            line=n,
            text="",
            date=value["date"],
            value=value["value"],
            contribution=value["contribution"],
        )
        for n, value in enumerate(entry["values"])
    ]
    try:
        pension_services.record_values(account, rows)
    except pension_services.ValuesRefused as refused:
        return {f"{path}.values[{error.line}]": [error.reason] for error in refused.errors}
    counts["values"] += len(rows)
    return {}


def has_portfolios(user) -> bool:
    return Portfolio.objects.owned_by(user).exists()
