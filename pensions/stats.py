"""What each pension account's page and the pensions list show beside the latest value: the
change since the previous entry and over twelve months, this year's IPS contributions
against the cap, and the history of all accounts in the base currency. Pure reads."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext

from financedash.lib import charts
from financedash.lib.money import ZERO
from marketdata import fx
from pensions.models import PensionAccount, PensionValueEntry

HUNDRED = Decimal(100)
CAP_CURRENCY = "NOK"  # the IPS cap is a Norwegian rule, set in kroner


@dataclass(frozen=True)
class Change:
    amount: Decimal
    percent: Decimal | None  # None when the earlier value is 0
    since: date  # the date of the entry compared with


@dataclass(frozen=True)
class IpsCap:
    year: int
    contributed: Decimal  # the year's entries' contributions, in the account's currency
    cap: Decimal
    comparable: bool  # False when the account is not in the cap's currency
    unknown: int  # entries this year with no contribution recorded

    @property
    def remaining(self) -> Decimal:
        return max(self.cap - self.contributed, ZERO)

    @property
    def over(self) -> Decimal:
        return max(self.contributed - self.cap, ZERO)

    @property
    def percent(self) -> Decimal:
        return self.contributed / self.cap * HUNDRED if self.cap else ZERO


@dataclass
class AccountSummary:
    account: PensionAccount
    latest: PensionValueEntry | None
    since_previous: Change | None
    over_year: Change | None
    ips: IpsCap | None
    rate: Decimal | None = None  # base currency per unit of the account's; None: unknown
    value_base: Decimal | None = None


def year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February: a year before is the 28th
        return day.replace(year=day.year - 1, day=28)


def _change(now: Decimal, then: PensionValueEntry) -> Change:
    amount = now - then.value
    percent = amount / then.value * HUNDRED if then.value else None
    return Change(amount, percent, then.date)


def summarize(account: PensionAccount, entries: list[PensionValueEntry], today: date):
    """`entries` oldest first. The twelve-month change compares the latest entry with the
    latest entry on or before the same date a year earlier (its own date, so a statement
    is compared with the statement a year before it, however long ago the last one was)."""
    entries = sorted(entries, key=lambda e: e.date)
    latest = entries[-1] if entries else None
    since_previous = over_year = None
    if latest is not None and len(entries) > 1:
        since_previous = _change(latest.value, entries[-2])
        dates = [e.date for e in entries]
        index = bisect.bisect_right(dates, year_before(latest.date)) - 1
        if index >= 0:
            over_year = _change(latest.value, entries[index])
    ips = None
    if account.kind == PensionAccount.Kind.IPS:
        this_year = [e for e in entries if e.date.year == today.year]
        ips = IpsCap(
            year=today.year,
            contributed=sum((e.contribution for e in this_year if e.contribution), ZERO),
            cap=settings.IPS_YEARLY_CAP,
            comparable=account.currency == CAP_CURRENCY,
            unknown=sum(1 for e in this_year if e.contribution is None),
        )
    return AccountSummary(account, latest, since_previous, over_year, ips)


def summaries(user, today: date, base_currency: str) -> tuple[list[AccountSummary], dict]:
    """Every account of the user summarized, and each one's entries (oldest first) by id,
    in two queries; `value_base` is None where no rate into the base currency is stored."""
    accounts = list(PensionAccount.objects.owned_by(user))
    by_account: dict[int, list[PensionValueEntry]] = {a.pk: [] for a in accounts}
    for entry in PensionValueEntry.objects.filter(account__in=accounts).order_by("date"):
        by_account[entry.account_id].append(entry)
    rates = fx.latest_rates((a.currency, base_currency) for a in accounts)
    result = []
    for account in accounts:
        summary = summarize(account, by_account[account.pk], today)
        summary.rate = rates.get((account.currency, base_currency))
        if summary.latest is not None and summary.rate is not None:
            summary.value_base = summary.latest.value * summary.rate
        result.append(summary)
    return result, by_account


STYLES = ("secondary", "tertiary")


def history_chart(summaries: list[AccountSummary], by_account: dict) -> charts.LineChart:
    """The accounts stacked in the base currency (at today's rate), each counted at its
    latest value on or before every date: one band per account, the top line their total.
    Accounts without a rate are left out (the page names them)."""
    lines = []
    for summary in summaries:
        points = by_account[summary.account.pk]
        if summary.rate is None or not points:
            continue
        lines.append((summary.account.name, [(e.date, e.value * summary.rate) for e in points]))
    if not lines:
        return charts.LineChart()
    days = sorted({d for _, points in lines for d, _ in points})
    series, below = [], [(day, ZERO) for day in days]
    for i, (name, points) in enumerate(lines):
        own = stepped(points, days)
        top = [(day, low + value) for (day, low), (_, value) in zip(below, own, strict=True)]
        series.append(
            charts.Series(
                name, top, style=STYLES[i % len(STYLES)], area=True, below=below, values=own
            )
        )
        below = top
    if len(lines) > 1:
        series.append(charts.Series(gettext("Total"), below, style="primary"))
    return charts.line_chart(series)


def stepped(points, days) -> list[charts.Point]:
    """A step series read at each of `days`: its latest point on or before the day, 0
    before its first."""
    points = sorted(points)
    result = []
    for day in days:
        index = bisect.bisect_right(points, (day, Decimal("Infinity"))) - 1
        result.append((day, points[index][1] if index >= 0 else ZERO))
    return result
