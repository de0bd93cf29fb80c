"""The user's profile (base currency, goal, defaults), which every app reads."""

from __future__ import annotations

from django.apps import apps
from django.conf import settings


def profile_for(user):
    """The user's profile; users made before profiles existed (or by a raw fixture) get one
    on first use."""
    # The model stays in the shell's app (its table and migrations are there); looking it up
    # at call time keeps the kernel from importing the shell.
    profile, _ = apps.get_model("financedash", "Profile").objects.get_or_create(
        user=user, defaults={"base_currency": settings.DEFAULT_BASE_CURRENCY}
    )
    return profile
