"""Norwegian tax on shares (ARCHITECTURE section 5d): pure, no ORM.

FIFO lots per user and instrument across all ordinary portfolios, each ASK (aksjesparekonto)
its own wrapper; every amount in NOK at the FX of its trade date; the shielding deduction
(skjermingsfradrag) per lot; ASK deposits and deferred tax; a year-end report.

Sources (each rule below names the one it follows):
- [SKJERMING] skatteetaten.no, "Skatteregler (skjermingsregler) for gevinst/tap ved
  realisasjoner og aksjeutbytte"
  (https://www.skatteetaten.no/person/skatt/hjelp-til-rett-skatt/aksjer-og-verdipapir/om/
  skatteregler-for-gevinsttap-ved-realisasjoner-og-aksjeutbytte/): shielding =
  skjermingsgrunnlag (cost incl. brokerage) x skjermingsrente, for each share held at 31 Dec
  of the income year; dividends above it are taxed; unused shielding is carried forward on
  the same share and reduces later dividends and/or the gain; it follows the single share
  and cannot be moved to other shares; gains/dividends are multiplied by the year's factor
  (2023: 22 % x 1.72 = 37.84 %); losses are deductible.
- [SKATTELOVEN] skatteloven § 10-12 (shielding per share; unused shielding on a realised
  share may not create or increase a loss) and § 10-31 / § 10-32 (FIFO: the shares first
  acquired are deemed realised first, across all accounts of the same shareholder).
- [ASK] skatteetaten.no, "Aksjesparekonto" and skatteloven § 10-22: gains and dividends
  inside the account are not taxed; withdrawals up to the deposits (innskudd) are tax
  free; what is withdrawn beyond them is taxed as share income after the account's
  shielding; the shielding base is the year's lowest deposits plus unused shielding.
  Dividends paid into the account are deferred too from 2019 on (aksjenorge.no,
  "Skattemeldingen gjør Aksjesparekonto mer interessant", 2019: "Utbytte får du utsatt
  skatt på først på ASK-utbytter utbetalt i 2019"); the engine defers them in every year,
  so an ASK dividend paid before 2019 is not in the report (the report's scope starts
  with 2019 for ASKs).
- [KREDIT] skatteloven § 16-21 (2) and skatteetaten.no, "Kreditfradrag for skatt betalt
  i utlandet": the credit for foreign tax is limited to the Norwegian tax on the same
  income (computed per country on RF-1159).
- [FIFO-FX] the cost and the proceeds are each converted to NOK at the rate of their own
  trade date (skatteetaten.no, "Aksjer i utenlandske selskaper": gain = sale price in NOK
  at the sale date - cost in NOK at the purchase date).

Simplifications the report states: a dividend is spread over the lots open on its date by
quantity; the dividends of lots sold later in the year stay fully taxable (they get no
shielding for that year); a SPLIT is applied once per wrapper and instrument even when
several portfolios record it (entries of the same factor within a week in different
portfolios are one event).

Precision: a 60-digit context, rounded only at the edge, except that the part of a lot a
sale consumes is computed by one division quantized to 1e-12 (QUANTUM) and the rest by
subtraction, so the costs of a lot's pieces add up exactly to its cost and every sum of
them is exact.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Context, Decimal, localcontext

from django.utils.translation import gettext

from portfolios.cash import DEPOSIT, WITHDRAWAL
from portfolios.ledger import BUY, DIVIDEND, SELL, SPLIT, ZERO

ORDINARY = "ordinary"
# [SKJERMING]: the rate on alminnelig inntekt for personal taxpayers: 22 % from 2019
# (skatteetaten.no/satser/alminnelig-inntekt: "Personer 22,0 prosent"; regjeringen.no,
# "Skattesatser 2024": 22 pst. in 2023 and 2024). Earlier years had higher rates (23 % in
# 2018, more before) that the app does not ship: see ordinary_income_rate.
ORDINARY_INCOME_RATE = Decimal("0.22")
FIRST_22_PERCENT_YEAR = 2019
# Split entries of one factor this close are one corporate action recorded by two portfolios.
SPLIT_WINDOW_DAYS = 7
_CONTEXT = Context(prec=60)
# The one division per piece is quantized to this (as the ledger's removed cost), so that
# every later sum is exact and a lot's pieces add up to its cost to the last digit.
QUANTUM = Decimal("1e-12")


def ask_wrapper(portfolio_id: int) -> str:
    return f"ask:{portfolio_id}"


def ordinary_income_rate(year: int) -> Decimal | None:
    """The rate on alminnelig inntekt of `year`; None before 2019, whose rates the app does
    not ship (a factor entered for such a year must not be multiplied by 22 %)."""
    return ORDINARY_INCOME_RATE if year >= FIRST_22_PERCENT_YEAR else None


@dataclass(frozen=True)
class Rates:
    """One year's published figures; None where the app has no citable figure."""

    shielding_rate: Decimal | None = None  # 0.032 for 3.2 %
    tax_multiplier: Decimal | None = None  # 1.72
    income_rate: Decimal | None = ORDINARY_INCOME_RATE  # see ordinary_income_rate


@dataclass(frozen=True)
class Event:
    """A trade as the tax sees it, already in NOK (see `trade_event`)."""

    wrapper: str  # ORDINARY or ask_wrapper(portfolio_id)
    portfolio_id: int
    symbol: str
    type: str  # BUY, SELL, DIVIDEND, SPLIT
    date: date
    quantity: Decimal  # for SPLIT: the factor
    # BUY: cost incl. fees; SELL: proceeds after fees; DIVIDEND: gross (before withholding).
    amount: Decimal = ZERO
    withholding: Decimal = ZERO  # DIVIDEND: the withholding tax (the ledger's fees)
    id: int = 0


@dataclass(frozen=True)
class CashEvent:
    """A DEPOSIT or WITHDRAWAL of an ASK, in NOK."""

    portfolio_id: int
    type: str
    date: date
    amount: Decimal
    id: int = 0


def trade_event(
    *,
    wrapper: str,
    portfolio_id: int,
    symbol: str,
    type: str,
    date: date,
    quantity: Decimal,
    price: Decimal,
    fees: Decimal,
    exchange_rate: Decimal,
    nok_rate: Decimal,
    id: int = 0,
) -> Event:
    """A ledger transaction in NOK: `exchange_rate` turns the instrument currency into the
    portfolio's (stored on the transaction), `nok_rate` the portfolio's into NOK on the
    trade date (1 for a NOK portfolio). [FIFO-FX]"""
    with localcontext(_CONTEXT):
        if type == SPLIT:
            return Event(wrapper, portfolio_id, symbol, type, date, quantity, id=id)
        gross = quantity * price * exchange_rate
        if type == BUY:
            amount, withholding = (gross + fees) * nok_rate, ZERO
        elif type == SELL:
            amount, withholding = (gross - fees) * nok_rate, ZERO
        elif type == DIVIDEND:
            amount, withholding = gross * nok_rate, fees * nok_rate
        else:
            raise ValueError(f"Not a trade: {type!r}")
        return Event(wrapper, portfolio_id, symbol, type, date, quantity, amount, withholding, id)


@dataclass
class Lot:
    wrapper: str
    symbol: str
    date: date  # of the BUY
    portfolio_id: int  # the portfolio that bought it
    quantity: Decimal
    cost: Decimal  # NOK incl. fees
    unused_shielding: Decimal = ZERO  # carried from earlier years
    shielding: Decimal = ZERO  # computed for the last closed year
    dividends: Decimal = ZERO  # gross dividends received this year (working figure)
    buy_id: int = 0

    @property
    def cost_per_share(self) -> Decimal | None:
        return self.cost / self.quantity if self.quantity else None


@dataclass(frozen=True)
class LotPiece:
    date: date
    portfolio_id: int
    quantity: Decimal
    cost: Decimal
    unused_shielding: Decimal


@dataclass(frozen=True)
class Sale:
    wrapper: str
    portfolio_id: int
    symbol: str
    date: date
    quantity: Decimal
    proceeds: Decimal
    cost: Decimal  # FIFO
    gain: Decimal  # FIFO: proceeds - cost
    shielding_used: Decimal
    taxable_gain: Decimal  # gain - shielding_used (negative: a deductible loss)
    average_cost: Decimal  # the cost the selling portfolio's average-cost ledger removes
    average_cost_gain: Decimal
    pieces: tuple[LotPiece, ...] = ()

    @property
    def year(self) -> int:
        return self.date.year


@dataclass
class DividendYear:
    """A share's dividends in one year and one wrapper."""

    wrapper: str
    symbol: str
    year: int
    amount: Decimal = ZERO  # gross
    withholding_tax: Decimal = ZERO
    shielding_used: Decimal = ZERO

    @property
    def taxable(self) -> Decimal:
        return self.amount - self.shielding_used


@dataclass
class AskYear:
    """One ASK in one year, at 31 December (or at `through`)."""

    portfolio_id: int
    year: int
    deposits: Decimal = ZERO
    lowest_deposits: Decimal = ZERO
    withdrawals: Decimal = ZERO
    tax_free_withdrawals: Decimal = ZERO
    excess_withdrawals: Decimal = ZERO  # beyond the deposits
    shielding: Decimal = ZERO  # this year's
    shielding_used: Decimal = ZERO
    unused_shielding: Decimal = ZERO  # carried into next year

    @property
    def taxable_withdrawals(self) -> Decimal:
        return self.excess_withdrawals - self.shielding_used


@dataclass
class _Ask:
    deposits: Decimal = ZERO
    lowest: Decimal = ZERO
    unused: Decimal = ZERO
    opened: bool = False  # a deposit was ever made
    year: AskYear | None = None


@dataclass
class _Pool:
    """A portfolio's average-cost pool of one instrument, in NOK (section 5 with
    dividends as income only), for the side-by-side comparison."""

    quantity: Decimal = ZERO
    cost: Decimal = ZERO


@dataclass
class Result:
    through: date
    lots: list[Lot] = field(default_factory=list)  # open at `through`
    sales: list[Sale] = field(default_factory=list)
    dividends: list[DividendYear] = field(default_factory=list)
    ask_years: list[AskYear] = field(default_factory=list)
    ask_deposits: dict[int, Decimal] = field(default_factory=dict)  # at `through`
    ask_unused_shielding: dict[int, Decimal] = field(default_factory=dict)
    missing_rates: set[int] = field(default_factory=set)  # years closed without a rate
    warnings: list[str] = field(default_factory=list)


def run(
    events: Iterable[Event],
    cash: Iterable[CashEvent],
    rates: Mapping[int, Rates],
    through: date,
    asks: Iterable[int] = (),
) -> Result:
    """Replay every event up to `through`, closing each 31 December on the way (the year
    of `through` too when it is 31 December). `asks`: the ASK portfolios' ids (each gets
    a yearly row even without cash entries)."""
    with localcontext(_CONTEXT):
        run = _Run(rates, through)
        for portfolio_id in asks:
            run.asks[portfolio_id] = _Ask()
        return run.go(events, cash)


class _Run:
    def __init__(self, rates: Mapping[int, Rates], through: date):
        self.rates = rates
        self.result = Result(through=through)
        self.lots: dict[tuple[str, str], list[Lot]] = defaultdict(list)
        # The sum of each key's lot quantities, kept as they change: summing the lots at
        # every sale and dividend made a household of many lots quadratic.
        self.quantities: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
        self.pools: dict[tuple[int, str], _Pool] = defaultdict(_Pool)
        self.dividends: dict[tuple[str, str], DividendYear] = {}
        self.asks: dict[int, _Ask] = {}
        self.splits: dict[tuple[str, str], list[tuple[date, Decimal, set[int]]]] = defaultdict(list)

    def go(self, events: Iterable[Event], cash: Iterable[CashEvent]) -> Result:
        through = self.result.through
        timeline = [e for e in events if e.date <= through]
        timeline += [c for c in cash if c.date <= through]
        # Same-day order: as the ledger replays (by id); cash before trades on a tie of ids.
        timeline.sort(key=lambda e: (e.date, e.id, isinstance(e, Event)))
        if not timeline:
            return self.result
        year = timeline[0].date.year
        for item in timeline:
            while item.date.year > year:
                self.close_year(year)
                year += 1
            if isinstance(item, CashEvent):
                self.cash(item)
            else:
                self.trade(item)
        while year < through.year:
            self.close_year(year)
            year += 1
        if (through.month, through.day) == (12, 31):
            self.close_year(year)
        self.result.lots = [lot for lots in self.lots.values() for lot in lots]
        for portfolio_id, ask in self.asks.items():
            self.result.ask_deposits[portfolio_id] = ask.deposits
            self.result.ask_unused_shielding[portfolio_id] = ask.unused
        return self.result

    # -- trades ---------------------------------------------------------------------------

    def trade(self, e: Event) -> None:
        key = (e.wrapper, e.symbol)
        if e.type == BUY:
            self.lots[key].append(
                Lot(e.wrapper, e.symbol, e.date, e.portfolio_id, e.quantity, e.amount, buy_id=e.id)
            )
            self.quantities[key] += e.quantity
            pool = self.pools[(e.portfolio_id, e.symbol)]
            pool.quantity += e.quantity
            pool.cost += e.amount
        elif e.type == SELL:
            self.sell(e, key)
        elif e.type == DIVIDEND:
            self.dividend(e, key)
        elif e.type == SPLIT:
            pool = self.pools[(e.portfolio_id, e.symbol)]
            pool.quantity *= e.quantity
            # One corporate action, however many portfolios record it: a split of the same
            # factor near one another portfolio recorded is that one; a second split in
            # the same portfolio is a second split.
            for day, factor, portfolios in reversed(self.splits[key]):
                if (
                    factor == e.quantity
                    and abs((day - e.date).days) <= SPLIT_WINDOW_DAYS
                    and e.portfolio_id not in portfolios
                ):
                    portfolios.add(e.portfolio_id)
                    return
            self.splits[key].append((e.date, e.quantity, {e.portfolio_id}))
            # [SKJERMING]: a split changes the number of shares, not their cost or their
            # shielding base; each new share inherits its part of the old one's.
            for lot in self.lots[key]:
                lot.quantity *= e.quantity
            self.quantities[key] *= e.quantity

    def held(self, key: tuple[str, str]) -> Decimal:
        """The quantity of the key's open lots (exact: a 60-digit context never rounds
        these sums)."""
        return self.quantities[key]

    def sell(self, e: Event, key: tuple[str, str]) -> None:
        lots = self.lots[key]
        held = self.held(key)
        if e.quantity > held:
            # The portfolios' ledgers never oversell; lots can run short only when a split
            # was recorded in one portfolio and not another. Sell what there is and say so.
            self.result.warnings.append(
                gettext(
                    "%(symbol)s: sale of %(quantity)s on %(date)s exceeds the lots held (%(held)s)"
                )
                % {
                    "symbol": e.symbol,
                    "quantity": f"{e.quantity.normalize():f}",
                    "date": e.date.isoformat(),
                    "held": f"{held.normalize():f}",
                }
            )
        # The average-cost figure of the selling portfolio, for the comparison.
        pool = self.pools[(e.portfolio_id, e.symbol)]
        take_avg = min(e.quantity, pool.quantity)
        if take_avg and take_avg == pool.quantity:
            avg_cost = pool.cost
        elif pool.quantity:
            avg_cost = min((pool.cost * take_avg / pool.quantity).quantize(QUANTUM), pool.cost)
        else:
            avg_cost = ZERO
        pool.quantity -= take_avg
        pool.cost -= avg_cost

        # [SKATTELOVEN] § 10-32: the shares first acquired are realised first.
        remaining = e.quantity
        cost = unused = ZERO
        pieces = []
        while remaining > 0 and lots:
            lot = lots[0]
            take = min(remaining, lot.quantity)
            if take == lot.quantity:
                part_cost, part_unused = lot.cost, lot.unused_shielding
                lots.pop(0)
            else:
                part_cost = min((lot.cost * take / lot.quantity).quantize(QUANTUM), lot.cost)
                part_unused = min(
                    (lot.unused_shielding * take / lot.quantity).quantize(QUANTUM),
                    lot.unused_shielding,
                )
                lot.dividends -= (lot.dividends * take / lot.quantity).quantize(QUANTUM)
                lot.quantity -= take
                lot.cost -= part_cost
                lot.unused_shielding -= part_unused
            pieces.append(LotPiece(lot.date, lot.portfolio_id, take, part_cost, part_unused))
            cost += part_cost
            unused += part_unused
            remaining -= take
        self.quantities[key] -= e.quantity - remaining
        gain = e.amount - cost
        # [SKATTELOVEN] § 10-12: unused shielding reduces the gain but may not create or
        # increase a loss; what the gain cannot absorb lapses with the share.
        shielding_used = min(unused, gain) if gain > 0 else ZERO
        self.result.sales.append(
            Sale(
                wrapper=e.wrapper,
                portfolio_id=e.portfolio_id,
                symbol=e.symbol,
                date=e.date,
                quantity=e.quantity,
                proceeds=e.amount,
                cost=cost,
                gain=e.amount - cost,
                shielding_used=shielding_used,
                taxable_gain=e.amount - cost - shielding_used,
                average_cost=avg_cost,
                average_cost_gain=e.amount - avg_cost,
                pieces=tuple(pieces),
            )
        )

    def dividend(self, e: Event, key: tuple[str, str]) -> None:
        row = self.dividends.get(key)
        if row is None:
            row = self.dividends[key] = DividendYear(e.wrapper, e.symbol, e.date.year)
        row.amount += e.amount
        row.withholding_tax += e.withholding
        lots = self.lots[key]
        held = self.held(key)
        if not held:
            return  # paid after everything was sold: no lot can shield it
        # Spread over the lots open on its date by quantity (a simplification, module doc).
        amount, left, last = e.amount, e.amount, len(lots) - 1
        # Lots of the same quantity get the same part: each is computed once.
        parts: dict[Decimal, Decimal] = {}
        for n, lot in enumerate(lots):
            if n == last:
                part = left
            else:
                part = parts.get(lot.quantity)
                if part is None:
                    part = parts[lot.quantity] = (amount * lot.quantity / held).quantize(QUANTUM)
            lot.dividends += part
            left -= part

    # -- cash of an ASK -------------------------------------------------------------------

    def ask(self, portfolio_id: int, year: int) -> _Ask:
        ask = self.asks.get(portfolio_id)
        if ask is None:
            ask = self.asks[portfolio_id] = _Ask()
        if ask.year is None:
            ask.year = AskYear(portfolio_id, year, deposits=ask.deposits)
            ask.lowest = ask.deposits
        return ask

    def cash(self, c: CashEvent) -> None:
        ask = self.ask(c.portfolio_id, c.date.year)
        row = ask.year
        if c.type == DEPOSIT:
            ask.deposits += c.amount
            if not ask.opened:
                # An account opened this year: its lowest deposits count from its first
                # deposit, not from the empty account before it (see the report's notes).
                ask.opened = True
                ask.lowest = ask.deposits
        elif c.type == WITHDRAWAL:
            # [ASK]: withdrawals up to the deposits are tax free; the excess is share income.
            free = min(c.amount, ask.deposits)
            ask.deposits -= free
            row.withdrawals += c.amount
            row.tax_free_withdrawals += free
            row.excess_withdrawals += c.amount - free
            ask.lowest = min(ask.lowest, ask.deposits)

    # -- 31 December ----------------------------------------------------------------------

    def close_year(self, year: int) -> None:
        rates = self.rates.get(year)
        rate = rates.shielding_rate if rates else None
        if rate is None:
            self.result.missing_rates.add(year)
        for (wrapper, symbol), lots in self.lots.items():
            if wrapper != ORDINARY:
                for lot in lots:
                    lot.dividends = ZERO
                continue
            row = self.dividends.get((wrapper, symbol))
            for lot in lots:
                # [SKJERMING]: (cost + unused shielding) x rate, for each share held at
                # 31 December; without a citable rate the year adds none (and says so).
                lot.shielding = (lot.cost + lot.unused_shielding) * rate if rate else ZERO
                available = lot.unused_shielding + lot.shielding
                # Used first against the year's dividends on the same share, the rest is
                # carried forward on it.
                used = min(available, lot.dividends)
                if row is not None:
                    row.shielding_used += used
                lot.unused_shielding = available - used
                lot.dividends = ZERO
        self.result.dividends.extend(self.dividends.values())
        self.dividends = {}
        for portfolio_id, ask in self.asks.items():
            row = self.ask(portfolio_id, year).year
            row.deposits = ask.deposits
            row.lowest_deposits = ask.lowest
            # [ASK]: the base is the year's lowest deposits plus the unused shielding.
            row.shielding = (ask.lowest + ask.unused) * rate if rate else ZERO
            available = ask.unused + row.shielding
            row.shielding_used = min(available, row.excess_withdrawals)
            row.unused_shielding = available - row.shielding_used
            ask.unused = row.unused_shielding
            self.result.ask_years.append(row)
            ask.year = None


# -- the year-end report ------------------------------------------------------------------


@dataclass(frozen=True)
class HoldingRow:
    symbol: str
    quantity: Decimal
    value: Decimal | None  # None without a price at 31 December
    cost: Decimal
    shielding: Decimal  # the year's
    shielding_unused: Decimal  # carried into next year
    lots: tuple[Lot, ...] = ()


@dataclass(frozen=True)
class AskRow:
    portfolio_id: int
    deposits: Decimal
    lowest_deposits: Decimal
    value: Decimal | None
    shielding: Decimal
    unused_shielding: Decimal
    withdrawals: Decimal
    taxable_withdrawals: Decimal
    tax_deferred_estimate: Decimal | None


@dataclass(frozen=True)
class Totals:
    taxable_gain: Decimal  # the positive taxable gains
    deductible_loss: Decimal  # the losses, as a positive amount
    taxable_dividends: Decimal
    taxable_ask_withdrawals: Decimal
    withholding_tax: Decimal
    # The part of it Norway credits: at most the Norwegian tax on each share's taxable
    # dividend ([KREDIT]); None without the year's multiplier.
    withholding_credit: Decimal | None
    tax_estimate: Decimal | None  # None without the year's multiplier
    average_cost_gain: Decimal  # the same sales by each portfolio's average cost
    fifo_gain: Decimal

    @property
    def method_difference(self) -> Decimal:
        """FIFO's realized gain less the portfolios' average-cost one, for the same sales."""
        return self.fifo_gain - self.average_cost_gain


@dataclass(frozen=True)
class YearReport:
    year: int
    holdings: list[HoldingRow]
    sales: list[Sale]
    dividends: list[DividendYear]
    ask: list[AskRow]
    totals: Totals
    rates: Rates
    missing_rates: list[int]  # years whose shielding was counted as 0
    warnings: list[str]


def tax_rate(rates: Rates | None) -> Decimal | None:
    """[SKJERMING]: 22 % x the year's factor (2023: 37.84 %); None without either."""
    if rates is None or rates.tax_multiplier is None or rates.income_rate is None:
        return None
    return rates.income_rate * rates.tax_multiplier


def year_report(
    result: Result,
    year: int,
    rates: Mapping[int, Rates],
    prices: Mapping[str, Decimal | None],
    ask_cash: Mapping[int, Decimal] | None = None,
) -> YearReport:
    """The report of `year` from a run through its 31 December: `prices` are NOK per share
    at 31 December by symbol (None: no price), `ask_cash` each ASK's cash in NOK."""
    with localcontext(_CONTEXT):
        year_rates = rates.get(year) or Rates()
        rate = tax_rate(year_rates)
        by_symbol: dict[str, list[Lot]] = defaultdict(list)
        ask_value: dict[int, Decimal | None] = defaultdict(lambda: ZERO)
        for lot in result.lots:
            price = prices.get(lot.symbol)
            if lot.wrapper == ORDINARY:
                by_symbol[lot.symbol].append(lot)
            else:
                portfolio_id = int(lot.wrapper.split(":", 1)[1])
                current = ask_value[portfolio_id]
                ask_value[portfolio_id] = (
                    None if price is None or current is None else current + lot.quantity * price
                )
        holdings = []
        for symbol in sorted(by_symbol):
            lots = by_symbol[symbol]
            quantity = sum((lot.quantity for lot in lots), ZERO)
            if not quantity:
                continue
            price = prices.get(symbol)
            holdings.append(
                HoldingRow(
                    symbol=symbol,
                    quantity=quantity,
                    value=None if price is None else quantity * price,
                    cost=sum((lot.cost for lot in lots), ZERO),
                    shielding=sum((lot.shielding for lot in lots), ZERO),
                    shielding_unused=sum((lot.unused_shielding for lot in lots), ZERO),
                    lots=tuple(lots),
                )
            )
        sales = [s for s in result.sales if s.year == year and s.wrapper == ORDINARY]
        dividends = sorted(
            (d for d in result.dividends if d.year == year and d.wrapper == ORDINARY),
            key=lambda d: d.symbol,
        )
        asks = []
        for row in result.ask_years:
            if row.year != year:
                continue
            value = ask_value[row.portfolio_id]
            if value is not None:
                value += (ask_cash or {}).get(row.portfolio_id, ZERO)
            deferred = None
            if value is not None and rate is not None:
                # [ASK]: what would be taxed if everything were withdrawn at 31 December.
                base = value - row.deposits - row.unused_shielding
                deferred = max(ZERO, base) * rate
            asks.append(
                AskRow(
                    portfolio_id=row.portfolio_id,
                    deposits=row.deposits,
                    lowest_deposits=row.lowest_deposits,
                    value=value,
                    shielding=row.shielding,
                    unused_shielding=row.unused_shielding,
                    withdrawals=row.withdrawals,
                    taxable_withdrawals=row.taxable_withdrawals,
                    tax_deferred_estimate=deferred,
                )
            )
        gains = sum((s.taxable_gain for s in sales if s.taxable_gain > 0), ZERO)
        losses = -sum((s.taxable_gain for s in sales if s.taxable_gain < 0), ZERO)
        taxable_dividends = sum((d.taxable for d in dividends), ZERO)
        ask_taxable = sum((a.taxable_withdrawals for a in asks), ZERO)
        withholding = sum((d.withholding_tax for d in dividends), ZERO)
        credit = None
        if rate is not None:
            # [KREDIT]: the credit is capped by the Norwegian tax on the foreign income, so
            # withholding on a dividend the shielding covers is not credited. Capped per
            # share here, a lower bound: the return caps per country (RF-1159).
            credit = sum(
                (min(d.withholding_tax, max(d.taxable, ZERO) * rate) for d in dividends), ZERO
            )
        estimate = None
        if rate is not None:
            # A net loss is worth its rate against other ordinary income: negative here.
            # [SKJERMING]: "Tap er fradragsberettiget". The withholding credit is not
            # subtracted: it is limited to the Norwegian tax on that dividend and claimed
            # on RF-1159/the foreign-income form, so the report shows it beside the estimate.
            estimate = (gains - losses + taxable_dividends + ask_taxable) * rate
        totals = Totals(
            taxable_gain=gains,
            deductible_loss=losses,
            taxable_dividends=taxable_dividends,
            taxable_ask_withdrawals=ask_taxable,
            withholding_tax=withholding,
            withholding_credit=credit,
            tax_estimate=estimate,
            average_cost_gain=sum((s.average_cost_gain for s in sales), ZERO),
            fifo_gain=sum((s.gain for s in sales), ZERO),
        )
        missing = sorted(y for y in result.missing_rates if y <= year)
        return YearReport(
            year=year,
            holdings=holdings,
            sales=sales,
            dividends=dividends,
            ask=asks,
            totals=totals,
            rates=year_rates,
            missing_rates=missing,
            warnings=list(result.warnings),
        )


def tax_if_sold(
    lots: Iterable[Lot],
    prices: Mapping[str, Decimal | None],
    rates: Rates | None,
    quantities: Mapping[str, Decimal] | None = None,
) -> Decimal | None:
    """The tax a sale now at `prices` (NOK per share) would cost: of `quantities` shares
    per symbol taken from the oldest lots first ([SKATTELOVEN] § 10-32), or of every lot
    when None. Each lot's gain is reduced by its unused shielding, never below zero
    (§ 10-12); losses offset gains; a net loss costs no tax (0). None when a needed price
    or the multiplier is missing."""
    rate = tax_rate(rates)
    if rate is None:
        return None
    with localcontext(_CONTEXT):
        by_symbol: dict[str, list[Lot]] = defaultdict(list)
        for lot in lots:
            by_symbol[lot.symbol].append(lot)
        net = ZERO
        for symbol, own in by_symbol.items():
            left = None if quantities is None else quantities.get(symbol, ZERO)
            if left is not None and left <= 0:
                continue
            price = prices.get(symbol)
            if price is None:
                return None
            for lot in sorted(own, key=lambda lot: (lot.date, lot.buy_id)):
                take = lot.quantity if left is None else min(left, lot.quantity)
                if not take:
                    break
                share = take / lot.quantity
                gain = take * price - lot.cost * share
                unused = lot.unused_shielding * share
                net += gain - min(unused, gain) if gain > 0 else gain
                if left is not None:
                    left -= take
        return max(net, ZERO) * rate
