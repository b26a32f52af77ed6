"""A known month for the report tests: October 2026 of a bakery's three sites.

Berlin leaves summer time on 25 October, so the month has 745 hours; a few records sit
near its bounds, where a New York client's month starts and ends six hours later. Every
figure the tests assert is worked out in the comments below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from cryptography.fernet import Fernet
from sqlalchemy import insert
from sqlalchemy.orm import Session

from sitekeeper.domain.advisory import Advisory
from sitekeeper.domain.findings import UPDATE, VULNERABILITY, FindingSpec
from sitekeeper.domain.incidents import IncidentKind
from sitekeeper.domain.updates import Check, UpdateItem
from sitekeeper.store import (
    advisories,
    backups,
    clients,
    contracts,
    findings,
    plans,
    sites,
    work_log,
)
from sitekeeper.store import update_approvals as queue
from sitekeeper.store import updates as update_runs
from sitekeeper.store.backup_tables import SAFETY, SCHEDULED
from sitekeeper.store.database import Database
from sitekeeper.store.intel_tables import CatalogueRelease, SiteSoftware
from sitekeeper.store.tables import CheckDaily, Client, Contract, Event, Incident, Site, SiteState
from sitekeeper.store.update_tables import APPLIED, ROLLED_BACK
from sitekeeper.vault import Vault

ECO = "wordpress"
NOW = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)  # when the report is made


def at(text: str) -> datetime:
    """A UTC moment from ``2026-10-05 02:00``."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class Month:
    """The ids the tests look for."""

    client: int = 0
    contract: int = 0
    shop: int = 0
    blog: int = 0
    landing: int = 0
    incidents: dict[str, int] = field(default_factory=dict)
    drill_event: int = 0


def seed(db: Database, timezone: str = "Europe/Berlin") -> Month:
    """The bakery, its plan and sites, and their October."""
    ids = Month()
    with db.session() as s:
        client = clients.add_client(
            s,
            Vault(Fernet.generate_key()),
            name="Bäckerei Müller",
            language="de",
            timezone=timezone,
            now=at("2026-08-01 00:00"),
        )
        plan = plans.add_plan(
            s,
            name="Care",
            price=Decimal("149"),
            now=at("2026-08-01 00:00"),
            options={
                "backup": "daily",
                "uptime_target": 99.5,
                "hours_included": 2,
                "hourly_rate": "90",
            },
        )
        contract = contracts.add_contract(
            s,
            client_id=client.id,
            plan_id=plan.id,
            start=date(2026, 9, 1),
            now=at("2026-08-01 00:00"),
        )
        shop = _site(s, client, "shop", contract.id, at("2026-09-01 00:00"))
        blog = _site(s, client, "blog", contract.id, at("2026-10-16 10:00"))  # mid-month
        landing = _site(s, client, "landing", None, at("2026-08-01 00:00"))  # no contract
        _site(s, client, "later", contract.id, at("2026-11-05 00:00"))  # after the month
        ids.client, ids.contract = client.id, contract.id
        ids.shop, ids.blog, ids.landing = shop.id, blog.id, landing.id
        _checks(s, shop, blog)
        _incidents(s, ids)
        _backups(s, shop, ids)
        _updates(s, shop)
        _security(s, shop)
        _work(s, client, shop, blog)
        s.add(
            SiteState(
                site_id=shop.id,
                up=True,
                checked_at=at("2026-11-01 23:59"),
                tls_expires=at("2026-12-01 12:00"),
                tls_issuer="Test CA",
            )
        )
    return ids


def _site(s: Session, client: Client, name: str, contract: int | None, born: datetime) -> Site:
    deal = s.get(Contract, contract) if contract else None
    fields = sites.SiteFields(
        url=f"https://{name}.example/", name=name, client=client, contract=deal
    )
    return sites.add_site(s, fields, born, default_interval=300)


def _checks(s: Session, shop: Site, blog: Site) -> None:
    """Shop: 1440 checks a day from 30 Sep to 1 Nov, 60 down on 10 Oct, so October has
    44,640 checks and 44,580 up: 99.866 %. Blog: 288 a day from 15 Oct (before it was
    added: not its own) to 31 Oct, all up: 16 days, 4,608 checks, 100 %."""
    rows = []
    day = date(2026, 9, 30)
    while day <= date(2026, 11, 1):
        rows.append(
            {
                "site_id": shop.id,
                "day": day,
                "checks": 1440,
                "up_checks": 1380 if day == date(2026, 10, 10) else 1440,
                "p50_ms": 100 + day.day,
                "p95_ms": 300 + day.day,
            }
        )
        if date(2026, 10, 15) <= day <= date(2026, 10, 31):
            rows.append(
                {
                    "site_id": blog.id,
                    "day": day,
                    "checks": 288,
                    "up_checks": 288,
                    "p50_ms": 50,
                    "p95_ms": 90,
                }
            )
        day += timedelta(days=1)
    s.execute(insert(CheckDaily), rows)


def _incidents(s: Session, ids: Month) -> None:
    """Shop: down 10 Oct 08:00–09:00 (3,600 s, HTTP 503); down 30 Sep 21:30–22:30 UTC,
    which is 1 Oct 00:30 in Berlin at its end (1,800 s inside a Berlin October, none in
    New York's); down in mid-September (outside). Blog: certificate expiring since 20 Oct."""
    for name, site, kind, opened, closed, cause in (
        (
            "oct10",
            ids.shop,
            IncidentKind.DOWN,
            "2026-10-10 08:00",
            "2026-10-10 09:00",
            "http_status: 503",
        ),
        (
            "edge",
            ids.shop,
            IncidentKind.DOWN,
            "2026-09-30 21:30",
            "2026-09-30 22:30",
            "refused: cannot connect to 10.0.0.5",
        ),
        ("sept", ids.shop, IncidentKind.DOWN, "2026-09-15 08:00", "2026-09-15 09:00", None),
        ("tls", ids.blog, IncidentKind.TLS_EXPIRING, "2026-10-20 06:00", None, "expires soon"),
    ):
        row = Incident(
            site_id=site,
            kind=kind,
            opened_at=at(opened),
            closed_at=at(closed) if closed else None,
            cause=cause,
        )
        s.add(row)
        s.flush()
        ids.incidents[name] = row.id


def _backups(s: Session, shop: Site, ids: Month) -> None:
    """Shop: taken 5 Oct, 15 Oct, 31 Oct 22:30 UTC (23:30 in Berlin) and 31 Oct 23:30 UTC
    (1 Nov in Berlin; 31 Oct in New York); failed 12 Oct; a safety snapshot 20 Oct (not a
    backup of the plan). Drills: passed 28 Oct; failed 1 Nov (after the month)."""
    for n, (when, reason, ok) in enumerate(
        (
            ("2026-10-05 02:00", SCHEDULED, True),
            ("2026-10-12 02:00", SCHEDULED, False),
            ("2026-10-15 02:00", SCHEDULED, True),
            ("2026-10-20 02:00", SAFETY, True),
            ("2026-10-31 22:30", SCHEDULED, True),
            ("2026-10-31 23:30", SCHEDULED, True),
        )
    ):
        run = backups.start_run(s, shop, None, reason, at(when))
        done = at(when) + timedelta(minutes=5)
        if ok:
            figures = backups.RunFigures(f"snap{n:04d}aaaa", 10, 1, 1, 1000, 10, 10, 100, 300.0)
            backups.finish_run(s, run.id, figures, done)
        else:
            backups.fail_run(s, run.id, "restic: repository locked", done)
    backups.mark_verified(
        s, shop, "snap0002aaaa", ok=True, detail="restored", figures={}, now=at("2026-10-28 03:00")
    )
    backups.mark_verified(
        s, shop, "snap0004aaaa", ok=False, detail="broken", figures={}, now=at("2026-11-01 10:00")
    )
    s.flush()
    ids.drill_event = max(e.id for e in _events(s, "backup.verified"))


def _events(s: Session, kind: str) -> list[Event]:
    from sitekeeper.store.history import journal_events

    return list(journal_events(s, kinds=[kind], limit=None))


def _updates(s: Session, shop: Site) -> None:
    """Shop, 18 Oct 09:00: contact-form 5.1 → 5.2 (security; released 17 Oct 06:00: 27 h
    before) and core 6.8.1 → 6.8.2 (released 15 Oct 09:00: 72 h); 22 Oct: slider 2.0 → 3.0
    rolled back at the health check after."""
    for software in (("plugin", "contact-form"), ("core", ECO), ("plugin", "slider")):
        s.add(
            SiteSoftware(
                site_id=shop.id,
                ecosystem=ECO,
                type=software[0],
                package=software[1],
                name=software[1],
                basis="inventory",
            )
        )
    s.add(
        CatalogueRelease(
            ecosystem=ECO,
            type="plugin",
            package="contact-form",
            version="5.2",
            released_at=at("2026-10-17 06:00"),
            security_update=True,
        )
    )
    s.add(
        CatalogueRelease(
            ecosystem=ECO,
            type="core",
            package=ECO,
            version="6.8.2",
            released_at=at("2026-10-15 09:00"),
        )
    )
    items = [
        {
            "type": "plugin",
            "package": "contact-form",
            "installed": "5.1",
            "target": "5.2",
            "security": True,
        },
        {
            "type": "core",
            "package": ECO,
            "installed": "6.8.1",
            "target": "6.8.2",
            "security": False,
        },
    ]
    run = update_runs.start_run(
        s, shop.id, items, trigger="manual", requested_by="tom", now=at("2026-10-18 08:55")
    )
    update_runs.add_step(s, run.id, Check("health_after", True, "200"))
    update_runs.finish_run(s, run.id, APPLIED, at("2026-10-18 09:00"))
    slider = [
        {
            "type": "plugin",
            "package": "slider",
            "installed": "2.0",
            "target": "3.0",
            "security": False,
        }
    ]
    run = update_runs.start_run(
        s, shop.id, slider, trigger="policy", requested_by="policy", now=at("2026-10-22 02:00")
    )
    update_runs.add_step(s, run.id, Check("snapshot", True, "ok"))
    update_runs.add_step(s, run.id, Check("health_after", False, "HTTP 500 on /"))
    update_runs.finish_run(s, run.id, ROLLED_BACK, at("2026-10-22 02:10"), "broken front page")


def _security(s: Session, shop: Site) -> None:
    """Shop: WF-2026-1 on contact-form known 17 Oct 12:00, fixed 18 Oct 10:00 (22 h);
    WF-2026-2 on gallery known 25 Oct 09:00, still open; an old one fixed in September.
    Pending now: gallery 1.0 → 2.0 (by hand), seo (held), cache (awaiting approval)."""
    advisories.upsert(
        s,
        [
            Advisory(
                "WF-2026-1",
                ("CVE-2026-1111",),
                "XSS in contact-form",
                "high",
                None,
                None,
                at("2026-10-16 20:00"),
                None,
                (),
            )
        ],
        at("2026-10-17 11:00"),
    )

    def vuln(package: str, advisory: str) -> FindingSpec:
        return FindingSpec(
            site_id=shop.id,
            kind=VULNERABILITY,
            ecosystem=ECO,
            type="plugin",
            package=package,
            installed="1.0",
            basis="inventory",
            advisory_id=advisory,
            security=True,
            severity="medium",
        )

    def update(package: str) -> FindingSpec:
        return FindingSpec(
            site_id=shop.id,
            kind=UPDATE,
            ecosystem=ECO,
            type="plugin",
            package=package,
            installed="1.0",
            latest="2.0",
            basis="inventory",
        )

    def scope(*names: str) -> set[tuple[str, str]]:
        return {(ECO, n) for n in names}

    findings.reconcile(s, [vuln("old", "WF-2025-9")], at("2026-09-10 00:00"), packages=scope("old"))
    findings.reconcile(s, [], at("2026-09-20 00:00"), packages=scope("old"))
    findings.reconcile(
        s,
        [vuln("contact-form", "WF-2026-1")],
        at("2026-10-17 12:00"),
        packages=scope("contact-form"),
    )
    findings.reconcile(s, [], at("2026-10-18 10:00"), packages=scope("contact-form"))
    pending = [vuln("gallery", "WF-2026-2"), update("gallery"), update("seo"), update("cache")]
    findings.reconcile(
        s, pending, at("2026-10-25 09:00"), packages=scope("gallery", "seo", "cache")
    )
    queue.hold(
        s,
        shop.id,
        ("plugin", "seo"),
        reason="Breaks the theme",
        who="tom",
        now=at("2026-10-26 00:00"),
    )
    queue.request(
        s, shop.id, UpdateItem("plugin", "cache", "1.0", "2.0", ECO), at("2026-10-26 00:00")
    )


def _work(s: Session, client: Client, shop: Site, blog: Site) -> None:
    """45 min on the shop (3 Oct), 90 on the blog (20 Oct), 60 for the client (31 Oct):
    195 minutes against 120 included, 75 over at 90/h = 112.50. Outside: 30 Sep, 1 Nov."""
    for site, day, minutes in (
        (shop, date(2026, 10, 3), 45),
        (blog, date(2026, 10, 20), 90),
        (None, date(2026, 10, 31), 60),
        (shop, date(2026, 9, 30), 20),
        (None, date(2026, 11, 1), 30),
    ):
        work_log.add_entry(
            s,
            client=client,
            site=site,
            day=day,
            minutes=minutes,
            note=f"work of {day}",
            by="Tom",
            now=NOW,
        )
