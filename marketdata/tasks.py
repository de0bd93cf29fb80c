"""Celery tasks; the work itself is in marketdata.refresh, shared with the commands."""

from __future__ import annotations

from celery import shared_task

from marketdata import refresh


@shared_task(ignore_result=True)
def refresh_quotes() -> dict:
    batch = refresh.refresh_held_quotes()
    return {"quotes": len(batch.quotes), "errors": {s: str(e) for s, e in batch.errors.items()}}


@shared_task(ignore_result=True)
def sync_history() -> dict:
    return refresh.sync_held_history()
