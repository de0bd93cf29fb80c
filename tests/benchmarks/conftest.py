"""The household fixture and the timing table of the benchmarks (`make bench`).

BENCH_SCALE=small (CI) builds a tiny household (scale 0.05, two years) and times each case a
few times with one provider: it keeps the benchmarks running, its figures mean little.
The table goes to artifacts/bench.txt and, with each case's ratio to /health in the same
run and the issue's targets (which pass), to artifacts/bench.json.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from financedash.management import household as household_data

TABLE = Path(django_settings.BASE_DIR) / "artifacts" / "bench.txt"
JSON_TABLE = TABLE.with_suffix(".json")
RESULTS = pytest.StashKey[list]()
BUILT = pytest.StashKey[str]()

SMALL = os.environ.get("BENCH_SCALE", "").lower() == "small"
SCALE = 0.05 if SMALL else float(os.environ.get("BENCH_SCALE") or 1)
YEARS = 2 if SMALL else household_data.YEARS


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
    rows_per_s: float | None = None  # imports only


@pytest.fixture(scope="session")
def household(request, django_db_setup, django_db_blocker):
    """The household, built once per session. On a kept database (--reuse-db, worth it
    on PostgreSQL) the one an earlier run left is used again when it is still current."""
    with django_db_blocker.unblock():
        began = time.perf_counter()
        found = None if SMALL else household_data.existing(SCALE)
        if not found:
            household_data.remove()
        data = found or household_data.build(scale=SCALE, years=YEARS)
        took = time.perf_counter() - began
    request.config.stash[BUILT] = (
        f"household at scale {SCALE:g}, {YEARS} years, {'reused' if found else 'built'} "
        f"in {took:.1f} s"
    )
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
        f"{'queries':>7} {'KiB':>7} {'x health':>8}",
    ]
    health = _health(results)
    for t in results:
        ratio = _ratio(t, health)
        lines.append(
            f"{t.name:<58} {t.provider:<8} {t.requests:>3} {t.p50_ms:>8.1f} {t.p95_ms:>8.1f} "
            f"{t.queries:>7} {t.size_kb:>7.1f} {'' if ratio is None else f'{ratio:.1f}':>8}"
            + (f"  {t.rows_per_s:,.0f} rows/s" if t.rows_per_s else "")
        )
    return lines


def _health(results: list[Timing]) -> dict[str, float]:
    return {t.provider: t.p50_ms for t in results if t.name == "health"}


def _ratio(t: Timing, health: dict[str, float]) -> float | None:
    base = health.get(t.provider) or health.get("offline")
    return t.p50_ms / base if base else None


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / 1024 if sys.platform == "darwin" else peak / 1024


# The targets (issue 9): (label, which results, what each must meet).
TARGETS = (
    (
        "10-year household performance, cold: p50 <= 300 ms",
        lambda t: (
            t.name in {"dashboard chart max (HX, cold)", "api household performance 10y (cold)"}
        ),
        lambda t, r: t.p50_ms <= 300,
    ),
    (
        "10-year performance, warm, API: p50 <= 30 ms",
        lambda t: t.name in {"api household performance 10y", "api performance 10y"},
        lambda t, r: t.p50_ms <= 30,
    ),
    (
        "CSV import, commit: >= 5,000 rows/s",
        lambda t: t.name.startswith("import") and "commit" in t.name,
        lambda t, r: (t.rows_per_s or 0) >= 5000,
    ),
    (
        "one POST on the busiest holding: p50 <= 100 ms",
        lambda t: t.name.startswith("POST"),
        lambda t, r: t.p50_ms <= 100,
    ),
    (
        "admin pages: p50 <= 10 x /health",
        lambda t: t.name.startswith("admin"),
        lambda t, r: r is not None and r <= 10,
    ),
)


def _targets(results: list[Timing]) -> list[dict]:
    health = _health(results)
    checked = []
    for label, which, meets in TARGETS:
        rows = [t for t in results if which(t)]
        failing = [f"{t.name} ({t.provider})" for t in rows if not meets(t, _ratio(t, health))]
        checked.append(
            {
                "target": label,
                "measured": len(rows),
                "passed": bool(rows) and not failing,
                "failing": failing,
            }
        )
    return checked


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    results = config.stash.get(RESULTS, [])
    if not results:
        return
    built = config.stash.get(BUILT, "")
    lines = _table(results, built)
    targets = _targets(results)
    peak = _peak_rss_mb()
    lines.append(f"peak RSS of the benchmark process: {peak:.0f} MB")
    for target in targets:
        verdict = "PASS" if target["passed"] else "no rows" if not target["measured"] else "FAIL"
        lines.append(f"{verdict:<7} {target['target']}")
        lines.extend(f"          {name}" for name in target["failing"])
    terminalreporter.write_sep("=", "household benchmarks")
    for line in lines:
        terminalreporter.write_line(line)
    TABLE.parent.mkdir(exist_ok=True)
    TABLE.write_text("\n".join(lines) + "\n")
    health = _health(results)
    JSON_TABLE.write_text(
        json.dumps(
            {
                "database": connection.vendor,
                "cache": django_settings.CACHES["default"]["BACKEND"],
                "household": built,
                "small": SMALL,
                "peak_rss_mb": round(peak, 1),
                "results": [{**asdict(t), "x_health": _ratio(t, health)} for t in results],
                "targets": targets,
            },
            indent=2,
        )
        + "\n"
    )
    terminalreporter.write_line(f"(written to {TABLE} and {JSON_TABLE})")
