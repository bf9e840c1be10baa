"""Charts drawn on the server as inline SVG: no script, no style attribute, no request.

The page's Content-Security-Policy forbids inline styles, so every colour and size is an
SVG presentation attribute or a class from dashboard.css. Colours come from the Okabe–Ito
palette, which stays distinct for the common kinds of colour blindness; the figures are
also written as text beside the marks, and every chart is paired with a table.

The caller hands in translated, formatted text; this module only places it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

BLUE = "#0072B2"  # Okabe–Ito blue: a figure at or above its target, or with no target
VERMILLION = "#D55E00"  # Okabe–Ito vermillion: a figure below its target
INK = "#1b1b1b"
MUTED = "#4a4a4a"
GRID = "#c9d1d9"

WIDTH = 960
FONT = 14
SMALL = 12


@dataclass(frozen=True)
class Bar:
    """One horizontal bar: a share in percent (None when there is nothing to show)."""

    label: str
    value: float | None
    value_text: str
    is_below_target: bool = False
    is_marked: bool = False  # outlined, e.g. the weakest element


@dataclass(frozen=True)
class Point:
    """One month of a trend line; hollow when its sample is too small to judge."""

    label: str
    value: float | None
    value_text: str
    is_sufficient: bool = True


def _f(number: float) -> str:
    """Return a coordinate with at most one decimal, so the markup stays short."""
    return f"{number:.1f}".rstrip("0").rstrip(".")


def _text(x: float, y: float, content: str, *, size: int = FONT, anchor: str = "start",
          fill: str = INK, weight: str = "normal") -> str:
    return (
        f'<text x="{_f(x)}" y="{_f(y)}" font-size="{size}" text-anchor="{anchor}" '
        f'fill="{fill}" font-weight="{weight}">{escape(content)}</text>'
    )


def _line(x1: float, y1: float, x2: float, y2: float, *, stroke: str, width: float = 1,
          dashed: bool = False) -> str:
    dash = ' stroke-dasharray="6 4"' if dashed else ""
    return (
        f'<line x1="{_f(x1)}" y1="{_f(y1)}" x2="{_f(x2)}" y2="{_f(y2)}" stroke="{stroke}" '
        f'stroke-width="{_f(width)}"{dash}/>'
    )


def _svg(width: float, height: float, title: str, body: list[str], css_class: str) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css_class}" '
        f'viewBox="0 0 {_f(width)} {_f(height)}" width="{_f(width)}" height="{_f(height)}" '
        f'role="img" aria-label="{escape(title)}" font-family="inherit">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    target: float | None = None,
    target_text: str = "",
    axis_max: int = 100,
    width: int = WIDTH,
) -> Markup:
    """Draw shares as horizontal bars from zero, each labelled above, with an optional target."""
    top, row, bar_height, bottom = 26, 50, 20, 26
    plot_width = width - 80  # room on the right for the value of a full bar
    height = top + row * len(bars) + bottom
    plot_bottom = top + row * len(bars)

    def x_of(value: float) -> float:
        return plot_width * min(max(value, 0.0), axis_max) / axis_max

    body: list[str] = []
    for tick in range(0, axis_max + 1, 25 if axis_max > 50 else 10):
        x = x_of(tick)
        body.append(_line(x, top, x, plot_bottom, stroke=GRID))
        anchor = "start" if tick == 0 else "end" if tick == axis_max else "middle"
        body.append(_text(x, plot_bottom + 18, f"{tick}%", size=SMALL, anchor=anchor, fill=MUTED))
    target_x = x_of(target) if target is not None else None
    for i, bar in enumerate(bars):
        label_y = top + row * i + 16
        bar_y = label_y + 6
        body.append(_text(0, label_y, bar.label, weight="bold" if bar.is_marked else "normal"))
        if bar.value is None:
            body.append(_text(0, bar_y + 15, bar.value_text, size=SMALL, fill=MUTED))
            continue
        colour = VERMILLION if bar.is_below_target else BLUE
        length = max(x_of(bar.value), 1.0)
        outline = f' stroke="{INK}" stroke-width="2"' if bar.is_marked else ""
        body.append(
            f'<rect x="0" y="{_f(bar_y)}" width="{_f(length)}" height="{bar_height}" '
            f'fill="{colour}"{outline}/>'
        )
        # A value that would sit on the target line moves just past it.
        value_x = length + 6
        if target_x is not None and value_x - 60 < target_x < value_x + 60:
            value_x = max(value_x, target_x + 6)
        body.append(_text(value_x, bar_y + 15, bar.value_text, weight="bold"))
    if target is not None and target_x is not None:
        body.append(_line(target_x, top - 6, target_x, plot_bottom, stroke=INK, width=2,
                          dashed=True))
        anchor = "end" if target > axis_max * 0.6 else "start"
        body.append(_text(target_x + (-4 if anchor == "end" else 4), top - 10, target_text,
                          size=SMALL, anchor=anchor, weight="bold"))
    return _svg(width, height, title, body, "chart-bars")


def _y_floor(values: Sequence[float]) -> int:
    """Return the bottom of the value axis: a round ten below the lowest figure shown."""
    if not values:
        return 0
    return max(0, int(math.floor((min(values) - 5) / 10) * 10))


def line_chart(
    points: Sequence[Point],
    *,
    title: str,
    target: float | None,
    series_text: str,
    target_text: str,
    insufficient_text: str,
    width: int = WIDTH,
    height: int = 300,
) -> Markup:
    """Draw a monthly line of shares, the target as a dashed line, small samples hollow."""
    left, right, top, bottom = 48, 36, 56, 40
    plot_width, plot_height = width - left - right, height - top - bottom
    shown = [p.value for p in points if p.value is not None]
    y_min = _y_floor([*shown, *([target] if target is not None else [])])
    step = plot_width / (len(points) - 1) if len(points) > 1 else 0.0

    def x_of(i: int) -> float:
        return left + (step * i if len(points) > 1 else plot_width / 2)

    def y_of(value: float) -> float:
        return top + plot_height * (100 - value) / (100 - y_min)

    body: list[str] = []
    # Legend, on one line above the plot.
    legend_x = 0.0
    body.append(_line(legend_x, 14, legend_x + 24, 14, stroke=BLUE, width=3))
    body.append(_text(legend_x + 30, 19, series_text, size=SMALL))
    legend_x += 30 + 7 * len(series_text) + 24
    if target is not None:
        body.append(_line(legend_x, 14, legend_x + 24, 14, stroke=INK, width=2, dashed=True))
        body.append(_text(legend_x + 30, 19, target_text, size=SMALL))
        legend_x += 30 + 7 * len(target_text) + 24
    body.append(
        f'<circle cx="{_f(legend_x + 8)}" cy="14" r="5" fill="#ffffff" stroke="{BLUE}" '
        'stroke-width="2"/>'
    )
    body.append(_text(legend_x + 20, 19, insufficient_text, size=SMALL))

    tick = (y_min + 9) // 10 * 10
    ticks_every = 10 if 100 - y_min <= 50 else 20
    while tick <= 100:
        y = y_of(tick)
        body.append(_line(left, y, width - right, y, stroke=GRID))
        body.append(_text(left - 6, y + 4, f"{tick}%", size=SMALL, anchor="end", fill=MUTED))
        tick += ticks_every
    label_every = max(1, math.ceil(len(points) / 12))
    for i, point in enumerate(points):
        if i % label_every == 0 or i == len(points) - 1:
            body.append(_text(x_of(i), height - bottom + 22, point.label, size=SMALL,
                              anchor="middle", fill=MUTED))
    if target is not None:
        y = y_of(target)
        body.append(_line(left, y, width - right, y, stroke=INK, width=2, dashed=True))

    # The line breaks where a month has no figure, rather than bridging the gap.
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, point in enumerate(points):
        if point.value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{_f(x_of(i))},{_f(y_of(point.value))}")
    if segment:
        segments.append(segment)
    for part in segments:
        if len(part) > 1:
            body.append(
                f'<polyline points="{" ".join(part)}" fill="none" stroke="{BLUE}" '
                'stroke-width="3" stroke-linejoin="round"/>'
            )
    show_values = len(points) <= 13
    for i, point in enumerate(points):
        if point.value is None:
            continue
        x, y = x_of(i), y_of(point.value)
        fill = BLUE if point.is_sufficient else "#ffffff"
        body.append(
            f'<circle cx="{_f(x)}" cy="{_f(y)}" r="5" fill="{fill}" stroke="{BLUE}" '
            'stroke-width="2"/>'
        )
        if show_values:
            # Below a target the value is written under its point, above it over the point,
            # so the dashed line never runs through a number.
            below = target is not None and point.value < target
            body.append(_text(x, y + 20 if below else y - 10, point.value_text, size=SMALL,
                              anchor="middle"))
    return _svg(width, height, title, body, "chart-line")
