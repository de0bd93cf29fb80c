"""Account creation rules, shared by the first-run page and the API."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction

# The user `manage.py load_demo` creates. It belongs in the demo's own database; one left
# in a real database by an older `make demo` is not a person and must not stand in the
# way of creating the owner.
DEMO_USERNAME = "demo"


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
    # Re-checked inside the write transaction (IMMEDIATE on SQLite serializes it): a second
    # first-run submission must not become another owner.
    owner = not real_users().exists()
    if not owner and not settings.ALLOW_REGISTRATION:
        raise PermissionDenied("Registration is closed.")
    user.is_staff = user.is_superuser = owner
    user.save()
    return user
