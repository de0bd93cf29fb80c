from __future__ import annotations

import sys

from django.db import connections

from financedash import warmup


def test_warm_loads_the_views_and_templates_without_touching_the_database(monkeypatch):
    closed = []
    monkeypatch.setattr(connections, "close_all", lambda: closed.append(True))
    # No django_db mark: any query or connection here would raise.
    warmup.warm()
    # The URLconf's views and what they import lazily are loaded before any request.
    assert "portfolios.views" in sys.modules or "portfolios.pages" in sys.modules
    assert "numpy" in sys.modules and "pyxirr" in sys.modules
    # Nothing is left open for forked workers to share (SQLite's in-memory test database
    # ignores a real close, hence the stand-in).
    assert closed == [True]


def test_warm_inside_an_event_loop_as_uvicorn_imports_the_app(monkeypatch):
    """Regression: uvicorn (make run) imports financedash.asgi inside its running loop,
    where Django refuses connections.close_all() with SynchronousOnlyOperation."""
    import asyncio

    closed = []
    monkeypatch.setattr(connections, "close_all", lambda: closed.append(True))

    async def start():
        warmup.warm()

    asyncio.run(start())
    assert closed == []
