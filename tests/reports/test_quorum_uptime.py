"""A client's report on a site checked from two locations tells the quorum's truth: one
location that cannot reach the site costs it no uptime, a confirmed outage costs its
duration, and the month reads the same from raw results (its current days) as once
rolled up (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sitekeeper.reports.figures import client_report
from sitekeeper.reports.period import month
from sitekeeper.reports.site_uptime import UptimeFigures
from sitekeeper.store.database import Database
from sitekeeper.store.monitoring import store_raw
from sitekeeper.store.rollup import rollup_day
from sitekeeper.store.tables import Client, Incident, Site
from tests.store.test_quorum_uptime import _result, _site

DAYS = (date(2026, 3, 2), date(2026, 3, 3))
OUTAGE = (datetime(2026, 3, 3, 10, tzinfo=UTC), datetime(2026, 3, 3, 10, 30, tzinfo=UTC))
NOW = datetime(2026, 4, 2, tzinfo=UTC)


def _checks(db: Database, site: int) -> None:
    """Every 10 minutes of two days from each location: us-east always fails (an
    "unreachable" incident, no outage); the home location sees the outage."""
    with db.engine.begin() as conn:
        for day in DAYS:
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            moments = [start + timedelta(minutes=10 * n) for n in range(144)]
            home = [(site, _result(at, not OUTAGE[0] <= at < OUTAGE[1])) for at in moments]
            store_raw(conn, home, "default")
            east = [(site, _result(at + timedelta(minutes=5), False)) for at in moments]
            store_raw(conn, east, "us-east")
    with db.session() as s:
        s.add(
            Incident(site_id=site, kind="unreachable", opened_at=datetime(2026, 3, 2, tzinfo=UTC))
        )
        s.add(Incident(site_id=site, kind="down", opened_at=OUTAGE[0], closed_at=OUTAGE[1]))


def _uptime(db: Database, site: int) -> UptimeFigures:
    with db.session() as s:
        found = s.get(Site, site)
        assert found is not None
        client = s.get(Client, found.client_id)
        assert client is not None
        report = client_report(s, client, month("2026-03", client.timezone), NOW)
    [figures] = [f for c in report.contracts for f in c.sites if f.id == site]
    return figures.uptime


def test_the_report_counts_the_outage_and_not_the_unreachable_location(db: Database) -> None:
    site = _site(db, 2)
    _checks(db, site)
    raw = _uptime(db, site)  # both days from raw results, as a current month's are
    assert (raw.checks, raw.up_checks, raw.downtime_s) == (576, 570, 1800)
    assert [(d.day, d.uptime_pct) for d in raw.days] == [(DAYS[0], 100.0), (DAYS[1], 97.917)]
    assert raw.uptime_pct == 98.958  # 6 of 576 checks: 30 minutes of two days
    with db.engine.begin() as conn:
        rollup_day(conn, DAYS[0])
    assert _uptime(db, site) == raw  # one day rolled up, one raw
    with db.engine.begin() as conn:
        rollup_day(conn, DAYS[1])
    assert _uptime(db, site) == raw  # last month, rolled up: the same truth
