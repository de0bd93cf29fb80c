from __future__ import annotations

from django.core.management.base import BaseCommand

from portfolios import market


class Command(BaseCommand):
    help = "Fetch fresh quotes for every held instrument in one provider call (cron-friendly)."

    def handle(self, *args, **options):
        batch = market.refresh_held_quotes()
        stale = sum(1 for q in batch.quotes.values() if q.stale)
        self.stdout.write(
            f"{len(batch.quotes)} quotes ({stale} stale), {len(batch.errors)} errors."
        )
        for symbol, error in batch.errors.items():
            self.stderr.write(f"{symbol}: {error}")
