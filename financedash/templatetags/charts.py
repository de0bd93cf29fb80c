"""The read-out of a line chart (static/js/charts.js): `{{ chart|chart_hover:currency }}`
in a data attribute, every amount formatted here by the page's own money filter, so the
tooltip reads exactly like the page (its locale, its privacy mode)."""

from __future__ import annotations

import json

from django import template

from financedash.lib import privacy
from financedash.lib.l10n import format_day
from financedash.templatetags.money import money

register = template.Library()


@register.filter
def chart_hover(chart, currency: str = "") -> str:
    """JSON for the chart's data-hover attribute: {"top", "bottom" (the plot area, % of
    the box), "series": [{"label", "style"}],
    "points": [[x %, "date", [[y % or null, "amount" or null], ...]], ...]}. While amounts
    are hidden (privacy mode) each amount is the mask: no digits of an amount in the page."""
    if not chart or chart.empty or not chart.hover:
        return ""
    hidden = privacy.hidden()

    def amount(value) -> str | None:
        if value is None:
            return None
        return privacy.MASK if hidden else money(value, currency)

    data = {
        "top": str(chart.plot_top),
        "bottom": str(chart.plot_top + chart.plot_height),
        "series": [{"label": str(s.label), "style": s.style} for s in chart.series],
        "points": [
            [
                str(point.x),
                format_day(point.day),
                [
                    [None if y is None else str(y), amount(value)]
                    for value, y in zip(point.values, point.ys, strict=True)
                ],
            ]
            for point in chart.hover
        ],
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
