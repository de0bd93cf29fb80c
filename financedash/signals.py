from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from financedash.lib.api_params import DEFAULT_PERIOD_DAYS
from financedash.lib.profiles import profile_for
from financedash.middleware import SESSION_LANGUAGE
from financedash.models import Profile
from portfolios.models import Portfolio
from portfolios.performance_data import history_synced

logger = logging.getLogger(__name__)


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def create_profile(sender, instance, created, raw=False, **kwargs):
    # raw: loaddata restores profiles from the fixture itself.
    if created and not raw:
        Profile.objects.get_or_create(
            user=instance, defaults={"base_currency": settings.DEFAULT_BASE_CURRENCY}
        )


@receiver(user_logged_in)
def remember_profile_language(sender, request, user, **kwargs):
    # Read once at login into the session, so that no page spends a query on it.
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_LANGUAGE] = profile_for(user).language


@receiver(history_synced)
def warm_performance(sender, **kwargs):
    """After the nightly import: each user's household and portfolio performance for the
    default period of the API and the pages (the year up to today), so that the morning's
    first requests find the serialised answers and the compact price series in the shared
    cache. A failure is logged and skipped: the import itself has succeeded."""
    from financedash import api, overview
    from portfolios import api as portfolios_api
    from portfolios.views import first_transaction_day

    end = timezone.localdate()
    start = end - timedelta(days=DEFAULT_PERIOD_DAYS)
    owners = get_user_model().objects.filter(portfolios__isnull=False).distinct()
    for user in owners:
        try:
            portfolios = list(Portfolio.objects.owned_by(user))
            api.household_body(user, start, end)
            for portfolio in portfolios:
                portfolios_api.performance_body(portfolio, start, end)
            # The dashboard's year starts at the first transaction when that is later.
            first = first_transaction_day(portfolios)
            page_start = min(max(start, first or start), end)
            if page_start != start:
                currency = profile_for(user).base_currency
                overview.household_performance(user, currency=currency, start=page_start, end=end)
        except Exception:
            logger.exception("Pre-warming the performance of user %s failed", user.pk)
