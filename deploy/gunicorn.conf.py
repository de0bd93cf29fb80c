"""gunicorn's configuration for the Docker image and docker-compose (`gunicorn -c
deploy/gunicorn.conf.py financedash.asgi:application`): uvicorn workers serving HTTP and
WebSocket, the app's logging for gunicorn's and uvicorn's own lines, and the Prometheus
multiprocess directory.

- Logging: the app's configuration (financedash.lib.logs: console or LOG_FORMAT=json, the
  request id, secrets redacted) for gunicorn's lines and, through gunicorn.error's handler
  that the uvicorn worker takes over, uvicorn's (their WebSocket lines carry `?token=`, which
  the handler redacts). No access log: the app writes one line per request itself, without
  the query string.
- Metrics: every worker writes its values to files in PROMETHEUS_MULTIPROC_DIR (default:
  financedash-metrics in the temp directory) and /metrics adds them up; the directory is
  emptied when gunicorn starts, and a dead worker's live gauges are dropped. The Celery
  worker's own task counts stay in its container (the web's /metrics shows the tasks run in
  the web processes, every task in the embedded setup); a directory shared between the
  containers is no fix: the file names carry process ids, which two containers can share.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from financedash.lib import logs  # noqa: E402 (after the path above)

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY") or 3)
worker_class = "uvicorn_worker.UvicornWorker"
# The master loads and warms the app once (financedash/warmup.py) before it forks.
preload_app = True
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "INFO").lower()

logconfig_dict = logs.config(
    os.environ.get("LOG_FORMAT", "console"), os.environ.get("LOG_LEVEL", "INFO")
)
logconfig_dict["loggers"].update(
    {
        # Not propagated: the uvicorn worker copies gunicorn.error's handlers onto
        # uvicorn.error and stops it propagating; both then write through the app's handler.
        "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": [], "propagate": False},
    }
)


# Set before the app (and prometheus_client) is imported, which reads it once. Here and not
# in the image: the Celery containers from the same image must not use it.
_metrics_dir = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), "financedash-metrics")
)
if _metrics_dir and not os.environ.get("FINANCEDASH_METRICS_DIR_CLEARED"):
    # Emptied when the master reads this file, before it loads the app (--preload creates
    # the files): a previous run's files would be added to this run's counts. Not again when
    # a HUP re-reads it while the workers write there.
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    os.environ["FINANCEDASH_METRICS_DIR_CLEARED"] = "1"
if _metrics_dir:
    os.makedirs(_metrics_dir, exist_ok=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
