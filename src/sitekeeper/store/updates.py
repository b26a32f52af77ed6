"""Update runs: start one, record its steps as they finish, end it with its outcome and
the journal event that says so (``update.*``), find runs whose process died."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sitekeeper.domain.update_events import UpdateEventKind
from sitekeeper.domain.updates import Check
from sitekeeper.errors import NotFound
from sitekeeper.store import journal
from sitekeeper.store.tables import Event, Site
from sitekeeper.store.update_tables import (
    APPLIED,
    FAILED,
    INTERRUPTED,
    NEEDS_REVIEW,
    POLICY,
    REFUSED,
    ROLLED_BACK,
    RUNNING,
    UpdateRun,
)

EVENT_OF = {
    APPLIED: UpdateEventKind.APPLIED,
    NEEDS_REVIEW: UpdateEventKind.NEEDS_REVIEW,
    ROLLED_BACK: UpdateEventKind.ROLLED_BACK,
    REFUSED: UpdateEventKind.REFUSED,
    FAILED: UpdateEventKind.FAILED,
    INTERRUPTED: UpdateEventKind.INTERRUPTED,
}
MAX_ERROR = 4000


def start_run(
    session: Session,
    site_id: int,
    items: list[dict[str, Any]],
    *,
    trigger: str,
    requested_by: str | None,
    now: datetime,
) -> UpdateRun:
    """A new run, ``running``, with the items it means to move (flushed: its id is known)."""
    run = UpdateRun(
        site_id=site_id,
        status=RUNNING,
        trigger=trigger,
        requested_by=requested_by,
        items=items,
        steps=[],
        started_at=now,
    )
    session.add(run)
    session.flush()
    return run


def add_step(session: Session, run_id: int, check: Check) -> None:
    """Append one finished step (its name, result, what was seen, how long it took)."""
    run = _run(session, run_id)
    run.steps = [*run.steps, asdict(check)]  # a new list: JSON columns see assignment only


def set_items(session: Session, run_id: int, items: list[dict[str, Any]]) -> None:
    """The items as the run now knows them (a package's checksum once verified)."""
    _run(session, run_id).items = items


def set_snapshot(session: Session, run_id: int, snapshot_id: str) -> None:
    """The safety snapshot the run took: what a rollback (or a human) restores from."""
    _run(session, run_id).snapshot_id = snapshot_id


def set_baseline(session: Session, run_id: int, baseline: dict[str, Any]) -> None:
    """The healthy site before the update, as the checks after it compare with."""
    _run(session, run_id).baseline = baseline


def finish_run(
    session: Session, run_id: int, status: str, now: datetime, error: str | None = None
) -> Event:
    """End the run with its outcome and journal ``update.<outcome>``; the event (for alerts)."""
    if status not in EVENT_OF:
        raise ValueError(f"not an update outcome: {status!r}")
    run = _run(session, run_id)
    run.status, run.finished_at = status, now
    run.error = error[:MAX_ERROR] if error else None
    site = session.get(Site, run.site_id)
    data: dict[str, Any] = {
        "run": run.id,
        "trigger": run.trigger,
        "items": [_item_fact(i) for i in run.items],
        "snapshot": run.snapshot_id,
        "steps": [{k: s[k] for k in ("name", "ok", "detail", "seconds")} for s in run.steps],
        "duration": round((now - run.started_at).total_seconds(), 3),
    }
    if error:
        data["error"] = error[:1000]
    return journal.record(
        session,
        EVENT_OF[status],
        site_id=run.site_id,
        client_id=site.client_id if site else None,
        data=data,
        ts=now,
    )


def running(session: Session) -> list[UpdateRun]:
    """Every run still marked ``running`` (live, or left by a process that died)."""
    return list(session.scalars(select(UpdateRun).where(UpdateRun.status == RUNNING)))


def site_runs(session: Session, site_id: int, limit: int = 20) -> list[UpdateRun]:
    """The site's latest runs, newest first."""
    query = (
        select(UpdateRun)
        .where(UpdateRun.site_id == site_id)
        .order_by(UpdateRun.started_at.desc(), UpdateRun.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def policy_runs(session: Session, site_ids: Collection[int]) -> list[UpdateRun]:
    """The runs the plans' policies started on these sites (what they tried, how it went)."""
    if not site_ids:
        return []
    query = select(UpdateRun).where(
        UpdateRun.site_id.in_(list(site_ids)), UpdateRun.trigger == POLICY
    )
    return list(session.scalars(query))


def recent_runs(
    session: Session, client_id: int | None = None, limit: int = 50
) -> list[tuple[UpdateRun, str]]:
    """The latest runs across the fleet (of one client's sites), newest first, with the
    site's name."""
    query = (
        select(UpdateRun, Site.name)
        .join(Site, Site.id == UpdateRun.site_id)
        .order_by(UpdateRun.started_at.desc(), UpdateRun.id.desc())
        .limit(limit)
    )
    if client_id is not None:
        query = query.where(Site.client_id == client_id)
    return [(run, name) for run, name in session.execute(query)]


def get_run(session: Session, run_id: int) -> UpdateRun:
    """One run; NotFound if there is none."""
    return _run(session, run_id)


def run_lease(run_id: int) -> str:
    """The lease a run's process holds while it runs (``store.leases``)."""
    return f"update:{run_id}"


def _item_fact(item: dict[str, Any]) -> dict[str, Any]:
    keys = ("type", "package", "installed", "target", "security", "sha256")
    return {k: item.get(k) for k in keys}


def _run(session: Session, run_id: int) -> UpdateRun:
    run = session.get(UpdateRun, run_id)
    if run is None:
        raise NotFound(f"no update run {run_id}")
    return run
