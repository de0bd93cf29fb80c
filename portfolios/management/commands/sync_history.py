from __future__ import annotations

from django.core.management.base import BaseCommand

from portfolios import market


class Command(BaseCommand):
    help = (
        "Store missing daily closes of held instruments and the exchange rates in use, "
        "up to yesterday (cron-friendly)."
    )

    def handle(self, *args, **options):
        summary = market.sync_held_history()
        self.stdout.write(
            f"{summary['prices']} closes for {summary['instruments']} instruments, "
            f"{summary['rates']} rates for {summary['pairs']} currency pairs."
        )
        for error in summary["errors"]:
            self.stderr.write(error)
