"""Issue 13 hardening: JSON log lines with a request id, user id, path, status and duration per
request, and no secret in any line: passwords (a login on each door, a failed one), tokens
(JWT access and refresh, a refresh, the WebSocket's ?token=, the metrics token) and
Authorization headers. Everything is logged at DEBUG, SQL included (DEBUG=True), through the
handler and filters the app configures (financedash.lib.logs)."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import re

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client

from financedash.asgi import application
from financedash.lib import logs
from tests.factories import PortfolioFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "Correct-Horse-Battery-91"
WRONG = "Wrong-Guess-Staple-57"
METRICS = "metrics-token-Zq81x"


@pytest.fixture
def captured(settings):
    """Every log line of every logger, as the app writes them with LOG_FORMAT=json."""
    buffer = io.StringIO()
    config = logs.config("json", "DEBUG")
    config["handlers"]["console"]["stream"] = buffer
    # SQL lines too (django.db.backends logs queries and their parameters under DEBUG).
    settings.DEBUG = True
    logging.config.dictConfig(config)
    try:
        yield buffer
    finally:
        logging.config.dictConfig(django_settings.LOGGING)


def lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def request_lines(buffer, path: str) -> list[dict]:
    return [r for r in lines(buffer) if r["logger"] == "financedash.request" and r["path"] == path]


def test_no_password_or_token_in_any_log_line(captured, settings):
    settings.METRICS_TOKEN = METRICS
    user = UserFactory(username="alice")
    user.set_password(PASSWORD)
    user.save()
    portfolio = PortfolioFactory(user=user, name="Main")
    secrets = {PASSWORD, WRONG, METRICS}

    html = Client()
    assert html.post("/login/", {"username": "alice", "password": WRONG}).status_code == 200
    assert html.post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 302
    admin = Client()
    admin.post(f"/{settings.ADMIN_URL}login/", {"username": "alice", "password": WRONG})

    api = Client()
    bad = api.post(
        "/api/v1/auth/login",
        {"username": "alice", "password": WRONG},
        content_type="application/json",
    )
    assert bad.status_code == 401
    tokens = api.post(
        "/api/v1/auth/login",
        {"username": "alice", "password": PASSWORD},
        content_type="application/json",
    ).json()
    access, refresh = tokens["access"], tokens["refresh"]
    refreshed = api.post(
        "/api/v1/auth/refresh", {"refresh": refresh}, content_type="application/json"
    ).json()
    secrets |= {access, refresh, refreshed["access"], refreshed["refresh"]}
    me = api.get(
        "/api/v1/auth/me?token=" + access, HTTP_AUTHORIZATION=f"Bearer {refreshed['access']}"
    )
    assert me.status_code == 200
    assert api.get(f"/metrics?token={METRICS}").status_code == 200
    assert api.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS}").status_code == 200

    async def socket():
        comm = WebsocketCommunicator(
            application, f"/api/v1/ws/portfolio/{portfolio.pk}?token={refreshed['access']}"
        )
        connected, _ = await comm.connect(timeout=3)
        assert connected
        assert (await comm.receive_json_from(3))["type"] == "snapshot"
        await comm.disconnect()

    async_to_sync(socket)()
    # A line as uvicorn writes it for a socket (the app strips ?token= from the scope first,
    # portfolios.live.hide_query_token; the handler redacts it anyway).
    logging.getLogger("uvicorn.error").info(
        '%s - "WebSocket %s" [accepted]', "127.0.0.1:5000", f"/ws?token={access}"
    )
    logging.getLogger("financedash.test").warning("Authorization: Bearer %s", access)
    try:
        raise ValueError(f"refused ?token={refresh}")
    except ValueError:
        logging.getLogger("financedash.test").exception("a failure with a secret in it")
    (failure,) = [r for r in lines(captured) if r["message"] == "a failure with a secret in it"]
    assert "ValueError: refused ?token=[redacted]" in failure["exc_info"]

    text = captured.getvalue()
    assert len(text.splitlines()) > 20
    for secret in secrets:
        assert secret not in text
        # Nor a recognisable part of one (a JWT's signature is its last part).
        assert secret.rsplit(".", 1)[-1] not in text
    # The lines are there, with what they should say.
    (login_line,) = [r for r in request_lines(captured, "/api/v1/auth/login") if r["status"] == 200]
    assert login_line["method"] == "POST"
    assert login_line["level"] == "INFO"
    assert isinstance(login_line["duration_ms"], float)
    assert re.fullmatch(r"[0-9a-f]{32}", login_line["request_id"])
    (me_line,) = request_lines(captured, "/api/v1/auth/me")
    assert me_line["user_id"] == user.pk
    assert me_line["status"] == 200
    assert all(r["user_id"] is None for r in request_lines(captured, "/metrics"))
    assert "[redacted]" in text


def test_the_request_id_is_taken_when_sane_and_carried_by_every_line(captured, owner_client):
    captured.truncate(0)
    captured.seek(0)
    response = owner_client.get("/", HTTP_X_REQUEST_ID="req-42.abc:1")
    assert response["X-Request-ID"] == "req-42.abc:1"
    (line,) = request_lines(captured, "/")
    assert line["request_id"] == "req-42.abc:1"
    # Lines logged while the request is served carry its id: the SQL it ran.
    sql = [r for r in lines(captured) if r["logger"] == "django.db.backends"]
    assert sql
    assert {r["request_id"] for r in sql} == {"req-42.abc:1"}

    # Django's own line for a 4xx, written after the middleware has returned, carries it too.
    assert owner_client.get("/no-such-page/", HTTP_X_REQUEST_ID="req-404").status_code == 404
    (not_found,) = [r for r in lines(captured) if r["logger"] == "django.request"]
    assert not_found["request_id"] == "req-404"

    for insane in ["", "a b", "x" * 129, "<script>", "id\nforged"]:
        response = owner_client.get("/", HTTP_X_REQUEST_ID=insane)
        assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"]), insane
    # Outside a request there is no id.
    logging.getLogger("financedash.test").warning("outside")
    assert lines(captured)[-1]["request_id"] == ""


def test_a_celery_task_line_names_the_task(captured):
    from financedash.celery import app

    @app.task(name="tests.logs.says_hello")
    def says_hello():
        logging.getLogger("financedash.test").warning("hello from a task")

    result = says_hello.apply()
    (line,) = [r for r in lines(captured) if r["message"] == "hello from a task"]
    assert line["task_name"] == "tests.logs.says_hello"
    assert line["task_id"] == result.id
    # The worker's lines about a task, logged outside it ("received"), name it from `data`.
    logging.getLogger("celery.worker.strategy").info(
        "Task %s[%s] received", "t.name", "abc-1", extra={"data": {"id": "abc-1", "name": "t.name"}}
    )
    received = lines(captured)[-1]
    assert (received["task_id"], received["task_name"]) == ("abc-1", "t.name")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("GET /metrics?token=abc123 HTTP/1.1", "GET /metrics?token=[redacted] HTTP/1.1"),
        ("/ws/portfolio/1?a=1&token=abc&b=2", "/ws/portfolio/1?a=1&token=[redacted]&b=2"),
        ('{"username": "a", "password": "hunter2"}', '{"username": "a", "password": "[redacted]"}'),
        ("{'refresh': 'abc.def'}", "{'refresh': '[redacted]'}"),
        ("Authorization: Bearer abcdefgh12345", "Authorization: Bearer [redacted]"),
        ("username=a&password=hunter2&next=/", "username=a&password=[redacted]&next=/"),
        ("token expired for user 5", "token expired for user 5"),
        ("Token verification failed", "Token verification failed"),
        ("password=hunter2", "password=[redacted]"),
        ("eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl in text", "[redacted] in text"),
    ],
)
def test_redaction(raw, clean):
    assert logs.redact(raw) == clean
