"""Server-rendered SVG charts: pure geometry from Decimal series (no ORM, no formatting).

A line chart is one <svg> without a viewBox, so it fills its box at any width and its text
keeps the page's font size (a scaled viewBox would shrink axis labels to a few pixels on a
phone). Inside it:
- the plot, a nested <svg viewBox="0 0 1000 1000" preserveAspectRatio="none"> stretched
  over the plot area; paths use vector-effect="non-scaling-stroke" so that stretching does
  not thicken the lines;
- gridlines, axis labels and markers, placed in percentages of the outer box.

Coordinates are Decimals quantized to 0.1 (they print as plain "123.4"). Tick values come
back as Decimals and dates, for the templates to format with the money filters: this
module never decides how an amount reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from itertools import pairwise

from django.utils.translation import gettext

ZERO = Decimal(0)
HUNDRED = Decimal(100)
VIEWBOX = Decimal(1000)
COORD = Decimal("0.1")
# The plot area inside the outer box, in percent: room above for the top label and below
# for the date labels.
PLOT_TOP = Decimal(6)
PLOT_HEIGHT = Decimal(78)
X_LABEL_ROW = Decimal(97)
# More points than this are thinned: a 10-year daily series has ~3,650, far more than the
# pixels a phone has across, and every point is bytes in the page.
MAX_POINTS = 400
NICE_STEPS = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))
# Axis labels show this many significant digits, and never more than two decimals
# (financedash.templatetags.money.compact_money): 36.1 k, 850 k, 1.25 M, 0.05.
LABEL_DIGITS = 3
MIN_RESOLUTION = Decimal("0.01")

Point = tuple[date, Decimal]


@dataclass(frozen=True)
class Series:
    label: str
    points: Sequence[Point]
    style: str = "primary"  # CSS hook: .chart-primary, .chart-secondary, ...
    area: bool = False  # fill the area under the line
    dashed: bool = False
    # A band of a stacked chart: the area is filled down to this line instead of the axis,
    # and `values` (the band's own amounts, not the stacked top) are what the legend says.
    below: Sequence[Point] = ()
    values: Sequence[Point] = ()


@dataclass(frozen=True)
class Marker:
    day: date
    value: Decimal
    kind: str  # CSS hook: buy, sell, dividend
    label: str


@dataclass(frozen=True)
class Tick:
    position: Decimal  # percent of the outer box (y from the top, x from the left)
    value: Decimal | date
    anchor: str = "middle"  # SVG text-anchor


@dataclass(frozen=True)
class DrawnSeries:
    label: str
    style: str
    line: str  # path data in the 0..1000 plot box
    area: str  # closed path under the line, or ""
    dashed: bool
    first: Decimal
    last: Decimal


@dataclass(frozen=True)
class DrawnMarker:
    x: Decimal  # percent
    y: Decimal  # percent
    kind: str
    label: str
    day: date
    value: Decimal


@dataclass(frozen=True)
class HoverPoint:
    """What pointing at a day of the chart shows: the day, each series' value on it (None
    before a series starts) and where that value sits, in percent of the outer box."""

    x: Decimal
    day: date
    values: tuple[Decimal | None, ...]
    ys: tuple[Decimal | None, ...]


@dataclass(frozen=True)
class LineChart:
    series: list[DrawnSeries] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    markers: list[DrawnMarker] = field(default_factory=list)
    start: date | None = None
    end: date | None = None
    low: Decimal = ZERO
    high: Decimal = ZERO
    # A Django date format for the x labels, chosen by the span: days, months or years.
    date_format: str = "j M"
    plot_top: Decimal = PLOT_TOP
    plot_height: Decimal = PLOT_HEIGHT
    x_label_row: Decimal = X_LABEL_ROW
    # One per drawn day (thinned like the lines), for the hover and touch read-out.
    hover: list[HoverPoint] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.series


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal
    percent: Decimal  # share of the total, 0..100
    width: Decimal  # bar length relative to the largest bar, 0..100
    other: bool = False  # the bucket that gathers the smallest items


def _coord(value: Decimal) -> Decimal:
    return value.quantize(COORD)


def nice_step(span: Decimal, count: int = 4) -> Decimal:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about `count` intervals."""
    if span <= 0:
        return Decimal(1)
    raw = span / count
    magnitude = Decimal(1).scaleb(raw.adjusted())
    for step in NICE_STEPS:
        if raw <= step * magnitude:
            return step * magnitude
    return NICE_STEPS[-1] * magnitude


def label_resolution(value: Decimal) -> Decimal:
    """The smallest difference an axis label shows near `value`: the labels (the compact
    money format) keep LABEL_DIGITS significant digits and at most two decimals."""
    size = abs(value)
    if not size:
        return MIN_RESOLUTION
    return max(Decimal(1).scaleb(size.adjusted() - LABEL_DIGITS + 1), MIN_RESOLUTION)


def _next_step(step: Decimal) -> Decimal:
    """The nice step after `step` (1, 2, 2.5, 5, 10 times a power of ten)."""
    magnitude = Decimal(1).scaleb(step.adjusted())
    for candidate in NICE_STEPS:
        if candidate * magnitude > step:
            return candidate * magnitude
    return NICE_STEPS[-1] * magnitude


def value_range(low: Decimal, high: Decimal, count: int = 4) -> tuple[Decimal, Decimal, Decimal]:
    """(bottom, top, step): the data range widened to whole steps.

    Every tick must read differently once shortened to its label (a nearly flat series of
    36,000 gave "36 k" five times): the step is a whole multiple of what the largest label
    can show, so each tick prints exactly and no two print alike. A nearly flat line then
    gets fewer, wider-spaced ticks instead of repeated ones."""
    if low == high:
        pad = abs(low) / 10 if low else Decimal(1)
        low, high = low - pad, high + pad
    step = nice_step(high - low, count)
    while True:
        bottom = (low / step).to_integral_value(ROUND_FLOOR) * step
        top = (high / step).to_integral_value(ROUND_CEILING) * step
        resolution = label_resolution(max(abs(bottom), abs(top)))
        if step >= resolution and not step % resolution:
            return bottom, top, step
        step = _next_step(step)


def thin(points: Sequence[Point], limit: int = MAX_POINTS) -> list[Point]:
    """Every n-th point so that at most about `limit` remain, always keeping the last."""
    points = list(points)
    if len(points) <= limit:
        return points
    stride = -(-len(points) // limit)
    kept = points[::stride]
    if kept[-1] != points[-1]:
        kept.append(points[-1])
    return kept


def _date_format(start: date, end: date, ticks: Sequence[date] = ()) -> str:
    """Years, months or days, by the span; coarser labels only where the ticks are far
    enough apart to read differently (two days 31 apart are never in the same month, 366
    apart never in the same year): a four-month axis must not say "Oct" twice."""
    days = (end - start).days
    gap = min(((b - a).days for a, b in pairwise(ticks)), default=days)
    if days > 3 * 365 and gap >= 366:
        return "Y"
    if days > 120 and gap >= 31:
        return "M Y"
    return "j M"


def line_chart(
    series: Iterable[Series],
    *,
    markers: Iterable[Marker] = (),
    x_tick_count: int = 5,
    start: date | None = None,
    end: date | None = None,
) -> LineChart:
    """`start` and `end` fix the date axis (the period asked for); by default it spans the
    data. Markers outside it are left out; points outside it are drawn past the edge."""
    drawn_input = [s for s in series if s.points]
    if not drawn_input:
        return LineChart()
    all_points = [p for s in drawn_input for p in s.points]
    start = start or min(d for d, _ in all_points)
    end = end or max(d for d, _ in all_points)
    marker_list = [m for m in markers if start <= m.day <= end]
    values = [v for _, v in all_points] + [m.value for m in marker_list]
    if start == end:
        # A single day still gets a line across: widen the range by a day each side.
        start, end = start - timedelta(days=1), end + timedelta(days=1)
    bottom, top, step = value_range(min(values), max(values))
    days = Decimal((end - start).days)

    def x_of(day: date) -> Decimal:
        return Decimal((day - start).days) / days

    def y_of(value: Decimal) -> Decimal:
        return (top - value) / (top - bottom)

    drawn = []
    shown_by_series = []
    for item in drawn_input:
        points = sorted(thin(sorted(item.points)), key=lambda p: p[0])
        if len(points) == 1:
            points = [(start, points[0][1]), (end, points[0][1])]
        coords = [(_coord(x_of(d) * VIEWBOX), _coord(y_of(v) * VIEWBOX)) for d, v in points]
        line = "M" + " L".join(f"{x},{y}" for x, y in coords)
        area = ""
        if item.area and item.below:
            lower = sorted(thin(sorted(item.below)), key=lambda p: p[0])
            back = [(_coord(x_of(d) * VIEWBOX), _coord(y_of(v) * VIEWBOX)) for d, v in lower]
            area = f"{line} " + " ".join(f"L{x},{y}" for x, y in reversed(back)) + " Z"
        elif item.area:
            area = f"{line} L{coords[-1][0]},{VIEWBOX} L{coords[0][0]},{VIEWBOX} Z"
        shown = sorted(item.values) if item.values else points
        shown_by_series.append((sorted(item.values or item.points), sorted(item.points)))
        drawn.append(
            DrawnSeries(
                label=item.label,
                style=item.style,
                line=line,
                area=area,
                dashed=item.dashed,
                first=shown[0][1],
                last=shown[-1][1],
            )
        )

    y_ticks = []
    tick = bottom
    while tick <= top:
        y_ticks.append(
            Tick(position=_coord(PLOT_TOP + y_of(tick) * PLOT_HEIGHT), value=tick, anchor="end")
        )
        tick += step

    x_ticks = []
    count = max(2, x_tick_count)
    # A span of fewer days than ticks would repeat a day: each day once.
    tick_days = sorted(
        {start + timedelta(days=int((end - start).days * i / (count - 1))) for i in range(count)}
    )
    for i, day in enumerate(tick_days):
        anchor = "start" if i == 0 else ("end" if i == len(tick_days) - 1 else "middle")
        x_ticks.append(Tick(position=_coord(x_of(day) * HUNDRED), value=day, anchor=anchor))

    drawn_markers = [
        DrawnMarker(
            x=_coord(x_of(m.day) * HUNDRED),
            y=_coord(PLOT_TOP + y_of(m.value) * PLOT_HEIGHT),
            kind=m.kind,
            label=m.label,
            day=m.day,
            value=m.value,
        )
        for m in marker_list
    ]
    hover = _hover_points(shown_by_series, start, end, x_of, y_of)
    return LineChart(
        hover=hover,
        series=drawn,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        markers=drawn_markers,
        start=start,
        end=end,
        low=bottom,
        high=top,
        date_format=_date_format(start, end, tick_days),
    )


def _latest(points: Sequence[Point], day: date, index: int) -> tuple[Decimal | None, int]:
    """The value of the last point on or before `day` (points sorted; `index` the search
    start, days asked in order), and where the next search starts."""
    while index < len(points) and points[index][0] <= day:
        index += 1
    return (points[index - 1][1] if index else None), index


def _hover_points(shown_by_series, start: date, end: date, x_of, y_of) -> list[HoverPoint]:
    """Each drawn day inside the date axis with every series' value on it: the shown value
    (a band's own amount) and the drawn one's position."""
    days = sorted({d for _, drawn in shown_by_series for d, _ in drawn if start <= d <= end})
    days = [d for d, _ in thin([(d, ZERO) for d in days])]
    cursors = [[0, 0] for _ in shown_by_series]
    points = []
    for day in days:
        values, ys = [], []
        for (shown, drawn), cursor in zip(shown_by_series, cursors, strict=True):
            value, cursor[0] = _latest(shown, day, cursor[0])
            top, cursor[1] = _latest(drawn, day, cursor[1])
            values.append(value)
            ys.append(None if top is None else _coord(PLOT_TOP + y_of(top) * PLOT_HEIGHT))
        points.append(HoverPoint(_coord(x_of(day) * HUNDRED), day, tuple(values), tuple(ys)))
    return points


def bars(items: Iterable[tuple[str, Decimal]], *, limit: int = 8, other_label: str | None = None):
    """Shares of a whole, largest first; past `limit`, the rest is one "other" bar.
    Items of zero or less are left out: they are no share of what is owned."""
    kept = sorted(((label, v) for label, v in items if v > 0), key=lambda item: -item[1])
    total = sum((v for _, v in kept), ZERO)
    if not total:
        return []
    rows = [(label, value, False) for label, value in kept[:limit]]
    rest = kept[limit:]
    if len(rest) == 1:
        rows.append((rest[0][0], rest[0][1], False))
    elif rest:
        label = other_label or gettext("Other")
        rows.append((label, sum((v for _, v in rest), ZERO), True))
    largest = max(value for _, value, _ in rows)
    return [
        Bar(
            label=label,
            value=value,
            percent=value / total * HUNDRED,
            width=_coord(value / largest * HUNDRED),
            other=other,
        )
        for label, value, other in rows
    ]
