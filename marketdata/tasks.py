"""Celery tasks of market data itself; the periodic refresh of what is held is in
portfolios.tasks."""

from __future__ import annotations

from datetime import date

from celery import shared_task

from marketdata import backfill, resilience


@shared_task(ignore_result=True)
def fetch_history(prices: dict[str, str], pairs: list[list[str]], end: str) -> dict:
    """The history a request ran out of time for (marketdata.backfill), without a budget."""
    wanted = backfill.Wanted(end=date.fromisoformat(end))
    for ticker, since in prices.items():
        wanted.add_prices(ticker, date.fromisoformat(since))
    for base, target, since in pairs:
        wanted.add_pair(base, target, date.fromisoformat(since))
    with resilience.patient():
        left = backfill.fetch(wanted)
    return {"missing": left.labels()}
