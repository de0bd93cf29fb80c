"""Numbers and dates in the language of the request: which babel locale formats them, how
a number is written back into a form field so that it reads, and parses, as typed, and the
date formats (the template filters of financedash.templatetags.dates and the messages of
the views use the same ones).

English keeps the look the pages always had (1 234.50 with a narrow no-break space,
financedash.templatetags.money); every other language is formatted by babel from CLDR
(Norwegian: 1 234,50 kr, 1. des. 2026). The JSON API never comes here: it writes dot
decimals as strings whatever the language.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from babel import Locale
from babel.dates import format_date, format_datetime, format_skeleton
from babel.numbers import format_decimal
from django.utils import translation
from django.utils.dateformat import format as django_format

# Django's language code -> the CLDR locale babel formats with.
_LOCALES = {"nb": Locale.parse("nb_NO")}


def babel_locale(language: str | None = None) -> Locale | None:
    """The babel locale for the language (the active one by default), or None for English,
    which is formatted as it always was."""
    code = (language or translation.get_language() or "en").lower()
    return _LOCALES.get(code.split("-")[0])


def decimal_comma(language: str | None = None) -> bool:
    """Whether the language writes 1,5 for one and a half."""
    locale = babel_locale(language)
    return locale is not None and locale.number_symbols["latn"]["decimal"] == ","


def format_input(value: Decimal, language: str | None = None) -> str:
    """A stored number as a form field shows it: every stored digit kept (12000000.00 stays
    two decimals, a rate keeps ten), the whole part grouped with plain spaces, the
    language's decimal mark. Plain spaces, not no-break ones: the text is edited, and
    parse_decimal reads any of them back."""
    if not value.is_finite():
        return str(value)
    places = max(0, -value.as_tuple().exponent)
    text = f"{value:,.{places}f}".replace(",", " ")
    if decimal_comma(language):
        text = text.replace(".", ",")
    return text


def format_number(value: Decimal, language: str | None = None, *, grouped: bool = False) -> str:
    """A number in a sentence: every digit kept, no trailing zeros, 2,5 in Norwegian;
    `grouped`: 250,000.5 in English, 250 000,5 in Norwegian."""
    value = value.normalize() if value.is_finite() else value
    locale = babel_locale(language)
    if locale is None:
        return f"{value:,f}" if grouped else f"{value:f}"
    return format_decimal(
        value, format="#,##0.##########" if grouped else "0.##########", locale=locale
    )


# style -> (English as before, in Django's date syntax; CLDR pattern for babel)
_DAY = {"medium": ("j M Y", "medium"), "short": ("Y-m-d", "short")}
_MOMENT = ("Y-m-d H:i", "dd.MM.y HH:mm")
_DAY_TIME = ("j M H:i", "d. MMM HH:mm")


def format_day(value: datetime.date, style: str = "medium") -> str:
    """1 Dec 2026 / 1. des. 2026; "short": 2026-12-01 / 01.12.2026."""
    if isinstance(value, datetime.datetime):
        value = value.date()
    english, cldr = _DAY.get(style, _DAY["medium"])
    locale = babel_locale()
    if locale is None:
        return django_format(value, english)
    return format_date(value, cldr, locale=locale)


def _with_time(value: datetime.datetime, english: str, cldr: str) -> str:
    locale = babel_locale()
    if locale is None:
        return django_format(value, english)
    # The value is already in the time zone to show: babel must not convert it again.
    return format_datetime(value.replace(tzinfo=None), cldr, locale=locale)


def format_moment(value: datetime.datetime) -> str:
    """A date and time: 2026-12-01 14:05 / 01.12.2026 14:05."""
    return _with_time(value, *_MOMENT)


def format_day_time(value: datetime.datetime) -> str:
    """A day of this year and its time: 1 Dec 14:05 / 1. des. 14:05."""
    return _with_time(value, *_DAY_TIME)


def format_month(value: datetime.date) -> str:
    """A month's short name: Dec / des."""
    locale = babel_locale()
    if locale is None:
        return value.strftime("%b")
    return format_date(value, "LLL", locale=locale)


def format_month_year(value: datetime.date) -> str:
    """A month of a year: Dec 2026 / des. 2026 (lower case, as CLDR writes it; Django's
    "M Y" capitalises the Norwegian month)."""
    locale = babel_locale()
    if locale is None:
        return django_format(value, "M Y")
    return format_skeleton("yMMM", value, locale=locale)


# A chart axis's Django format (financedash.lib.charts) -> its CLDR skeleton.
_TICKS = {"j M": "dMMM", "M Y": "yMMM", "Y": "y"}


def format_tick(value: datetime.date, django_pattern: str) -> str:
    """A chart axis label in the chart's granularity: 1 Dec / 1. des., Dec 2026 /
    des. 2026, 2026."""
    locale = babel_locale()
    if locale is None or django_pattern not in _TICKS:
        return django_format(value, django_pattern)
    return format_skeleton(_TICKS[django_pattern], value, locale=locale)
