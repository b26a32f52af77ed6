"""Throughput and scheduling-lag figures of `serve`: a status line in words for people,
the same figures as a ``STATS {json}`` line at DEBUG for the benchmark harness."""

from __future__ import annotations

import json
import os
import resource
import time
from dataclasses import dataclass, field
from typing import Any

from sitekeeper.domain import humanize
from sitekeeper.domain.uptime import percentile


def rss_mib() -> float:
    """Current resident set size of this process in MiB (Linux /proc; else peak)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Stats:
    """Counters since start plus the lags of the current window."""

    checks_total: int = 0
    confirmations: int = 0
    _window_checks: int = 0
    _window_start: float = field(default_factory=time.monotonic)
    _lags_ms: list[int] = field(default_factory=list)

    def record(self, lag_s: float) -> None:
        """Count one check that started ``lag_s`` after it was due."""
        self.checks_total += 1
        self._window_checks += 1
        self._lags_ms.append(max(0, int(lag_s * 1000)))

    def snapshot(self) -> dict[str, Any]:
        """Figures of the window since the previous snapshot, and totals."""
        now = time.monotonic()
        elapsed = max(now - self._window_start, 1e-9)
        lags = sorted(self._lags_ms)
        figures = {
            "t": round(time.time(), 3),
            "checks_total": self.checks_total,
            "confirmations": self.confirmations,
            "checks": self._window_checks,
            "window_s": round(elapsed, 1),
            "checks_per_s": round(self._window_checks / elapsed, 1),
            "lag_p50_ms": percentile(lags, 0.50),
            "lag_p99_ms": percentile(lags, 0.99),
            "rss_mib": round(rss_mib(), 1),
            "cpu_s": round(time.process_time(), 2),
        }
        self._window_checks = 0
        self._window_start = now
        self._lags_ms = []
        return figures

    def line(self) -> str:
        """One ``STATS {json}`` log line."""
        return json_line(self.snapshot())


def json_line(figures: dict[str, Any]) -> str:
    """``STATS {json}``: what bench/serve_fleet.py reads."""
    return "STATS " + json.dumps(figures, separators=(",", ":"))


def status_line(figures: dict[str, Any], down: int | None) -> str:
    """The figures in words: ``checked 1,234 sites in the last minute (20.6/s), 3 down; …``."""
    seconds = figures["window_s"]
    window = "the last minute" if round(seconds) == 60 else f"the last {humanize.seconds(seconds)}"
    checked = humanize.plural(figures["checks"], "site")
    parts = [f"checked {checked} in {window} ({figures['checks_per_s']}/s)"]
    if down is not None:
        parts[0] += f", {humanize.count(down)} down"
    if figures["lag_p99_ms"] is not None:
        parts.append(f"started {figures['lag_p50_ms']} ms late (p99 {figures['lag_p99_ms']} ms)")
    parts.append(f"memory {figures['rss_mib']:.0f} MiB")
    return "; ".join(parts)
