"""The app's own Prometheus metrics (django-prometheus counts requests, queries and cache
reads; these count what it cannot see): market-data provider calls by outcome and their
duration, and Celery tasks. Served with the rest at /metrics (financedash.metrics).

prometheus_client keeps values per process; under gunicorn (several workers) set
PROMETHEUS_MULTIPROC_DIR and every worker writes its values to files there that /metrics
adds up (deploy/gunicorn.conf.py clears it at start and on a worker's exit).
"""

from __future__ import annotations

import time
from contextlib import contextmanager

from prometheus_client import Counter, Histogram

# What became of a provider call: answered; answered "no such symbol/rate"; failed; did not
# answer before its deadline; refused without asking (breaker open, over the rate limit,
# an earlier call still hanging).
PROVIDER_OUTCOMES = ("ok", "not_found", "error", "timeout", "breaker_open", "rate_limited", "busy")

provider_calls = Counter(
    "financedash_marketdata_provider_calls_total",
    "Market-data provider calls by provider, method and outcome.",
    ["provider", "method", "outcome"],
)
provider_seconds = Histogram(
    "financedash_marketdata_provider_call_seconds",
    "Seconds a market-data provider call took (refused calls included).",
    ["provider", "method"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, float("inf")),
)

celery_tasks = Counter(
    "financedash_celery_tasks_total",
    "Celery tasks by name and state (started, succeeded, failed, retried).",
    ["task", "state"],
)
celery_task_seconds = Histogram(
    "financedash_celery_task_seconds",
    "Seconds a Celery task ran, whatever its outcome.",
    ["task"],
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, float("inf")),
)


@contextmanager
def provider_call(provider: str, method: str):
    """Times the block; the caller sets the outcome on the yielded dict (default "error",
    so an exception nobody classified still counts as one)."""
    result = {"outcome": "error"}
    start = time.perf_counter()
    try:
        yield result
    finally:
        provider_seconds.labels(provider, method).observe(time.perf_counter() - start)
        provider_calls.labels(provider, method, result["outcome"]).inc()
