"""Keeping ``site_summary`` true: each writer refreshes its sites' columns from the source rows.

The fleet view sorts 10,000+ sites by "problems first" on every poll; reading
one summary row per site instead of aggregating incidents, findings and
backup runs per request is what keeps that page and the API list fast.

A refresh recomputes from the source tables (never increments), inside the
writer's transaction, and writes only that source's columns: writers of
different sources never overwrite each other's figures. ``reconcile`` rebuilds
everything and reports drift, so a missed refresh is corrected and shows in
the log instead of lying quietly.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from sitekeeper.domain.compromise import SIGN_FROM, severities_from
from sitekeeper.domain.findings import UPDATE, VULNERABILITY
from sitekeeper.domain.incidents import IncidentKind
from sitekeeper.store.backup_tables import FAILED, OK, RUNNING, SAFETY, BackupRun
from sitekeeper.store.dialect import upsert_insert
from sitekeeper.store.intel_tables import Finding
from sitekeeper.store.tables import Incident, Site, SiteSummary

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class _Source:
    """One source table's columns in the summary and their values for a site without rows."""

    columns: tuple[str, ...]
    empty: tuple[Any, ...]


INCIDENTS = _Source(("down_since", "tls_incident", "open_incidents"), (None, False, 0))
FINDINGS = _Source(("updates", "security_updates", "vulns", "compromised"), (0, 0, 0, 0))
BACKUPS = _Source(("last_backup_at", "backup_failed"), (None, False))
_SOURCES = (INCIDENTS, FINDINGS, BACKUPS)
_ALL_EMPTY = {c: v for s in _SOURCES for c, v in zip(s.columns, s.empty, strict=True)}
_EVERYTHING = _Source(tuple(_ALL_EMPTY), tuple(_ALL_EMPTY.values()))


def _chunks(site_ids: Collection[int] | None) -> Iterator[list[int] | None]:
    if site_ids is None:
        yield None
        return
    ids = sorted(set(site_ids))
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _aware(value: datetime | str | None) -> datetime | None:
    """An aggregate loses the column type on SQLite (text); give it back its UTC zone."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _in(column: Any, ids: list[int] | None) -> ColumnElement[bool]:
    return column.in_(ids) if ids is not None else and_(True)


def _count(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _incidents(session: Session, ids: list[int] | None) -> dict[int, tuple[Any, ...]]:
    down = Incident.kind == str(IncidentKind.DOWN)
    tls = Incident.kind == str(IncidentKind.TLS_EXPIRING)
    rows = session.execute(
        select(
            Incident.site_id,
            func.min(case((down, Incident.opened_at))),
            _count(tls),
            func.count(),
        )
        .where(Incident.closed_at.is_(None), _in(Incident.site_id, ids))
        .group_by(Incident.site_id)
    )
    return {site: (_aware(since), bool(tls_n), int(n)) for site, since, tls_n, n in rows}


def _hack_sign() -> ColumnElement[bool]:
    """An open finding that says the site is hacked (``domain.compromise``), in SQL."""
    severity = func.lower(Finding.data["severity"].as_string())
    return or_(
        *(and_(Finding.kind == kind, severity.in_(severities_from(kind))) for kind in SIGN_FROM)
    )


def _findings(session: Session, ids: list[int] | None) -> dict[int, tuple[Any, ...]]:
    update = Finding.kind == UPDATE
    rows = session.execute(
        select(
            Finding.site_id,
            _count(update),
            _count(and_(update, Finding.security.is_(True))),
            _count(Finding.kind == VULNERABILITY),
            _count(_hack_sign()),
        )
        .where(Finding.resolved_at.is_(None), _in(Finding.site_id, ids))
        .group_by(Finding.site_id)
    )
    return {site: (int(u), int(s), int(v), int(c)) for site, u, s, v, c in rows}


def _backups(session: Session, ids: list[int] | None) -> dict[int, tuple[Any, ...]]:
    mine = and_(BackupRun.reason != SAFETY, _in(BackupRun.site_id, ids))
    last_ok: dict[int, datetime | str | None] = {
        site: at
        for site, at in session.execute(
            select(BackupRun.site_id, func.max(BackupRun.started_at))
            .where(mine, BackupRun.status == OK)
            .group_by(BackupRun.site_id)
        )
    }
    newest = (
        select(
            BackupRun.site_id,
            BackupRun.status,
            func.row_number()
            .over(
                partition_by=BackupRun.site_id,
                order_by=(BackupRun.started_at.desc(), BackupRun.id.desc()),
            )
            .label("n"),
        )
        .where(mine, BackupRun.status != RUNNING)
        .subquery()
    )
    last_status: dict[int, str] = {
        site: status
        for site, status in session.execute(
            select(newest.c.site_id, newest.c.status).where(newest.c.n == 1)
        )
    }
    return {
        site: (_aware(last_ok.get(site)), last_status.get(site) == FAILED)
        for site in set(last_ok) | set(last_status)
    }


_COMPUTE = {INCIDENTS: _incidents, FINDINGS: _findings, BACKUPS: _backups}


def _upsert(session: Session, source: _Source, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    upsert = upsert_insert(session.connection())
    stmt = upsert(SiteSummary)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[SiteSummary.site_id],
            set_={c: stmt.excluded[c] for c in source.columns},
        ),
        [{**_ALL_EMPTY, **row} for row in rows],
    )


def refresh(session: Session, source: _Source, site_ids: Collection[int]) -> None:
    """Recompute ``source``'s columns of ``site_ids`` from the source rows (call after a write).

    Sites that no longer exist are skipped (a refresh after a delete is harmless).
    """
    session.flush()  # the source rows changed through the ORM are what we count
    for ids in _chunks(site_ids):
        assert ids is not None
        values = _COMPUTE[source](session, ids)
        existing = set(session.scalars(select(Site.id).where(Site.id.in_(ids))))
        rows = [
            {
                "site_id": site,
                **dict(zip(source.columns, values.get(site, source.empty), strict=True)),
            }
            for site in ids
            if site in existing
        ]
        _upsert(session, source, rows)


def refresh_incidents(session: Session, site_ids: Collection[int]) -> None:
    """After incidents of ``site_ids`` opened or closed."""
    refresh(session, INCIDENTS, site_ids)


def refresh_findings(session: Session, site_ids: Collection[int]) -> None:
    """After findings of ``site_ids`` opened, resolved (or were acknowledged) or changed
    severity: the update and vulnerability counts and ``compromised``."""
    refresh(session, FINDINGS, site_ids)


def refresh_backups(session: Session, site_ids: Collection[int]) -> None:
    """After backup runs of ``site_ids`` finished, failed or were pruned."""
    refresh(session, BACKUPS, site_ids)


def reconcile(session: Session) -> int:
    """Rebuild every site's summary from the source rows; how many sites had drifted.

    Nonzero means a writer missed a refresh (a bug worth a log line); the
    summary is correct again either way. A site with nothing to count needs no row.
    """
    columns = [getattr(SiteSummary, c) for c in _EVERYTHING.columns]
    current = {
        row[0]: tuple(row[1:]) for row in session.execute(select(SiteSummary.site_id, *columns))
    }
    computed = [(source, _COMPUTE[source](session, None)) for source in _SOURCES]
    fixes: list[dict[str, Any]] = []
    for site in session.scalars(select(Site.id)):
        want: tuple[Any, ...] = ()
        for source, values in computed:
            want += tuple(values.get(site, source.empty))
        if want != current.get(site, _EVERYTHING.empty):
            fixes.append({"site_id": site, **dict(zip(_EVERYTHING.columns, want, strict=True))})
    _upsert(session, _EVERYTHING, fixes)
    return len(fixes)
