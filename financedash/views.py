from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import UserCreationForm
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from financedash.accounts import create_account, real_users, registration_open
from financedash.lib.errors import error_json, is_database_busy
from financedash.middleware import PRIVACY_COOKIE, busy_response

log = logging.getLogger(__name__)


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def get(self, request, *args, **kwargs):
        if not get_user_model().objects.exists():
            return redirect("register")
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(registration_open=registration_open(), **kwargs)


class RegistrationForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")


@login_not_required
@never_cache
def register(request: HttpRequest) -> HttpResponse:
    if not registration_open():
        raise Http404("Registration is closed.")
    first_run = not real_users().exists()
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = create_account(form.save(commit=False))
        except PermissionDenied as exc:
            raise Http404("Registration is closed.") from exc
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(
            request,
            _("Welcome! Your owner account is ready.")
            if first_run
            else _("Your account is ready."),
        )
        return redirect("home")
    return render(request, "registration/register.html", {"form": form, "first_run": first_run})


@require_POST
def privacy_toggle(request: HttpRequest) -> HttpResponse:
    """Privacy mode on or off for this browser, then back to the page the button was on
    (a form post: it works without JavaScript; the page is rendered masked by the server)."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    response = redirect(target)
    if getattr(request, "amounts_hidden", False):
        response.delete_cookie(PRIVACY_COOKIE, samesite="Lax")
    else:
        # A year: the choice belongs to the browser (a shared screen), not to the login.
        response.set_cookie(
            PRIVACY_COOKIE,
            "1",
            max_age=365 * 24 * 3600,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
    return response


@login_not_required
@never_cache
def health(request: HttpRequest) -> JsonResponse:
    status = {"status": "ok", "database": "ok", "cache": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        log.exception("health: database check failed")
        status["database"] = "error"
    try:
        cache.set("health:ping", "1", 5)
        if cache.get("health:ping") != "1":
            raise RuntimeError("cache read-back failed")
    except Exception:
        log.exception("health: cache check failed")
        status["cache"] = "down"
    # The cache is an optimisation: without it the app serves from the database (slower,
    # quotes marked stale), so a dead cache is reported but the instance stays in service.
    if status["database"] != "ok":
        status["status"] = "error"
        return JsonResponse(status, status=503)
    if status["cache"] != "ok":
        status["status"] = "degraded"
    return JsonResponse(status)


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


@login_not_required
def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    if _is_api(request):
        return error_json(404, "Not found.")
    return render(request, "404.html", status=404)


@login_not_required
def permission_denied(request: HttpRequest, exception=None) -> HttpResponse:
    if _is_api(request):
        return error_json(403, "You do not have permission to perform this action.")
    return render(request, "403.html", status=403)


@login_not_required
def server_error(request: HttpRequest) -> HttpResponse:
    if is_database_busy(sys.exc_info()[1]):
        # A write timed out on the database lock outside a view (a session saved by the
        # middleware): retry, nothing was saved.
        return busy_response(request)
    if _is_api(request):
        return error_json(500, "Internal server error. It has been logged.")
    return render(request, "500.html", status=500)
