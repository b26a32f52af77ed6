"""What the kill tests put into the database before the fleet starts, and read back after.

The reading is plain SQL on the shared database: the test counts what the processes
recorded (check results, journal events, outbox rows, task and backup runs), not what
they say about themselves.
"""

from __future__ import annotations

import itertools
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from sitekeeper.store import clients, contracts, plans, sites, users
from sitekeeper.store.database import Database
from sitekeeper.vault import Vault


@dataclass(frozen=True)
class Seeded:
    """The agency the fleet serves: one client on a plan, its sites, an admin's API token."""

    site_ids: list[int]  # by the simulator's site index
    names: list[str]
    token: str


def seed(db: Database, vault: Vault, urls: list[str], interval: int) -> Seeded:
    """One client whose plan checks every ``interval`` seconds, a site per URL."""
    now = datetime.now(UTC)
    with db.session() as s:
        client = clients.add_client(s, vault, name="Fleet", language="en", now=now)
        plan = plans.add_plan(s, name="Fast", check_interval=interval, now=now)
        contract = contracts.add_contract(
            s, client_id=client.id, plan_id=plan.id, start=now.date(), now=now
        )
        names = [f"sim-{i:04d}" for i in range(len(urls))]
        ids = [
            sites.add_site(
                s,
                sites.SiteFields(url=url, name=name, client=client, contract=contract),
                now,
                default_interval=interval,
            ).id
            for url, name in zip(urls, names, strict=True)
        ]
    return Seeded(ids, names, admin_token(db))


def admin_token(db: Database) -> str:
    """An API token of a new admin, for the web process's API."""
    now = datetime.now(UTC)
    with db.session() as s:
        admin = users.add_user(
            s,
            email="ops@agency.example",
            role="admin",
            password=secrets.token_urlsafe(16),
            now=now,
        )
        token, _ = users.create_token(s, admin, "kill tests", now)
    return token


def check_times(db: Database) -> dict[int, list[float]]:
    """Every stored check result's time (s) per site, oldest first (the default location)."""
    out: dict[int, list[float]] = {}
    with db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT site_id, ts_ms FROM check_raw WHERE location = '' ORDER BY site_id, ts_ms")
        )
        for site_id, ts_ms in rows:
            out.setdefault(int(site_id), []).append(ts_ms / 1000)
    return out


def sites_checked(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.scalar(text("SELECT count(DISTINCT site_id) FROM check_raw")) or 0)


def sites_checked_since(db: Database, since: float) -> int:
    with db.engine.connect() as conn:
        found = conn.scalar(
            text("SELECT count(DISTINCT site_id) FROM check_raw WHERE ts_ms >= :t"),
            {"t": int(since * 1000)},
        )
        return int(found or 0)


def event_counts(db: Database, *kinds: str) -> Counter[tuple[str, int | None]]:
    """How many journal events of each kind per site."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT kind, site_id FROM events WHERE kind = ANY(:k)"), {"k": list(kinds)}
        )
        return Counter((str(kind), site_id) for kind, site_id in rows)


def incidents(db: Database) -> list[dict[str, Any]]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, site_id, kind, opened_at, closed_at FROM incidents ORDER BY id")
        )
        return [dict(r._mapping) for r in rows]


def outbox(db: Database) -> list[dict[str, Any]]:
    """Every outbox row: status, attempts, the event it came from (its kind and site),
    when it was queued and sent (s)."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT n.id, n.event_id, n.status, n.attempts, n.created_at, n.sent_at,"
                " e.kind AS event, e.site_id FROM notifications n"
                " LEFT JOIN events e ON e.id = n.event_id ORDER BY n.id"
            )
        )
        return [
            dict(r._mapping) | {"queued": _seconds(r.created_at), "sent": _seconds(r.sent_at)}
            for r in rows
        ]


def _seconds(at: datetime | None) -> float | None:
    """A stored time as seconds since the epoch (stored times are UTC)."""
    if at is None:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def sent_events(db: Database) -> Counter[int]:
    """``notification.sent`` journal events per outbox row."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT (data->>'notification_id')::int FROM events WHERE kind = :k"),
            {"k": "notification.sent"},
        )
        return Counter(int(r[0]) for r in rows)


def spacings(times: list[float]) -> list[float]:
    """Seconds between consecutive stored checks of one site."""
    return [b - a for a, b in itertools.pairwise(times)]


def tasks(db: Database) -> dict[int, tuple[str, str | None]]:
    """Every task a person asked for (not the scheduler's planned work): id -> (status,
    error)."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, status, error FROM tasks WHERE requested_by IS NOT NULL ORDER BY id")
        )
        return {int(r[0]): (str(r[1]), r[2]) for r in rows}


def task(db: Database, task_id: int) -> dict[str, Any]:
    """One task row: status, error, the worker that took it last."""
    with db.engine.connect() as conn:
        row = conn.execute(
            text("SELECT id, status, error, worker FROM tasks WHERE id = :i"), {"i": task_id}
        ).one()
        return dict(row._mapping)


def backup_runs(db: Database, site_id: int) -> list[dict[str, Any]]:
    """The site's backup runs, oldest first."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, status, error, snapshot_id FROM backup_runs"
                " WHERE site_id = :s ORDER BY id"
            ),
            {"s": site_id},
        )
        return [dict(r._mapping) for r in rows]
