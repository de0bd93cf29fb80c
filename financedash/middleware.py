from __future__ import annotations

from django.contrib.auth import middleware
from django.http import HttpResponse, HttpResponseBadRequest

from financedash.lib.errors import error_json


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
