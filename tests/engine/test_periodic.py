"""Periods of the scheduler's work as the job engine's cron expressions."""

from __future__ import annotations

import pytest

from sitekeeper.engine.periodic import cron_of


@pytest.mark.parametrize(
    ("period", "cron"),
    [
        (5, "* * * * * */5"),
        (7, "* * * * * */6"),  # never less often than asked
        (0.2, "* * * * * */1"),
        (60, "*/1 * * * *"),
        (300, "*/5 * * * *"),
        (2700, "*/30 * * * *"),
        (3600, "0 */1 * * *"),
        (21600, "0 */6 * * *"),
        (86400, "0 0 * * *"),
        (604800, "0 0 * * *"),
    ],
)
def test_a_period_becomes_a_cron_that_fires_at_least_as_often(period: float, cron: str) -> None:
    assert cron_of(period) == cron
