"""financedash.lib.charts is pure: these run without a database."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from financedash.lib import charts

D = Decimal


def _coords(path: str) -> list[tuple[Decimal, Decimal]]:
    return [(D(x), D(y)) for x, y in re.findall(r"([\d.]+),([\d.]+)", path)]


def test_nice_steps_are_round():
    assert charts.nice_step(D(100), 4) == D(25)
    assert charts.nice_step(D(1000), 4) == D(250)
    assert charts.nice_step(D("0.9"), 4) == D("0.25")
    assert charts.nice_step(D(3_000_000), 4) == D(1_000_000)
    assert charts.nice_step(D(0), 4) == D(1)


def test_value_range_widens_to_whole_steps():
    assert charts.value_range(D(103), D(197)) == (D(100), D(200), D(25))
    bottom, top, _ = charts.value_range(D(50), D(50))
    assert bottom < 50 < top


def test_line_chart_maps_first_and_last_points_to_the_edges():
    points = [(date(2024, 1, 1), D(100)), (date(2024, 1, 11), D(200))]
    chart = charts.line_chart([charts.Series("Value", points, area=True)])
    [drawn] = chart.series
    coords = _coords(drawn.line)
    assert coords[0] == (D("0.0"), D("1000.0"))  # bottom left: the lowest value
    assert coords[-1] == (D("1000.0"), D("0.0"))  # top right: the highest
    assert drawn.area.endswith("Z")
    assert (drawn.first, drawn.last) == (D(100), D(200))
    assert chart.start == date(2024, 1, 1) and chart.end == date(2024, 1, 11)


def test_y_ticks_are_decimals_placed_in_percent_of_the_box():
    points = [(date(2024, 1, 1), D(0)), (date(2024, 2, 1), D(1000))]
    chart = charts.line_chart([charts.Series("v", points)])
    values = [t.value for t in chart.y_ticks]
    assert values == [D(0), D(250), D(500), D(750), D(1000)]
    assert all(isinstance(v, Decimal) for v in values)
    top, bottom = chart.y_ticks[-1].position, chart.y_ticks[0].position
    assert top == charts.PLOT_TOP
    assert bottom == charts.PLOT_TOP + charts.PLOT_HEIGHT


def test_x_ticks_span_the_period_with_a_format_for_its_length():
    start = date(2020, 1, 1)
    long = charts.line_chart([charts.Series("v", [(start, D(1)), (date(2024, 6, 1), D(2))])])
    assert long.date_format == "Y"
    assert [t.anchor for t in long.x_ticks] == ["start", "middle", "middle", "middle", "end"]
    assert long.x_ticks[0].value == start and long.x_ticks[-1].value == date(2024, 6, 1)
    year = charts.line_chart([charts.Series("v", [(start, D(1)), (date(2020, 12, 1), D(2))])])
    assert year.date_format == "M Y"
    weeks = charts.line_chart([charts.Series("v", [(start, D(1)), (date(2020, 2, 1), D(2))])])
    assert weeks.date_format == "j M"


def test_a_single_point_is_a_flat_line_across():
    chart = charts.line_chart([charts.Series("v", [(date(2024, 5, 1), D(42))])])
    coords = _coords(chart.series[0].line)
    assert coords[0][0] == D("0.0") and coords[-1][0] == D("1000.0")
    assert coords[0][1] == coords[-1][1]


def test_empty_series_give_an_empty_chart():
    assert charts.line_chart([]).empty
    assert charts.line_chart([charts.Series("v", [])]).empty


def test_long_series_are_thinned_but_keep_the_last_point():
    start = date(2015, 1, 1)
    points = [(start + timedelta(days=i), D(i)) for i in range(3650)]
    thinned = charts.thin(points)
    assert len(thinned) <= charts.MAX_POINTS + 1
    assert thinned[0] == points[0] and thinned[-1] == points[-1]
    chart = charts.line_chart([charts.Series("v", points)])
    assert len(_coords(chart.series[0].line)) == len(thinned)


def test_markers_sit_on_their_day_and_value_and_outside_ones_are_dropped():
    points = [(date(2024, 1, 1), D(100)), (date(2024, 1, 11), D(200))]
    markers = [
        charts.Marker(date(2024, 1, 6), D(150), "buy", "Buy 10"),
        charts.Marker(date(2023, 1, 1), D(150), "sell", "Sell 1"),
    ]
    chart = charts.line_chart([charts.Series("v", points)], markers=markers)
    [marker] = chart.markers
    assert marker.x == D("50.0")
    assert marker.y == charts.PLOT_TOP + charts.PLOT_HEIGHT / 2


def test_a_fixed_period_sets_the_date_axis():
    points = [(date(2024, 1, 11), D(100)), (date(2024, 1, 21), D(200))]
    chart = charts.line_chart(
        [charts.Series("v", points)], start=date(2024, 1, 1), end=date(2024, 1, 21)
    )
    assert _coords(chart.series[0].line)[0][0] == D("500.0")


def test_bars_share_the_total_and_gather_the_tail():
    items = [("A", D(50)), ("B", D(30)), ("C", D(10)), ("D", D(6)), ("E", D(4)), ("Z", D(0))]
    bars = charts.bars(items, limit=3)
    assert [b.label for b in bars] == ["A", "B", "C", "Other"]
    assert bars[-1].other and bars[-1].value == D(10)
    assert sum(b.percent for b in bars) == D(100)
    assert bars[0].width == D("100.0") and bars[1].width == D("60.0")


def test_bars_keep_a_lone_tail_item_under_its_own_name():
    bars = charts.bars([("A", D(3)), ("B", D(2)), ("C", D(1))], limit=2)
    assert [b.label for b in bars] == ["A", "B", "C"]


def test_bars_of_nothing_are_empty():
    assert charts.bars([]) == []
    assert charts.bars([("A", D(0))]) == []


# Y-axis ticks read differently once shortened to their labels (issue 15) ----------------


def _labels(low, high):
    from financedash.templatetags.money import compact_money

    bottom, top, step = charts.value_range(D(low), D(high))
    ticks = []
    tick = bottom
    while tick <= top:
        ticks.append(tick)
        tick += step
    return ticks, [compact_money(t) for t in ticks]


def test_a_nearly_flat_series_gets_distinct_tick_labels():
    # 36,000 to 36,010: the plain nice step is 2.5, five ticks that all read "36 k".
    # The largest tick (36,010 -> 36,100 at most) shows 3 digits: 36.1 k, so the step is
    # at least 100 and a whole multiple of it: 36,000 and 36,100.
    ticks, labels = _labels("36000", "36010")
    assert ticks == [D(36000), D(36100)]
    assert labels == ["36\u00a0k", "36.1\u00a0k"]


def test_a_flat_series_is_padded_and_its_labels_differ():
    # 36,000 flat: padded by a tenth each side (32,400 to 39,600), step 2,000.
    ticks, labels = _labels("36000", "36000")
    assert ticks == [D(32000), D(34000), D(36000), D(38000), D(40000)]
    assert len(set(labels)) == len(labels)


def test_a_tiny_range_keeps_to_what_two_decimals_show():
    # 0.001 to 0.003: labels show two decimals at most, so the step is 0.01.
    ticks, labels = _labels("0.001", "0.003")
    assert ticks == [D(0), D("0.01")]
    assert labels == ["0", "0.01"]
    # 12.341 to 12.349: 3 digits near 12 are tenths.
    ticks, labels = _labels("12.341", "12.349")
    assert ticks == [D("12.3"), D("12.4")]


def test_a_normal_range_keeps_its_quarter_steps():
    ticks, labels = _labels("0", "1000")
    assert ticks == [D(0), D(250), D(500), D(750), D(1000)]
    assert labels == ["0", "250", "500", "750", "1\u00a0k"]
    ticks, labels = _labels("1000", "2000")
    assert labels == ["1\u00a0k", "1.25\u00a0k", "1.5\u00a0k", "1.75\u00a0k", "2\u00a0k"]


@given(
    low=st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False),
    spread=st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False),
)
def test_tick_labels_are_always_distinct_and_cover_the_data(low, spread):
    bottom, top, _ = charts.value_range(low, low + spread)
    assert bottom <= low and low + spread <= top
    ticks, labels = _labels(low, low + spread)
    assert 2 <= len(ticks) <= 11
    assert len(set(labels)) == len(labels)


# The hover read-out ----------------------------------------------------------------------


def test_hover_points_carry_every_series_value_on_each_day():
    days = [date(2024, 1, 1) + timedelta(days=k) for k in range(3)]
    value = charts.Series("Market value", list(zip(days, [D(100), D(150), D(200)], strict=True)))
    deposits = charts.Series("Net deposits", [(days[1], D(120)), (days[2], D(120))])
    chart = charts.line_chart([value, deposits])
    assert [p.day for p in chart.hover] == days
    assert [p.x for p in chart.hover] == [D("0.0"), D("50.0"), D("100.0")]
    # Net deposits start on day 2: nothing to read before.
    assert [p.values for p in chart.hover] == [
        (D(100), None),
        (D(150), D(120)),
        (D(200), D(120)),
    ]
    # Positions like the markers': 100 is the bottom of the plot (PLOT_TOP + HEIGHT), 200
    # its top.
    assert chart.hover[0].ys[0] == charts.PLOT_TOP + charts.PLOT_HEIGHT
    assert chart.hover[2].ys[0] == charts.PLOT_TOP
    assert chart.hover[0].ys[1] is None


def test_hover_points_are_thinned_like_the_lines():
    start = date(2014, 1, 1)
    points = [(start + timedelta(days=k), D(k)) for k in range(3650)]
    chart = charts.line_chart([charts.Series("v", points)])
    assert len(chart.hover) <= charts.MAX_POINTS + 1
    assert chart.hover[-1].day == points[-1][0] and chart.hover[-1].values == (D(3649),)


def test_a_band_reads_its_own_amount_not_the_stacked_top():
    day = date(2024, 1, 1)
    band = charts.Series(
        "B", [(day, D(300))], area=True, below=[(day, D(100))], values=[(day, D(200))]
    )
    chart = charts.line_chart([band])
    assert chart.hover[0].values == (D(200),)


def test_x_labels_never_repeat_a_month_or_a_day():
    # Four months (2 Aug to 1 Dec): ticks 30 days apart would read "Oct" twice (1 and
    # 31 Oct), so the days are shown.
    start = date(2026, 8, 2)
    chart = charts.line_chart([charts.Series("v", [(start, D(1)), (date(2026, 12, 1), D(2))])])
    assert chart.date_format == "j M"
    # Five months: 37 days apart, months differ.
    chart = charts.line_chart([charts.Series("v", [(start, D(1)), (date(2027, 1, 1), D(2))])])
    assert chart.date_format == "M Y"
    # Two days, five ticks asked for: each day once.
    chart = charts.line_chart(
        [charts.Series("v", [(date(2024, 1, 1), D(1)), (date(2024, 1, 3), D(2))])]
    )
    assert [t.value for t in chart.x_ticks] == [
        date(2024, 1, 1),
        date(2024, 1, 2),
        date(2024, 1, 3),
    ]
    assert [t.anchor for t in chart.x_ticks] == ["start", "middle", "end"]
