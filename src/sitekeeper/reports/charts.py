"""Inline SVG charts drawn on the server: no JavaScript library, readable without JS.

Each chart is a row of bars (uptime) or a line (response time) with a <title>
per point so a hover or a screen reader gives the exact figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 720


@dataclass(frozen=True, slots=True)
class Point:
    """One bucket: its label, its value (None: no data) and the tooltip text."""

    label: str
    value: float | None
    note: str = ""


def _tone(uptime: float) -> str:
    if uptime >= 99.9:
        return "ok"
    if uptime >= 99.0:
        return "warn"
    return "bad"


def uptime_bars(points: Sequence[Point], *, height: int = 30, title: str = "Uptime") -> Markup:
    """Bars of uptime % per bucket, coloured by how good they are; grey where no data."""
    n = max(1, len(points))
    step = WIDTH / n
    gap = min(2.0, step * 0.25)
    parts = [
        f'<svg class="chart bars" viewBox="0 0 {WIDTH} {height}" preserveAspectRatio="none" '
        f'role="img" aria-label="{escape(title)}">'
    ]
    for i, p in enumerate(points):
        x = i * step
        # Full-height bars coloured by grade, as status pages do: the colour is the message.
        if p.value is None:
            tone, text = "none", "no data"
        else:
            tone, text = _tone(p.value), f"{p.value:.2f} % {p.note}"
        parts.append(
            f'<rect class="{tone}" x="{x:.1f}" y="0" width="{step - gap:.1f}" '
            f'height="{height}" rx="1.5"><title>{escape(p.label)}: {escape(text)}</title></rect>'
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
