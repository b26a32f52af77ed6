"""The daily uptime of a site checked from several locations is the quorum's verdict: a
check is down time only inside a confirmed "down" incident, whichever location took it;
a site checked from one place counts each failed check, as before. The roll-up and the
days read from raw results (today, a report's current month) agree. SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from alembic import command
from sqlalchemy import func, insert, select

from sitekeeper.domain.checks import CheckResult, ErrorCategory
from sitekeeper.domain.uptime import Summary
from sitekeeper.engine.check_runner import outcome_of
from sitekeeper.engine.recorder import persist
from sitekeeper.store import fleet, history, plans
from sitekeeper.store.database import Database, alembic_config, upgrade
from sitekeeper.store.location_tables import CheckDailyByLocation
from sitekeeper.store.locations import heard_from
from sitekeeper.store.monitoring import load_targets, store_raw
from sitekeeper.store.rollup import rollup_day
from sitekeeper.store.tables import CheckDaily, CheckRaw, Incident
from tests.store import factories

DAY = date(2026, 3, 2)  # the day after the sites were added (factories.NOW)
MIDNIGHT = datetime(2026, 3, 2, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def _site(db: Database, locations: int, interval: int = 60, name: str = "shop") -> int:
    with db.session() as s:
        plan = plans.add_plan(
            s,
            name=f"Plan {name}",
            check_interval=interval,
            price=Decimal(9),
            options={"check_locations": locations},
        )
        client = factories.baker(s, name=f"Client {name}")
        contract = factories.contract(s, client, plan)
        return factories.site(s, client, f"https://{name}.example", contract).id


def _result(at: datetime, up: bool, ms: int = 120) -> CheckResult:
    return CheckResult(
        url="https://shop.example",
        up=up,
        status=200 if up else 503,
        error=None if up else ErrorCategory.HTTP_STATUS,
        detail=None if up else "503",
        response_ms=ms if up else 30,
        checked_at=at,
    )


def _store_day(
    db: Database, site: int, location: str, up: Callable[[datetime], bool], ms: int = 120
) -> None:
    """One raw result a minute all ``DAY`` from ``location``, as its worker stores them."""
    moments = [MIDNIGHT + MINUTE * m for m in range(1440)]
    with db.engine.begin() as conn:
        store_raw(conn, [(site, _result(at, up(at), ms)) for at in moments], location)


def _down(db: Database, site: int, opened: datetime, closed: datetime | None) -> None:
    with db.session() as s:
        s.add(Incident(site_id=site, kind="down", opened_at=opened, closed_at=closed, cause="x"))


def _day(db: Database, site: int, day: date = DAY) -> Summary:
    """The day's figures as every reader gets them (the daily row once rolled up)."""
    with db.session() as s:
        [figures] = [f for f in history.uptime_by_day(s, [site], 1, day) if f.site_id == site]
        return figures.summary


def _raw_then_rolled(db: Database, site: int) -> Summary:
    """The day read from raw results (as today is), then rolled up: both the same."""
    before = _day(db, site)
    with db.engine.begin() as conn:
        rollup_day(conn, DAY)
    with db.session() as s:
        assert s.get(CheckDaily, (site, DAY)) is not None
    after = _day(db, site)
    assert before == after
    return after


def never(_at: datetime) -> bool:
    return False


def always(_at: datetime) -> bool:
    return True


def test_a_site_unreachable_from_one_location_all_day_is_up_all_day(db: Database) -> None:
    site = _site(db, 2)
    _store_day(db, site, "default", always)
    _store_day(db, site, "us-east", never)
    _down(db, site, MIDNIGHT - timedelta(days=1), MIDNIGHT - timedelta(hours=20))  # not today
    day = _raw_then_rolled(db, site)
    assert (day.checks, day.up_checks, day.uptime) == (2880, 2880, 1.0)


def test_a_confirmed_outage_of_30_minutes_is_30_minutes_down(db: Database) -> None:
    site = _site(db, 2)
    opened, closed = MIDNIGHT + timedelta(hours=10), MIDNIGHT + timedelta(hours=10, minutes=30)
    _store_day(db, site, "default", lambda at: not opened <= at < closed)
    _store_day(db, site, "us-east", never)
    _down(db, site, opened, closed)
    day = _raw_then_rolled(db, site)
    # 30 of 1440 minutes, from both locations: 60 of 2880 checks.
    assert (day.checks, day.up_checks) == (2880, 2820)
    assert day.uptime == 1 - 30 / 1440


def test_an_outage_still_open_counts_to_the_end_of_the_day(db: Database) -> None:
    site = _site(db, 2)
    opened = MIDNIGHT + timedelta(hours=23)
    _store_day(db, site, "default", lambda at: at < opened)
    _store_day(db, site, "us-east", always)  # a lucky path: the outage is the verdict
    _down(db, site, opened, None)
    day = _raw_then_rolled(db, site)
    assert (day.checks, day.up_checks) == (2880, 2880 - 120)  # both locations' last hour


def test_a_site_checked_from_one_place_counts_each_failed_check(db: Database) -> None:
    site = _site(db, 1)
    failing = (MIDNIGHT + timedelta(hours=3), MIDNIGHT + timedelta(hours=3, minutes=7))
    _store_day(db, site, "default", lambda at: not failing[0] <= at < failing[1])
    # Its incident (opened on confirmation) is not what counts: each failed check is.
    _down(db, site, failing[0] + MINUTE, failing[1])
    day = _raw_then_rolled(db, site)
    assert (day.checks, day.up_checks) == (1440, 1433)


def test_response_times_are_the_default_locations(db: Database) -> None:
    site = _site(db, 2)
    _store_day(db, site, "default", always, ms=100)
    _store_day(db, site, "us-east", always, ms=400)
    day = _raw_then_rolled(db, site)
    assert (day.checks, day.avg_ms, day.p50_ms, day.max_ms) == (2880, 100, 100, 100)
    # Each location's own figures stay in its rows, for the charts.
    with db.session() as s:
        located = {
            r.location: r.p50_ms
            for r in s.scalars(select(CheckDailyByLocation).where(CheckDailyByLocation.day == DAY))
        }
    assert located == {"": 100, "us-east": 400}


def test_a_day_the_default_location_measured_nothing_takes_the_others_times(
    db: Database,
) -> None:
    site = _site(db, 2)
    _store_day(db, site, "default", never)
    _store_day(db, site, "us-east", always, ms=400)
    _down(db, site, MIDNIGHT + timedelta(hours=1), MIDNIGHT + timedelta(hours=2))
    day = _raw_then_rolled(db, site)
    assert (day.checks, day.up_checks, day.p50_ms) == (2880, 2760, 400)


def _check(db: Database, site: int, location: str, at: datetime, up: bool) -> None:
    """One location's confirmed result, recorded the way its recorder does."""
    with db.session() as s:
        target = load_targets(s.connection(), [site])[site]
        persist(s, [outcome_of(target, _result(at, up))], None, location)


def test_the_recorders_incidents_and_the_daily_uptime_tell_the_same_story(
    db: Database,
) -> None:
    """A day of real quorum decisions, every 10 minutes from each of two locations:
    us-east cannot reach the site all day ("unreachable from us-east", no outage), and
    the home location sees it down from 10:00 to 10:30 (confirmed by us-east: an outage).
    The day's down checks are exactly those inside the outage the recorder declared."""
    site = _site(db, 2, interval=600)
    outage = (MIDNIGHT + timedelta(hours=10), MIDNIGHT + timedelta(hours=10, minutes=30))
    for step in range(144):
        at = MIDNIGHT + timedelta(minutes=10 * step)
        _check(db, site, "default", at, up=not outage[0] <= at < outage[1])
        _check(db, site, "us-east", at + timedelta(minutes=5), up=False)
    with db.session() as s:
        incidents = s.execute(
            select(Incident.kind, Incident.opened_at, Incident.closed_at).order_by(Incident.id)
        ).all()
        raw = s.scalars(select(CheckRaw.ts_ms)).all()
    [(opened, closed)] = [(o, c) for kind, o, c in incidents if kind == "down"]
    assert opened == outage[0] and closed is not None
    assert {kind for kind, _, _ in incidents} == {"down", "unreachable"}
    inside = [ts for ts in raw if opened.timestamp() * 1000 <= ts < closed.timestamp() * 1000]
    # Closed when us-east next failed after the home location's success (10:35): 35 min,
    # a check every 5 minutes from one location or the other.
    assert (closed - opened, len(inside)) == (timedelta(minutes=35), 7)
    day = _raw_then_rolled(db, site)
    assert (day.checks, day.up_checks) == (288, 288 - 7)


def test_the_24_hour_chart_counts_as_the_daily_rows_do(db: Database) -> None:
    multi, single = _site(db, 2, name="multi"), _site(db, 1, name="single")
    opened, closed = MIDNIGHT + timedelta(hours=20), MIDNIGHT + timedelta(hours=20, minutes=30)
    for site in (multi, single):
        _store_day(db, site, "default", lambda at: not opened <= at < closed)
    # us-east checked the site in the morning only, before the chart's window: the day
    # was still checked from two locations.
    with db.engine.begin() as conn:
        morning = [(multi, _result(MIDNIGHT + MINUTE * m, False)) for m in range(60)]
        store_raw(conn, morning, "us-east")
    _down(db, multi, opened + 5 * MINUTE, closed)
    with db.session() as s:
        since = MIDNIGHT + timedelta(hours=12)
        multi_checks = fleet.recent_checks(s, multi, since)
        single_checks = fleet.recent_checks(s, single, since)
    assert len(multi_checks) == len(single_checks) == 720
    assert sum(not c.counts_up for c in multi_checks) == 25  # inside the outage only
    assert sum(not c.up for c in multi_checks) == 30  # what the location saw
    assert sum(not c.counts_up for c in single_checks) == 30  # each failed check
    rolled = _raw_then_rolled(db, multi)
    assert rolled.checks - rolled.up_checks == 25


def test_the_migration_hands_days_rolled_up_the_old_way_back(db: Database) -> None:
    site = _site(db, 2)
    _store_day(db, site, "default", always)
    _store_day(db, site, "us-east", never)
    with db.engine.begin() as conn:
        heard_from(conn, "us-east", MIDNIGHT)
    command.downgrade(alembic_config(db.engine), "0019")  # just below 0020
    with db.engine.begin() as conn:  # the day as the roll-up before 0020 left it: merged
        conn.execute(insert(CheckDaily).values(site_id=site, day=DAY, checks=2880, up_checks=1440))
    upgrade(db.engine)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(CheckDaily)) == 0  # handed back
    assert _day(db, site).up_checks == 2880  # meanwhile read from the raw rows
    assert _raw_then_rolled(db, site).up_checks == 2880


def test_the_migration_leaves_a_single_location_install_alone(db: Database) -> None:
    site = _site(db, 1)
    _store_day(db, site, "default", never)
    with db.engine.begin() as conn:
        rollup_day(conn, DAY)
    command.downgrade(alembic_config(db.engine), "0019")
    upgrade(db.engine)
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT checks, up_checks FROM check_daily")).all() == [
            (1440, 0)
        ]
