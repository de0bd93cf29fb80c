from __future__ import annotations

from django.core.management.base import BaseCommand

from pensions import services


class Command(BaseCommand):
    help = (
        "Store today's YNAB balance of every pension account linked to a YNAB account, "
        "for every user (today's value is replaced if there is one)."
    )

    def handle(self, *args, **options):
        failed = False
        for user, result in services.sync_everyone().items():
            if isinstance(result, str):
                failed = True
                self.stderr.write(f"{user}: {result}")
                continue
            for entry in result.synced:
                self.stdout.write(
                    f"{user}: {entry.account.name} {entry.date.isoformat()} {entry.value}"
                )
            for error in result.errors:
                failed = True
                self.stderr.write(f"{user}: {error['name']}: {error['message']}")
        if failed:
            raise SystemExit(1)
