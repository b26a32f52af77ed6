"""Incidents of sites checked from two locations: the second opinion before "down".

Two locations are two recorders' batches with their own location name, as two
check workers in eu-central and us-east write them; SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from alembic import command
from sqlalchemy import select

from sitekeeper.domain.checks import CheckResult, ErrorCategory
from sitekeeper.domain.journal_text import describe
from sitekeeper.engine.check_runner import outcome_of
from sitekeeper.engine.location_watch import watch_locations
from sitekeeper.engine.recorder import persist
from sitekeeper.store import plans
from sitekeeper.store.database import Database, alembic_config, upgrade
from sitekeeper.store.locations import by_location, latest_views
from sitekeeper.store.monitoring import load_targets
from sitekeeper.store.tables import (
    CheckRaw,
    Client,
    Contract,
    Event,
    Incident,
    Notification,
    Plan,
    SiteState,
)
from tests.store import factories
from tests.store.factories import NOW

URL = "https://shop.example"


def _site(db: Database, locations: int) -> int:
    with db.session() as s:
        plan = plans.add_plan(
            s,
            name="Multi",
            check_interval=60,
            price=Decimal(9),
            options={"check_locations": locations},
        )
        client = factories.baker(s)
        site = factories.site(s, client, URL, factories.contract(s, client, plan))
        return site.id


def _check(db: Database, site_id: int, location: str, up: bool, after_s: float) -> None:
    """One location's confirmed result, recorded the way its recorder does."""
    result = CheckResult(
        url=URL,
        up=up,
        status=200 if up else 503,
        error=None if up else ErrorCategory.HTTP_STATUS,
        detail=None if up else "503",
        response_ms=120 if up else 30,
        checked_at=NOW + timedelta(seconds=after_s),
    )
    with db.session() as s:
        target = load_targets(s.connection(), [site_id])[site_id]
        persist(s, [outcome_of(target, result)], None, location)


def _incidents(db: Database, site_id: int) -> list[tuple[str, str | None, bool]]:
    with db.session() as s:
        rows = s.scalars(select(Incident).where(Incident.site_id == site_id).order_by(Incident.id))
        return [(i.kind, i.cause, i.closed_at is None) for i in rows]


def _journal(db: Database, site_id: int) -> list[str]:
    with db.session() as s:
        events = s.scalars(select(Event).where(Event.site_id == site_id).order_by(Event.id))
        return [describe(e.kind, e.data).title for e in events if e.kind.startswith("incident.")]


def test_a_failure_opens_no_incident_until_a_second_location_confirms_it(db: Database) -> None:
    site = _site(db, 2)
    _check(db, site, "eu-central", up=True, after_s=0)
    _check(db, site, "us-east", up=True, after_s=20)
    _check(db, site, "eu-central", up=False, after_s=60)
    assert _incidents(db, site) == []  # one opinion only: nobody is woken up
    _check(db, site, "us-east", up=False, after_s=80)
    assert _incidents(db, site) == [("down", "http_status: 503 (down from 2 of 2 locations)", True)]
    _check(db, site, "eu-central", up=False, after_s=120)  # still down: nothing new
    _check(db, site, "eu-central", up=True, after_s=180)
    _check(db, site, "us-east", up=True, after_s=200)
    assert [(kind, is_open) for kind, _, is_open in _incidents(db, site)] == [("down", False)]
    assert _journal(db, site) == ["Site went down", "Site back up"]


def test_a_site_failing_from_one_location_only_is_unreachable_from_it(db: Database) -> None:
    site = _site(db, 2)
    _check(db, site, "us-east", up=False, after_s=0)
    _check(db, site, "eu-central", up=True, after_s=30)  # reached meanwhile from elsewhere
    assert _incidents(db, site) == []  # a blip at us-east, or the site coming back?
    _check(db, site, "us-east", up=False, after_s=60)  # still failing there: a path problem
    assert _incidents(db, site) == [
        ("unreachable", "http_status: 503 (unreachable from us-east)", True)
    ]
    _check(db, site, "eu-central", up=False, after_s=90)  # now both: a real outage
    assert [(kind, is_open) for kind, _, is_open in _incidents(db, site)] == [
        ("unreachable", False),
        ("down", True),
    ]
    assert _journal(db, site) == ["Site unreachable", "Site reachable again", "Site went down"]


def test_with_one_location_a_confirmed_failure_opens_the_incident_at_once(db: Database) -> None:
    site = _site(db, 1)
    _check(db, site, "default", up=False, after_s=0)
    assert _incidents(db, site) == [("down", "http_status: 503", True)]
    with db.session() as s:
        assert s.scalars(select(CheckRaw.location)).all() == [""]  # as small as before


def test_two_locations_checking_in_the_same_millisecond_both_count(db: Database) -> None:
    site = _site(db, 3)
    for location in ("eu-central", "us-east", "ap-south"):
        _check(db, site, location, up=location != "ap-south", after_s=0)
    with db.engine.connect() as conn:
        views = latest_views(conn, [site], NOW, 60)[site]
    assert sorted((v.location, v.up) for v in views) == [
        ("ap-south", False),
        ("eu-central", True),
        ("us-east", True),
    ]


def test_a_silent_location_leaves_the_decision_to_the_one_still_checking(db: Database) -> None:
    site = _site(db, 2)
    _check(db, site, "eu-central", up=True, after_s=0)  # eu-central: silent after this
    for minute in range(4, 7):
        _check(db, site, "us-east", up=False, after_s=minute * 60)
    assert _incidents(db, site) == []  # unconfirmed for two intervals: still waiting
    _check(db, site, "us-east", up=False, after_s=7 * 60)  # three intervals alone: it counts
    assert [(kind, is_open) for kind, _, is_open in _incidents(db, site)] == [("down", True)]


def test_the_migration_keeps_every_result_down_and_up_again(db: Database) -> None:
    site = _site(db, 2)
    _check(db, site, "default", up=True, after_s=0)
    _check(db, site, "us-east", up=False, after_s=1)
    command.downgrade(alembic_config(db.engine), "0017")  # just below 0018
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT ts_ms, up FROM check_raw ORDER BY ts_ms")).all() == [
            (int(NOW.timestamp() * 1000), True),
            (int(NOW.timestamp() * 1000) + 1000, False),
        ]
    upgrade(db.engine)
    with db.session() as s:
        assert s.execute(select(CheckRaw.location, CheckRaw.up)).all() == [
            ("", True),
            ("", False),  # rows from before locations: the default one's
        ]


def test_a_silent_location_is_one_alert_for_the_agency_not_a_storm(db: Database) -> None:
    sites = [_site(db, 2)] + [_other_site(db, n) for n in range(3)]
    for site in sites:
        _check(db, site, "eu-central", up=True, after_s=0)
    for minute in range(1, 6):  # us-east keeps checking; eu-central's workers are gone
        for site in sites:
            _check(db, site, "us-east", up=True, after_s=minute * 60)
    hooks = ["json://127.0.0.1:9/agency"]

    def watch(after_s: int) -> tuple[list[str], list[str]]:
        with db.session() as s:
            return watch_locations(
                s,
                NOW + timedelta(seconds=after_s),
                vault=factories.VAULT,
                global_urls=hooks,
                default_interval=300,
            )

    assert watch(2 * 60) == ([], [])  # two intervals without: not yet silent
    assert watch(5 * 60) == (["eu-central"], [])
    assert watch(6 * 60) == ([], [])  # said once, whoever watches again
    _check(db, sites[0], "eu-central", up=True, after_s=7 * 60)
    assert watch(7 * 60) == ([], ["eu-central"])
    with db.session() as s:
        events = s.scalars(select(Event).where(Event.kind.like("location.%")).order_by(Event.id))
        said = [describe(e.kind, e.data) for e in events]
        alerts = s.scalars(select(Notification.title).order_by(Notification.id)).all()
        assert s.scalars(select(Incident)).all() == []  # no site incident at all
    assert [(t.title, t.detail) for t in said] == [
        ("Check location silent", "eu-central · no results since 2026-03-01 12:00 UTC"),
        ("Check location back", "eu-central · silent for 2 min"),
    ]
    assert alerts == ["Check location silent: eu-central", "Check location back: eu-central"]


def _other_site(db: Database, n: int) -> int:
    with db.session() as s:
        plan = s.scalars(select(Plan).where(Plan.name == "Multi")).one()
        contract = s.scalars(select(Contract).where(Contract.plan_id == plan.id)).first()
        client = s.get(Client, contract.client_id) if contract else None
        assert client is not None and contract is not None
        return factories.site(s, client, f"https://shop{n}.example", contract).id


def test_response_times_per_location(db: Database) -> None:
    site = _site(db, 2)
    _check(db, site, "eu-central", up=True, after_s=0)
    _check(db, site, "us-east", up=True, after_s=10)
    _check(db, site, "us-east", up=False, after_s=70)
    with db.engine.connect() as conn:
        figures = by_location(conn, site, NOW)
    assert {name: (s.checks, s.up_checks, s.p50_ms) for name, s in figures.items()} == {
        "eu-central": (1, 1, 120),
        "us-east": (2, 1, 120),  # a failure's time is no response time
    }


def test_the_fleet_view_follows_the_locations_verdict_not_the_last_result(db: Database) -> None:
    site = _site(db, 2)

    def state() -> tuple[bool | None, int]:
        with db.session() as s:
            row = s.get(SiteState, site)
            assert row is not None
            return row.up, int((row.since - NOW).total_seconds())

    _check(db, site, "eu-central", up=True, after_s=0)
    _check(db, site, "us-east", up=False, after_s=20)  # unconfirmed
    assert state() == (True, 0)  # still up, and up since the start
    _check(db, site, "eu-central", up=True, after_s=40)
    _check(db, site, "us-east", up=False, after_s=80)  # unreachable from us-east only
    assert state() == (True, 0)
    _check(db, site, "eu-central", up=False, after_s=100)  # confirmed: down
    assert state() == (False, 100)
    _check(db, site, "eu-central", up=True, after_s=160)  # one says up: not yet
    assert state() == (False, 100)
    _check(db, site, "us-east", up=True, after_s=170)
    assert state() == (True, 170)
