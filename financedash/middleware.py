from __future__ import annotations

from django.contrib.auth import middleware
from django.http import HttpResponse


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
