"""Account creation rules, shared by the first-run page and the API."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.shortcuts import render
from django.utils.translation import gettext, gettext_noop

from financedash.lib.errors import error_json

# The user `manage.py load_demo` creates. It belongs in the demo's own database; one left
# in a real database by an older `make demo` is not a person and must not stand in the
# way of creating the owner.
DEMO_USERNAME = "demo"
# pg_advisory_xact_lock key for account creation (any constant the app uses for nothing else).
_FIRST_RUN_LOCK = 0x66_64_6F_77_6E  # "fdown"


def real_users():
    return get_user_model().objects.exclude(username=DEMO_USERNAME, is_staff=False)


def registration_open() -> bool:
    """The first real account is always allowed (it becomes the owner); later ones by
    setting."""
    return settings.ALLOW_REGISTRATION or not real_users().exists()


@transaction.atomic
def create_account(user):
    """Save a new (unsaved, password already set) user; the first real one becomes the
    owner."""
    # Re-checked inside the write transaction: a second first-run submission must not
    # become another owner. SQLite's IMMEDIATE transactions already run one at a time;
    # PostgreSQL's READ COMMITTED would let 16 parallel sign-ups all see no user (1 to 8
    # owners were seen), so they queue on a lock held until the commit.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_FIRST_RUN_LOCK])
    owner = not real_users().exists()
    if not owner and not settings.ALLOW_REGISTRATION:
        raise PermissionDenied("Registration is closed.")
    user.is_staff = user.is_superuser = owner
    user.save()
    return user


# django-axes reads these on every attempt, so a changed setting applies at once.
def failure_limit(request=None, credentials=None) -> int:
    return settings.LOGIN_FAILURE_LIMIT


def lockout_time(request=None) -> timedelta:
    return timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)


LOCKED_MESSAGE = gettext_noop("Too many failed login attempts. Try again in {minutes} min.")


def locked_out(request, response=None, credentials=None):
    """The answer to a login while its username and address are locked out, the same from
    the login page, the admin's and the API: a 429 in the API's error format, or the login
    form again with the reason."""
    seconds = settings.LOGIN_LOCKOUT_SECONDS
    message = gettext(LOCKED_MESSAGE).format(minutes=-(-seconds // 60))
    if request.path_info.startswith("/api/"):
        answer = error_json(429, message, code="login_locked")
    else:
        form = AuthenticationForm(request)
        context = {"form": form, "locked_message": message, "next": request.GET.get("next", "")}
        answer = render(request, "registration/login.html", context, status=429)
    answer["Retry-After"] = str(seconds)
    return answer
