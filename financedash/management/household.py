"""A household at the scale of ARCHITECTURE section 10, built fast: the benchmarks' data set,
built by `manage.py seed_household` too (one builder for both).

One user with 10 portfolios (NOK, USD and SEK), 200 holdings over 150 instruments,
20,000 transactions spread over ten years, ten years of weekday closes per instrument
(about 390,000 rows), ten years of daily exchange rates between every currency involved,
and 3 pension accounts with monthly values.

Market data is written with bulk_create; the transactions go through the one write path,
portfolios.services.record_transactions, one batch per portfolio (a call per transaction
would replay its holding each time and take many minutes), so every holding and every
transaction's derived columns are exactly what the ledger says. The generator never
oversells, so no batch is refused.

`scale` multiplies the household: at 4 there are 40 portfolios, 800 holdings, 600
instruments and 80,000 transactions over the same ten years; a fraction (tests) shrinks it.

The data is deterministic (a seeded random walk); dates are relative to today, so the
"last 1 year" of every page covers real data. The 32 symbols of the demo provider's
catalogue are among the instruments, so that the "demo" provider has live quotes for some
of them and falls back to stored closes for the rest, as it would in real use.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from financedash.lib import versions
from financedash.models import Profile
from marketdata.models import HistoricalExchangeRate, HistoricalStockPrice, Instrument
from marketdata.providers import demo
from pensions.models import PensionAccount, PensionValueEntry
from portfolios import services
from portfolios.models import Holding, Portfolio, Transaction

USERNAME = "household"
YEARS = 10
INSTRUMENTS = 150
TRANSACTIONS = 20_000
# Holdings per portfolio: 200 in all, from one large portfolio down to a small one, so the
# busiest pages (the largest portfolio, its busiest holding) are the worst case.
PORTFOLIOS = (
    ("Nordnet ASK", "NOK", 40),
    ("DNB Aksjesparekonto", "NOK", 32),
    ("Interactive Brokers", "USD", 28),
    ("Avanza ISK", "SEK", 24),
    ("Nordnet depot", "NOK", 20),
    ("Schwab", "USD", 18),
    ("Nordea", "SEK", 14),
    ("Kron", "NOK", 10),
    ("Saxo USD", "USD", 8),
    ("Firi", "NOK", 6),
)
# Every holding gets this many transactions; the rest are spread unevenly, as in life.
MIN_PER_HOLDING = 20
# Synthetic instruments beyond the demo catalogue: (currency, ticker suffix, share).
SYNTHETIC = (("NOK", ".OL", 0.5), ("USD", "", 0.3), ("SEK", ".ST", 0.15), ("EUR", ".DE", 0.05))
CURRENCIES = ("USD", "NOK", "SEK", "EUR", "GBP")
FEES = {"NOK": Decimal("39"), "USD": Decimal("4.95"), "SEK": Decimal("39")}
PENSIONS = (("Folketrygden", "NOK"), ("Tjenestepensjon", "NOK"), ("Premiepension", "SEK"))
BATCH = 5000
BENCH_EXCHANGE = "BENCH"

CENT = Decimal("0.01")
PRICE_Q = Decimal("0.0001")
RATE_Q = Decimal("0.000001")


@dataclass(frozen=True)
class Size:
    """How much to build: scale 1 is the benchmark household."""

    portfolios: tuple[tuple[str, str, int], ...]
    instruments: int
    transactions: int

    @classmethod
    def at(cls, scale: float) -> Size:
        if scale >= 1:
            copies = round(scale)
            portfolios = tuple(
                (name if copy == 1 else f"{name} {copy}", currency, count)
                for copy in range(1, copies + 1)
                for name, currency, count in PORTFOLIOS
            )
        else:
            portfolios = tuple((n, c, max(1, round(k * scale))) for n, c, k in PORTFOLIOS)
        holdings = sum(count for _, _, count in portfolios)
        instruments = max(round(INSTRUMENTS * scale), max(k for _, _, k in portfolios), 1)
        return cls(
            portfolios=portfolios,
            instruments=min(instruments, holdings),
            transactions=max(round(TRANSACTIONS * scale), holdings * MIN_PER_HOLDING),
        )


@dataclass
class Household:
    user: object
    portfolios: list[Portfolio]
    big_portfolio: Portfolio  # the most holdings and transactions
    foreign_portfolio: Portfolio  # a USD portfolio: values convert into NOK
    big_holding: Holding  # the most transactions
    transaction: Transaction  # one of big_holding's, for the edit pages
    pension: PensionAccount
    start: date
    end: date

    @property
    def symbol(self) -> str:
        return self.big_holding.instrument.ticker


def _walk(rng: random.Random, count: int, start: float, volatility: float) -> list[float]:
    drift = rng.gauss(0.0002, 0.0002)
    value, walk = start, []
    for _ in range(count):
        # Floored so that no price rounds to zero over ten years of a bad walk.
        value = max(start / 20, value * math.exp(rng.gauss(drift, volatility)))
        walk.append(value)
    return walk


def _instruments(rng: random.Random, count: int) -> list[Instrument]:
    items = [
        Instrument(
            ticker=item.symbol,
            company_name=item.name,
            exchange=item.exchange,
            currency=item.currency,
            isin=item.isin,
        )
        for item in demo.CATALOG[:count]
    ]
    synthetic = count - len(items)
    kinds = [(c, s) for c, s, share in SYNTHETIC for _ in range(math.ceil(synthetic * share))]
    for number, (currency, suffix) in enumerate(kinds[:synthetic], start=1):
        items.append(
            Instrument(
                ticker=f"HH{number:03d}{suffix}",
                company_name=f"Household Holding {number:03d}",
                exchange=BENCH_EXCHANGE,
                currency=currency,
            )
        )
    rng.shuffle(items)
    Instrument.objects.bulk_create(items, batch_size=BATCH)
    return list(Instrument.objects.filter(ticker__in=[i.ticker for i in items]))


class FxTable:
    """Daily rates between every two currencies, from each currency's walk against USD,
    so cross rates are consistent (USD->NOK->SEK equals USD->SEK)."""

    def __init__(self, rng: random.Random, days: list[date]):
        self.days = days
        levels = {"USD": 1.0, "NOK": 0.095, "SEK": 0.098, "EUR": 1.1, "GBP": 1.3}
        self.usd = {
            code: [1.0] * len(days) if code == "USD" else _walk(rng, len(days), level, 0.005)
            for code, level in levels.items()
        }

    def rate(self, base: str, target: str, index: int) -> Decimal:
        if base == target:
            return Decimal(1)
        value = self.usd[base][index] / self.usd[target][index]
        return Decimal(repr(value)).quantize(RATE_Q)


def _store_fx(fx: FxTable) -> None:
    # Both directions are not needed (fx.py inverts); store each pair once, base first in
    # CURRENCIES order, as a broker export or Yahoo's USDNOK=X would give them.
    pairs = [(b, t) for i, b in enumerate(CURRENCIES) for t in CURRENCIES[i + 1 :]]
    rows = [
        HistoricalExchangeRate(
            base_currency=base, target_currency=target, date=day, rate=fx.rate(base, target, i)
        )
        for base, target in pairs
        for i, day in enumerate(fx.days)
    ]
    HistoricalExchangeRate.objects.bulk_create(rows, batch_size=BATCH)


def _store_prices(
    rng: random.Random, instruments: list[Instrument], days: list[date]
) -> dict[int, list[Decimal]]:
    closes: dict[int, list[Decimal]] = {}
    for instrument in instruments:
        walk = _walk(rng, len(days), rng.uniform(20, 600), rng.uniform(0.008, 0.02))
        closes[instrument.pk] = [Decimal(repr(v)).quantize(PRICE_Q) for v in walk]
    batch: list[HistoricalStockPrice] = []
    for instrument in instruments:
        for day, close in zip(days, closes[instrument.pk], strict=True):
            batch.append(HistoricalStockPrice(instrument_id=instrument.pk, date=day, close=close))
            if len(batch) >= BATCH:
                HistoricalStockPrice.objects.bulk_create(batch)
                batch = []
    HistoricalStockPrice.objects.bulk_create(batch)
    return closes


def _assign(
    rng: random.Random, instruments: list[Instrument], size: Size
) -> list[list[Instrument]]:
    """Instruments per portfolio: every instrument at least once, the rest held twice
    (the same fund at two brokers), never twice in one portfolio."""
    total = sum(count for _, _, count in size.portfolios)
    pool = instruments + rng.sample(instruments, total - len(instruments))
    chosen: list[list[Instrument]] = []
    for _, _, count in size.portfolios:
        mine: list[Instrument] = []
        rest = []
        while len(mine) < count:
            candidate = pool.pop()
            (rest if candidate in mine else mine).append(candidate)
        pool.extend(rest)
        rng.shuffle(pool)
        chosen.append(mine)
    return chosen


def _spread(rng: random.Random, holdings: int, transactions: int) -> list[int]:
    counts = [MIN_PER_HOLDING] * holdings
    # Log-normal, tails clipped: most holdings see a few dozen trades, the busiest a few
    # hundred (a monthly savings plan with dividends is ~160 in ten years).
    weights = [math.exp(0.8 * max(-2.5, min(2.5, rng.gauss(0, 1)))) for _ in range(holdings)]
    for index in rng.choices(range(holdings), weights=weights, k=transactions - sum(counts)):
        counts[index] += 1
    return counts


def _trades(
    rng: random.Random,
    holding: Holding,
    count: int,
    days: list[date],
    closes: list[Decimal],
    fx: FxTable,
) -> list[services.NewTransaction]:
    portfolio, instrument = holding.portfolio, holding.instrument
    first = rng.randrange(0, len(days) * 6 // 10)
    span = len(days) - first
    picks = sorted(
        rng.sample(range(first, len(days)), count)
        if span >= count
        else rng.choices(range(first, len(days)), k=count)
    )
    held = Decimal(0)
    fee = FEES[portfolio.currency]
    txns = []
    for number, index in enumerate(picks):
        kind = rng.choices(("BUY", "SELL", "DIVIDEND"), weights=(50, 25, 25))[0]
        if not held:
            kind = "BUY"
        price = closes[index]
        rate = fx.rate(instrument.currency, portfolio.currency, index)
        fees = fee
        if kind == "BUY":
            quantity = Decimal(rng.randint(1, 100))
            held += quantity
        elif kind == "SELL":
            # Now and then everything goes; otherwise a part of what is held.
            quantity = held if rng.random() < 0.05 else Decimal(rng.randint(1, int(held) or 1))
            quantity = min(quantity, held)
            held -= quantity
        else:
            quantity = held
            price = (price * Decimal("0.006")).quantize(PRICE_Q)
            # Withholding tax, in the portfolio's currency.
            fees = (quantity * price * rate * Decimal("0.15")).quantize(CENT)
        txns.append(
            services.NewTransaction(
                instrument=instrument,
                type=kind,
                date=days[index],
                quantity=quantity,
                price=price,
                fees=fees,
                exchange_rate=rate,
                # Half came from broker imports (their dedupe key is indexed per portfolio).
                import_key=f"bench-{holding.pk}-{number}" if number % 2 else None,
            )
        )
    return txns


def _pensions(rng: random.Random, user, start: date, end: date) -> list[PensionAccount]:
    PensionAccount.objects.bulk_create(
        [PensionAccount(user=user, name=name, currency=currency) for name, currency in PENSIONS]
    )
    accounts = list(PensionAccount.objects.filter(user=user).order_by("pk"))
    entries = []
    for account in accounts:
        value = rng.uniform(50_000, 400_000)
        month = date(start.year, start.month, 1)
        while month <= end:
            value *= 1 + rng.gauss(0.006, 0.02)
            value += 2_000
            entries.append(
                PensionValueEntry(
                    account=account, date=month, value=Decimal(repr(value)).quantize(CENT)
                )
            )
            month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    PensionValueEntry.objects.bulk_create(entries, batch_size=BATCH)
    return accounts


def build(
    seed: int = 20250101,
    scale: float = 1,
    username: str = USERNAME,
    password: str = "household",
    years: int = YEARS,
) -> Household:
    """Create the household. Takes about a minute on SQLite at scale 1."""
    size = Size.at(scale)
    rng = random.Random(seed)
    today = timezone.localdate()
    end = today - timedelta(days=1)
    start = demo.years_before(end, years)
    days = demo.weekdays(start, end)
    end = days[-1]
    with transaction.atomic():
        user = get_user_model().objects.create_superuser(
            username, f"{username}@example.com", password
        )
        Profile.objects.update_or_create(
            user=user,
            defaults={
                "base_currency": "NOK",
                "retirement_goal_amount": Decimal("12000000"),
                "retirement_goal_year": today.year + 20,
            },
        )
        instruments = _instruments(rng, size.instruments)
        fx = FxTable(rng, days)
        _store_fx(fx)
        closes = _store_prices(rng, instruments, days)
        Portfolio.objects.bulk_create(
            [
                Portfolio(
                    user=user,
                    name=name,
                    currency=currency,
                    brokerage_firm=name.split()[0],
                    used_credit=Decimal("25000") if number % 4 == 0 else Decimal(0),
                )
                for number, (name, currency, _) in enumerate(size.portfolios)
            ]
        )
        by_name = {p.name: p for p in Portfolio.objects.filter(user=user)}
        portfolios = [by_name[name] for name, _, _ in size.portfolios]
        assigned = _assign(rng, instruments, size)
        Holding.objects.bulk_create(
            [
                Holding(portfolio=portfolio, instrument=instrument)
                for portfolio, mine in zip(portfolios, assigned, strict=True)
                for instrument in mine
            ]
        )
        holdings = list(
            Holding.objects.filter(portfolio__user=user)
            .select_related("portfolio", "instrument")
            .order_by("pk")
        )
        entries: dict[Portfolio, list[services.NewTransaction]] = {p: [] for p in portfolios}
        for holding, count in zip(
            holdings, _spread(rng, len(holdings), size.transactions), strict=True
        ):
            entries[holding.portfolio].extend(
                _trades(rng, holding, count, days, closes[holding.instrument_id], fx)
            )
        for portfolio, batch in entries.items():
            services.record_transactions(portfolio, batch)
        pensions = _pensions(rng, user, start, end)
    versions.bump(versions.MARKET_DATA)
    return _describe(user, pensions[0], start, end)


def _describe(user, pension: PensionAccount, start: date, end: date) -> Household:
    portfolios = list(Portfolio.objects.owned_by(user).order_by("pk"))
    big_portfolio = max(portfolios, key=lambda p: p.transactions.count())
    big_holding = (
        Holding.objects.filter(portfolio=big_portfolio)
        .select_related("portfolio", "instrument")
        .order_by("-pk")
    )
    big_holding = max(big_holding, key=lambda h: h.transactions.count())
    return Household(
        user=user,
        portfolios=portfolios,
        big_portfolio=big_portfolio,
        foreign_portfolio=next(p for p in portfolios if p.currency == "USD"),
        big_holding=big_holding,
        transaction=big_holding.transactions.order_by("-date", "-id").first(),
        pension=pension,
        start=start,
        end=end,
    )


def existing(scale: float = 1, username: str = USERNAME) -> Household | None:
    """The household left by an earlier run on a kept database (pytest --reuse-db), if it
    is complete and its prices reach yesterday's weekday; else None."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        return None
    expected_end = demo.weekdays(timezone.localdate() - timedelta(days=7), timezone.localdate())
    expected_end = [d for d in expected_end if d < timezone.localdate()][-1]
    last = HistoricalStockPrice.objects.order_by("-date").values_list("date", flat=True).first()
    complete = (
        Transaction.objects.filter(portfolio__user=user).count() == Size.at(scale).transactions
        and last == expected_end
        and PensionAccount.objects.filter(user=user).count() == len(PENSIONS)
    )
    if not complete:
        remove(username)
        return None
    first = HistoricalStockPrice.objects.order_by("date").values_list("date", flat=True).first()
    pension = PensionAccount.objects.filter(user=user).order_by("pk").first()
    return _describe(user, pension, first, last)


def remove(username: str = USERNAME) -> None:
    """Delete a stale household and the market data it brought (a kept database from an
    earlier day: its dates no longer end yesterday)."""
    with transaction.atomic():
        user = get_user_model().objects.filter(username=username).first()
        if user is not None:
            Portfolio.objects.filter(user=user).delete()
            user.delete()
        instruments = Instrument.objects.filter(
            Q(ticker__in=[item.symbol for item in demo.CATALOG]) | Q(exchange=BENCH_EXCHANGE)
        )
        pairs = [(b, t) for i, b in enumerate(CURRENCIES) for t in CURRENCIES[i + 1 :]]
        # A plain DELETE: the models' post_delete signal (a cache write per row) would make
        # the ORM's delete() load and signal all 400,000 rows one by one.
        for rows in (
            HistoricalStockPrice.objects.filter(instrument__in=instruments),
            HistoricalExchangeRate.objects.for_pairs(pairs),
        ):
            rows._raw_delete(rows.db)
        instruments.delete()
