"""Prometheus metrics at /metrics (django-prometheus's request, query and cache metrics and
the app's own in financedash.lib.metrics), and the Celery task counters.

/metrics answers only with METRICS_TOKEN, as `Authorization: Bearer <token>` or
`?token=<token>` (the request log never carries a query string): without a token configured
it is a 404, as if it did not exist, and a wrong token is a 401. The token is compared by
digest with hmac.compare_digest, so the time taken says nothing about how much of it matched,
nor its length.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from celery import signals
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django_prometheus.exports import ExportToDjangoView

from financedash.lib import metrics


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


def _given_token(request: HttpRequest) -> str:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.GET.get("token", "")


@login_not_required
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    expected = settings.METRICS_TOKEN
    if not expected:
        raise Http404("Metrics are not enabled.")
    if not hmac.compare_digest(_digest(_given_token(request)), _digest(expected)):
        return HttpResponse(
            "A valid metrics token is required.\n",
            status=401,
            content_type="text/plain; charset=utf-8",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    # The multiprocess collector when PROMETHEUS_MULTIPROC_DIR is set (gunicorn workers).
    return ExportToDjangoView(request)


# Celery tasks: started, then succeeded, retried or failed, and how long each ran. A task
# runs in the worker (or, without Redis, eagerly in the caller): the counts are that process's.
_started: dict[str, float] = {}


@signals.task_prerun.connect
def _task_started(task_id=None, task=None, **kwargs):
    _started[task_id] = time.perf_counter()
    metrics.celery_tasks.labels(task.name, "started").inc()


@signals.task_postrun.connect
def _task_ended(task_id=None, task=None, state=None, **kwargs):
    start = _started.pop(task_id, None)
    if start is not None:
        metrics.celery_task_seconds.labels(task.name).observe(time.perf_counter() - start)
    if state == "SUCCESS":
        metrics.celery_tasks.labels(task.name, "succeeded").inc()
    elif state == "RETRY":
        metrics.celery_tasks.labels(task.name, "retried").inc()


@signals.task_failure.connect
def _task_failed(sender=None, **kwargs):
    metrics.celery_tasks.labels(sender.name, "failed").inc()
