"""The chart read-out's data attribute (financedash.templatetags.charts)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from django.utils import translation

from financedash.lib import charts, privacy
from financedash.templatetags.charts import chart_hover
from financedash.templatetags.money import money

D = Decimal


def _chart():
    return charts.line_chart(
        [
            charts.Series(
                "Market value", [(date(2024, 1, 1), D("1234.5")), (date(2024, 1, 2), D(2000))]
            ),
            charts.Series(
                "Net deposits", [(date(2024, 1, 1), D(1000)), (date(2024, 1, 2), D(1000))]
            ),
        ]
    )


def test_the_amounts_are_formatted_as_the_page_formats_them():
    data = json.loads(chart_hover(_chart(), "NOK"))
    assert [s["label"] for s in data["series"]] == ["Market value", "Net deposits"]
    first = data["points"][0]
    assert first[0] == "0.0"
    assert first[1] == "1 Jan 2024"
    assert [amount for _, amount in first[2]] == [money(D("1234.5"), "NOK"), money(1000, "NOK")]


def test_the_date_is_written_in_the_language_of_the_page():
    # Regression: Django's "j M Y" read "1 Jan 2024" in Norwegian too (and "31 Des 2019").
    with translation.override("nb"):
        data = json.loads(chart_hover(_chart(), "NOK"))
    assert data["points"][0][1] == "1. jan. 2024"


def test_privacy_mode_leaves_no_amount_in_the_attribute():
    with privacy.hiding():
        text = chart_hover(_chart(), "NOK")
    data = json.loads(text)
    assert {amount for point in data["points"] for _, amount in point[2]} == {privacy.MASK}
    # No amount's digits anywhere: only positions (percent of the box) and dates remain.
    assert "1234" not in text and "1 234" not in text and "2000" not in text


def test_an_empty_chart_has_no_read_out():
    assert chart_hover(charts.LineChart(), "NOK") == ""
