"""Build the benchmark household (financedash/management/household.py) in this database."""

from __future__ import annotations

import argparse
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from financedash.management import household


class Command(BaseCommand):
    help = (
        "Build the benchmark household: at --scale 1, 10 portfolios, 200 holdings, 20,000 "
        "transactions and ten years of closes (~391,000 rows), deterministic. Refuses a "
        "database that has other users unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, default=1.0, help="1 = the benchmark size")
        parser.add_argument("--username", default=household.USERNAME)
        parser.add_argument("--password", default="household")
        parser.add_argument("--seed", type=int, default=20250101)
        parser.add_argument(
            "--force",
            action="store_true",
            help="build even though other users exist (a household of this username and "
            "the market data it brought are replaced)",
        )
        # For tests: fewer years of market data make a tiny household in a second.
        parser.add_argument("--years", type=int, default=household.YEARS, help=argparse.SUPPRESS)

    def handle(self, *args, scale, username, password, seed, force, years, **options):
        if scale <= 0:
            raise CommandError("--scale must be greater than 0.")
        users = get_user_model().objects.all()
        if not force and users.exists():
            names = ", ".join(sorted(users.values_list("username", flat=True)[:5]))
            raise CommandError(
                f"This database already has users ({names}). The household brings ten years "
                "of market data of its own: build it in an empty database, or pass --force."
            )
        # The household brings its own ten years of closes and rates: the writes' backfill
        # must not ask Yahoo for what it lacks (this process ends with the command).
        settings.MARKETDATA_PROVIDER = "offline"
        household.remove(username)
        began = time.perf_counter()
        built = household.build(
            seed=seed, scale=scale, username=username, password=password, years=years
        )
        took = time.perf_counter() - began
        self.stdout.write(
            self.style.SUCCESS(
                f"Built the household of {username!r} at scale {scale:g} in {took:.1f} s: "
                f"{len(built.portfolios)} portfolios, from {built.start} to {built.end}."
            )
        )
