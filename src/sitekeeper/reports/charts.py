"""Inline SVG charts drawn on the server: no JavaScript library, readable without JS.

Each chart is a row of bars (uptime) or a line (response time) with a <title>
per point (per series in the report's chart) so a hover or a screen reader gives the
exact figures. The dashboard styles
its charts with CSS classes; the report's chart (``daily_lines``) carries its colours as
attributes, so it prints the same in a browser and in a PDF, as vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import ceil, log10
from statistics import median

from markupsafe import Markup, escape

WIDTH = 720


@dataclass(frozen=True, slots=True)
class Point:
    """One bucket: its label, its value (None: no data) and the tooltip text: ``note``
    after the figure, or ``text`` as the whole tooltip (a page in the client's language)."""

    label: str
    value: float | None
    note: str = ""
    text: str = ""


def _tone(uptime: float) -> str:
    if uptime >= 99.9:
        return "ok"
    if uptime >= 99.0:
        return "warn"
    return "bad"


def uptime_bars(
    points: Sequence[Point],
    *,
    height: int = 30,
    title: str = "Uptime",
    width: int = WIDTH,
    css_class: str = "chart bars",
) -> Markup:
    """Bars of uptime % per bucket, coloured by how good they are; grey where no data."""
    n = max(1, len(points))
    step = width / n
    gap = min(2.0, step * 0.25)
    parts = [
        f'<svg class="{escape(css_class)}" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="none" role="img" aria-label="{escape(title)}">'
    ]
    for i, p in enumerate(points):
        x = i * step
        # Full-height bars coloured by grade, as status pages do: the colour is the message.
        if p.value is None:
            tone, text = "none", p.text or f"{p.label}: no data"
        else:
            tone, text = _tone(p.value), p.text or f"{p.label}: {p.value:.2f} % {p.note}"
        parts.append(
            f'<rect class="{tone}" x="{x:.1f}" y="0" width="{step - gap:.1f}" '
            f'height="{height}" rx="1.5"><title>{escape(text)}</title></rect>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every data part above is escaped


def response_line(points: Sequence[Point], *, height: int = 90, title: str = "") -> Markup:
    """Response time (ms) as an area line with a max label; gaps where there is no data."""
    values = [p.value for p in points if p.value is not None]
    top = max(values) if values else 1.0
    top = max(top, 1.0) * 1.15
    n = max(2, len(points))
    step = WIDTH / (n - 1)
    parts = [
        f'<svg class="chart line" viewBox="0 0 {WIDTH} {height}" preserveAspectRatio="none" '
        f'role="img" aria-label="{escape(title or "Response time")}">'
    ]
    segment: list[tuple[float, float]] = []
    segments: list[list[tuple[float, float]]] = []
    # Empty buckets are bridged: one missed check must not erase the curve.
    for i, p in enumerate(points):
        if p.value is None:
            continue
        segment.append((i * step, height - (p.value / top) * (height - 4)))
    if segment:
        segments.append(segment)
    for seg in segments:
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in seg)
        area = f"{seg[0][0]:.1f},{height} {line} {seg[-1][0]:.1f},{height}"
        parts.append(f'<polygon class="area" points="{area}"/>')
        parts.append(
            f'<polyline class="stroke" points="{line}" vector-effect="non-scaling-stroke"/>'
        )
    for i, p in enumerate(points):
        if p.value is not None:
            parts.append(
                f'<rect class="hit" x="{i * step - step / 2:.1f}" y="0" width="{step:.1f}" '
                f'height="{height}"><title>{escape(p.label)}: {p.value:.0f} ms</title></rect>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every data part above is escaped


@dataclass(frozen=True, slots=True)
class Line:
    """One series of a ``response_lines`` chart: its name (a check location) and values."""

    name: str
    values: Sequence[float | None]


LINE_STYLES = 6  # app.css styles .s0 … .s5, each a colour *and* a dash pattern


def response_lines(
    labels: Sequence[str], lines: Sequence[Line], *, height: int = 90, title: str = ""
) -> Markup:
    """Response times (ms) of several series on one scale, such as one per check location:
    each a line of its own colour and dash (told apart without colour), named in a text
    legend below with the median of its points (no axis: the figures are in words); each
    bucket's <title> gives every series' figure by name."""
    values = [v for line in lines for v in line.values if v is not None]
    top = max(max(values) if values else 1.0, 1.0) * 1.15
    n = max(2, len(labels))
    step = WIDTH / (n - 1)
    names = ", ".join(line.name for line in lines)
    label = f"{title or 'Response time'}, one line per location: {names}"
    parts = [
        f'<svg class="chart line lines" viewBox="0 0 {WIDTH} {height}" '
        f'preserveAspectRatio="none" role="img" aria-label="{escape(label)}">'
    ]
    for k, line in enumerate(lines):
        # Empty buckets are bridged, as in ``response_line``; a lone value is a short dash.
        points = [
            (i * step, height - (v / top) * (height - 4))
            for i, v in enumerate(line.values)
            if v is not None
        ]
        if len(points) == 1:
            (x, y) = points[0]
            points = [(x - step / 3, y), (x + step / 3, y)]
        if points:
            drawn = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(
                f'<polyline class="stroke s{k % LINE_STYLES}" points="{drawn}" '
                f'vector-effect="non-scaling-stroke"><title>{escape(line.name)}</title></polyline>'
            )
    for i, bucket in enumerate(labels):
        said = [
            f"{line.name} {line.values[i]:.0f} ms"
            for line in lines
            if i < len(line.values) and line.values[i] is not None
        ]
        if said:
            text = escape(f"{bucket}: {', '.join(said)}")
            parts.append(
                f'<rect class="hit" x="{i * step - step / 2:.1f}" y="0" width="{step:.1f}" '
                f'height="{height}"><title>{text}</title></rect>'
            )
    parts.append('</svg><ul class="legend series-legend">')
    for k, line in enumerate(lines):
        shown = [v for v in line.values if v is not None]
        figure = f" · median {median(shown):,.0f} ms" if shown else " (no response)"
        parts.append(
            f'<li><svg class="key" viewBox="0 0 24 6" aria-hidden="true" focusable="false">'
            f'<line class="stroke s{k % LINE_STYLES}" x1="0" y1="3" x2="24" y2="3"/></svg>'
            f"{escape(line.name)}{escape(figure)}</li>"
        )
    parts.append("</ul>")
    return Markup("".join(parts))  # noqa: S704 - every data part above is escaped


@dataclass(frozen=True, slots=True)
class Series:
    """One line of a ``daily_lines`` chart: its legend text, colour and values."""

    name: str
    colour: str  # "#rrggbb", validated by the caller
    values: Sequence[float | None]


def _nice_top(top: float) -> float:
    """The axis maximum: the next 1, 2 or 5 × 10^n above ``top`` (at least 10)."""
    top = max(top, 10.0)
    power = 10 ** int(log10(top))
    for step in (1, 2, 5, 10):
        if top <= step * power:
            return float(step * power)
    return float(10 * power)


def daily_lines(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    unit: str = "ms",
    title: str = "",
    width: int = 680,
    height: int = 170,
) -> Markup:
    """Lines per day with a y axis (0 to a round maximum, in ``unit``), sparse x labels
    and a legend; each series' daily values in its <title>. Days without a value break
    the line."""
    left, right, top_pad, bottom = 44, 8, 20, 22
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    values = [v for s in series for v in s.values if v is not None]
    top = _nice_top(max(values) if values else 0.0)
    n = max(1, len(labels))
    step = plot_w / max(1, n - 1)

    def x(i: int) -> float:
        return left + (i * step if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top_pad + plot_h - v / top * plot_h

    parts = [
        f'<svg class="chart daily" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" font-family="DejaVu Sans, sans-serif" font-size="9">'
    ]
    for k in range(5):  # grid lines; the y axis's labels on every other one
        v = top * k / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
            f'stroke="#d9dde3" stroke-width="{1 if k == 0 else 0.5}"/>'
        )
        if k % 2 == 0:  # each <text> is a Pango layout when printed: as few as read well
            parts.append(
                f'<text x="{left - 4}" y="{y(v) + 3:.1f}" text-anchor="end" fill="#5b6470">'
                f"{v:,.0f}</text>"
            )
    every = max(1, ceil(n / 6))
    for i, label in enumerate(labels):
        if i % every == 0:
            anchor = "end" if i == n - 1 and n > 1 else "middle"  # the last one: inside
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - 6}" text-anchor="{anchor}" fill="#5b6470">'
                f"{escape(label)}</text>"
            )
    for s in series:
        # A series is one group whose <title> gives every day's figure: a hover on its line
        # or a screen reader tells them, and the PDF draws no invisible shape per day
        # (31 hover rectangles a chart were a tenth of a report's printing).
        said = "\n".join(
            f"{escape(label)}: {s.values[i]:,.0f} {escape(unit)}"
            for i, label in enumerate(labels)
            if i < len(s.values) and s.values[i] is not None
        )
        parts.append(f"<g><title>{escape(s.name)}\n{said}</title>")
        runs: list[list[tuple[float, float]]] = [[]]
        for i, value in enumerate(s.values):
            if value is None:
                runs.append([])
            else:
                runs[-1].append((x(i), y(value)))
        for run in runs:
            if len(run) == 1:
                px, py = run[0]
                parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="1.8" fill="{s.colour}"/>')
            elif run:
                line = " ".join(f"{px:.1f},{py:.1f}" for px, py in run)
                parts.append(
                    f'<polyline points="{line}" fill="none" stroke="{s.colour}" '
                    f'stroke-width="1.6" stroke-linejoin="round" stroke-linecap="round"/>'
                )
        parts.append("</g>")
    lx = left
    for s in series:  # the legend, above the plot
        parts.append(
            f'<rect x="{lx}" y="4" width="14" height="3" fill="{s.colour}"/>'
            f'<text x="{lx + 18}" y="9" fill="#2b313a">{escape(s.name)} ({escape(unit)})</text>'
        )  # the unit here, not on the axis: its widest label would not fit left of the plot
        lx += 42 + 6 * (len(s.name) + len(unit))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every data part above is escaped
