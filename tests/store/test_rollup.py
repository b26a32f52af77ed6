"""Roll-up keeps daily figures and bounds raw storage, without losing a day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from sitekeeper.domain.checks import CheckResult, ErrorCategory
from sitekeeper.store.database import Database
from sitekeeper.store.monitoring import store_results
from sitekeeper.store.rollup import pending_days, prune_raw, rollup_day
from sitekeeper.store.tables import CheckDaily, CheckRaw, Site, SiteState


def _site(db: Database) -> int:
    with db.session() as s:
        site = Site(name="a", url="http://127.0.0.1/", created_at=datetime.now(UTC))
        s.add(site)
        s.flush()
        return site.id


def _results(day: date, ups: list[bool]) -> list[CheckResult]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return [
        CheckResult(
            url="http://127.0.0.1/",
            up=up,
            status=200 if up else 503,
            error=None if up else ErrorCategory.HTTP_STATUS,
            response_ms=100 + i if up else 5,
            checked_at=start + timedelta(minutes=i),
        )
        for i, up in enumerate(ups)
    ]


def test_store_results_tracks_state_since_the_last_flip(db: Database) -> None:
    site = _site(db)
    day = date(2026, 1, 1)
    checks = _results(day, [True, True, False, False])
    with db.engine.begin() as conn:
        store_results(conn, [(site, r) for r in checks[:2]])
    with db.engine.begin() as conn:
        store_results(conn, [(site, r) for r in checks[2:]])
    with db.session() as s:
        state = s.get(SiteState, site)
        raw = s.scalar(select(func.count()).select_from(CheckRaw))
    assert state is not None and state.up is False
    assert state.since == checks[2].checked_at  # when it went down, not the last check
    assert state.error == "http_status"
    assert raw == 4


def test_rollup_then_prune(db: Database) -> None:
    site = _site(db)
    d1, d2, today = date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 20)
    with db.engine.begin() as conn:
        store_results(conn, [(site, r) for r in _results(d1, [True] * 9 + [False])])
        store_results(conn, [(site, r) for r in _results(d2, [True] * 4)])
        assert pending_days(conn, d2) == [d1]  # d2 is not complete yet
        assert rollup_day(conn, d1) == 1
        # Nothing of d2 may be pruned before it is rolled up, whatever the retention.
        assert prune_raw(conn, today, retention_days=1) == 10
    with db.session() as s:
        daily = s.get(CheckDaily, (site, d1))
        left = s.scalar(select(func.count()).select_from(CheckRaw))
    assert daily is not None
    assert (daily.checks, daily.up_checks) == (10, 9)
    assert daily.p50_ms == 104 and daily.max_ms == 108
    assert left == 4
    with db.engine.begin() as conn:
        assert pending_days(conn, today) == [d2 + timedelta(days=n) for n in range(18)]


def test_rollup_is_idempotent(db: Database) -> None:
    site = _site(db)
    d1 = date(2026, 1, 1)
    with db.engine.begin() as conn:
        store_results(conn, [(site, r) for r in _results(d1, [True, False])])
        rollup_day(conn, d1)
        rollup_day(conn, d1)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(CheckDaily)) == 1
