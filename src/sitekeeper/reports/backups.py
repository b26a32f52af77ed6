"""A site's backups in a period, from the journal: taken, failed, the last restore drill
and the retention the plan keeps.

The journal is append-only, so a past period gives the same numbers later, while a run's
row changes (a snapshot pruned, a drill verifying it months after). Safety snapshots (taken
before an update or a restore) are not the plan's backups and are not counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sitekeeper.domain.backup_events import BackupEventKind
from sitekeeper.domain.plans import PlanOptions
from sitekeeper.store.backup_tables import SAFETY
from sitekeeper.store.tables import Event

TAKEN = (BackupEventKind.BACKUP_TAKEN,)
FAILED = (BackupEventKind.BACKUP_FAILED, BackupEventKind.BACKUP_INTERRUPTED)
PRUNED = (BackupEventKind.BACKUP_PRUNED,)
PASSED = (BackupEventKind.BACKUP_VERIFIED,)
DRILLS = (*PASSED, BackupEventKind.BACKUP_VERIFICATION_FAILED)
KINDS = (*TAKEN, *FAILED, *PRUNED)


@dataclass(frozen=True, slots=True)
class DrillFigure:
    """A restore drill: when, whether the restored copy passed, of which snapshot."""

    at: datetime
    ok: bool
    snapshot: str | None
    event_id: int
    site_id: int | None = None


@dataclass(frozen=True, slots=True)
class Retention:
    """What the plan keeps (restic's --keep-daily/weekly/monthly)."""

    schedule: str
    keep_daily: int
    keep_weekly: int
    keep_monthly: int


@dataclass(frozen=True, slots=True)
class BackupFigures:
    """One site's backups of the period, with the journal events and runs behind them."""

    taken: int
    failed: int
    taken_event_ids: list[int]
    failed_event_ids: list[int]
    run_ids: list[int]
    prunes: int
    prune_event_ids: list[int]
    last_drill: DrillFigure | None  # the latest before the period's end (maybe earlier)
    last_passed_drill: DrillFigure | None  # the latest that passed (the same when it did)
    retention: Retention | None  # None: the site has no plan


def backups_of(
    events: Sequence[Event],
    last_drill: Event | None,
    last_passed: Event | None,
    options: PlanOptions | None,
) -> BackupFigures:
    """The figures from one site's backup events of the period and its latest drills."""
    own = [e for e in sorted(events, key=lambda e: e.id) if _data(e).get("reason") != SAFETY]
    taken = [e for e in own if e.kind in TAKEN]
    failed = [e for e in own if e.kind in FAILED]
    pruned = [e for e in own if e.kind in PRUNED]
    runs = sorted({int(r) for e in (*taken, *failed) if (r := _data(e).get("run")) is not None})
    return BackupFigures(
        taken=len(taken),
        failed=len(failed),
        taken_event_ids=[e.id for e in taken],
        failed_event_ids=[e.id for e in failed],
        run_ids=runs,
        prunes=len(pruned),
        prune_event_ids=[e.id for e in pruned],
        last_drill=drill(last_drill) if last_drill is not None else None,
        last_passed_drill=drill(last_passed) if last_passed is not None else None,
        retention=(
            Retention(options.backup, options.keep_daily, options.keep_weekly, options.keep_monthly)
            if options is not None
            else None
        ),
    )


def drill(event: Event) -> DrillFigure:
    """A drill's journal event as a figure."""
    snapshot = _data(event).get("snapshot")
    return DrillFigure(
        at=event.ts,
        ok=event.kind == BackupEventKind.BACKUP_VERIFIED,
        snapshot=str(snapshot) if snapshot is not None else None,
        event_id=event.id,
        site_id=event.site_id,
    )


def _data(event: Event) -> dict[str, Any]:
    return dict(event.data or {})
