"""The approval queue and the holds of safe updates.

An update a plan's policy does not apply by itself (a major release under a ``minor``
policy, anything but security fixes under ``security``) waits here as ``pending`` until a
person approves or rejects it; the policy job applies approved ones. A newer release of
the same package supersedes what waited for an older one. A hold keeps the policy away
from one extension of one site ("never auto-update this plugin", with the reason).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sitekeeper.domain.updates import UpdateItem
from sitekeeper.errors import NotFound, UsageError
from sitekeeper.store.update_tables import (
    APPLIED,
    APPROVED,
    PENDING,
    REJECTED,
    SUPERSEDED,
    UpdateApproval,
    UpdateHold,
)

OPEN = (PENDING, APPROVED)
MAX_REASON = 2000


def approvals(
    session: Session, *, statuses: Collection[str] = OPEN, site_ids: Collection[int] | None = None
) -> list[UpdateApproval]:
    """Approvals in these states (of these sites), oldest first."""
    query = select(UpdateApproval).where(UpdateApproval.status.in_(list(statuses)))
    if site_ids is not None:
        query = query.where(UpdateApproval.site_id.in_(list(site_ids)))
    return list(session.scalars(query.order_by(UpdateApproval.requested_at, UpdateApproval.id)))


def sites_with_open(session: Session) -> set[int]:
    """Ids of the sites with a pending or approved update."""
    query = select(UpdateApproval.site_id).where(UpdateApproval.status.in_(OPEN))
    return set(session.scalars(query.distinct()))


def request(session: Session, site_id: int, item: UpdateItem, now: datetime) -> UpdateApproval:
    """The approval of ``item`` on the site: the one there is, or a new pending one (which
    supersedes any open approval of another target of the same package)."""
    same = select(UpdateApproval).where(
        UpdateApproval.site_id == site_id,
        UpdateApproval.type == item.type,
        UpdateApproval.package == item.package,
    )
    found = None
    for row in session.scalars(same):
        if row.target == item.target:
            found = row
        elif row.status in OPEN:
            row.status = SUPERSEDED
    if found is not None:
        return found
    row = UpdateApproval(
        site_id=site_id,
        type=item.type,
        package=item.package,
        installed=item.installed,
        target=item.target,
        security=item.security,
        status=PENDING,
        requested_at=now,
    )
    session.add(row)
    session.flush()
    return row


def decide(
    session: Session, approval_id: int, *, approve: bool, who: str, now: datetime
) -> UpdateApproval:
    """Approve or reject a pending approval (UsageError if it is decided already)."""
    row = session.get(UpdateApproval, approval_id)
    if row is None:
        raise NotFound(f"no update approval {approval_id}")
    if row.status != PENDING:
        raise UsageError(f"update approval {approval_id} is {row.status} already")
    row.status = APPROVED if approve else REJECTED
    row.decided_by, row.decided_at = who[:200], now
    return row


def mark_applied(session: Session, approval_ids: Collection[int], run_id: int) -> None:
    """The approved updates a run applied."""
    for approval_id in approval_ids:
        row = session.get(UpdateApproval, approval_id)
        if row is not None and row.status == APPROVED:
            row.status, row.run_id = APPLIED, run_id


def holds(session: Session, site_ids: Collection[int] | None = None) -> list[UpdateHold]:
    """The holds (of these sites)."""
    query = select(UpdateHold).order_by(UpdateHold.site_id, UpdateHold.type, UpdateHold.package)
    if site_ids is not None:
        query = query.where(UpdateHold.site_id.in_(list(site_ids)))
    return list(session.scalars(query))


def hold(
    session: Session,
    site_id: int,
    item: tuple[str, str],
    *,
    reason: str,
    who: str | None,
    now: datetime,
) -> UpdateHold:
    """Hold ``(type, slug)`` back on the site (the reason replaced if it is held already)."""
    type_, package = item
    if not reason.strip():
        raise UsageError("a hold needs a reason (the next person asks why)")
    row = session.scalar(
        select(UpdateHold).where(
            UpdateHold.site_id == site_id, UpdateHold.type == type_, UpdateHold.package == package
        )
    )
    if row is None:
        row = UpdateHold(site_id=site_id, type=type_, package=package, created_at=now)
        session.add(row)
    row.reason, row.held_by = reason.strip()[:MAX_REASON], who
    session.flush()
    return row


def release(session: Session, site_id: int, item: tuple[str, str]) -> bool:
    """Lift the hold of ``(type, slug)`` on the site; whether there was one."""
    type_, package = item
    row = session.scalar(
        select(UpdateHold).where(
            UpdateHold.site_id == site_id, UpdateHold.type == type_, UpdateHold.package == package
        )
    )
    if row is None:
        return False
    session.delete(row)
    return True
