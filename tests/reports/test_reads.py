"""A report reads each kind of record once for all of the client's sites: the number of
statements a client's report makes does not grow with its number of sites (500 clients of
20 sites are reported in one run; see bench/report_bench.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from sqlalchemy import event, insert

from sitekeeper.domain.findings import VULNERABILITY, FindingSpec
from sitekeeper.domain.incidents import IncidentKind
from sitekeeper.reports.figures import ClientReport, client_report
from sitekeeper.reports.period import month
from sitekeeper.store import findings
from sitekeeper.store.database import Database
from sitekeeper.store.tables import CheckDaily, CheckRaw, Client, Event, Incident, SiteState
from tests.reports.seed import ECO, NOW, Month, _site, at, seed


@contextmanager
def counted(db: Database) -> Iterator[list[str]]:
    """The statements run on the database meanwhile."""
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)


def report(db: Database, ids: Month) -> tuple[ClientReport, list[str]]:
    with db.session() as session, counted(db) as statements:
        client = session.get(Client, ids.client)
        assert client is not None
        return client_report(session, client, month("2026-10", client.timezone), NOW), statements


def add_sites(db: Database, ids: Month, prefix: str, n: int) -> None:
    """``n`` more sites on the bakery's contract, each with a record of every kind the
    report reads: daily checks, an incident, backups, a drill, an update, a vulnerability
    known in the month, a certificate state."""
    with db.session() as s:
        client = s.get(Client, ids.client)
        assert client is not None
        more = [
            _site(s, client, f"{prefix}{k}", ids.contract, at("2026-09-01 00:00")) for k in range(n)
        ]
        first = date(2026, 9, 30)
        s.execute(
            insert(CheckDaily),
            [
                {"site_id": site.id, "day": first + timedelta(days=d), "checks": 288}
                | {"up_checks": 288, "p50_ms": 80, "p95_ms": 200}
                for site in more
                for d in range(33)
            ],
        )
        rows: list[dict[str, Any]] = []
        for site in more:
            s.add(
                Incident(
                    site_id=site.id,
                    kind=IncidentKind.DOWN,
                    opened_at=at("2026-10-09 08:00"),
                    closed_at=at("2026-10-09 08:10"),
                    cause="refused",
                )
            )
            s.add(SiteState(site_id=site.id, up=True, checked_at=NOW))
            for kind, when, data in (
                (
                    "backup.taken",
                    "2026-10-04 02:05",
                    {"run": 1, "reason": "scheduled", "snapshot": "s1"},
                ),
                ("backup.verified", "2026-10-20 03:00", {"snapshot": "s1", "detail": "restored"}),
                (
                    "update.applied",
                    "2026-10-18 09:00",
                    {
                        "run": 9,
                        "items": [
                            {
                                "type": "core",
                                "package": ECO,
                                "installed": "6.8.1",
                                "target": "6.8.2",
                            }
                        ],
                        "steps": [],
                    },
                ),
            ):
                rows.append(
                    {"ts": at(when), "kind": kind, "site_id": site.id, "client_id": client.id}
                    | {"data": data}
                )
        s.execute(insert(Event), rows)
        findings.reconcile(
            s,
            [
                FindingSpec(
                    site_id=site.id,
                    kind=VULNERABILITY,
                    ecosystem=ECO,
                    type="plugin",
                    package="gallery",
                    installed="1.0",
                    basis="inventory",
                    advisory_id="WF-2026-2",
                    security=True,
                )
                for site in more
            ],
            at("2026-10-26 09:00"),
            site_ids=[site.id for site in more],
        )


def test_a_reports_statements_do_not_grow_with_its_sites(db: Database) -> None:
    ids = seed(db)
    add_sites(db, ids, "few", 2)
    few, with_few = report(db, ids)
    add_sites(db, ids, "more", 20)
    many, with_many = report(db, ids)
    assert len(many.contracts[0].sites) == len(few.contracts[0].sites) + 20
    shown = {s.name: s for s in many.contracts[0].sites}
    more = shown["more5"]  # a new site's records are all there, read in the same pass
    assert (more.backups.taken, more.backups.last_drill is not None) == (1, True)
    assert (len(more.uptime.incidents), len(more.updates.applied)) == (1, 1)
    assert len(more.security.advisories) == 1
    assert len(with_many) == len(with_few), "\n".join(with_many)


def add_unrolled(db: Database, ids: Month, prefix: str, n: int) -> None:
    """``n`` sites added on 16 October at 10:00 whose days were never rolled up: raw
    checks only, one from before the site existed (another's, on an old install)."""
    with db.session() as s:
        client = s.get(Client, ids.client)
        assert client is not None
        more = [
            _site(s, client, f"{prefix}{k}", ids.contract, at("2026-10-16 10:00")) for k in range(n)
        ]
        rows = [
            {"site_id": site.id, "ts_ms": int(at(when).timestamp() * 1000), "up": up}
            | {"response_ms": 100 if up else None, "error": 0}
            for site in more
            for when, up in (
                ("2026-10-16 08:00", False),  # before the site: not its own
                ("2026-10-16 12:00", True),
                ("2026-10-17 12:00", True),
                ("2026-10-17 12:05", False),
                ("2026-10-30 12:00", True),
            )
        ]
        s.execute(insert(CheckRaw), rows)


def test_days_never_rolled_up_are_read_from_raw_checks_a_day_at_a_time_for_all_sites(
    db: Database,
) -> None:
    ids = seed(db)
    add_unrolled(db, ids, "raw", 1)
    _, with_one = report(db, ids)
    add_unrolled(db, ids, "new", 6)
    figures, with_many = report(db, ids)
    shown = {s.name: s for s in figures.contracts[0].sites}
    raw = shown["new3"].uptime
    assert (raw.checks, raw.up_checks, raw.uptime_pct) == (4, 3, 75.0)
    assert [(d.day.day, d.checks) for d in raw.days] == [(16, 1), (17, 2), (30, 1)]
    assert len(with_many) == len(with_one), "\n".join(with_many)
