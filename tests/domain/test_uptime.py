"""Uptime and percentile summaries."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sitekeeper.domain.uptime import percentile, summarize


def test_summary_counts_downtime_and_ignores_failed_response_times() -> None:
    rows = [(True, 100), (True, 300), (False, None), (True, 200), (False, 9000)]
    s = summarize(rows)
    assert (s.checks, s.up_checks) == (5, 3)
    assert s.uptime == 0.6
    assert (s.p50_ms, s.max_ms, s.avg_ms) == (200, 300, 200)


def test_empty_summary() -> None:
    s = summarize([])
    assert s.uptime is None and s.p99_ms is None


def test_nearest_rank_percentiles() -> None:
    values = list(range(1, 101))
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.95) == 95
    assert percentile(values, 0.99) == 99
    assert percentile([7], 0.99) == 7


@given(st.lists(st.integers(0, 10**6), min_size=1), st.floats(0.01, 1.0))
def test_percentile_is_a_member_and_ordered(values: list[int], fraction: float) -> None:
    ordered = sorted(values)
    p = percentile(ordered, fraction)
    assert p in values
    assert percentile(ordered, 0.01) <= p <= ordered[-1]  # type: ignore[operator]
