"""Charts as server-side SVG: no script, works offline from the cache, prints, embeds in a PDF.

Pure functions from plain data to SVG markup (a `markupsafe.Markup`, so Jinja does not escape it
again). Every piece of text is escaped here. Colours and strokes are SVG presentation attributes,
never `style=`, so the markup passes a `style-src 'self'` Content-Security-Policy. Each chart has
a <title> and <desc>; the pages put a data table beside it for screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from .progress import CYCLE_MAX_DAYS, METRICS, Curve, Metric, SeriesRow, runs

# Okabe-Ito colours (distinguishable with the common colour-vision deficiencies), then dashed.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#1f1a1c", "#8c564b")
DASHES = ("", "6 3", "2 3")
INK = "#1f1a1c"
MUTED = "#5d5458"
GRID = "#e4d9dd"
FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"


def series_style(index: int) -> tuple[str, str]:
    """(colour, dash pattern) of the index-th line (0-based)."""
    return PALETTE[index % len(PALETTE)], DASHES[(index // len(PALETTE)) % len(DASHES)]


@dataclass(frozen=True)
class ChartSeries:
    label: str
    values: Sequence[float | None]  # one per x position; None is a gap


@dataclass(frozen=True)
class _Frame:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    x_low: float
    x_high: float
    y_low: float
    y_high: float

    def x(self, value: float) -> float:
        span = (self.x_high - self.x_low) or 1
        return self.left + (value - self.x_low) / span * (self.width - self.left - self.right)

    def y(self, value: float) -> float:
        span = (self.y_high - self.y_low) or 1
        plot = self.height - self.top - self.bottom
        return self.top + plot - (value - self.y_low) / span * plot


def _num(value: float) -> str:
    # Called for every coordinate (~1,000 for a two-year recovery chart): kept to one C call.
    return f"{value:.1f}".removesuffix(".0")


def nice_range(values: Sequence[float], ticks: int = 4) -> tuple[float, float, float]:
    """(low, high, step) enclosing `values` with round tick steps."""
    if not values:
        return 0.0, 1.0, 0.25
    low, high = min(values), max(values)
    if math.isclose(low, high):
        low, high = low - 1, high + 1
    raw = (high - low) / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def _ticks(low: float, high: float, step: float) -> list[float]:
    count = round((high - low) / step)
    return [low + index * step for index in range(count + 1)]


def _axes(frame: _Frame, x_ticks, x_labels, y_ticks, y_label: str, x_label: str) -> list[str]:
    parts = []
    for value in y_ticks:
        y = _num(frame.y(value))
        parts.append(
            f'<line class="grid" x1="{frame.left}" x2="{frame.width - frame.right}" '
            f'y1="{y}" y2="{y}" stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{frame.left - 5}" y="{y}" text-anchor="end" dominant-baseline="middle">'
            f"{escape(_num(value))}</text>"
        )
    base = frame.height - frame.bottom
    parts.append(
        f'<line class="axis" x1="{frame.left}" x2="{frame.width - frame.right}" '
        f'y1="{base}" y2="{base}" stroke="{MUTED}" stroke-width="1"/>'
    )
    for value, label in zip(x_ticks, x_labels, strict=True):
        x = _num(frame.x(value))
        parts.append(
            f'<line class="axis" x1="{x}" x2="{x}" y1="{base}" y2="{base + 4}" stroke="{MUTED}"/>'
            f'<text x="{x}" y="{base + 15}" text-anchor="middle">{escape(label)}</text>'
        )
    parts.append(
        f'<text x="{_num((frame.left + frame.width - frame.right) / 2)}" y="{base + 29}" '
        f'text-anchor="middle" class="muted" fill="{MUTED}">{escape(x_label)}</text>'
        f'<text x="{frame.left}" y="{frame.top - 8}" class="muted" fill="{MUTED}">'
        f"{escape(y_label)}</text>"
    )
    return parts


def _path(points: Sequence[tuple[float, float]], frame: _Frame) -> str:
    """Line segments through consecutive points; an isolated point becomes a dot."""
    commands = []
    to_x, to_y = frame.x, frame.y
    for run in runs(points):
        first_x, first_y = run[0]
        commands.append(f"M{_num(to_x(first_x))} {_num(to_y(first_y))}")
        if len(run) == 1:
            commands.append("h0.01")  # drawn as a dot by the round line cap
        commands.extend(f"L{_num(to_x(x))} {_num(to_y(y))}" for x, y in run[1:])
    return "".join(commands)


LEGEND_CHAR_WIDTH = 6.2  # an 11 px sans-serif character, generously: labels must not overlap


def _legend(
    labels: Sequence[str], frame_width: int, top: int, focus: int | None = None
) -> tuple[list[str], int]:
    """Legend items laid out in rows, each as wide as its label needs; item `focus` (0-based)
    in bold when one line is highlighted."""
    parts = []
    x, row = 10.0, 0
    for index, label in enumerate(labels):
        colour, dash = series_style(index)
        item_width = 23 + len(label) * LEGEND_CHAR_WIDTH + 14
        if x > 10 and x + item_width > frame_width:
            x, row = 10.0, row + 1
        y = top + row * 18
        x = round(x, 1)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        bold = ' font-weight="700"' if index == focus else ""
        parts.append(
            f'<g class="legend-item"><line x1="{x}" x2="{x + 18}" y1="{y}" y2="{y}" '
            f'stroke="{colour}" stroke-width="3"{dash_attr}/>'
            f'<text x="{x + 23}" y="{y}" dominant-baseline="middle"{bold}>{escape(label)}</text>'
            "</g>"
        )
        x += item_width
    return parts, (row + 1) * 18 if labels else 0


def _svg(width: int, height: int, chart_id: str, title: str, desc: str, body: list[str], css: str):
    # Every interpolated text above and here goes through escape(); numbers are formatted by us.
    return Markup(  # noqa: S704
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {escape(css)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" '
        f'font-family="{FONT}" font-size="11" fill="{INK}">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>' + "".join(body) + "</svg>"
    )


def recovery_chart_svg(
    curves: Sequence[Curve],
    metric: Metric,
    *,
    chart_id: str = "recovery",
    width: int = 360,
    height: int = 230,
    focus: int | None = None,
) -> Markup:
    """One line per session: `metric` against days since that session, with a legend.

    `focus` (a session number) highlights that session's line, drawn bold on top, and fades the
    others: on a phone the lines of many sessions lie on top of each other."""
    focus = focus if any(curve.number == focus for curve in curves) else None
    values = [value for curve in curves for _, value in curve.points]
    if metric.low is not None and metric.high is not None:
        y_low, y_high = metric.low, metric.high
        y_step = 1.0 if y_high - y_low <= 5 else 2.0
    else:
        y_low, y_high, y_step = nice_range(values)
    last_day = max((curve.last_day for curve in curves), default=28)
    last_day = max(7, min(CYCLE_MAX_DAYS, last_day))
    x_ticks = list(range(0, last_day + 1, 7))
    if last_day - x_ticks[-1] >= 3:
        x_ticks.append(last_day)  # where the cycle ends, unless too close to the last week
    frame = _Frame(width, height, 34, 10, 22, 36, 0, last_day, y_low, y_high)
    body = _axes(
        frame,
        x_ticks,
        [str(day) for day in x_ticks],
        _ticks(y_low, y_high, y_step),
        metric.axis_label,
        "Days since session",
    )
    labels, lines, focused_line = [], [], []
    for index, curve in enumerate(curves):
        colour, dash = series_style(index)
        label = f"Session {curve.number}"
        labels.append(label if curve.points else f"{label} (no entries)")
        if not curve.points:
            continue
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        if focus is None:
            look = 'class="curve" stroke-width="2.5"'
        elif curve.number == focus:
            look = 'class="curve focused" stroke-width="4"'
        else:
            look = 'class="curve faded" stroke-width="1.5" stroke-opacity="0.3"'
        points = [(day, value) for day, value in curve.points if day <= last_day]
        (focused_line if curve.number == focus else lines).append(
            f'<path {look} data-session="{curve.number}" d="{_path(points, frame)}" '
            f'fill="none" stroke="{colour}" stroke-linecap="round" '
            f'stroke-linejoin="round"{dash_attr}><title>{escape(label)}, '
            f"{escape(curve.session_date.strftime('%d %b %Y'))}</title></path>"
        )
    body.extend(lines + focused_line)  # the highlighted line on top
    focus_index = next((i for i, c in enumerate(curves) if c.number == focus), None)
    legend, legend_height = _legend(labels, width, height + 4, focus_index)
    body.extend(legend)
    if not curves:
        body.append(
            f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="{MUTED}">'
            "No treatment sessions yet</text>"
        )
    highlighted = f" Session {focus} is highlighted." if focus is not None else ""
    desc = (
        f"{metric.label} for each of {len(curves)} session(s), by day since the session. "
        f"Days without an entry are left as gaps.{highlighted} "
        "The same numbers are in the table below."
    )
    total = height + legend_height + (6 if legend_height else 0)
    return _svg(
        width,
        total,
        chart_id,
        f"{metric.label}: recovery after each session",
        desc,
        body,
        "recovery-chart",
    )


def series_chart_svg(
    session_numbers: Sequence[int],
    series: Sequence[ChartSeries],
    *,
    low: float | None = None,
    high: float | None = None,
    axis_label: str = "",
    title: str = "Across the series",
    chart_id: str = "series",
    width: int = 360,
    height: int = 200,
) -> Markup:
    """A trend across sessions: one line per series, one point per session (x = session number)."""
    values = [value for line in series for value in line.values if value is not None]
    if low is not None and high is not None:
        y_low, y_high, y_step = low, high, 1.0 if high - low <= 5 else 2.0
    else:
        y_low, y_high, y_step = nice_range(values)
    count = max(1, len(session_numbers))
    frame = _Frame(width, height, 34, 16, 22, 36, 0.6, count + 0.4, y_low, y_high)
    positions = list(range(1, len(session_numbers) + 1))
    body = _axes(
        frame,
        positions,
        [str(number) for number in session_numbers],
        _ticks(y_low, y_high, y_step),
        axis_label,
        "Session",
    )
    for index, line in enumerate(series):
        colour, dash = series_style(index)
        points = [
            (float(position), value)
            for position, value in zip(positions, line.values, strict=True)
            if value is not None
        ]
        if not points:
            continue
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        body.append(
            f'<path class="trend" d="{_path(points, frame)}" fill="none" stroke="{colour}" '
            f'stroke-width="2.5" stroke-linecap="round" stroke-linejoin="round"{dash_attr}>'
            f"<title>{escape(line.label)}</title></path>"
        )
        body.extend(
            f'<circle cx="{_num(frame.x(x))}" cy="{_num(frame.y(y))}" r="3.5" fill="{colour}"/>'
            for x, y in points
        )
    legend, legend_height = _legend([line.label for line in series], width, height + 4)
    body.extend(legend)
    desc = (
        f"{', '.join(line.label for line in series)} for sessions "
        f"{', '.join(str(number) for number in session_numbers)}. "
        "The same numbers are in the table beside it."
    )
    total = height + legend_height + (6 if legend_height else 0)
    return _svg(width, total, chart_id, title, desc, body, "series-chart")


def severity_chart_svg(
    rows: Sequence[SeriesRow], metrics: Sequence[str], *, chart_id: str = "series"
) -> Markup:
    """`metrics` (PIE and PIH severity, those the patient tracks) near day 28 of each cycle."""
    lines = [
        ChartSeries(
            METRICS[key].label,
            [value.value if (value := row.matched.get(key)) else None for row in rows],
        )
        for key in metrics
    ]
    return series_chart_svg(
        [row.number for row in rows],
        lines,
        low=0,
        high=4,
        axis_label="Severity near day 28, 0 clear – 4 severe",
        title="PIE and PIH severity near day 28 of each cycle",
        chart_id=chart_id,
    )
