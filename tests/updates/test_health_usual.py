"""A site's usual response time comes from what its uptime checks stored: raw results
of today, rolled-up days before, each day's median weighted by its answered checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sitekeeper.domain.checks import CheckResult, ErrorCategory
from sitekeeper.domain.uptime import Summary
from sitekeeper.store.database import Database
from sitekeeper.store.monitoring import store_results
from sitekeeper.store.rollup import rollup_day
from sitekeeper.store.tables import Site
from sitekeeper.updates.health_usual import usual_ms, weighted_median


def _day(p50: int | None, up: int) -> Summary:
    return Summary(up, up, p50, p50, p50, p50, p50)


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        ([], None),
        ([_day(None, 0)], None),
        ([_day(120, 10)], 120),
        ([_day(100, 10), _day(400, 30), _day(50, 5)], 400),  # the busy slow day weighs most
        ([_day(100, 10), _day(300, 10)], 100),  # half the weight reached at the lower
        ([_day(100, 10), _day(900, 0)], 100),  # a day with no answered check has no say
    ],
)
def test_weighted_median(days: list[Summary], expected: int | None) -> None:
    assert weighted_median(days) == expected


def _checks(start: datetime, count: int, ms: int) -> list[CheckResult]:
    return [
        CheckResult(
            url="http://127.0.0.1:8085/",
            up=True,
            status=200,
            error=None,
            response_ms=ms,
            checked_at=start + timedelta(minutes=i),
        )
        for i in range(count)
    ] + [  # a failed check has no response time that counts
        CheckResult(
            url="http://127.0.0.1:8085/",
            up=False,
            status=None,
            error=ErrorCategory.TIMEOUT,
            response_ms=None,
            checked_at=start + timedelta(minutes=count),
        )
    ]


def test_usual_time_from_rolled_up_days_and_todays_raw_results(db: Database) -> None:
    now = datetime.now(UTC)
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    with db.session() as s:
        site = Site(name="wp5", url="http://127.0.0.1:8085/", created_at=today - timedelta(days=5))
        empty = Site(name="new", url="http://127.0.0.1:8086/", created_at=today)
        s.add_all([site, empty])
        s.flush()
        site_id, empty_id = site.id, empty.id
    with db.engine.begin() as conn:
        store_results(conn, [(site_id, r) for r in _checks(today - timedelta(days=2), 10, 100)])
        store_results(conn, [(site_id, r) for r in _checks(today - timedelta(days=1), 30, 400)])
        store_results(conn, [(site_id, r) for r in _checks(today, 5, 50)])
    with db.engine.begin() as conn:
        rollup_day(conn, (today - timedelta(days=2)).date())
    with db.session() as s:
        assert usual_ms(s, site_id) == 400
        assert usual_ms(s, site_id, days=1) == 50  # today only
        assert usual_ms(s, empty_id) is None
