"""Celery tasks; the work itself is in pensions.services, shared with the command."""

from __future__ import annotations

from celery import shared_task

from pensions import services


@shared_task(ignore_result=True)
def sync_ynab() -> dict:
    """Today's YNAB balances for every user with linked accounts (the beat's daily run)."""
    return {user: summary(result) for user, result in services.sync_everyone().items()}


def summary(result: services.SyncResult | str) -> dict:
    if isinstance(result, str):
        return {"error": result}
    return {"synced": len(result.synced), "errors": [e["message"] for e in result.errors]}
