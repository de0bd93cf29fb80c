"""Exchange rates from the stored daily closes (HistoricalExchangeRate: `rate` units of the
target per one base).

A rate for a day is the last one stored on or before it (weekends and holidays carry the
previous close forward); when only the opposite pair is stored its inverse is used. A rate
that cannot be found is a MissingExchangeRate, never a silent 1: converting at 1 would
quietly misstate every figure built on it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from decimal import Context, Decimal

from django.conf import settings
from django.utils import timezone

from marketdata import providers
from marketdata.models import RECENT_WINDOW, HistoricalExchangeRate
from marketdata.providers.base import MissingExchangeRate, as_rate

ONE = Decimal(1)

Pair = tuple[str, str]


class RateTable(Mapping[Pair, Decimal]):
    """Rates for many pairs on one date. Indexing a pair that has no rate raises
    MissingExchangeRate; .get() answers None for it."""

    def __init__(self, rates: dict[Pair, Decimal], on_date: date):
        self._rates = rates
        self.on_date = on_date

    def __getitem__(self, pair: Pair) -> Decimal:
        base, target = (pair[0].upper(), pair[1].upper())
        if base == target:
            return ONE
        try:
            return self._rates[(base, target)]
        except KeyError:
            raise MissingExchangeRate(base, target, self.on_date) from None

    def get(self, pair: Pair, default=None):
        try:
            return self[pair]
        except MissingExchangeRate:
            return default

    def __contains__(self, pair: object) -> bool:
        return isinstance(pair, tuple) and self.get(pair) is not None

    def __iter__(self) -> Iterator[Pair]:
        return iter(self._rates)

    def __len__(self) -> int:
        return len(self._rates)


_EXACT = Context(prec=60)


def _invert(rate: Decimal, exact: bool) -> Decimal:
    # Exact: performance keeps full precision inside and rounds only at the edge.
    return _EXACT.divide(ONE, rate) if exact else as_rate(ONE / rate)


def choose(direct: tuple | None, inverse: tuple | None) -> Decimal | None:
    """Pick between the stored (date, rate) of a pair and of its opposite: the more recent
    one, the direct one on a tie, inverting the opposite pair's rate."""
    if direct is None and inverse is None:
        return None
    if inverse is None or (direct is not None and direct[0] >= inverse[0]):
        return direct[1]
    return _invert(inverse[1], exact=False)


def pair_series(
    direct: Iterable[tuple[date, Decimal]],
    inverse: Iterable[tuple[date, Decimal]],
    *,
    exact: bool = False,
) -> list[tuple[date, Decimal]]:
    """A pair's daily rates from its own stored (date, rate) rows and its opposite pair's,
    in date order, by the rule of choose() on each day: the direct rate on a day that has
    both, the opposite one inverted otherwise (to the stored precision, or at 60 digits
    when `exact`)."""
    merged = {day: _invert(rate, exact) for day, rate in inverse}
    merged.update(direct)
    return sorted(merged.items())


def rates_on(pairs: Iterable[Pair], on_date: date) -> RateTable:
    """Rates for many (base, target) pairs on one date: one query when each pair has a rate
    in the last two weeks, three at most however many pairs there are."""
    wanted = {(b.upper(), t.upper()) for b, t in pairs}
    wanted = {(b, t) for b, t in wanted if b != t}
    stored = HistoricalExchangeRate.objects.latest_rates(wanted, on_date)
    rates = {}
    for base, target in wanted:
        rate = choose(stored.get((base, target)), stored.get((target, base)))
        if rate is not None:
            rates[(base, target)] = rate
    return RateTable(rates, on_date)


def rate(base: str, target: str, on_date: date) -> Decimal:
    """`target` units per one `base` on a date; raises MissingExchangeRate."""
    return rates_on([(base, target)], on_date)[(base, target)]


def recent_rates(wanted: Iterable[tuple[str, str, date]]) -> dict[tuple[str, str, date], Decimal]:
    """Rates for many (base, target, day) at once, in one query, by the rule of rates_on
    for each day's rate stored within RECENT_WINDOW before it (a file's every currency and
    trade date). What has no rate that recent is left out: ask rate() for it."""
    wanted = {(b.upper(), t.upper(), day) for b, t, day in wanted}
    wanted = {(b, t, day) for b, t, day in wanted if b != t}
    if not wanted:
        return {}
    pairs = {(b, t) for b, t, _ in wanted}
    days = [day for _, _, day in wanted]
    series: dict[Pair, tuple[list[date], list[Decimal]]] = defaultdict(lambda: ([], []))
    rows = HistoricalExchangeRate.objects.for_pairs(pairs | {(t, b) for b, t in pairs}).filter(
        date__gte=min(days) - RECENT_WINDOW, date__lte=max(days)
    )
    for base, target, day, value in rows.order_by("date").values_list(
        "base_currency", "target_currency", "date", "rate"
    ):
        dates, values = series[(base, target)]
        dates.append(day)
        values.append(value)

    def last(pair: Pair, day: date) -> tuple | None:
        dates, values = series.get(pair, ((), ()))
        index = bisect_right(dates, day) - 1
        if index < 0 or dates[index] < day - RECENT_WINDOW:
            return None
        return dates[index], values[index]

    found = {}
    for base, target, day in wanted:
        rate = choose(last((base, target), day), last((target, base), day))
        if rate is not None:
            found[(base, target, day)] = rate
    return found


def latest_rates(pairs: Iterable[Pair]) -> RateTable:
    return rates_on(pairs, timezone.localdate())


def supported_currencies() -> list[str]:
    """What the app can convert: whatever rates are stored, plus what the provider can
    fetch on demand."""
    stored = HistoricalExchangeRate.objects.values_list("base_currency", "target_currency")
    codes = {settings.DEFAULT_BASE_CURRENCY, *providers.get_provider().currencies}
    # No ordering: the model's default ordering would put `date` into the DISTINCT.
    for base, target in stored.order_by().distinct():
        codes.update((base, target))
    return sorted(codes)
