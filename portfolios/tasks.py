"""Celery tasks that keep the market data of what the portfolios hold fresh; the work is in
portfolios.market, shared with the cron commands."""

from __future__ import annotations

from celery import shared_task

from portfolios import jobs, market


@shared_task(ignore_result=True)
def refresh_quotes() -> dict:
    batch = market.refresh_held_quotes()
    return {"quotes": len(batch.quotes), "errors": {s: str(e) for s, e in batch.errors.items()}}


@shared_task(ignore_result=True)
def sync_history() -> dict:
    return market.sync_held_history()


@shared_task(ignore_result=True)
def run_import_job(job_id: int) -> None:
    """A large import (portfolios.jobs), in the Celery worker."""
    jobs.run(job_id)


@shared_task(ignore_result=True)
def reap_import_jobs() -> int:
    """Mark failed the import jobs whose worker died (portfolios.jobs.reap_stale)."""
    return jobs.reap_stale()
