"""A simulated month for the report bench: CLIENTS clients with SITES sites each and their
October 2026, written in bulk.

Clients, plans, contracts, sites, findings, holds, approvals and the work log go through
the store's own functions (so their rows and journal events are what sitekeeper writes);
the high-volume history goes in with bulk inserts shaped like the events and rows those
functions write (tests/reports/seed.py shows them): a daily check row per site and day
(288 checks, some down), incidents, a backup a day (about 3 % failed), a restore drill
(one in ten failed), two or three update runs (one in twenty rolled back) with the
releases behind them, advisories and the latest certificate state.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from sitekeeper.domain.advisory import Advisory
from sitekeeper.domain.findings import UPDATE, VULNERABILITY, FindingSpec
from sitekeeper.domain.incidents import IncidentKind
from sitekeeper.domain.updates import UpdateItem
from sitekeeper.store import advisories, clients, contracts, findings, plans, work_log
from sitekeeper.store import update_approvals as queue
from sitekeeper.store.database import Database
from sitekeeper.store.intel_tables import CatalogueRelease, SiteSoftware
from sitekeeper.store.site_import import import_sites
from sitekeeper.store.tables import CheckDaily, Client, Event, Incident, Site, SiteState
from sitekeeper.vault import Vault

ECO = "wordpress"
FIRST, LAST = date(2026, 10, 1), date(2026, 10, 31)
NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)  # when the reports are made
BORN = datetime(2026, 8, 1, tzinfo=UTC)
PLUGINS = ("contact-form", "gallery", "seo", "cache", "slider", "forms", "shop")
ZONES = ("Europe/Berlin", "Europe/Berlin", "Europe/Vienna", "Europe/London", "America/New_York")


@dataclass(frozen=True, slots=True)
class Seeded:
    """What was written (row counts of the big tables)."""

    clients: int
    sites: int
    daily_rows: int
    events: int
    incidents: int


def at(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def seed(db: Database, n_clients: int, n_sites: int, tmp: Path, rng_seed: int = 0) -> Seeded:
    """Write the month; one transaction per client for its history."""
    rng = random.Random(rng_seed)
    with db.session() as s:
        plan_ids = _plans(s)
        _catalogue(s)
        client_ids = _clients(s, n_clients, plan_ids, rng)
    with db.session() as s:
        rows = [
            f"https://c{c}-s{n}.example.net/,c{c}-s{n},Client {c},{contract}"
            for c, (_, contract) in enumerate(client_ids)
            for n in range(n_sites)
        ]
        text = "url,name,client,contract\n" + "\n".join(rows) + "\n"
        import_sites(s, text, BORN, default_interval=300, base_dir=tmp)
    totals = [0, 0, 0]
    for client_id, _ in client_ids:
        with db.session() as s:
            client = s.get(Client, client_id)
            assert client is not None
            sites = list(s.scalars(select(Site).where(Site.client_id == client_id)))
            for n, value in enumerate(_history(s, client, sites, rng)):
                totals[n] += value
    return Seeded(len(client_ids), len(client_ids) * n_sites, *totals)


def _plans(s: Session) -> list[int]:
    made = []
    for name, price, hours, rate in (
        ("Basic", "49", 0, None),
        ("Care", "149", 2, "90"),
        ("Pro", "390", 6, "85"),
    ):
        options: dict[str, Any] = {
            "backup": "daily",
            "restore_drill": "monthly",
            "update_policy": "security",
            "uptime_target": 99.5,
            "hours_included": hours,
        }
        if rate:
            options["hourly_rate"] = rate
        plan = plans.add_plan(s, name=name, price=Decimal(price), now=BORN, options=options)
        made.append(plan.id)
    return made


def _catalogue(s: Session) -> None:
    """The releases the update runs install (each with its publication time)."""
    rows = [
        {
            "ecosystem": ECO,
            "type": "plugin",
            "package": p,
            "version": f"{major}.0",
            "released_at": at(FIRST, 6) + timedelta(days=2 * major + n),
            "security_update": major % 3 == 0,
        }
        for n, p in enumerate(PLUGINS)
        for major in range(2, 12)
    ]
    rows.append(
        {
            "ecosystem": ECO,
            "type": "core",
            "package": ECO,
            "version": "6.8.2",
            "released_at": at(date(2026, 10, 14), 18),
            "security_update": True,
        }
    )
    s.execute(insert(CatalogueRelease), rows)
    advisories.upsert(
        s,
        [
            Advisory(
                f"WF-2026-{n}",
                (f"CVE-2026-{1000 + n}",),
                f"Flaw {n} in {PLUGINS[n % len(PLUGINS)]}",
                "high" if n % 2 else "medium",
                None,
                None,
                at(FIRST, 8) + timedelta(days=n),
                None,
                (),
            )
            for n in range(20)
        ],
        at(FIRST),
    )


def _clients(s: Session, n: int, plan_ids: list[int], rng: random.Random) -> list[tuple[int, int]]:
    vault = Vault(Fernet.generate_key())
    made = []
    for c in range(n):
        client = clients.add_client(
            s,
            vault,
            name=f"Client {c}",
            language="de" if c % 2 else "en",
            timezone=ZONES[c % len(ZONES)],
            now=BORN,
        )
        contract = contracts.add_contract(
            s, client_id=client.id, plan_id=rng.choice(plan_ids), start=date(2026, 8, 1), now=BORN
        )
        made.append((client.id, contract.id))
    return made


def _history(s: Session, client: Client, sites: list[Site], rng: random.Random) -> list[int]:
    """One client's month; returns (daily rows, events, incidents) written."""
    daily: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    incidents: list[dict[str, Any]] = []
    software: list[dict[str, Any]] = []
    states: list[dict[str, Any]] = []
    run = rng.randrange(1, 10**6)
    for site in sites:
        down = {
            rng.choice(days(FIRST, LAST)): rng.randrange(1, 60) for _ in range(rng.randrange(3))
        }
        for day in days(FIRST - timedelta(days=1), LAST + timedelta(days=1)):
            lost = down.get(day, 0)
            base = rng.randrange(80, 600)
            daily.append(
                {
                    "site_id": site.id,
                    "day": day,
                    "checks": 288,
                    "up_checks": 288 - lost // 5,
                    "avg_ms": base + 20,
                    "p50_ms": base,
                    "p95_ms": base * 3,
                    "p99_ms": base * 5,
                    "max_ms": base * 9,
                }
            )
        for day, minutes in down.items():
            opened = at(day, rng.randrange(24), rng.randrange(60))
            incidents.append(
                {
                    "site_id": site.id,
                    "kind": IncidentKind.DOWN,
                    "opened_at": opened,
                    "closed_at": opened + timedelta(minutes=minutes),
                    "cause": "http_status: 503",
                }
            )
        if rng.random() < 0.05:
            incidents.append(
                {
                    "site_id": site.id,
                    "kind": IncidentKind.TLS_EXPIRING,
                    "opened_at": at(date(2026, 10, 20), 6),
                    "closed_at": None,
                    "cause": "expires soon",
                }
            )
        for day in days(FIRST, LAST):
            run += 1
            ok = rng.random() > 0.03
            data: dict[str, Any] = {"run": run, "reason": "scheduled", "duration": 300.0}
            if ok:
                data |= {"snapshot": f"{run:012x}", "files": 4000, "bytes_total": 10**8}
            else:
                data["error"] = "restic: repository locked"
            events.append(
                _event(site, "backup.taken" if ok else "backup.failed", at(day, 2, 5), data)
            )
        for drilled in (date(2026, 9, 12), rng.choice(days(FIRST, LAST))):
            ok = rng.random() > 0.1
            kind = "backup.verified" if ok else "backup.verification_failed"
            data = {"snapshot": f"{run:012x}", "detail": "restored" if ok else "broken"}
            events.append(_event(site, kind, at(drilled, 3), data))
        plugins = rng.sample(PLUGINS, 5)
        software += [
            {
                "site_id": site.id,
                "ecosystem": ECO,
                "type": t,
                "package": p,
                "name": p,
                "basis": "inventory",
            }
            for t, p in [("core", ECO), *(("plugin", p) for p in plugins)]
        ]
        for n, package in enumerate(plugins[: rng.randrange(2, 4)]):
            run += 1
            major = rng.randrange(3, 12)
            back = rng.random() < 0.05
            done = at(FIRST, 4) + timedelta(days=2 * major + 1 + n, hours=rng.randrange(20))
            item = {
                "type": "plugin",
                "package": package,
                "installed": f"{major - 1}.0",
                "target": f"{major}.0",
                "security": major % 3 == 0,
                "sha256": None,
            }
            steps = [{"name": "health_after", "ok": not back, "detail": "200", "seconds": 1.0}]
            data = {"run": run, "trigger": "policy", "items": [item], "snapshot": None}
            data |= {"steps": steps, "duration": 120.0}
            if back:
                data["error"] = "HTTP 500 on /"
            events.append(
                _event(site, "update.rolled_back" if back else "update.applied", done, data)
            )
        states.append(
            {
                "site_id": site.id,
                "up": True,
                "checked_at": NOW - timedelta(minutes=3),
                "tls_expires": NOW + timedelta(days=rng.randrange(5, 90)),
                "tls_issuer": "R11",
            }
        )
    s.execute(insert(CheckDaily), daily)
    s.execute(insert(Incident), incidents)
    s.execute(insert(Event), events)
    s.execute(insert(SiteSoftware), software)
    s.execute(insert(SiteState), states)
    _findings(s, sites, rng)
    _work(s, client, sites, rng)
    return [len(daily), len(events), len(incidents)]


def _event(site: Site, kind: str, ts: datetime, data: dict[str, Any]) -> dict[str, Any]:
    return {"ts": ts, "kind": kind, "site_id": site.id, "client_id": site.client_id, "data": data}


def _findings(s: Session, sites: list[Site], rng: random.Random) -> None:
    """Pending updates known since mid-month; one site in ten with a vulnerability known
    in the month (half of them fixed a day later); one in ten with a hold or an approval."""
    ids = [site.id for site in sites]

    def spec(site: Site, kind: str, package: str, advisory: str | None = None) -> FindingSpec:
        return FindingSpec(
            site_id=site.id,
            kind=kind,
            ecosystem=ECO,
            type="plugin",
            package=package,
            installed="1.0",
            latest="2.0" if kind == UPDATE else None,
            basis="inventory",
            advisory_id=advisory,
            security=advisory is not None,
            severity="medium" if advisory else None,
        )

    known: list[FindingSpec] = []
    fixed: list[FindingSpec] = []
    for site in sites:
        updates = [spec(site, UPDATE, p) for p in rng.sample(PLUGINS, 3)]
        known += updates
        fixed += updates
        if rng.random() < 0.1:
            vuln = spec(site, VULNERABILITY, rng.choice(PLUGINS), f"WF-2026-{rng.randrange(20)}")
            known.append(vuln)
            if rng.random() < 0.5:
                fixed.append(vuln)
    when = at(date(2026, 10, rng.randrange(5, 25)), 9)
    findings.reconcile(s, known, when, site_ids=ids)
    findings.reconcile(s, fixed, when + timedelta(days=1), site_ids=ids)
    for site in sites:
        if rng.random() < 0.1:
            package = rng.choice(PLUGINS)
            queue.hold(
                s, site.id, ("plugin", package), reason="Breaks the theme", who="tom", now=when
            )
        if rng.random() < 0.1:
            item = UpdateItem("plugin", rng.choice(PLUGINS), "1.0", "2.0", ECO)
            queue.request(s, site.id, item, when)


def _work(s: Session, client: Client, sites: list[Site], rng: random.Random) -> None:
    for n in range(rng.randrange(2, 6)):
        work_log.add_entry(
            s,
            client=client,
            site=rng.choice([None, *sites]),
            day=date(2026, 10, rng.randrange(1, 32)),
            minutes=rng.choice((15, 30, 45, 60, 90)),
            note=f"hand work {n}",
            by="Tom",
            now=NOW,
        )
