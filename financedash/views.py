from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import UserCreationForm
from django.core.cache import cache
from django.db import connection, transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

log = logging.getLogger(__name__)


def registration_open() -> bool:
    """The first account is always allowed (it becomes the owner); later ones by setting."""
    return settings.ALLOW_REGISTRATION or not get_user_model().objects.exists()


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def get(self, request, *args, **kwargs):
        if not get_user_model().objects.exists():
            return redirect("register")
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(registration_open=settings.ALLOW_REGISTRATION, **kwargs)


class RegistrationForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")


@login_not_required
@never_cache
def register(request: HttpRequest) -> HttpResponse:
    if not registration_open():
        raise Http404("Registration is closed.")
    first_run = not get_user_model().objects.exists()
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            # Re-checked inside the write transaction (IMMEDIATE on SQLite serializes it):
            # a second first-run submission must not become another owner.
            owner = not get_user_model().objects.exists()
            if not owner and not settings.ALLOW_REGISTRATION:
                raise Http404("Registration is closed.")
            user = form.save(commit=False)
            user.is_staff = user.is_superuser = owner
            user.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(
            request,
            "Welcome! Your owner account is ready." if owner else "Your account is ready.",
        )
        return redirect("home")
    return render(request, "registration/register.html", {"form": form, "first_run": first_run})


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
        status["cache"] = "error"
    healthy = status["database"] == "ok" and status["cache"] == "ok"
    if not healthy:
        status["status"] = "error"
    return JsonResponse(status, status=200 if healthy else 503)


@login_not_required
def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "404.html", status=404)


@login_not_required
def permission_denied(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "403.html", status=403)


@login_not_required
def server_error(request: HttpRequest) -> HttpResponse:
    return render(request, "500.html", status=500)
