"""Periodic housekeeping of `serve`: roll-ups and pruning of raw results."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from sitekeeper.domain.events import EventKind
from sitekeeper.store import journal
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
