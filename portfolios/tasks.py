"""Celery tasks that keep the market data of what the portfolios hold fresh; the work is in
portfolios.market, shared with the cron commands."""

from __future__ import annotations

from celery import shared_task

from portfolios import market


@shared_task(ignore_result=True)
def refresh_quotes() -> dict:
    batch = market.refresh_held_quotes()
    return {"quotes": len(batch.quotes), "errors": {s: str(e) for s, e in batch.errors.items()}}


@shared_task(ignore_result=True)
def sync_history() -> dict:
    return market.sync_held_history()
