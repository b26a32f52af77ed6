"""Throughput and scheduling-lag figures that `serve` logs as ``STATS {json}`` lines.

The benchmark harness reads these lines; operators read them in the log.
"""

from __future__ import annotations

import json
import os
import resource
import time
from dataclasses import dataclass, field
from typing import Any

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
        return "STATS " + json.dumps(self.snapshot(), separators=(",", ":"))
