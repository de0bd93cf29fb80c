"""Logging for every process (web, gunicorn, Celery worker, commands): one configuration,
console lines or JSON lines (LOG_FORMAT=json, python-json-logger), each carrying the request
id or the Celery task it was logged in, and no secret.

- The id of the request being served lives in a context variable (set by
  financedash.middleware.RequestLogMiddleware, whose line per request also names the user);
  RequestContext copies it, and the running Celery task's id and name, onto every record, so
  every line logged during a request or a task says which one.
- Redact rewrites what a line would show of a token, a password or an Authorization header
  as [redacted], whoever logged it (uvicorn's WebSocket lines carry the query string, where
  `?token=` is an access token). The app's own request line never logs a query string.

Standard library and python-json-logger only: gunicorn's config imports it before Django.
"""

from __future__ import annotations

import contextvars
import logging
import re

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

# key=value in a query string or a form body, "key": "value" in JSON, Bearer/JWT headers.
_SECRET_KEYS = (
    r"(?:access_token|refresh_token|access|refresh|token|password\d?|old_password"
    r"|new_password\d?|secret|api_key|csrfmiddlewaretoken)"
)
_PATTERNS = [
    (re.compile(rf"(?i)((?:^|[?&;,\s]){_SECRET_KEYS}=)[^&\s\"';]*"), r"\1[redacted]"),
    (re.compile(rf"(?i)(\"{_SECRET_KEYS}\"\s*:\s*\")[^\"]*"), r"\1[redacted]"),
    (re.compile(rf"(?i)('{_SECRET_KEYS}'\s*:\s*')[^']*"), r"\1[redacted]"),
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1\2[redacted]"),
    # A JWT anywhere (three base64url parts, the first a JSON header: "eyJ").
    (re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"), "[redacted]"),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class Redact(logging.Filter):
    """Rewrites the record's message, its traceback text and the extra fields a JSON line
    shows (django.db.backends passes a query's parameters as `params`) without secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in list(vars(record).items()):
            if name in _STANDARD or value is None or isinstance(value, int | float):
                continue
            text = value if isinstance(value, str) else str(value)
            clean = redact(text)
            if clean != text:
                setattr(record, name, clean)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 (a broken format must not lose the line)
            message = str(record.msg)
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            clean = redact(record.exc_text)
            if clean != record.exc_text:
                # The JSON formatter formats exc_info afresh when there is one: only the
                # redacted text is left to show.
                record.exc_text, record.exc_info = clean, None
        return True


class RequestContext(logging.Filter):
    """Adds request_id (the request being served, "" outside one) and task_id and task_name
    (the Celery task running, likewise) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        task = _current_task()
        record.task_id = getattr(getattr(task, "request", None), "id", None) or ""
        record.task_name = getattr(task, "name", None) or ""
        data = getattr(record, "data", None)
        if not record.task_id and isinstance(data, dict) and "id" in data and "name" in data:
            # The worker's own lines about a task (received, succeeded, failed) are logged
            # outside it, with the task in `data`.
            record.task_id, record.task_name = str(data["id"]), str(data["name"])
        return True


def _current_task():
    try:
        from celery._state import get_current_task
    except ImportError:  # pragma: no cover (celery is a dependency)
        return None
    return get_current_task()


CONSOLE_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s%(task_id)s]: %(message)s"
JSON_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def config(log_format: str = "console", level: str = "INFO") -> dict:
    """The dictConfig for settings.LOGGING and gunicorn's logconfig_dict: one handler on the
    root logger, through which every library's lines go (gunicorn's and uvicorn's loggers
    propagate to it)."""
    json_lines = log_format.strip().lower() == "json"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "financedash.lib.logs.RequestContext"},
            "redact": {"()": "financedash.lib.logs.Redact"},
        },
        "formatters": {
            "console": {"format": CONSOLE_FORMAT},
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "format": JSON_FORMAT,
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            },
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if json_lines else "console",
                "filters": ["context", "redact"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's default adds a console handler of its own under DEBUG (unfiltered, a
            # second copy of each line): its lines go through the root's handler only.
            "django": {"handlers": [], "level": level, "propagate": True},
            "yfinance": {"level": "WARNING"},
            "peewee": {"level": "WARNING"},
            # Its start-up banner on every command; failed logins and lockouts are warnings.
            "axes": {"level": "WARNING"},
            # uvicorn's own handler (make run) would print its lines unfiltered: they go
            # through this one instead (gunicorn's uvicorn workers set theirs from
            # deploy/gunicorn.conf.py). Its access lines are off (--no-access-log, and no
            # access log in gunicorn): the app logs each request, without its query string.
            "uvicorn": {"handlers": ["console"], "level": level, "propagate": False},
        },
    }
