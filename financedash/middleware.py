from __future__ import annotations

import logging
import re
import time
import uuid

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import middleware
from django.core.handlers.asgi import ASGIRequest
from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpResponse, HttpResponseBadRequest
from django.middleware.locale import LocaleMiddleware
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext, trans_real
from whitenoise.middleware import WhiteNoiseMiddleware

from financedash.lib import logs, privacy
from financedash.lib.errors import BUSY_MESSAGE, BUSY_RETRY_AFTER, error_json, is_database_busy
from financedash.lib.profiles import profile_for

log = logging.getLogger(__name__)


def reject_nul_characters(get_response):
    """A NUL character in the query string (`?q=%00`) is refused before any view runs:
    PostgreSQL cannot compare text with one and would fail the request with a 500. Form
    fields and API fields refuse them themselves, naming the field."""

    def middleware(request):
        bad = sorted(
            {key for key, values in request.GET.lists() for value in values if "\x00" in value}
        )
        if bad or "\x00" in request.path:
            message = "The request contains a NUL character" + (
                f" in {', '.join(bad)}." if bad else " in its path."
            )
            if request.path_info.startswith("/api/"):
                return error_json(400, message, {name: [message] for name in bad})
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return get_response(request)

    return middleware


# The browser's privacy switch (financedash.views.privacy_toggle flips it): a cookie, so the
# server renders the masked page itself and it works without JavaScript.
PRIVACY_COOKIE = "privacy"


def privacy_mode(get_response):
    """Hides every amount this request renders while the browser's privacy cookie is on
    (financedash.lib.privacy); `request.amounts_hidden` tells the templates the state."""

    def middleware(request):
        on = request.COOKIES.get(PRIVACY_COOKIE) == "1"
        request.amounts_hidden = on
        with privacy.hiding(on):
            return get_response(request)

    return middleware


def busy_response(request) -> HttpResponse:
    """503 with Retry-After: a page or API error in the app's format."""
    if request.path_info.startswith("/api/"):
        response = error_json(503, BUSY_MESSAGE)
    else:
        response = render(request, "503.html", {"message": gettext(BUSY_MESSAGE)}, status=503)
    response["Retry-After"] = str(BUSY_RETRY_AFTER)
    return response


class DatabaseBusyMiddleware:
    """A view whose write timed out waiting for the database lock (SQLite held by another
    writer past its busy timeout) answers 503 with Retry-After instead of a 500: the write's
    transaction never began, so nothing was saved. (The API's views get the same answer from
    financedash.lib.errors.api_exception_handler; financedash.views.server_error covers what
    fails outside a view.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_database_busy(exception):
            return None
        log.warning("Database busy on %s %s: %s", request.method, request.path, exception)
        return busy_response(request)


class LoginRequiredMiddleware(middleware.LoginRequiredMiddleware):
    """Pages need a session login; the JSON API does its own authentication (JWT or
    session) and answers 401 in its error format instead of redirecting to a form."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)

    def handle_no_permission(self, request, view_func):
        response = super().handle_no_permission(request, view_func)
        if getattr(request, "htmx", False):
            # An expired session during a live refresh: send the whole page to the login
            # form rather than swapping the form into the table.
            return HttpResponse(status=204, headers={"HX-Redirect": response["Location"]})
        return response


# The profile's language, kept in the session so that a page costs no query for it; the
# settings page writes it there when it changes, the first request of a session reads it.
SESSION_LANGUAGE = "financedash_language"
# Browsers in Norway often ask for "no" (Norwegian) or "nn" (Nynorsk) rather than "nb":
# Bokmål is the nearest the pages offer.
_NORWEGIAN = {"no", "nn"}


def browser_language(request) -> str:
    """The language cookie (the footer's switch), else the browser's Accept-Language, else
    English."""
    language = translation.get_language_from_request(request)
    if language == settings.LANGUAGE_CODE and not request.COOKIES.get(
        settings.LANGUAGE_COOKIE_NAME
    ):
        header = request.META.get("HTTP_ACCEPT_LANGUAGE", "")
        for code, _quality in trans_real.parse_accept_lang_header(header):
            base = code.split("-")[0].lower()
            if base in _NORWEGIAN or base == "nb":
                return "nb"
            if base == "en":
                break
    return language


def remember_language(request, language: str) -> None:
    """A profile's new language, for the rest of this request and the session's next ones."""
    request.session[SESSION_LANGUAGE] = language
    translation.activate(language or browser_language(request))
    request.LANGUAGE_CODE = translation.get_language()


def set_language_cookie(response, language: str) -> None:
    """The choice kept in Django's language cookie as well, so the pages shown signed out
    (the login form) speak it too; "as the browser asks" removes the cookie."""
    if language:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            httponly=True,
        )
    else:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)


class LanguageMiddleware(LocaleMiddleware):
    """Each request's language: the JSON API always English (its errors and contract are
    English, its numbers locale-free), a signed-in user's profile choice, else the browser's
    (browser_language)."""

    def process_request(self, request):
        if request.path_info.startswith("/api/"):
            language = settings.LANGUAGE_CODE
        else:
            language = self._profile_language(request) or browser_language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()

    @staticmethod
    def _profile_language(request) -> str:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return ""
        if SESSION_LANGUAGE not in request.session:
            request.session[SESSION_LANGUAGE] = profile_for(user).language
        return request.session[SESSION_LANGUAGE]


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, whose file responses iterate synchronously: under ASGI Django would read
    each file whole into memory first (and warn on every request). There the chunks are
    read one by one in a thread instead; under WSGI nothing changes."""

    @staticmethod
    def serve(static_file, request):
        response = WhiteNoiseMiddleware.serve(static_file, request)
        if isinstance(request, ASGIRequest) and response.streaming and not response.is_async:
            response.streaming_content = _chunks(iter(response.streaming_content))
        return response


async def _chunks(iterator):
    read = sync_to_async(next, thread_sensitive=False)
    while (chunk := await read(iterator, None)) is not None:
        yield chunk


_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
request_log = logging.getLogger("financedash.request")


class RequestLogMiddleware:
    """One line per request (logger financedash.request): method, path without its query
    string (where `?token=` may be a secret), status, duration in ms, user id and request id.
    The request id is the client's or the proxy's X-Request-ID when it looks like one (letters,
    digits and ._:- up to 128), else a new one; it is sent back as X-Request-ID, and every line
    logged while the request is served carries it (financedash.lib.logs.RequestContext)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        rid = given if _SANE_REQUEST_ID.match(given) else uuid.uuid4().hex
        # Not reset on the way out: Django logs a 4xx or 5xx (django.request) after the
        # middleware has returned, and that line must carry it too. The request's end resets
        # it (_forget_request_id); under ASGI each request has its own context anyway.
        logs.request_id.set(rid)
        start = time.perf_counter()
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            response["X-Request-ID"] = rid
            return response
        finally:
            duration = round((time.perf_counter() - start) * 1000, 1)
            request_log.info(
                "%s %s %s %.1fms",
                request.method,
                request.path,
                status,
                duration,
                extra={
                    "user_id": _user_id(request),
                    "method": request.method,
                    "path": request.path,
                    "status": status,
                    "duration_ms": duration,
                },
            )


@receiver(request_finished)
def _forget_request_id(**kwargs):
    logs.request_id.set("")


def _user_id(request) -> int | None:
    """The id of the user the request was served as (a session or, set by DRF, a token),
    None if anonymous or not known: resolving it must not fail the request's log line."""
    user = getattr(request, "user", None)
    try:
        return user.pk if user is not None and user.is_authenticated else None
    except Exception:  # noqa: BLE001 (e.g. the database gone while loading the session)
        return None
