"""Restore a backup (financedash.backup) into a user's account: POST /api/v1/backup for the
operator, who may also create the user and whose instruments may be created from the
backup's currencies while the market-data provider is unavailable."""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from financedash import backup
from financedash.accounts import create_account, real_users


class Command(BaseCommand):
    help = (
        "Restore a financedash backup (JSON) into a user's account, which must have no "
        "portfolios: all of it or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("file")
        parser.add_argument(
            "--create-user",
            action="store_true",
            help="create the user (without a usable password) when there is none",
        )

    def handle(self, *args, username, file, create_user, **options):
        User = get_user_model()  # noqa: N806 - a class
        user = User.objects.filter(username=username).first()
        try:
            with open(file, encoding="utf-8") as handle:
                document = json.load(handle)
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        if user is None and not create_user:
            raise CommandError(f"No user {username!r} (--create-user makes one).")
        try:
            # A user made for the restore goes with a restore that fails.
            with transaction.atomic():
                if user is None:
                    user = User(username=username)
                    user.set_unusable_password()
                    if real_users().exists():
                        user.save()  # the operator's decision: registration settings do not apply
                    else:
                        user = create_account(user)  # the first real user becomes the owner
                restored = backup.restore(user, document, trusted=True)
        except (backup.BackupInvalid, backup.AccountNotEmpty) as exc:
            lines = [str(exc)]
            for path, reasons in getattr(exc, "errors", {}).items():
                lines += [f"  {path}: {reason}" for reason in reasons]
            raise CommandError("\n".join(lines)) from exc
        self.stdout.write(
            f"Restored {restored.portfolios} portfolios, {restored.transactions} transactions, "
            f"{restored.import_batches} import batches, {restored.pension_accounts} pension "
            f"accounts and {restored.pension_values} values into {username}."
        )
