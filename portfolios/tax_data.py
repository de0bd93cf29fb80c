"""The inputs of the Norwegian tax report (portfolios.tax), read from the database in a
few queries: a user's transactions turned into NOK at each trade date's stored FX, the
yearly rates, and the prices at 31 December. The arithmetic is portfolios.tax's.

FX: a transaction's `exchange_rate` gives the portfolio currency; the portfolio currency
becomes NOK at the stored rate of the trade date (the last on or before it, the opposite
pair inverted when only that one is stored: marketdata.fx's rule). A date before the first
stored rate takes the first one after it and the report says so; a currency with no NOK
rate at all leaves that portfolio out of the report, which says so too: never a silent 1.

Cached: a report (and today's lots) is kept in the shared cache (django's default: the
database or Redis, never per-process memory) under a key that carries everything it was
computed from: the user's portfolios' version stamps (every write to their transactions
bumps one), the market-data stamp (closes and FX), the tax-rate rows themselves (one tiny
query: a rate written by the admin, the API, a migration or a fixture all change it), the
date and the language of the warnings. A cache that fails is a miss.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import zlib
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from financedash.lib import versions
from marketdata import fx
from marketdata.models import HistoricalExchangeRate, HistoricalStockPrice
from portfolios import cash, tax
from portfolios.models import Portfolio, TaxRate, Transaction

logger = logging.getLogger(__name__)

NOK = "NOK"
# A day: the keys change with their inputs, the time limit only clears the table.
CACHE_TTL = 24 * 3600
# Part of every key: a release that changes what is kept never reads an older shape.
CACHE_FORMAT = 1
HUNDRED = Decimal(100)
TRADES = ("BUY", "SELL", "DIVIDEND", "SPLIT")


def rates() -> dict[int, tax.Rates]:
    return {
        year: tax.Rates(shielding, multiplier, tax.ordinary_income_rate(year))
        for year, shielding, multiplier in TaxRate.objects.values_list(
            "year", "shielding_rate", "tax_multiplier"
        )
    }


class NokRates:
    """Currency -> NOK on any date, from the stored daily rates of every currency asked
    for, loaded once."""

    def __init__(self, currencies):
        wanted = {c.upper() for c in currencies} - {NOK}
        self.series: dict[str, tuple[list[date], list[Decimal]]] = {}
        if not wanted:
            return
        rows = defaultdict(list)
        pairs = {(c, NOK) for c in wanted} | {(NOK, c) for c in wanted}
        for base, target, day, rate in (
            HistoricalExchangeRate.objects.for_pairs(pairs)
            .order_by("date")
            .values_list("base_currency", "target_currency", "date", "rate")
        ):
            rows[(base, target)].append((day, rate))
        for code in wanted:
            merged = fx.pair_series(rows[(code, NOK)], rows[(NOK, code)], exact=True)
            if merged:
                self.series[code] = ([d for d, _ in merged], [r for _, r in merged])

    def has(self, currency: str) -> bool:
        return currency.upper() == NOK or currency.upper() in self.series

    def on(self, currency: str, day: date) -> tuple[Decimal, bool]:
        """(rate, exact): exact is False when the date is before the first stored rate."""
        code = currency.upper()
        if code == NOK:
            return Decimal(1), True
        dates, values = self.series[code]
        index = bisect_right(dates, day) - 1
        if index < 0:
            return values[0], False
        return values[index], True


@dataclass
class Inputs:
    events: list[tax.Event] = field(default_factory=list)
    cash: list[tax.CashEvent] = field(default_factory=list)
    asks: dict[int, Portfolio] = field(default_factory=dict)
    portfolios: dict[int, Portfolio] = field(default_factory=dict)
    rates: dict[int, tax.Rates] = field(default_factory=dict)
    nok: NokRates | None = None
    movements: dict[int, list[cash.Movement]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def load(user) -> Inputs:
    """Everything the tax engine needs for one user: three queries plus one for FX."""
    inputs = Inputs(rates=rates())
    portfolios = {p.pk: p for p in Portfolio.objects.owned_by(user)}
    inputs.portfolios = portfolios
    inputs.nok = nok = NokRates(p.currency for p in portfolios.values())
    for portfolio in portfolios.values():
        if not nok.has(portfolio.currency):
            inputs.warnings.append(
                _(
                    "No %(currency)s to NOK exchange rate is stored: portfolio "
                    "%(portfolio)s is left out of this report."
                )
                % {"currency": portfolio.currency, "portfolio": portfolio.name}
            )
        elif portfolio.kind == Portfolio.Kind.ASK:
            inputs.asks[portfolio.pk] = portfolio
    approximated: set[str] = set()
    rows = (
        Transaction.objects.filter(portfolio__in=list(portfolios))
        .order_by("date", "id")
        .values_list(
            "id",
            "portfolio_id",
            "type",
            "date",
            "quantity",
            "price",
            "fees",
            "exchange_rate",
            "total_amount",
            "holding__instrument__ticker",
        )
    )
    for pk, portfolio_id, kind, day, quantity, price, fees, rate, total, symbol in rows:
        portfolio = portfolios[portfolio_id]
        if not nok.has(portfolio.currency):
            continue
        inputs.movements.setdefault(portfolio_id, []).append(cash.Movement(kind, day, total, pk))
        nok_rate, exact = nok.on(portfolio.currency, day)
        if not exact:
            approximated.add(portfolio.currency)
        ask = portfolio.kind == Portfolio.Kind.ASK
        if kind in TRADES:
            inputs.events.append(
                tax.trade_event(
                    wrapper=tax.ask_wrapper(portfolio_id) if ask else tax.ORDINARY,
                    portfolio_id=portfolio_id,
                    symbol=symbol,
                    type=kind,
                    date=day,
                    quantity=quantity,
                    price=price,
                    fees=fees,
                    exchange_rate=rate,
                    nok_rate=nok_rate,
                    id=pk,
                )
            )
        elif ask and kind in (tax.DEPOSIT, tax.WITHDRAWAL):
            inputs.cash.append(tax.CashEvent(portfolio_id, kind, day, total * nok_rate, pk))
    deposited = {c.portfolio_id for c in inputs.cash if c.type == tax.DEPOSIT}
    for pk, portfolio in inputs.asks.items():
        if pk not in deposited:
            inputs.warnings.append(
                _(
                    "The aksjesparekonto %(portfolio)s has no deposits recorded: its tax-free "
                    "amount counts as 0 and its deferred tax is overstated. Record its "
                    "deposits (innskudd) as cash transactions."
                )
                % {"portfolio": portfolio.name}
            )
    for code in sorted(approximated):
        inputs.warnings.append(
            _(
                "Some %(currency)s transactions are older than the first stored "
                "%(currency)s/NOK rate: they use that first rate."
            )
            % {"currency": code}
        )
    return inputs


def prices_nok(symbols, on: date) -> tuple[dict[str, Decimal | None], list]:
    """NOK per share at the last close on or before `on` (its currency at that day's NOK
    rate); None, with a warning, where no close or no rate is stored."""
    closes = HistoricalStockPrice.objects.latest_closes(set(symbols), on)
    needed = {currency for _day, _close, currency in closes.values()}
    needed = {"GBP" if c == "GBp" else c for c in needed}
    # One date: marketdata.fx's lookup (one query), not every currency's whole series.
    table = fx.rates_on([(c, NOK) for c in needed], on)
    prices: dict[str, Decimal | None] = {}
    warnings = []
    for symbol in sorted(set(symbols)):
        found = closes.get(symbol)
        if found is None:
            prices[symbol] = None
            warnings.append(
                _("No price of %(symbol)s on or before %(date)s: its value is not shown.")
                % {"symbol": symbol, "date": on.isoformat()}
            )
            continue
        _day, close, currency = found
        if currency == "GBp":  # London quotes in pence
            close, currency = close / HUNDRED, "GBP"
        rate = table.get((currency, NOK))
        if rate is None:
            prices[symbol] = None
            warnings.append(
                _("No %(currency)s to NOK rate: the value of %(symbol)s is not shown.")
                % {"currency": currency, "symbol": symbol}
            )
            continue
        prices[symbol] = close * rate
    return prices, warnings


@dataclass
class Report:
    report: tax.YearReport
    portfolios: dict[int, Portfolio]
    warnings: list[str]


def cache_key(user, kind: str, *parts) -> str:
    """The cache key of one of the user's results: see the module doc."""
    pks = sorted(Portfolio.objects.owned_by(user).values_list("pk", flat=True))
    names = [versions.portfolio(pk) for pk in pks] + [versions.MARKET_DATA]
    stamps = versions.current_many(names)
    rate_rows = list(
        TaxRate.objects.order_by("year").values_list("year", "shielding_rate", "tax_multiplier")
    )
    text = repr(
        (
            CACHE_FORMAT,
            user.pk,
            kind,
            parts,
            timezone.localdate().isoformat(),
            get_language(),
            [(name, stamps[name]) for name in names],
            rate_rows,
        )
    )
    return f"tax:{kind}:{hashlib.sha256(text.encode()).hexdigest()}"


def _cached(key: str, build):
    """build()'s value, kept pickled and compressed in the shared cache under `key`."""
    try:
        packed = cache.get(key)
    except Exception:
        logger.exception("Tax result cache unavailable")
        packed = None
    if packed is not None:
        try:
            return pickle.loads(zlib.decompress(packed))
        except Exception:
            logger.warning("Unreadable cached tax result %s", key)
    value = build()
    try:
        cache.set(key, zlib.compress(pickle.dumps(value, pickle.HIGHEST_PROTOCOL), 1), CACHE_TTL)
    except Exception:
        logger.exception("Tax result cache unavailable")
    return value


def year_report(user, year: int) -> Report:
    return _cached(cache_key(user, "year", year), lambda: _year_report(user, year))


def _year_report(user, year: int) -> Report:
    inputs = load(user)
    end = date(year, 12, 31)
    result = tax.run(inputs.events, inputs.cash, inputs.rates, end, asks=list(inputs.asks))
    symbols = {lot.symbol for lot in result.lots}
    prices, warnings = prices_nok(symbols, end)
    ask_cash = {}
    for pk, portfolio in inputs.asks.items():
        if portfolio.track_cash:
            balance = cash.balance(m for m in inputs.movements.get(pk, []) if m.date <= end)
            ask_cash[pk] = balance * inputs.nok.on(portfolio.currency, end)[0]
    report = tax.year_report(result, year, inputs.rates, prices, ask_cash)
    return Report(report, inputs.portfolios, [*inputs.warnings, *warnings])


@dataclass
class Today:
    """The run through today, as open_lots and tax_if_sold_today use it."""

    lots: list[tax.Lot]
    ask_deposits: dict[int, Decimal]
    ask_unused_shielding: dict[int, Decimal]
    rates: dict[int, tax.Rates]
    warnings: list[str]
    nok: dict[str, Decimal]  # today's NOK rate of each portfolio currency that has one


def _today(user) -> Today:
    today = timezone.localdate()

    def build() -> Today:
        inputs = load(user)
        result = tax.run(inputs.events, inputs.cash, inputs.rates, today, asks=list(inputs.asks))
        nok = {
            p.currency.upper(): inputs.nok.on(p.currency, today)[0]
            for p in inputs.portfolios.values()
            if inputs.nok.has(p.currency)
        }
        return Today(
            result.lots,
            result.ask_deposits,
            result.ask_unused_shielding,
            inputs.rates,
            list(inputs.warnings),
            nok,
        )

    return _cached(cache_key(user, "today"), build)


def open_lots(user, symbol: str | None = None) -> tuple[list[tax.Lot], list[str]]:
    """The lots open today (optionally of one symbol), with the shielding carried to now."""
    computed = _today(user)
    lots = [lot for lot in computed.lots if symbol is None or lot.symbol == symbol]
    return lots, computed.warnings


@dataclass
class HoldingLots:
    """The open lots a holding's page shows, with their totals."""

    lots: list[tax.Lot]
    warnings: list[str]
    pooled: bool  # an ordinary portfolio's: every ordinary portfolio's lots (FIFO pools them)
    total_quantity: Decimal
    total_cost: Decimal


def holding_lots(user, portfolio: Portfolio, symbol: str) -> HoldingLots:
    """The open lots of `symbol` in `portfolio`'s wrapper: an ASK's own, or the pool of all
    the user's ordinary portfolios."""
    ask = portfolio.kind == Portfolio.Kind.ASK
    wrapper = tax.ask_wrapper(portfolio.pk) if ask else tax.ORDINARY
    lots, warnings = open_lots(user, symbol)
    lots = [lot for lot in lots if lot.wrapper == wrapper]
    return HoldingLots(
        lots,
        warnings,
        pooled=not ask,
        total_quantity=sum((lot.quantity for lot in lots), tax.ZERO),
        total_cost=sum((lot.cost for lot in lots), tax.ZERO),
    )


@dataclass
class SoldToday:
    """What selling everything today would cost in tax (estimates, NOK)."""

    portfolios: list[tuple[Portfolio, Decimal | None]]  # each alone
    household: Decimal | None  # everything at once
    year: int | None  # whose multiplier was used
    warnings: list[str]


def _multiplier_year(known: dict[int, tax.Rates], today: date) -> int | None:
    """This year's multiplier, else the latest known before it (the report says which)."""
    years = [y for y, r in known.items() if r.tax_multiplier is not None and y <= today.year]
    return max(years) if years else None


def tax_if_sold_today(user, summaries) -> SoldToday:
    """Each portfolio sold alone (an ordinary one takes the oldest lots of the pool, as
    FIFO does, so the rows do not add up to the household's), and the whole household;
    an ASK counts its deferred tax. `summaries`: valuation.summarize of the user's
    portfolios (today's prices)."""
    computed = _today(user)
    today = timezone.localdate()
    year = _multiplier_year(computed.rates, today)
    rates = computed.rates.get(year) if year else None
    warnings = list(computed.warnings)
    prices: dict[str, Decimal | None] = {}
    for summary in summaries:
        currency = summary.portfolio.currency
        to_nok = computed.nok.get(currency.upper())
        if to_nok is None:
            continue
        for row in summary.holdings:
            if row.current_value is not None and row.quantity:
                prices[row.symbol] = row.current_value / row.quantity * to_nok
            else:
                prices.setdefault(row.symbol, None)
    rate = tax.tax_rate(rates)
    ordinary = [lot for lot in computed.lots if lot.wrapper == tax.ORDINARY]
    rows = []
    household = tax.tax_if_sold(ordinary, prices, rates)
    for summary in summaries:
        portfolio = summary.portfolio
        if portfolio.currency.upper() not in computed.nok:
            rows.append((portfolio, None))
            household = None
            continue
        if portfolio.kind == Portfolio.Kind.ASK:
            deferred = None
            if rate is not None and not summary.missing_prices and not summary.errors:
                value = summary.total_value * computed.nok[portfolio.currency.upper()]
                base = value - computed.ask_deposits.get(portfolio.pk, tax.ZERO)
                base -= computed.ask_unused_shielding.get(portfolio.pk, tax.ZERO)
                deferred = max(tax.ZERO, base) * rate
            rows.append((portfolio, deferred))
            household = None if household is None or deferred is None else household + deferred
        else:
            quantities = {row.symbol: row.quantity for row in summary.holdings}
            rows.append((portfolio, tax.tax_if_sold(ordinary, prices, rates, quantities)))
    return SoldToday(rows, household, year, warnings)


ESTIMATE = gettext_lazy(
    "Estimates from the transactions recorded here, in NOK at each trade date's stored "
    "exchange rate; the tax authority's pre-filled figures are what count."
)
PREFILLED_NOTE = gettext_lazy(
    "The pre-filled tax return (skattemeldingen) should already hold Norwegian shares "
    "registered in VPS (cost, gains, losses, dividends and shielding) and your "
    "aksjesparekonto (ASK) figures reported by the provider. Foreign shares held through a "
    "foreign broker are not pre-filled: enter their gains, losses and dividends yourself, "
    "and claim the credit for foreign withholding tax on form RF-1159 (Utenlandsk "
    "inntekt/kreditfradrag)."
)
METHOD_NOTE = gettext_lazy(
    "Norwegian tax uses FIFO across all your ordinary accounts: the shares bought first "
    "(in any account) are the ones sold first. Each portfolio's own figures use the average "
    "cost of that portfolio alone, so a sale from a portfolio that bought later shows a "
    "different gain there. Over the life of a share both methods add up to the same total "
    "gain; they differ in which year it falls."
)


def report_data(built: Report) -> dict:
    """The year-end report as the API and the page show it (ARCHITECTURE 5d): the engine's
    figures with the warnings and notes a reader needs beside them."""
    report = built.report
    asks = [{**vars(row), "name": built.portfolios[row.portfolio_id].name} for row in report.ask]
    warnings = list(built.warnings) + list(report.warnings)
    if report.year >= timezone.localdate().year:
        message = _(
            "%(year)s has not ended: the figures are those of the transactions recorded so "
            "far and of the last stored prices, not a result for the year."
        )
        warnings.append(str(message) % {"year": report.year})
    if report.missing_rates:
        message = _(
            "No shielding rate is known for %(years)s, so those years add no shielding and "
            "the taxable amounts may be too high: staff can enter the published rate."
        )
        warnings.append(str(message) % {"years": ", ".join(map(str, report.missing_rates))})
    if report.rates.tax_multiplier is None:
        message = _("No tax multiplier is known for %(year)s: no tax estimate.")
        warnings.append(str(message) % {"year": report.year})
    elif report.rates.income_rate is None:
        message = _(
            "The app knows the tax rate on ordinary income only from 2019 (22 %%): no tax "
            "estimate for %(year)s."
        )
        warnings.append(str(message) % {"year": report.year})
    return {
        "year": report.year,
        "currency": "NOK",
        "holdings": report.holdings,
        "sales": report.sales,
        "dividends": [{**vars(d), "taxable": d.taxable} for d in report.dividends],
        "ask": asks,
        "totals": report.totals,
        "shielding_rate": report.rates.shielding_rate,
        "tax_multiplier": report.rates.tax_multiplier,
        "missing_rates": report.missing_rates,
        "warnings": warnings,
        "notes": {
            "estimate": str(ESTIMATE),
            "prefilled": str(PREFILLED_NOTE),
            "method": str(METHOD_NOTE),
        },
    }
