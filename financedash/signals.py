from __future__ import annotations

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from financedash.models import Profile


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def create_profile(sender, instance, created, raw=False, **kwargs):
    # raw: loaddata restores profiles from the fixture itself.
    if created and not raw:
        Profile.objects.get_or_create(
            user=instance, defaults={"base_currency": settings.DEFAULT_BASE_CURRENCY}
        )
