"""The household fixture and the timing table of the benchmarks (`make bench`)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from financedash.management import household as household_data

TABLE = Path(django_settings.BASE_DIR) / "artifacts" / "bench.txt"
RESULTS = pytest.StashKey[list]()
BUILT = pytest.StashKey[str]()


@dataclass(frozen=True)
class Timing:
    name: str
    provider: str
    requests: int
    p50_ms: float
    p95_ms: float
    queries: int
    status: int
    size_kb: float


@pytest.fixture(scope="session")
def household(request, django_db_setup, django_db_blocker):
    """The household, built once per session. On a kept database (--reuse-db, worth it
    on PostgreSQL) the one an earlier run left is used again when it is still current."""
    with django_db_blocker.unblock():
        began = time.perf_counter()
        found = household_data.existing()
        data = found or household_data.build()
        took = time.perf_counter() - began
    request.config.stash[BUILT] = f"household {'reused' if found else 'built'} in {took:.1f} s"
    # No teardown: the test database goes at the end of the session (or is kept, with
    # --reuse-db, for the next run to reuse).
    return data


@pytest.fixture(scope="session")
def bench_results(request) -> list[Timing]:
    return request.config.stash.setdefault(RESULTS, [])


def _table(results: list[Timing], built: str) -> list[str]:
    backend = f"{connection.vendor}, cache {django_settings.CACHES['default']['BACKEND']}"
    lines = [
        f"household benchmarks ({backend}; {built})",
        f"{'page / endpoint':<58} {'provider':<8} {'n':>3} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'queries':>7} {'KiB':>7}",
    ]
    for t in results:
        lines.append(
            f"{t.name:<58} {t.provider:<8} {t.requests:>3} {t.p50_ms:>8.1f} {t.p95_ms:>8.1f} "
            f"{t.queries:>7} {t.size_kb:>7.1f}"
        )
    return lines


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    results = config.stash.get(RESULTS, [])
    if not results:
        return
    lines = _table(results, config.stash.get(BUILT, ""))
    terminalreporter.write_sep("=", "household benchmarks")
    for line in lines:
        terminalreporter.write_line(line)
    TABLE.parent.mkdir(exist_ok=True)
    TABLE.write_text("\n".join(lines) + "\n")
    terminalreporter.write_line(f"(written to {TABLE})")
