"""Account creation rules, shared by the first-run page and the API."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction


def registration_open() -> bool:
    """The first account is always allowed (it becomes the owner); later ones by setting."""
    return settings.ALLOW_REGISTRATION or not get_user_model().objects.exists()


@transaction.atomic
def create_account(user):
    """Save a new (unsaved, password already set) user; the first one becomes the owner."""
    # Re-checked inside the write transaction (IMMEDIATE on SQLite serializes it): a second
    # first-run submission must not become another owner.
    owner = not get_user_model().objects.exists()
    if not owner and not settings.ALLOW_REGISTRATION:
        raise PermissionDenied("Registration is closed.")
    user.is_staff = user.is_superuser = owner
    user.save()
    return user


def profile_for(user):
    """The user's profile; users made before profiles existed (or by a raw fixture) get one
    on first use."""
    from financedash.models import Profile

    profile, _ = Profile.objects.get_or_create(
        user=user, defaults={"base_currency": settings.DEFAULT_BASE_CURRENCY}
    )
    return profile
