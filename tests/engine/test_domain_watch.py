"""The domain and DNS watch as a job, against a real RDAP server and a real DNS server on
loopback: an expiring domain warns at the plan's day (once per client) and resolves when
renewed; status and DNSSEC are stored; a change of name servers or an address in a new
network alerts, a move inside the same network is only a journal event; a planned move
is accepted; serve's schedule checks each site once per interval."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sitekeeper.config import Settings
from sitekeeper.domain.domain_events import DomainEventKind
from sitekeeper.domain.intel_events import IntelEventKind
from sitekeeper.engine.intel_jobs import IntelJobs
from sitekeeper.store import domain_watch, plans
from sitekeeper.store.database import Database
from sitekeeper.store.intel_tables import Finding
from sitekeeper.store.tables import Event, Notification
from tests.probes.domain_servers import (
    Registry,
    Zone,
    dns_server,
    in_days,
    rdap_domain,
    registry_server,
)
from tests.store.factories import VAULT, baker, contract, site

DOMAIN = "example.test"
HOST = f"www.{DOMAIN}"


@dataclass
class World:
    db: Database
    jobs: IntelJobs
    registry: Registry
    zone: Zone
    site_id: int


def standard_zone() -> Zone:
    zone = Zone()
    zone.set(HOST, "A", "192.0.2.10")
    zone.set(HOST, "AAAA", "2001:db8:1::10")
    zone.set(DOMAIN, "NS", f"ns1.{DOMAIN}", f"ns2.{DOMAIN}")
    zone.set(DOMAIN, "MX", f"10 mx.{DOMAIN}")
    return zone


@pytest.fixture
def zone() -> Zone:
    return standard_zone()


@pytest.fixture
def dns(zone: Zone) -> Iterator[str]:
    with dns_server(zone) as address:
        yield address


@pytest.fixture
async def world(db: Database, tmp_path: Path, zone: Zone, dns: str) -> AsyncIterator[World]:
    registry = Registry({DOMAIN: rdap_domain(DOMAIN, expires=in_days(200))})
    async with registry_server(registry):
        assert registry.site is not None
        settings = Settings(
            home=tmp_path / "home",
            alert_urls=["json://127.0.0.1:9/global"],
            rdap_bootstrap_url=registry.site.url("/dns.json"),
            egress_allow=["loopback"],
            dns_servers=[dns],
            dns_timeout=1.0,
        )
        with db.session() as session, session.begin():
            plan = plans.add_plan(session, name="Basic", check_interval=60, domain_warn_days=30)
            owner = baker(session)
            deal = contract(session, owner, plan)
            site_id = site(session, owner, f"https://{HOST}/", deal).id
        yield World(db, IntelJobs(db, settings, vault=VAULT), registry, zone, site_id)


def _open(session: Session) -> dict[tuple[str, str], str]:
    rows = session.scalars(select(Finding).where(Finding.resolved_at.is_(None)))
    return {(f.type, f.package): f.data["severity"] for f in rows}


def _count(session: Session, model: type, *where: Any) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _events(session: Session, kind: str) -> list[Event]:
    return list(session.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))


async def test_registration_is_stored_with_status_and_dnssec(world: World) -> None:
    check, filed = await world.jobs.check_domain(world.site_id)
    reg = check.registration
    assert reg is not None and reg.error is None
    assert reg.registrar == "Example Registrar, Inc."
    assert reg.statuses == ("client transfer prohibited", "active") and reg.locked()
    assert reg.dnssec is True
    assert check.dns is not None and check.dns.records["NS"] == (f"ns1.{DOMAIN}", f"ns2.{DOMAIN}")
    assert filed.changes.opened == []  # 200 days left, a first look at the records
    with world.db.session() as session:
        view = domain_watch.domain_views(session, [world.site_id])[world.site_id]
        assert view.domain == DOMAIN and view.dnssec is True
        assert view.statuses == ["client transfer prohibited", "active"]
        assert view.records["A"] == ["192.0.2.10"]
        assert view.records["MX"] == [f"10 mx.{DOMAIN}"]
        assert view.issues == []
        assert _count(session, Notification) == 0


async def test_expiry_warns_at_the_plans_day_once_and_resolves_when_renewed(world: World) -> None:
    # 31 days left with a 30-day warning: nothing yet.
    world.registry.domains[DOMAIN] = rdap_domain(DOMAIN, expires=in_days(31))
    _, filed = await world.jobs.check_domain(world.site_id)
    assert filed.changes.opened == []

    # The next day: 30 days left, the warning opens and alerts once.
    world.registry.domains[DOMAIN] = rdap_domain(DOMAIN, expires=in_days(30))
    _, filed = await world.jobs.check_domain(world.site_id)
    assert [(s.type, s.severity) for s in filed.changes.opened] == [("expiry", "medium")]
    _, again = await world.jobs.check_domain(world.site_id)
    assert again.changes.opened == [] and again.changes.resolved == []
    with world.db.session() as session:
        assert _open(session) == {("expiry", DOMAIN): "medium"}
        [alert] = _events(session, DomainEventKind.DOMAIN_ALERT)
        assert alert.data["issues"] == [f"expiry: {DOMAIN}"]
        note = session.scalars(select(Notification)).one()
        assert "expires on" in note.body and "Example Registrar" in note.body

    # The registry is unreachable for a day: the warning stays.
    world.registry.special[DOMAIN] = _server_error
    check, filed = await world.jobs.check_domain(world.site_id)
    assert check.registration is not None and "HTTP 500" in (check.registration.error or "")
    assert filed.changes.resolved == []

    # Renewed for a year: it resolves, silently.
    del world.registry.special[DOMAIN]
    world.registry.domains[DOMAIN] = rdap_domain(DOMAIN, expires=in_days(395))
    _, filed = await world.jobs.check_domain(world.site_id)
    assert [f.type for f in filed.changes.resolved] == ["expiry"]
    with world.db.session() as session:
        assert _open(session) == {}
        assert _count(session, Notification) == 1
        resolved = _events(session, IntelEventKind.FINDING_RESOLVED)
        assert [e.data["type"] for e in resolved] == ["expiry"]


async def _server_error(request: Any) -> Any:
    from aiohttp import web

    return web.Response(status=500, text="oops")


async def test_expired_domain_is_critical(world: World) -> None:
    world.registry.domains[DOMAIN] = rdap_domain(DOMAIN, expires=in_days(-3))
    _, filed = await world.jobs.check_domain(world.site_id)
    assert [(s.type, s.severity) for s in filed.changes.opened] == [("expiry", "critical")]


async def test_an_address_moving_inside_its_network_is_only_a_journal_event(
    world: World,
) -> None:
    await world.jobs.check_domain(world.site_id)  # the baseline
    world.zone.set(HOST, "A", "192.0.2.77")  # same /24
    world.zone.set(HOST, "AAAA", "2001:db8:1:ff::10")  # same /48
    _, filed = await world.jobs.check_domain(world.site_id)
    assert filed.changes.opened == []
    assert filed.review is not None
    assert filed.review.changes["A"] == {"added": ["192.0.2.77"], "removed": ["192.0.2.10"]}
    with world.db.session() as session:
        [event] = _events(session, DomainEventKind.DNS_CHANGED)
        assert set(event.data["changes"]) == {"A", "AAAA"}
        assert _count(session, Notification) == 0
        assert _open(session) == {}


async def test_an_address_in_a_new_network_alerts_until_it_moves_back(world: World) -> None:
    await world.jobs.check_domain(world.site_id)
    world.zone.set(HOST, "A", "198.51.100.66")
    _, filed = await world.jobs.check_domain(world.site_id)
    assert [(s.type, s.package) for s in filed.changes.opened] == [
        ("network", f"{HOST} 198.51.100.0/24")
    ]
    with world.db.session() as session:
        note = session.scalars(select(Notification)).one()
        assert "network not seen before" in note.body and "198.51.100.66" in note.body
    world.zone.set(HOST, "A", "192.0.2.10")  # the host fixed it
    _, filed = await world.jobs.check_domain(world.site_id)
    assert [f.type for f in filed.changes.resolved] == ["network"]


async def test_changed_name_servers_alert_and_a_planned_move_is_accepted(world: World) -> None:
    await world.jobs.check_domain(world.site_id)
    world.zone.set(DOMAIN, "NS", "ns1.evil.example", "ns2.evil.example")
    _, filed = await world.jobs.check_domain(world.site_id)
    assert [(s.type, s.severity) for s in filed.changes.opened] == [("ns", "high")]
    with world.db.session() as session:
        assert "ns1.evil.example" in session.scalars(select(Notification)).one().body

    # It was the agency's own registrar move: accepted, the alert resolves and stays quiet.
    with world.db.session() as session, session.begin():
        accepted = domain_watch.accept_dns(
            session, world.site_id, by="anna", why="moved to new DNS host", now=datetime.now(UTC)
        )
    assert [f.type for f in accepted.changes.resolved] == ["ns"]
    _, filed = await world.jobs.check_domain(world.site_id)
    assert filed.changes.opened == []
    with world.db.session() as session:
        [event] = _events(session, DomainEventKind.DNS_ACCEPTED)
        assert event.data["by"] == "anna" and event.data["why"] == "moved to new DNS host"
        assert _open(session) == {}


async def test_a_dns_server_that_fails_changes_nothing(world: World, tmp_path: Path) -> None:
    await world.jobs.check_domain(world.site_id)
    dead = Settings(
        **{**world.jobs.settings.model_dump(), "dns_servers": ["127.0.0.1:9"], "dns_timeout": 0.3}
    )
    jobs = IntelJobs(world.db, dead, vault=VAULT)
    check, filed = await jobs.check_domain(world.site_id)
    assert check.dns is not None and set(check.dns.failed) == {"A", "AAAA", "CNAME", "NS", "MX"}
    assert filed.review is None and filed.changes.opened == []
    with world.db.session() as session:
        view = domain_watch.domain_views(session, [world.site_id])[world.site_id]
        assert view.records["A"] == ["192.0.2.10"]  # the last seen set is kept
        assert _events(session, DomainEventKind.DNS_CHANGED) == []


async def test_serve_checks_each_due_site_once_per_interval(world: World) -> None:
    assert any(s.name == "domain-watch" for s in world.jobs.schedules())
    assert await world.jobs.domains_due() == 1
    assert await world.jobs.domains_due() == 0  # checked: not due for a day
    assert world.registry.asked == [DOMAIN]
    assert world.registry.bootstraps == 1


async def test_the_report_reads_a_periods_changes_and_issues(world: World) -> None:
    start = datetime.now(UTC) - timedelta(minutes=1)
    await world.jobs.check_domain(world.site_id)
    world.zone.set(HOST, "A", "198.51.100.66")
    await world.jobs.check_domain(world.site_id)
    world.zone.set(HOST, "A", "192.0.2.10")
    await world.jobs.check_domain(world.site_id)
    end = datetime.now(UTC) + timedelta(minutes=1)
    with world.db.session() as session:
        period = domain_watch.domain_period(session, [world.site_id, 999], start, end)
        before = domain_watch.domain_period(session, [world.site_id], start - timedelta(1), start)
    assert period == {world.site_id: domain_watch.DomainPeriod(2, 1, 1)}
    assert before == {}
