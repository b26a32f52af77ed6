"""Named queries of the uptime monitor: load what checks need, store what they found.

Hot path: both work in bulk (one query per batch, not per site) so that a
2-core machine sustains 10,000 sites at a one-minute interval.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, case, func, select
from sqlalchemy.orm import Session

from sitekeeper.domain.checks import ERROR_CODES, CheckResult, split_check
from sitekeeper.domain.incidents import IncidentKind
from sitekeeper.store import site_summary
from sitekeeper.store.dialect import upsert_insert
from sitekeeper.store.locations import DEFAULT, plan_locations, stored
from sitekeeper.store.tables import (
    CheckRaw,
    Client,
    Contract,
    Incident,
    Plan,
    Site,
    SiteState,
)

DEFAULT_TLS_WARN_DAYS = 14


@dataclass(slots=True)
class CheckTarget:
    """Everything one check of one site needs, loaded in bulk."""

    site_id: int
    name: str
    url: str
    probe: str  # the check kind: which registered probe checks this site
    options: dict[str, Any]  # that probe's options, as stored (it validates them)
    client_id: int | None
    client_name: str | None
    client_alert_urls: list[str]
    client_language: str
    tls_warn_days: int
    previously_up: bool | None
    interval: int = 300  # the plan's check interval (s)
    check_locations: int = 1  # locations that check it (plan option; > 1: domain.quorum)
    open_kinds: frozenset[IncidentKind] = field(default_factory=frozenset)


def load_targets(conn: Connection, site_ids: Sequence[int]) -> dict[int, CheckTarget]:
    """Check targets for the given sites (paused or deleted sites are left out)."""
    if not site_ids:
        return {}
    stmt = (
        select(
            Site.id,
            Site.name,
            Site.url,
            Site.check_options,
            Site.client_id,
            Client.name,
            Client.alert_urls,
            Client.language,
            Plan.tls_warn_days,
            SiteState.up,
            Plan.check_interval,
            Plan.options,
        )
        .outerjoin(Client, Client.id == Site.client_id)
        .outerjoin(Contract, Contract.id == Site.contract_id)
        .outerjoin(Plan, Plan.id == Contract.plan_id)
        .outerjoin(SiteState, SiteState.site_id == Site.id)
        .where(Site.id.in_(site_ids), Site.paused.is_(False))
    )
    targets = {}
    for row in conn.execute(stmt):
        stored = json.loads(row[3]) if isinstance(row[3], str) else row[3]
        probe, options = split_check(stored)
        targets[row[0]] = CheckTarget(
            site_id=row[0],
            name=row[1],
            url=row[2],
            probe=probe,
            options=options,
            client_id=row[4],
            client_name=row[5],
            client_alert_urls=list(row[6] or []),
            client_language=row[7] or "en",
            tls_warn_days=row[8] if row[8] is not None else DEFAULT_TLS_WARN_DAYS,
            previously_up=row[9],
            interval=row[10] or 300,
            check_locations=plan_locations(row[11]),
        )
    open_rows = conn.execute(
        select(Incident.site_id, Incident.kind).where(
            Incident.site_id.in_(list(targets)), Incident.closed_at.is_(None)
        )
    )
    opened: dict[int, set[IncidentKind]] = {}
    for site_id, kind in open_rows:
        opened.setdefault(site_id, set()).add(IncidentKind(kind))
    for site_id, kinds in opened.items():
        targets[site_id].open_kinds = frozenset(kinds)
    return targets


def _clip(text: str | None, size: int = 500) -> str | None:
    """Site-controlled text, cut to the column's size."""
    return text[:size] if text else None


def store_results(
    conn: Connection, results: Iterable[tuple[int, CheckResult]], location: str = DEFAULT
) -> int:
    """Append raw results taken from ``location`` and refresh each site's latest state,
    in bulk."""
    rows = list(results)
    store_raw(conn, rows, location)
    return store_state(conn, rows)


def store_raw(
    conn: Connection, results: Sequence[tuple[int, CheckResult]], location: str = DEFAULT
) -> int:
    """Append raw results taken from ``location``, in bulk."""
    where = stored(location)
    raw_rows = [
        {
            "site_id": site_id,
            "ts_ms": int(r.checked_at.timestamp() * 1000),
            "up": r.up,
            "status": r.status,
            "response_ms": r.response_ms,
            "error": ERROR_CODES[r.error],
            "location": where,
        }
        for site_id, r in results
    ]
    if raw_rows:
        conn.execute(upsert_insert(conn)(CheckRaw).on_conflict_do_nothing(), raw_rows)
    return len(raw_rows)


def store_state(
    conn: Connection,
    results: Sequence[tuple[int, CheckResult]],
    judged: Mapping[int, bool] | None = None,
) -> int:
    """Refresh each site's latest state from its result, in bulk; ``judged`` overrides
    up/down where several locations decide it together (domain.quorum), so one
    location's unconfirmed failure neither flips the fleet view nor restarts ``since``."""
    judged = judged or {}
    state_rows: list[dict[str, Any]] = []
    for site_id, r in results:
        tls = r.tls
        state_rows.append(
            {
                "site_id": site_id,
                "up": judged.get(site_id, r.up),
                "checked_at": r.checked_at,
                "status": r.status,
                "error": str(r.error) if r.error else None,
                "detail": _clip(r.detail),
                "response_ms": r.response_ms,
                "tls_expires": tls.expires if tls else None,
                "tls_issuer": _clip(tls.issuer) if tls else None,
                "tls_error": _clip(tls.error) if tls else None,
            }
        )
    if not state_rows:
        return 0
    stmt = upsert_insert(conn)(SiteState)
    # `since` moves only when up/down flips, so the fleet view can show the state's age.
    changed = SiteState.up.is_distinct_from(stmt.excluded.up)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[SiteState.site_id],
            set_={
                **{k: stmt.excluded[k] for k in state_rows[0] if k != "site_id"},
                "since": case((changed, stmt.excluded.checked_at), else_=SiteState.since),
            },
        ),
        [dict(row, since=row["checked_at"]) for row in state_rows],
    )
    return len(state_rows)


def open_incident(
    session: Session, site_id: int, kind: IncidentKind, cause: str | None, at: datetime
) -> Incident:
    """Insert an open incident (the unique partial index forbids a second open one)."""
    incident = Incident(site_id=site_id, kind=str(kind), opened_at=at, cause=cause)
    session.add(incident)
    session.flush()
    site_summary.refresh_incidents(session, [site_id])
    return incident


def close_incident(
    session: Session, site_id: int, kind: IncidentKind, at: datetime
) -> Incident | None:
    """Close the open incident of that kind, if any, and return it."""
    incident = session.scalars(
        select(Incident).where(
            Incident.site_id == site_id, Incident.kind == str(kind), Incident.closed_at.is_(None)
        )
    ).first()
    if incident is not None:
        incident.closed_at = at
        site_summary.refresh_incidents(session, [site_id])
    return incident


def open_outages(conn: Connection, site_ids: Sequence[int]) -> dict[int, frozenset[IncidentKind]]:
    """Open down/unreachable incidents of these sites, as committed or written so far."""
    kinds = [str(IncidentKind.DOWN), str(IncidentKind.UNREACHABLE)]
    rows = conn.execute(
        select(Incident.site_id, Incident.kind).where(
            Incident.site_id.in_(site_ids), Incident.closed_at.is_(None), Incident.kind.in_(kinds)
        )
    )
    found: dict[int, set[IncidentKind]] = {}
    for site_id, kind in rows:
        found.setdefault(site_id, set()).add(IncidentKind(kind))
    return {site_id: frozenset(kinds_) for site_id, kinds_ in found.items()}


def count_down(conn: Connection) -> int:
    """Sites whose latest check failed (``site_state``: one row per site)."""
    query = select(func.count()).select_from(SiteState).where(SiteState.up.is_(False))
    return conn.scalar(query) or 0


def now_utc() -> datetime:
    """Aware UTC now (one place, so tests can travel in time)."""
    return datetime.now(UTC)
