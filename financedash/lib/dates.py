"""The one rule for the date of anything a person records (a trade, a pension value)."""

from __future__ import annotations

from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext

# Nothing this app tracks is older, and a date far in the past makes every daily series
# from it (the "max" chart range) take minutes to build.
EARLIEST = date(1900, 1, 1)


def check_entry_date(day: date, field: str | None = "date") -> None:
    """Refuse a date before 1900-01-01 or after today (the local date); the error is on
    `field`, or on none (for a form's clean_<field>)."""
    if day < EARLIEST:
        message = gettext("%(day)s is before %(earliest)s: check the year.") % {
            "day": day.isoformat(),
            "earliest": EARLIEST.isoformat(),
        }
        raise ValidationError({field: message} if field else message, code="date_too_early")
    # timezone.localdate() costs enough to show in a 2,000-row import; a day two days before
    # the machine's date is in the past in every time zone.
    if day > date.today() - timedelta(days=2) and day > timezone.localdate():
        message = gettext("The date is in the future. Today is %(today)s.") % {
            "today": timezone.localdate().isoformat()
        }
        raise ValidationError({field: message} if field else message, code="date_in_future")
