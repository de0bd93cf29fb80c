"""Reads what portfolios.dividends needs for one portfolio: its holdings, the dividends and
splits of the trailing 12 months (two small queries) and the latest rates into its currency.
No provider call: a rate that is not stored leaves that holding's forecast out, named."""

from __future__ import annotations

from datetime import date

from django.utils import timezone

from marketdata import fx
from portfolios import dividends, ledger
from portfolios.models import Portfolio, Transaction


def portfolio_dividends(portfolio: Portfolio, today: date | None = None) -> dividends.Forecast:
    today = today or timezone.localdate()
    held = [
        dividends.Held(
            id=h.pk,
            symbol=h.instrument.ticker,
            currency=h.instrument.currency,
            quantity=h.quantity,
            total_cost=h.total_cost,
        )
        for h in portfolio.holdings.select_related("instrument")
    ]
    rows = Transaction.objects.filter(
        portfolio=portfolio,
        type__in=[ledger.DIVIDEND, ledger.SPLIT],
        date__gte=dividends.window_start(today),
        date__lte=today,
    ).values_list("holding_id", "type", "date", "quantity", "price", "exchange_rate", "fees")
    payments, splits = [], []
    for holding_id, kind, day, quantity, price, rate, fees in rows:
        if kind == ledger.SPLIT:
            splits.append(dividends.Split(holding_id, day, quantity))
        else:
            payments.append(dividends.Payment(holding_id, day, quantity, price, rate, fees))
    paying = {h.id for h in held} & {p.holding_id for p in payments}
    pairs = {(h.currency, portfolio.currency) for h in held if h.id in paying}
    pairs.discard((portfolio.currency, portfolio.currency))
    table = fx.latest_rates(pairs) if pairs else {}
    rates = {base: table[(base, target)] for base, target in pairs if (base, target) in table}
    return dividends.forecast(today, portfolio.currency, held, payments, splits, rates)
