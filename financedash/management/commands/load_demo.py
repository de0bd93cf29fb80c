from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from financedash.accounts import DEMO_USERNAME, real_users
from financedash.models import Profile
from marketdata import history
from marketdata.providers import demo
from pensions import services as pension_services
from pensions.models import PensionAccount
from portfolios import cash, services
from portfolios.models import Portfolio

USERNAME = PASSWORD = DEMO_USERNAME
CENT = Decimal("0.01")
# Withholding tax on dividends, as the demo household's broker would deduct it (the
# Norwegian treaty rate); none at home or from the UK.
WITHHOLDING = Decimal("0.15")
NO_WITHHOLDING = {"NOK", "GBP"}
COMMISSION = {"NOK": Decimal(49), "USD": Decimal(1)}
PAYMENT_MONTHS = {1: (5,), 2: (5, 11), 4: (2, 5, 8, 11)}
FX_PAIRS = [(c, "NOK") for c in ("USD", "SEK", "GBP", "EUR")] + [
    (c, "USD") for c in ("SEK", "GBP", "EUR")
]


@dataclass(frozen=True)
class DemoPortfolio:
    name: str
    brokerage: str
    currency: str
    description: str
    holdings: tuple[tuple[str, int], ...]  # (symbol, shares bought each time)
    kind: str = "ordinary"
    # An ASK keeps its cash: its deposits (innskudd) are what it can pay out tax free.
    track_cash: bool = False


DEMO_BENCHMARK = "^OSEBX"
ASK = "Aksjesparekonto"
# The ASK's deposits are round sums, made when a buy needs more than the cash in it.
DEPOSIT_STEP = Decimal(5_000)
# Aksjesparekonto exists from 1 September 2017 (skatteloven § 10-21): the demo's starts then
# at the earliest.
ASK_OPENED = date(2017, 9, 1)
WITHDRAWAL_STEP = Decimal(1_000)

PORTFOLIOS = (
    DemoPortfolio(
        ASK,
        "Nordnet",
        "NOK",
        "Nordic shares in a Norwegian share savings account.",
        (
            ("EQNR.OL", 40),
            ("DNB.OL", 30),
            ("ORK.OL", 60),
            ("NHY.OL", 100),
            ("MOWI.OL", 25),
            ("VOLV-B.ST", 20),
        ),
        kind="ask",
        track_cash=True,
    ),
    DemoPortfolio(
        "Utbytteportefølje",
        "DNB Markets",
        "NOK",
        "Dividend payers, several of them abroad.",
        (("TEL.OL", 50), ("HSBA.L", 200), ("AZN.L", 8), ("SAP.DE", 6)),
    ),
    DemoPortfolio(
        "US shares",
        "Interactive Brokers",
        "USD",
        "American shares, held in dollars.",
        (("AAPL", 10), ("MSFT", 5), ("GOOGL", 10), ("NVDA", 20), ("KO", 15)),
    ),
)


@dataclass(frozen=True)
class PlannedTrade:
    portfolio: str
    symbol: str
    type: str
    date: date
    quantity: Decimal
    price: Decimal
    fees: Decimal
    exchange_rate: Decimal

    @property
    def import_key(self) -> str:
        return f"demo:{self.symbol}:{self.type}:{self.date.isoformat()}"


@dataclass(frozen=True)
class PlannedCash:
    portfolio: str
    type: str  # DEPOSIT or WITHDRAWAL
    date: date
    amount: Decimal

    @property
    def import_key(self) -> str:
        return f"demo:cash:{self.type}:{self.date.isoformat()}"


def _cash_effect(trade: PlannedTrade) -> Decimal:
    """What a trade moves the cash by, as the ledger books it (portfolios.cash)."""
    gross = trade.quantity * trade.price * trade.exchange_rate
    sign = -1 if trade.type == "BUY" else 1
    return sign * cash.booked(gross + trade.fees if trade.type == "BUY" else gross - trade.fees)


def plan_cash(trades: list[PlannedTrade]) -> list[PlannedCash]:
    """The ASK's deposits and one withdrawal, a pure function of its trades: on a day whose
    buys cost more than the cash in the account, a deposit of the shortfall rounded up to
    DEPOSIT_STEP (so the cash never goes negative); on the day of its first sale, half the
    cash is taken out, less than the deposits (a tax-free withdrawal, ARCHITECTURE 5d)."""
    days: dict[date, list[PlannedTrade]] = {}
    for trade in trades:
        if trade.portfolio == ASK:
            days.setdefault(trade.date, []).append(trade)
    balance = deposits = Decimal(0)
    planned, withdrawn = [], False
    for day in sorted(days):
        need = -sum((_cash_effect(t) for t in days[day] if t.type == "BUY"), Decimal(0))
        if need > balance:
            amount = ((need - balance) / DEPOSIT_STEP).to_integral_value(ROUND_CEILING)
            amount *= DEPOSIT_STEP
            planned.append(PlannedCash(ASK, "DEPOSIT", day, amount))
            balance += amount
            deposits += amount
        balance += sum((_cash_effect(t) for t in days[day]), Decimal(0))
        if not withdrawn and any(t.type == "SELL" for t in days[day]):
            amount = min(balance, deposits) / 2 // WITHDRAWAL_STEP * WITHDRAWAL_STEP
            if amount > 0:
                planned.append(PlannedCash(ASK, "WITHDRAWAL", day, amount))
                balance -= amount
                withdrawn = True
    return planned


# name, kind, value at the first month end, monthly contribution (NOK)
PENSIONS = [
    ("IPS (Nordnet)", "ips", Decimal(45_000), Decimal(1_250)),
    ("Employer pension (Storebrand)", "employer", Decimal(310_000), Decimal(3_400)),
]


def _month_ends(first: date, last: date) -> list[date]:
    ends = []
    year, month = first.year, first.month
    while True:
        following = date(year + month // 12, month % 12 + 1, 1)
        end = following - timedelta(days=1)
        if end > last:
            return ends
        ends.append(end)
        year, month = following.year, following.month


def _weekday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _events(symbol: str, h_index: int, p_index: int, start: date, last: date) -> list:
    """(date, kind) of one holding: buys every nine months or so, a sale of a third for
    every other holding, and the instrument's dividend dates while it is held."""
    buys, day, n = [], _weekday(start + timedelta(days=30 * h_index + 11 * p_index + 3)), 0
    while day <= last:
        buys.append(day)
        day = _weekday(day + timedelta(days=270 + 17 * ((h_index + n) % 5)))
        n += 1
    events = [(d, "BUY") for d in buys]
    if h_index % 2 == 1 and len(buys) >= 3:
        sale = _weekday(buys[len(buys) * 2 // 3] + timedelta(days=45))
        if sale <= last:
            events.append((sale, "SELL"))
    if buys and demo.BY_SYMBOL[symbol].dividend_yield > 0:
        months = PAYMENT_MONTHS[demo.BY_SYMBOL[symbol].dividends_per_year]
        for year in range(buys[0].year, last.year + 1):
            for month in months:
                pay = _weekday(date(year, month, 20))
                if buys[0] < pay <= last:
                    events.append((pay, "DIVIDEND"))
    # Same-day order: a buy before a dividend, the dividend before a sale.
    order = {"BUY": 0, "DIVIDEND": 1, "SELL": 2}
    return sorted(events, key=lambda e: (e[0], order[e[1]]))


def plan(today: date, years: int) -> list[PlannedTrade]:
    """The demo household's trades: a pure function of the day and the span in years."""
    start, last = demo.years_before(today, years), today - timedelta(days=14)
    trades = []
    for p_index, portfolio in enumerate(PORTFOLIOS):
        commission = COMMISSION[portfolio.currency]
        first = max(start, ASK_OPENED) if portfolio.kind == "ask" else start
        for h_index, (symbol, lot) in enumerate(portfolio.holdings):
            item = demo.BY_SYMBOL[symbol]
            held = Decimal(0)
            for day, kind in _events(symbol, h_index, p_index, first, last):
                rate = demo.rate_on(item.currency, portfolio.currency, day)
                if kind == "BUY":
                    quantity, price, fees = Decimal(lot), demo.close_on(symbol, day), commission
                    held += quantity
                elif kind == "SELL":
                    quantity, price, fees = held // 3, demo.close_on(symbol, day), commission
                    if not quantity:
                        continue
                    held -= quantity
                else:
                    quantity, price = held, demo.dividend_per_share(symbol, day)
                    withholding = Decimal(0) if item.currency in NO_WITHHOLDING else WITHHOLDING
                    fees = (quantity * price * rate * withholding).quantize(CENT)
                trades.append(
                    PlannedTrade(portfolio.name, symbol, kind, day, quantity, price, fees, rate)
                )
    return trades


class Command(BaseCommand):
    help = (
        "Create the demo user (demo/demo) with a household of portfolios, several years of "
        "trades and dividends, and the demo provider's closes and exchange rates. Running "
        "it again duplicates nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--years", type=int, default=demo.HISTORY_YEARS)

    def _pensions(self, user, first_day: date, today: date) -> int:
        """Two pension accounts with a value at every month end: steady contributions and
        a return that wanders, so the charts and the projection have something to show."""
        stored = 0
        for name, kind, start, contribution in PENSIONS:
            account, _ = PensionAccount.objects.get_or_create(
                user=user, name=name, defaults={"kind": kind, "currency": "NOK"}
            )
            if account.values.exists():
                continue
            value = start
            for index, day in enumerate(_month_ends(first_day, today)):
                # Each month's value includes the month's contribution (not the first's).
                paid = contribution if index else None
                pension_services.record_value(account, date=day, value=value, contribution=paid)
                stored += 1
                # 0.5 % a month on average, between -1 % and +2 %, the same on every run.
                monthly = Decimal("0.005") + Decimal((index * 37) % 11 - 5) * Decimal("0.003")
                value = (value * (1 + monthly) + contribution).quantize(CENT)
        return stored

    @transaction.atomic
    def handle(self, *args, years: int, **options):
        # Generated closes are shared market data: in a real database they would value
        # real portfolios. `make demo` gives the demo a database of its own.
        if str(connection.settings_dict["NAME"]) == str(settings.BASE_DIR / "db.sqlite3"):
            raise CommandError(
                "Not in the database `make run` uses: the demo's generated prices would mix "
                "with real ones. Run `make demo` (its own demo.sqlite3), or set DATABASE_URL."
            )
        if real_users().exists():
            raise CommandError(
                "This database has real accounts: the demo's generated prices would mix "
                "with their data. Give the demo a database of its own (DATABASE_URL)."
            )
        provider = demo.DemoProvider()
        today = timezone.localdate()
        user_model = get_user_model()
        user = user_model.objects.filter(username=USERNAME).first()
        if user is None:
            user = user_model.objects.create_user(USERNAME, f"{USERNAME}@example.com", PASSWORD)
        profile, _ = Profile.objects.get_or_create(user=user)
        if profile.retirement_goal_amount is None:
            profile.retirement_goal_amount = Decimal(12_000_000)
            profile.retirement_goal_year = today.year + 22
            profile.save()

        instruments = {
            item.symbol: history.resolve_instrument(item.symbol, provider=provider)
            for item in demo.CATALOG
        }
        first_day, yesterday = demo.years_before(today, years), today - timedelta(days=1)
        closes = rates = 0
        for symbol in sorted({s for p in PORTFOLIOS for s, _ in p.holdings}):
            closes += history.sync_prices(
                instruments[symbol], first_day, yesterday, provider=provider
            )
        for base, target in FX_PAIRS:
            rates += history.sync_fx(base, target, first_day, yesterday, provider=provider)

        # Every performance chart of the demo compares with the Oslo index (issue 15).
        benchmark = history.resolve_instrument(DEMO_BENCHMARK, provider=provider)
        if profile.benchmark_id is None:
            profile.benchmark = benchmark
            profile.save(update_fields=["benchmark"])
        portfolios, loaded = {}, set()
        for spec in PORTFOLIOS:
            portfolio, _ = Portfolio.objects.get_or_create(
                user=user,
                name=spec.name,
                defaults={
                    "brokerage_firm": spec.brokerage,
                    "currency": spec.currency,
                    "description": spec.description,
                    "benchmark": benchmark,
                    "kind": spec.kind,
                    "track_cash": spec.track_cash,
                },
            )
            portfolios[spec.name] = portfolio
            # The plan moves with today's date; a portfolio loaded on an earlier day keeps
            # its trades rather than getting a second, shifted set.
            if portfolio.transactions.exists():
                loaded.add(spec.name)
        trades = [t for t in plan(today, years) if t.portfolio not in loaded]
        moves = plan_cash(trades)
        # A day's deposit before its trades, a withdrawal after them: the cash never dips.
        rank = {"DEPOSIT": 0, "WITHDRAWAL": 2}
        for name, portfolio in portfolios.items():
            own = [(t.date, 1, t) for t in trades if t.portfolio == name]
            own += [(m.date, rank[m.type], m) for m in moves if m.portfolio == name]
            own.sort(key=lambda item: item[:2])
            services.record_transactions(
                portfolio,
                [
                    services.NewTransaction.cash(
                        type=item.type,
                        date=item.date,
                        amount=item.amount,
                        notes="Demo data",
                        import_key=item.import_key,
                    )
                    if isinstance(item, PlannedCash)
                    else services.NewTransaction(
                        instrument=instruments[item.symbol],
                        type=item.type,
                        date=item.date,
                        quantity=item.quantity,
                        price=item.price,
                        fees=item.fees,
                        exchange_rate=item.exchange_rate,
                        notes="Demo data",
                        import_key=item.import_key,
                    )
                    for _day, _rank, item in own
                ],
            )
        pension_values = self._pensions(user, first_day, today)
        self.stdout.write(
            f"Demo household: {len(PENSIONS)} pension accounts ({pension_values} values), "
            f"{len(portfolios)} portfolios ({len(loaded)} already loaded), "
            f"{len(trades) + len(moves)} transactions recorded; {closes} closes and {rates} "
            "exchange rates stored."
        )
        self.stdout.write(f"Log in as {USERNAME} / {PASSWORD} (username / password).")
