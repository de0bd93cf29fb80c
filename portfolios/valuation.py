"""Live valuation of portfolios: the read path behind the holdings table, the API and the
dashboard. One query for holdings, one batched quote call, one batched FX lookup, however
many holdings there are; the arithmetic is portfolios.ledger's.

No stored row can fail a page: a holding whose figures cannot be computed (a stored amount
outside its column's shape, an arithmetic error) gets an `error` on its row, and the
totals leave it out and say so, as they do for a holding without a price."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Prefetch, prefetch_related_objects

from financedash.lib.money import MONEY, QUANTITY
from marketdata import fx, quotes, refresh
from portfolios import ledger
from portfolios.models import Holding, Portfolio

HUNDRED = Decimal(100)


@dataclass
class HoldingRow:
    id: int
    instrument_id: int
    symbol: str
    company_name: str
    quantity: Decimal
    average_cost: Decimal
    total_cost: Decimal
    realized_gain: Decimal
    dividends: Decimal
    price_currency: str
    current_price: Decimal | None = None
    price_as_of: datetime | None = None
    price_is_stale: bool = False
    fx_rate: Decimal | None = None
    current_value: Decimal | None = None
    unrealized_gain_loss: Decimal | None = None
    unrealized_gain_loss_percent: Decimal | None = None
    allocation_percent: Decimal | None = None
    error: str | None = None  # why the figures could not be computed; then left out
    instrument_currency: str = ""  # what fx_rate converts from (a quote may be in GBp)
    dividends_reduce_cost_basis: bool = True  # the portfolio's rule

    @property
    def total_return(self) -> Decimal | None:
        """As PortfolioSummary.total_return, for one holding; None without a value."""
        if self.unrealized_gain_loss is None:
            return None
        extra = ledger.ZERO if self.dividends_reduce_cost_basis else self.dividends
        return self.unrealized_gain_loss + self.realized_gain + extra


@dataclass
class PortfolioSummary:
    portfolio: Portfolio
    holdings: list[HoldingRow] = field(default_factory=list)
    total_value: Decimal = ledger.ZERO
    total_cost: Decimal = ledger.ZERO
    total_gain_loss: Decimal = ledger.ZERO
    total_gain_loss_percent: Decimal | None = None
    realized_gain: Decimal = ledger.ZERO
    dividends: Decimal = ledger.ZERO
    net_value: Decimal = ledger.ZERO
    # The holdings alone; total_value adds the cash balance when the portfolio tracks cash.
    holdings_value: Decimal = ledger.ZERO
    cash_balance: Decimal = ledger.ZERO
    cash_allocation_percent: Decimal | None = None
    prices_as_of: datetime | None = None
    missing_prices: int = 0
    errors: int = 0  # holdings whose figures could not be computed (HoldingRow.error)

    # Serializers and templates read the portfolio's own fields off the summary.
    id = property(lambda self: self.portfolio.pk)
    name = property(lambda self: self.portfolio.name)
    description = property(lambda self: self.portfolio.description)
    brokerage_firm = property(lambda self: self.portfolio.brokerage_firm)
    currency = property(lambda self: self.portfolio.currency)
    used_credit = property(lambda self: self.portfolio.used_credit)
    dividends_reduce_cost_basis = property(lambda self: self.portfolio.dividends_reduce_cost_basis)
    kind = property(lambda self: self.portfolio.kind)
    track_cash = property(lambda self: self.portfolio.track_cash)

    @property
    def credit_in_use(self) -> bool:
        """A negative cash balance: the account is borrowing."""
        return self.cash_balance < 0

    @property
    def total_return(self) -> Decimal:
        """Unrealized + realized, + dividends only when they do not reduce the cost basis:
        when they do, each one already lowered the cost (so raised the unrealized gain)
        or, past the cost, went into the realized gain."""
        extra = ledger.ZERO if self.portfolio.dividends_reduce_cost_basis else self.dividends
        return self.total_gain_loss + self.realized_gain + extra


def _holdings_prefetch() -> Prefetch:
    return Prefetch(
        "holdings",
        queryset=Holding.objects.select_related("instrument").order_by("instrument__ticker"),
    )


def summarize(portfolios: Iterable[Portfolio]) -> list[PortfolioSummary]:
    portfolios = list(portfolios)
    for portfolio in portfolios:
        # Always fresh holdings: an instance may carry a prefetch from before a write.
        getattr(portfolio, "_prefetched_objects_cache", {}).pop("holdings", None)
    prefetch_related_objects(portfolios, _holdings_prefetch())
    held = [(h, p) for p in portfolios for h in p.holdings.all() if h.quantity]
    symbols = sorted({h.instrument.ticker for h, _ in held})
    prices = quotes.get_quotes_lenient(symbols) if symbols else {}
    # Sold-out holdings are worth zero whatever the rate: they need no quote and no FX.
    pairs = {(h.instrument.currency, p.currency) for h, p in held}
    rates = fx.latest_rates(pairs)
    missing = {pair for pair in pairs if pair not in rates}
    if missing and refresh.fetch_missing_rates(missing):
        rates = fx.latest_rates(pairs)
    return [_summarize_one(p, prices, rates) for p in portfolios]


def _limit(shape: dict) -> Decimal:
    """The first magnitude a column of this shape cannot hold."""
    return Decimal(10) ** (shape["max_digits"] - shape["decimal_places"])


_STORED_SHAPES = (
    ("quantity", QUANTITY),
    ("total_cost", MONEY),
    ("realized_gain", MONEY),
    ("dividends", MONEY),
)


def out_of_shape(holding: Holding) -> str | None:
    """Which stored figure of the holding does not fit its column, if any: SQLite keeps
    such a value (as a float) where PostgreSQL would have refused it."""
    for name, shape in _STORED_SHAPES:
        value = getattr(holding, name)
        if not value.is_finite() or abs(value) >= _limit(shape):
            label = name.replace("_", " ")
            return (
                f"The stored {label} ({value}) is out of range: correct or delete this "
                "holding's transactions."
            )
    return None


def _row(holding: Holding, portfolio: Portfolio, prices: dict, rates: dict) -> HoldingRow:
    instrument = holding.instrument
    row = HoldingRow(
        id=holding.pk,
        instrument_id=instrument.pk,
        symbol=instrument.ticker,
        company_name=instrument.company_name,
        quantity=holding.quantity,
        average_cost=holding.average_cost,
        total_cost=holding.total_cost,
        realized_gain=holding.realized_gain,
        dividends=holding.dividends,
        price_currency=instrument.currency,
        instrument_currency=instrument.currency,
        dividends_reduce_cost_basis=portfolio.dividends_reduce_cost_basis,
    )
    quote = prices.get(instrument.ticker)
    rate = rates.get((instrument.currency, portfolio.currency))
    if quote is not None:
        row.current_price = quote.price
        row.price_currency = quote.currency
        row.price_as_of = quote.as_of
        row.price_is_stale = quote.stale
    row.fx_rate = rate
    row.error = out_of_shape(holding)
    if row.error:
        return row
    try:
        if holding.quantity == 0:
            row.current_value = ledger.ZERO
            row.unrealized_gain_loss = ledger.ZERO
        elif quote is not None and rate is not None:
            state = ledger.HoldingState(quantity=holding.quantity, total_cost=holding.total_cost)
            valued = ledger.value_holding(state, quote.price, rate)
            if not valued.value.is_finite():
                raise ArithmeticError(f"value {valued.value}")
            row.current_value = valued.value
            row.unrealized_gain_loss = valued.unrealized_gain
            row.unrealized_gain_loss_percent = valued.unrealized_gain_percent
    except ArithmeticError as exc:  # decimal.InvalidOperation, DivisionByZero, Overflow
        row.current_value = row.unrealized_gain_loss = None
        row.unrealized_gain_loss_percent = None
        row.error = f"Its value could not be computed ({exc.__class__.__name__})."
    return row


def _summarize_one(portfolio: Portfolio, prices: dict, rates: dict) -> PortfolioSummary:
    summary = PortfolioSummary(portfolio=portfolio)
    summary.holdings = [_row(h, portfolio, prices, rates) for h in portfolio.holdings.all()]
    counted = [r for r in summary.holdings if r.error is None]
    summary.errors = len(summary.holdings) - len(counted)
    valued_rows = [r for r in counted if r.current_value is not None]
    summary.missing_prices = len(counted) - len(valued_rows)
    summary.holdings_value = ledger.sum_money([r.current_value for r in valued_rows])
    # With track_cash the portfolio is an account: its value includes its cash (negative:
    # credit in use, which lowers it). The stored balance is the services' replay.
    summary.cash_balance = portfolio.cash_balance if portfolio.track_cash else ledger.ZERO
    summary.total_value = summary.holdings_value + summary.cash_balance
    summary.total_cost = ledger.sum_money([r.total_cost for r in counted])
    valued_cost = ledger.sum_money([r.total_cost for r in valued_rows])
    summary.total_gain_loss = summary.holdings_value - valued_cost
    if valued_cost:
        summary.total_gain_loss_percent = summary.total_gain_loss / valued_cost * HUNDRED
    summary.realized_gain = ledger.sum_money([r.realized_gain for r in counted])
    summary.dividends = ledger.sum_money([r.dividends for r in counted])
    summary.net_value = summary.total_value - portfolio.used_credit
    # Allocation is of what the account holds: the holdings and cash on hand; credit in
    # use is a debt, not a position, so it does not push the holdings past 100 %.
    held = summary.holdings_value + max(summary.cash_balance, ledger.ZERO)
    for row in valued_rows:
        if held:
            row.allocation_percent = row.current_value / held * HUNDRED
    if summary.cash_balance > 0 and held:
        summary.cash_allocation_percent = summary.cash_balance / held * HUNDRED
    as_of = [r.price_as_of for r in summary.holdings if r.price_as_of is not None]
    summary.prices_as_of = min(as_of) if as_of else None
    return summary
