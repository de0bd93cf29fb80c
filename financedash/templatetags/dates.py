"""Dates as people read them, in the request's language: `{{ d|day }}` is 1 Dec 2026 in
English and 1. des. 2026 in Norwegian; `{{ d|day:"short" }}` is 2026-12-01 / 01.12.2026 for
table columns; `{{ t|moment }}` and `{{ t|day_time }}` add the time of day; `{{ d|month }}`
is Dec 2026 / des. 2026 and `{{ d|tick:chart.date_format }}` a chart axis label (formats in
financedash.lib.l10n). Machine-read dates (form values, data attributes) keep
`|date:"Y-m-d"`."""

from __future__ import annotations

import datetime

from django import template

from financedash.lib.l10n import (
    format_day,
    format_day_time,
    format_moment,
    format_month_year,
    format_tick,
)

register = template.Library()


@register.filter(expects_localtime=True)
def day(value, style: str = "medium") -> str:
    if not isinstance(value, datetime.date):
        return ""
    return format_day(value, style)


@register.filter(expects_localtime=True)
def moment(value) -> str:
    if not isinstance(value, datetime.datetime):
        return day(value)
    return format_moment(value)


@register.filter(expects_localtime=True)
def day_time(value) -> str:
    if not isinstance(value, datetime.datetime):
        return day(value)
    return format_day_time(value)


@register.filter
def month(value) -> str:
    if not isinstance(value, datetime.date):
        return ""
    return format_month_year(value)


@register.filter
def tick(value, django_pattern: str = "j M") -> str:
    if not isinstance(value, datetime.date):
        return ""
    return format_tick(value, django_pattern)
