"""The real ASGI server (uvicorn, as `make run` and the image serve it) on 127.0.0.1, for
tests that need HTTP and WebSocket on one port: pytest-django's live_server is WSGI only and
Channels' live server needs daphne's process model. It runs in a thread of the test process,
so it shares the test database (SQLite's shared in-memory database, or the PostgreSQL test
database) and the in-memory channel layer with the test."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest
import uvicorn
from django.db import connections


@dataclass
class Server:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"


@pytest.fixture
def asgi_server(transactional_db, settings):
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    from financedash.asgi import application

    # Static files from the finders, as pytest-django's live_server serves them (tests do
    # not collect them); everything else goes to the application unchanged.
    application = ASGIStaticFilesHandler(application)

    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
    # Its own log lines at INFO (the "WebSocket /path" [accepted] line among them), through
    # the test's logging: the tests check what is written there. log_config=None: uvicorn
    # must not reconfigure the process's logging.
    config = uvicorn.Config(
        application, host="127.0.0.1", port=0, lifespan="off", log_config=None, log_level="info"
    )
    # The server's threads open connections of their own: closed after each request and
    # each consumer call (not kept CONN_MAX_AGE seconds), so that none outlives the test
    # and holds PostgreSQL's test database open at teardown.
    database = connections.settings["default"]
    kept = database.get("CONN_MAX_AGE", 0)
    database["CONN_MAX_AGE"] = 0
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield Server("127.0.0.1", port)
    server.should_exit = True
    thread.join(10)
    database["CONN_MAX_AGE"] = kept
