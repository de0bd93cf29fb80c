"""Write a user's backup (financedash.backup) as JSON: the file GET /api/v1/backup gives."""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from financedash import backup


class Command(BaseCommand):
    help = "Write a user's whole data as a financedash backup (JSON) to a file or stdout."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--output", "-o", help="the file to write; stdout without")

    def handle(self, *args, username, output, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        text = json.dumps(backup.dump(user), indent=1, ensure_ascii=False)
        if output:
            with open(output, "w", encoding="utf-8") as file:
                file.write(text + "\n")
            self.stderr.write(f"Wrote the backup of {username} to {output}.")
        else:
            self.stdout.write(text)
