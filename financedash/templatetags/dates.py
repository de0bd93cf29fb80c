"""Dates as people read them, in the request's language: `{{ d|day }}` is 1 Dec 2026 in
English and 1. des. 2026 in Norwegian; `{{ d|day:"short" }}` is 2026-12-01 / 01.12.2026 for
table columns; `{{ t|moment }}` and `{{ t|day_time }}` add the time of day. English keeps the
formats the pages always had; other languages use CLDR's through babel. Machine-read dates
(form values, data attributes) keep `|date:"Y-m-d"`."""

from __future__ import annotations

import datetime

from babel.dates import format_date, format_datetime
from django import template
from django.utils.dateformat import format as django_format

from financedash.lib.numbers import babel_locale

register = template.Library()

# style -> (English as before, in Django's date syntax; CLDR pattern for babel)
_DAY = {"medium": ("j M Y", "medium"), "short": ("Y-m-d", "short")}
_MOMENT = ("Y-m-d H:i", "dd.MM.y HH:mm")
_DAY_TIME = ("j M H:i", "d. MMM HH:mm")


def _as_date(value) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return value.date()
    return value if isinstance(value, datetime.date) else None


@register.filter(expects_localtime=True)
def day(value, style: str = "medium") -> str:
    date = _as_date(value)
    if date is None:
        return ""
    english, cldr = _DAY.get(style, _DAY["medium"])
    locale = babel_locale()
    if locale is None:
        return django_format(date, english)
    return format_date(date, cldr, locale=locale)


def _with_time(value, english: str, cldr: str) -> str:
    if not isinstance(value, datetime.datetime):
        return day(value)
    locale = babel_locale()
    if locale is None:
        return django_format(value, english)
    # The value is already in the current time zone (expects_localtime): babel must not
    # convert it again.
    return format_datetime(value.replace(tzinfo=None), cldr, locale=locale)


@register.filter(expects_localtime=True)
def moment(value) -> str:
    """A date and time: 2026-12-01 14:05 / 01.12.2026 14:05."""
    return _with_time(value, *_MOMENT)


@register.filter(expects_localtime=True)
def day_time(value) -> str:
    """A day of this year and its time: 1 Dec 14:05 / 1. des. 14:05."""
    return _with_time(value, *_DAY_TIME)
