"""Load what the first request would otherwise load, before the server takes requests.

Django imports the URLconf (so every view, the API with drf_spectacular, numpy and pyxirr
behind them), compiles templates and reads translation catalogues on the first request a
worker serves: ~1 s on this machine. wsgi.py and asgi.py call warm() once the application
exists; with gunicorn --preload that happens once in the master and the forked workers
share it. No database connection is opened here: a connection made before a fork would
be shared by every worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib

from django.conf import settings
from django.db import connections
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import get_resolver
from django.utils import translation

# Modules that views import lazily (inside a function) but the first pages need.
MODULES = ("numpy", "pyxirr", "yfinance")
# The templates of the pages people open first, with what they extend and include.
TEMPLATES = ("registration/login.html", "dashboard.html", "404.html", "500.html")


def warm() -> None:
    for name in MODULES:
        # An optional provider's library may be absent: its pages load it themselves.
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    # Resolving every pattern imports each view module and builds the resolver's caches.
    get_resolver()._populate()
    for name in TEMPLATES:
        with contextlib.suppress(TemplateDoesNotExist):
            get_template(name)
    translation.activate(settings.LANGUAGE_CODE)
    translation.deactivate()
    if _in_event_loop():
        # uvicorn imports the application inside its event loop (make run): there Django
        # refuses any connection call, and nothing above could have opened one.
        return
    connections.close_all()


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
