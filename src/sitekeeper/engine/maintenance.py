"""Periodic housekeeping of `serve`: roll-ups, pruning of raw results, the fleet summary's check."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from sitekeeper.domain.events import EventKind
from sitekeeper.store import journal, site_summary, tasks
from sitekeeper.store.rollup import pending_days, prune_raw, rollup_day

log = logging.getLogger(__name__)


def rollup_and_prune(session: Session, today: date, retention_days: int) -> tuple[int, int]:
    """Roll up every complete day not yet rolled up, then prune; returns (days, rows pruned)."""
    conn = session.connection()
    days = pending_days(conn, today)
    for day in days:
        log.info("rolled up %s: %d sites", day, rollup_day(conn, day))
    pruned = prune_raw(conn, today, retention_days)
    if days or pruned:
        journal.record(
            session,
            EventKind.CHECKS_ROLLED_UP,
            data={"days": [d.isoformat() for d in days], "raw_pruned": pruned},
            ts=datetime.now(UTC),
        )
    return len(days), pruned


def prune_tasks(session: Session, now: datetime, retention_days: int) -> int:
    """Forget finished tasks past retention (the journal keeps what they did)."""
    pruned = tasks.prune_finished(session.connection(), now - timedelta(days=retention_days))
    if pruned:
        log.info("pruned %d finished tasks", pruned)
    return pruned


def check_summary(session: Session) -> int:
    """Rebuild the fleet summary; drift means a writer missed a refresh, so say so loudly."""
    drifted = site_summary.reconcile(session)
    if drifted:
        log.warning(
            "fleet summary had drifted for %d sites (corrected); please report this as a bug",
            drifted,
        )
    return drifted
