"""Uptime and response-time summaries of raw check results."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(sorted_values: Sequence[int], fraction: float) -> int | None:
    """Nearest-rank percentile of an ascending sequence (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass(frozen=True, slots=True)
class Summary:
    """One site's checks over a period."""

    checks: int
    up_checks: int
    avg_ms: int | None
    p50_ms: int | None
    p95_ms: int | None
    p99_ms: int | None
    max_ms: int | None

    @property
    def uptime(self) -> float | None:
        """Fraction of checks that found the site up (None without checks)."""
        return self.up_checks / self.checks if self.checks else None


def summarize(rows: Sequence[tuple[bool, int | None]]) -> Summary:
    """Summary of (up, response_ms) rows; response times count only for up checks."""
    times = sorted(ms for up, ms in rows if up and ms is not None)
    return Summary(
        checks=len(rows),
        up_checks=sum(1 for up, _ in rows if up),
        avg_ms=round(sum(times) / len(times)) if times else None,
        p50_ms=percentile(times, 0.50),
        p95_ms=percentile(times, 0.95),
        p99_ms=percentile(times, 0.99),
        max_ms=times[-1] if times else None,
    )
