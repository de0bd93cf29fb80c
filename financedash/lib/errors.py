"""The one error format for the JSON API: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext_noop
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler

log = logging.getLogger(__name__)

_CODES = {
    400: "validation_error",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "throttled",
    500: "server_error",
    503: "service_unavailable",
}


def error_body(status_code: int, message: str, details=None, code: str | None = None) -> dict:
    return {
        "error": {
            "code": code or _CODES.get(status_code, "error"),
            "message": message,
            "details": details or {},
        }
    }


def error_json(status_code: int, message: str, details=None, code=None) -> JsonResponse:
    """For errors raised outside DRF views (Django's 404/500 handlers under /api/)."""
    return JsonResponse(error_body(status_code, message, details, code), status=status_code)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This conflicts with existing data."
    default_code = "conflict"


class AppError(Exception):
    """An app's own failure that knows how the API reports it, so the handler below needs
    no import of the app that raises it (marketdata's errors derive from this)."""

    status_code = 500
    error_code = "server_error"

    def details(self) -> dict:
        return {}


# A write that could not get the database's lock in time (SQLite's busy timeout, 20 s; on
# PostgreSQL a lock wait or statement cancelled by its timeouts) failed before anything was
# saved, and the same request will likely succeed moments later: a 503 to retry, not a 500.
BUSY_RETRY_AFTER = 5
# Marked only: the API answers in English, the 503 page translates it (gettext at render).
BUSY_MESSAGE = gettext_noop(
    "The database is busy with another write. Nothing was saved; try again shortly."
)
_SQLITE_BUSY = ("database is locked", "database table is locked")
_POSTGRES_BUSY = {"55P03", "57014"}  # lock_not_available, query_canceled (statement_timeout)


def is_database_busy(exc: BaseException | None) -> bool:
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    return code in _POSTGRES_BUSY or any(text in str(exc) for text in _SQLITE_BUSY)


def _app_error_response(exc: AppError) -> Response:
    headers = {"Retry-After": "60"} if exc.status_code == 503 else None
    body = error_body(exc.status_code, str(exc), exc.details(), exc.error_code)
    return Response(body, exc.status_code, headers=headers)


def _first_message(details) -> str:
    if isinstance(details, dict):
        for field, value in details.items():
            text = _first_message(value)
            return text if field in ("non_field_errors", "detail") else f"{field}: {text}"
    if isinstance(details, list) and details:
        return _first_message(details[0])
    return str(details)


def _is_clash(exc: DjangoValidationError) -> bool:
    """A service's refusal that names existing data (a field error coded "duplicate", e.g.
    a name already taken) is a 409, any other a 400."""
    errors = exc.error_dict.values() if hasattr(exc, "error_dict") else []
    return any(error.code == "duplicate" for field in errors for error in field)


def _too_big() -> Response:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 1024 / 1024
    return Response(
        error_body(413, f"The request body is larger than the {limit:g} MiB this endpoint takes."),
        status=413,
    )


def api_exception_handler(exc, context):
    if isinstance(exc, AppError):
        return _app_error_response(exc)
    if isinstance(exc, RequestDataTooBig):
        return _too_big()
    if is_database_busy(exc):
        log.warning("Database busy: %s", exc)
        headers = {"Retry-After": str(BUSY_RETRY_AFTER)}
        return Response(error_body(503, BUSY_MESSAGE), status=503, headers=headers)
    if isinstance(exc, DjangoValidationError):
        details = as_serializer_error(exc)
        exc = Conflict(details) if _is_clash(exc) else exceptions.ValidationError(details)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        log.exception("Unhandled API error", exc_info=exc)
        return Response(error_body(500, "Internal server error. It has been logged."), status=500)

    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        details = data if isinstance(data, dict) else {"non_field_errors": data}
        message = "Invalid input: " + _first_message(details)
    else:
        details = getattr(exc, "extra", None) or {}
        if isinstance(data, dict) and "detail" in data:
            message = str(data["detail"])
            details = {k: v for k, v in data.items() if k != "detail"} or details
        else:
            message = _first_message(data)
            details = data if isinstance(data, dict) else details
    code = getattr(exc, "error_code", None)
    if code is None and isinstance(exc, exceptions.ValidationError):
        code = "validation_error"
    response.data = error_body(response.status_code, message, details, code)
    return response
