"""Daily roll-ups per check location: charts older than the raw retention keep one
series per location, beside the site's own daily row (reports, SLA: the quorum's verdict,
tests/store/test_quorum_uptime.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from alembic import command
from sqlalchemy import func, select

from sitekeeper.domain.checks import CheckResult, ErrorCategory
from sitekeeper.domain.uptime import Summary
from sitekeeper.engine.maintenance import rollup_and_prune
from sitekeeper.store.database import Database, alembic_config, upgrade
from sitekeeper.store.location_history import daily_by_location
from sitekeeper.store.location_tables import CheckDailyByLocation
from sitekeeper.store.locations import heard_from
from sitekeeper.store.monitoring import store_raw
from sitekeeper.store.rollup import rollup_day
from sitekeeper.store.tables import CheckDaily, CheckRaw, Site

CREATED = datetime(2026, 1, 1, tzinfo=UTC)
D1, D2 = date(2026, 1, 5), date(2026, 1, 6)


def _site(db: Database, name: str) -> int:
    with db.session() as s:
        site = Site(name=name, url=f"https://{name}.example/", created_at=CREATED)
        s.add(site)
        s.flush()
        return site.id


def _store(db: Database, site: int, day: date, location: str, times: list[int | None]) -> None:
    """One result a minute from ``location`` on ``day``: a response time, or None (down)."""
    start = datetime(day.year, day.month, day.day, 6, tzinfo=UTC)
    results = [
        (
            site,
            CheckResult(
                url="https://x.example/",
                up=ms is not None,
                status=200 if ms is not None else 503,
                error=None if ms is not None else ErrorCategory.HTTP_STATUS,
                response_ms=ms if ms is not None else 20,
                checked_at=start + timedelta(minutes=i),
            ),
        )
        for i, ms in enumerate(times)
    ]
    with db.engine.begin() as conn:
        store_raw(conn, results, location)


def _p50s(figures: dict[str, dict[date, Summary]]) -> dict[str, dict[date, int | None]]:
    return {
        name: {day: s.p50_ms for day, s in sorted(days.items())} for name, days in figures.items()
    }


def test_the_rollup_keeps_each_locations_day_beside_the_sites_day(db: Database) -> None:
    multi, single = _site(db, "multi"), _site(db, "single")
    _store(db, multi, D1, "default", [100, 110, 120, None])
    _store(db, multi, D1, "us-east", [300, 310, None, None])  # same minutes, another place
    _store(db, single, D1, "default", [50, 60])
    with db.engine.begin() as conn:
        assert rollup_day(conn, D1) == 2
    with db.session() as s:
        merged = s.get(CheckDaily, (multi, D1))
        located = {
            r.location: (r.checks, r.up_checks, r.p50_ms, r.max_ms)
            for r in s.scalars(select(CheckDailyByLocation).where(CheckDailyByLocation.day == D1))
            if r.site_id == multi
        }
        single_rows = s.scalar(
            select(func.count())
            .select_from(CheckDailyByLocation)
            .where(CheckDailyByLocation.site_id == single)
        )
    # The site's day counts every location's checks, down only inside a confirmed outage
    # (none here), with the default location's response times.
    assert merged is not None
    assert (merged.checks, merged.up_checks, merged.p50_ms, merged.max_ms) == (8, 8, 110, 120)
    assert located == {"": (4, 3, 110, 120), "us-east": (4, 2, 300, 310)}
    assert single_rows == 0  # checked from one place: nothing more is stored


def test_charts_past_the_raw_retention_still_show_each_location(db: Database) -> None:
    multi, single = _site(db, "multi"), _site(db, "single")
    for day in (D1, D2):
        _store(db, multi, day, "default", [100, 100])
        _store(db, multi, day, "us-east", [250, 270, 260])
        _store(db, single, day, "default", [80])
    today = D1 + timedelta(days=30)
    with db.session() as s:
        assert rollup_and_prune(s, today, retention_days=1) == (30, 12)  # every raw row
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(CheckRaw)) == 0
        assert _p50s(daily_by_location(s, multi, 40, today)) == {
            "default": {D1: 100, D2: 100},
            "us-east": {D1: 260, D2: 260},
        }
        assert daily_by_location(s, single, 40, today) == {}  # one series: the site's own
        assert daily_by_location(s, multi, 20, today) == {}  # none in these 20 days


def test_days_of_one_location_and_days_not_rolled_up_join_the_series(db: Database) -> None:
    multi = _site(db, "multi")
    _store(db, multi, D1, "default", [90])  # before us-east was deployed
    _store(db, multi, D2, "default", [100])
    _store(db, multi, D2, "eu-central", [150])
    today = D2 + timedelta(days=1)
    _store(db, multi, today, "default", [110])  # today: raw only
    _store(db, multi, today, "eu-central", [160, None])
    with db.session() as s:
        rollup_and_prune(s, today, retention_days=14)
    with db.session() as s:
        assert _p50s(daily_by_location(s, multi, 30, today)) == {
            "default": {D1: 90, D2: 100, today: 110},
            "eu-central": {D2: 150, today: 160},
        }
        later = daily_by_location(s, multi, 30, today)["eu-central"][today]
        assert (later.checks, later.up_checks) == (2, 1)


def test_the_migration_hands_days_rolled_up_before_it_back_to_the_rollup(db: Database) -> None:
    multi = _site(db, "multi")
    _store(db, multi, D1, "default", [100, 100])
    _store(db, multi, D1, "us-east", [250, 270, 260])
    with db.engine.begin() as conn:
        heard_from(conn, "us-east", datetime(2026, 1, 5, 7, tzinfo=UTC))
    command.downgrade(alembic_config(db.engine), "0018")  # just below 0019
    with db.engine.begin() as conn:  # D1 as the roll-up before 0019 left it: merged only
        conn.execute(
            sa.text(
                "INSERT INTO check_daily (site_id, day, checks, up_checks, p50_ms)"
                " VALUES (:site, :day, 5, 5, 250)"
            ).bindparams(sa.bindparam("day", D1, type_=sa.Date()), site=multi)
        )
    upgrade(db.engine)
    today = D1 + timedelta(days=2)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(CheckDaily)) == 0  # handed back
        # Meanwhile the day is read from its raw rows, per location.
        assert _p50s(daily_by_location(s, multi, 7, today)) == {
            "default": {D1: 100},
            "us-east": {D1: 260},
        }
        rollup_and_prune(s, today, retention_days=1)
    with db.session() as s:
        merged = s.get(CheckDaily, (multi, D1))
        assert merged is not None and (merged.checks, merged.p50_ms) == (5, 100)
        assert s.scalar(select(func.count()).select_from(CheckRaw)) == 0  # rolled, then pruned
        assert _p50s(daily_by_location(s, multi, 7, today)) == {
            "default": {D1: 100},
            "us-east": {D1: 260},
        }
