"""The Celery app (worker and beat), configured from Django settings prefixed CELERY_.

Without REDIS_URL the settings make every task run eagerly in the caller, so the embedded
setup needs no worker; the beat schedule lives in settings.CELERY_BEAT_SCHEDULE.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "financedash.settings")

app = Celery("financedash")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
