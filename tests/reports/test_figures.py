"""A client's report figures over a known month (tests/reports/seed.py): every number, on
SQLite and PostgreSQL; the same month for a client in New York; an empty month; the
reasons a pending update waits."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sitekeeper.domain.updates import UpdateItem
from sitekeeper.reports.figures import ClientReport, client_report
from sitekeeper.reports.period import month
from sitekeeper.reports.updates import pending
from sitekeeper.store import contracts, plans
from sitekeeper.store.database import Database
from sitekeeper.store.findings import UpdateRow
from sitekeeper.store.tables import Client
from sitekeeper.updates.policy import Scheduled
from tests.reports.seed import NOW, Month, at, seed


def report(db: Database, ids: Month, period: str = "2026-10") -> ClientReport:
    with db.session() as session:
        client = session.get(Client, ids.client)
        assert client is not None
        return client_report(session, client, month(period, client.timezone), NOW)


def test_every_figure_of_a_known_month(db: Database) -> None:
    ids = seed(db)
    figures = report(db, ids)
    assert figures.period.label == "2026-10"
    assert (figures.period.start, figures.period.end) == (
        at("2026-09-30 22:00"),
        at("2026-10-31 23:00"),
    )  # 745 hours: summer time ends on 25 October
    [contract] = figures.contracts
    assert (contract.id, contract.plan, contract.price, contract.currency) == (
        ids.contract,
        "Care",
        Decimal("149.00"),
        "EUR",
    )
    assert contract.services["uptime_target"] == 99.5 and contract.services["backup"] == "daily"
    assert [s.name for s in contract.sites] == ["blog", "shop"]  # "later" came in November
    assert [s.name for s in figures.other_sites] == ["landing"]
    blog, shop = contract.sites

    # Uptime: the shop's 31 days; the blog's 16 from the day it was added.
    up = shop.uptime
    assert (up.checks, up.up_checks, up.uptime_pct) == (44_640, 44_580, 99.866)
    assert (up.target_pct, up.met) == (99.5, True)
    assert [d.day for d in up.days] == [date(2026, 10, n) for n in range(1, 32)]
    ten = up.days[9]
    assert (ten.checks, ten.up_checks, ten.uptime_pct, ten.p50_ms, ten.p95_ms) == (
        1440,
        1380,
        95.833,
        110,
        310,
    )
    assert up.counted_from == figures.period.start
    assert (blog.uptime.checks, blog.uptime.uptime_pct, len(blog.uptime.days)) == (4608, 100.0, 16)
    assert blog.uptime.days[0].day == date(2026, 10, 16)
    assert blog.uptime.counted_from == at("2026-10-16 10:00")
    assert figures.other_sites[0].uptime.uptime_pct is None

    # Incidents: cut at Berlin's midnight; the cause as the client may read it.
    assert [i.id for i in up.incidents] == [ids.incidents["edge"], ids.incidents["oct10"]]
    edge, oct10 = up.incidents
    assert (edge.duration_s, edge.seconds_in_period, edge.cause) == (3600, 1800, "refused")
    assert (oct10.duration_s, oct10.seconds_in_period, oct10.cause) == (
        3600,
        3600,
        "http_status: 503",
    )
    assert up.downtime_s == 5400
    tls = blog.uptime.incidents[0]
    assert (tls.kind, tls.closed_at, tls.duration_s) == ("tls_expiring", None, None)
    assert tls.seconds_in_period == int(
        (figures.period.end - at("2026-10-20 06:00")).total_seconds()
    )
    assert blog.certificate.incident_ids == [ids.incidents["tls"]]
    assert (shop.certificate.expires_at, shop.certificate.days_left) == (at("2026-12-01 12:00"), 29)
    assert shop.certificate.issuer == "Test CA"

    # Backups: 23:30 on 31 October is November in Berlin; a safety snapshot is no backup.
    b = shop.backups
    assert (b.taken, b.failed, len(b.taken_event_ids), len(b.failed_event_ids)) == (3, 1, 3, 1)
    assert b.run_ids == [1, 2, 3, 5]
    assert (
        b.last_drill is not None and b.last_drill.ok and b.last_drill.at == at("2026-10-28 03:00")
    )
    assert (b.last_drill.snapshot, b.last_drill.event_id) == ("snap0002aaaa", ids.drill_event)
    assert b.retention is not None and (b.retention.keep_daily, b.retention.schedule) == (
        7,
        "daily",
    )
    assert b.last_passed_drill == b.last_drill
    assert blog.backups.taken == 0 and blog.backups.last_drill is None
    assert blog.backups.last_passed_drill is None

    # Updates: what moved, how long after its release, what was rolled back and why.
    u = shop.updates
    assert [(a.package, a.from_version, a.to_version, a.security) for a in u.applied] == [
        ("contact-form", "5.1", "5.2", True),
        ("wordpress", "6.8.1", "6.8.2", False),
    ]
    assert [a.hours_after_release for a in u.applied] == [27.0, 72.0]
    assert u.applied[0].at == at("2026-10-18 09:00") and u.applied[0].run_id == 1
    assert u.applied[0].event_id == u.applied[1].event_id
    [back] = u.rolled_back
    assert (back.package, back.to_version, back.failed_step, back.run_id) == (
        "slider",
        "3.0",
        "health_after",
        2,
    )
    assert u.failed == []
    reasons = {(p.package, p.reason, p.detail) for p in u.pending}
    assert reasons == {
        ("gallery", "by_hand", None),
        ("seo", "held", "Breaks the theme"),
        ("cache", "awaiting_approval", None),
    }
    assert next(p for p in u.pending if p.package == "cache").approval_id is not None

    # Security: known when matched, fixed when resolved; still open at the month's end.
    fixed, still = shop.security.advisories
    assert (fixed.advisory_id, fixed.aliases, fixed.summary, fixed.severity) == (
        "WF-2026-1",
        ["CVE-2026-1111"],
        "XSS in contact-form",
        "high",
    )
    assert (fixed.published_at, fixed.known_at, fixed.fixed_at, fixed.hours_to_patch) == (
        at("2026-10-16 20:00"),
        at("2026-10-17 12:00"),
        at("2026-10-18 10:00"),
        22.0,
    )
    assert len(fixed.event_ids) == 2  # finding.opened and finding.resolved
    assert (still.advisory_id, still.fixed_at, still.hours_to_patch) == ("WF-2026-2", None, None)
    assert (still.summary, still.severity, len(still.event_ids)) == (None, "medium", 1)
    assert (shop.security.fixed, shop.security.open) == (1, 1)

    # Work: 195 minutes against 120 included; 75 over at 90/h.
    w = contract.work
    assert [e.minutes for e in w.entries] == [45, 90, 60]
    assert [e.site for e in w.entries] == ["shop", "blog", None]
    assert (w.minutes, w.included_minutes, w.overage_minutes) == (195, 120, 75)
    assert (w.hourly_rate, w.overage_price, w.currency) == (
        Decimal("90.00"),
        Decimal("112.50"),
        "EUR",
    )
    assert figures.other_work.entries == [] and figures.other_work.overage_price is None

    # The first page.
    s = figures.summary
    assert (s.sites, s.uptime_pct, s.incidents, s.downtime_s) == (3, 99.912, 2, 5400)
    assert (s.updates_applied, s.security_fixes, s.rolled_back) == (2, 1, 1)
    assert (s.hours_after_release_avg, s.security_hours_after_release_avg) == (49.5, 27.0)
    assert (s.backups_taken, s.backups_failed) == (3, 1)
    assert s.last_drill == b.last_drill
    assert (s.advisories, s.advisories_fixed, s.advisories_open, s.work_minutes) == (2, 1, 1, 195)
    assert contract.uptime_pct == 99.912


def test_the_same_month_in_new_york(db: Database) -> None:
    """New York's October runs 1 Oct 04:00 – 1 Nov 04:00 UTC: the edge incident is
    September's, the backup at 23:30 UTC on 31 October is October's."""
    ids = seed(db, "America/New_York")
    figures = report(db, ids)
    assert (figures.period.start, figures.period.end) == (
        at("2026-10-01 04:00"),
        at("2026-11-01 04:00"),
    )
    shop = figures.contracts[0].sites[1]
    assert [i.id for i in shop.uptime.incidents] == [ids.incidents["oct10"]]
    assert shop.uptime.downtime_s == 3600
    assert shop.uptime.uptime_pct == 99.866  # the same dates' daily rows
    assert (shop.backups.taken, shop.backups.failed) == (4, 1)
    assert figures.summary.incidents == 1 and figures.summary.backups_taken == 4


def test_an_empty_month(db: Database) -> None:
    ids = seed(db)
    before = report(db, ids, "2026-07")  # before any site was added
    assert before.summary.sites == 0 and before.contracts == []  # it started in September
    assert before.summary.uptime_pct is None and before.summary.last_drill is None
    assert before.summary.work_minutes == 0 and before.other_work.entries == []
    quiet = report(db, ids, "2026-12")  # the sites exist, nothing was recorded
    s = quiet.summary
    assert (s.sites, s.uptime_pct, s.incidents, s.updates_applied, s.backups_taken) == (
        4,
        None,
        0,
        0,
        0,
    )
    assert s.last_drill is not None and s.last_drill.at == at("2026-11-01 10:00")  # failed one
    assert not s.last_drill.ok
    shop = next(site for site in quiet.contracts[0].sites if site.name == "shop").backups
    assert shop.last_passed_drill is not None and shop.last_passed_drill.ok
    assert shop.last_passed_drill.at == at("2026-10-28 03:00")
    assert s.advisories == 1 and s.advisories_open == 1  # WF-2026-2 is still open
    assert quiet.contracts[0].work.minutes == 0


def test_a_site_added_mid_month_counts_from_then(db: Database) -> None:
    ids = seed(db)
    blog = report(db, ids).contracts[0].sites[0]
    assert blog.created_at == at("2026-10-16 10:00")
    assert blog.uptime.counted_from == at("2026-10-16 10:00")
    assert [d.day for d in blog.uptime.days] == [date(2026, 10, n) for n in range(16, 32)]


def _row(package: str) -> UpdateRow:
    return UpdateRow(
        1,
        "s",
        None,
        "eco",
        "plugin",
        package,
        "1.0",
        "2.0",
        "1.1",
        False,
        "2.0",
        False,
        [],
        "update",
        None,
        "inventory",
    )


def test_why_a_pending_update_waits() -> None:
    later = at("2026-11-02 22:00")
    item = UpdateItem("plugin", "win", "1.0", "1.1", "eco")
    due = UpdateItem("plugin", "now", "1.0", "1.1", "eco")
    found = pending(
        [_row("win"), _row("now"), _row("free"), _row("unknown")],
        [],
        [],
        [Scheduled(1, item, later), Scheduled(1, due, NOW)],
        NOW,
    )
    assert [(p.package, p.reason, p.detail, p.target) for p in found] == [
        ("win", "outside_window", later.isoformat(), "1.1"),
        ("now", "due", None, "1.1"),
        ("free", "by_hand", None, "2.0"),
        ("unknown", "by_hand", None, "2.0"),
    ]


def test_work_for_the_whole_client_with_two_contracts_is_not_priced(db: Database) -> None:
    """With a second contract in effect, the 60 minutes logged for the client as a whole
    belong to neither: they are listed apart, unpriced; the first contract's sites keep
    their 135 minutes (15 over: 22.50)."""
    ids = seed(db)
    with db.session() as session:
        cheap = plans.add_plan(session, name="Hosting", now=NOW)
        contracts.add_contract(
            session, client_id=ids.client, plan_id=cheap.id, start=date(2026, 10, 1), now=NOW
        )
    figures = report(db, ids)
    care, hosting = figures.contracts
    assert (care.work.minutes, care.work.overage_minutes, care.work.overage_price) == (
        135,
        15,
        Decimal("22.50"),
    )
    assert (hosting.plan, hosting.sites, hosting.work.minutes) == ("Hosting", [], 0)
    assert hosting.work.included_minutes == 0 and hosting.work.overage_price is None
    other = figures.other_work
    assert [(e.minutes, e.site) for e in other.entries] == [(60, None)]
    assert (other.included_minutes, other.overage_price, other.currency) == (None, None, None)
    assert figures.summary.work_minutes == 195


def test_a_contract_that_starts_mid_month_includes_that_share_of_its_hours(
    db: Database,
) -> None:
    """A plan of 3.1 h a month taken on 22 October covers 10 of October's 31 days: one hour
    is included in October, not 3.1."""
    ids = seed(db)
    with db.session() as session:
        extra = plans.add_plan(
            session, name="Extra", now=NOW, options={"hours_included": 3.1, "hourly_rate": "60"}
        )
        contracts.add_contract(
            session, client_id=ids.client, plan_id=extra.id, start=date(2026, 10, 22), now=NOW
        )
    late = next(c for c in report(db, ids).contracts if c.plan == "Extra")
    assert late.work.included_minutes == 60
