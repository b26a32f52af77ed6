"""A site's updates: applied in the period (what, from → to, when, how long after the
vendor's release), rolled back (at which step), and what is pending now, with why.

Applied and rolled-back updates come from the journal's ``update.*`` events, one item per
package a run moved. Pending updates are the site's state when the report is made (the
updates page's rule: open update findings, the approval queue, the holds, and what the
plan's policy will apply and when, ``updates.policy.schedule``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sitekeeper.domain.update_events import UpdateEventKind
from sitekeeper.store.findings import UpdateRow
from sitekeeper.store.report_records import ReleaseKey
from sitekeeper.store.tables import Event
from sitekeeper.store.update_tables import PENDING, UpdateApproval, UpdateHold
from sitekeeper.updates.policy import Scheduled

APPLIED = (UpdateEventKind.APPLIED, UpdateEventKind.NEEDS_REVIEW)  # on the site
ROLLED_BACK = (UpdateEventKind.ROLLED_BACK,)
FAILED = (UpdateEventKind.FAILED,)  # broken and not put back: a person took over
KINDS = (*APPLIED, *ROLLED_BACK, *FAILED)

# Why a pending update is not on the site yet.
HELD = "held"  # a person keeps the policy away from it (detail: their reason)
AWAITING_APPROVAL = "awaiting_approval"  # the plan's policy leaves it to a person
OUTSIDE_WINDOW = "outside_window"  # the policy applies it when the window opens (detail)
DUE = "due"  # the policy applies it at its next run
BY_HAND = "by_hand"  # no policy applies it (the plan has none, or it needs a pinned digest)


@dataclass(frozen=True, slots=True)
class UpdateFigure:
    """One package an update run moved (applied), or tried to (rolled back, failed)."""

    type: str
    package: str
    from_version: str | None
    to_version: str | None
    security: bool
    at: datetime
    run_id: int | None
    event_id: int
    released_at: datetime | None = None
    hours_after_release: float | None = None
    failed_step: str | None = None  # rolled back or failed: the first step that did not pass


@dataclass(frozen=True, slots=True)
class PendingFigure:
    """An update the site does not run yet, and why (one of the reasons above)."""

    type: str
    package: str
    installed: str | None
    target: str | None
    security: bool
    reason: str
    detail: str | None  # a hold's reason, or when the window opens (ISO time)
    approval_id: int | None


@dataclass(frozen=True, slots=True)
class UpdateFigures:
    """One site's updates of the period, and its pending ones at ``pending_as_of``."""

    applied: list[UpdateFigure]
    rolled_back: list[UpdateFigure]
    failed: list[UpdateFigure]
    pending: list[PendingFigure]
    pending_as_of: datetime


def moved(
    events: Sequence[Event],
    ecosystems: Mapping[tuple[int, str, str], str],
    released: Mapping[ReleaseKey, datetime],
) -> tuple[list[UpdateFigure], list[UpdateFigure], list[UpdateFigure]]:
    """Applied, rolled-back and failed items of one site's update events, oldest first."""
    applied: list[UpdateFigure] = []
    back: list[UpdateFigure] = []
    failed: list[UpdateFigure] = []
    for event in sorted(events, key=lambda e: (e.ts, e.id)):
        data = dict(event.data or {})
        step = _failed_step(data)
        for item in data.get("items") or []:
            figure = _item(event, data, item, ecosystems, released)
            if event.kind in APPLIED:
                applied.append(figure)
            elif event.kind in ROLLED_BACK:
                back.append(replace(figure, failed_step=step))
            elif event.kind in FAILED:
                failed.append(replace(figure, failed_step=step))
    return applied, back, failed


def release_keys(
    events: Sequence[Event], ecosystems: Mapping[tuple[int, str, str], str]
) -> set[ReleaseKey]:
    """The releases the applied items went to, to look their dates up."""
    keys: set[ReleaseKey] = set()
    for event in events:
        if event.kind not in APPLIED or event.site_id is None:
            continue
        for item in (event.data or {}).get("items") or []:
            type_, package = str(item.get("type")), str(item.get("package"))
            eco = ecosystems.get((event.site_id, type_, package))
            if eco is not None and item.get("target"):
                keys.add((eco, type_, package, str(item["target"])))
    return keys


def pending(
    rows: Sequence[UpdateRow],
    approvals: Sequence[UpdateApproval],
    holds: Sequence[UpdateHold],
    scheduled: Sequence[Scheduled],
    now: datetime,
) -> list[PendingFigure]:
    """One site's pending updates with the reason each is not applied yet."""
    held = {(h.type, h.package): h.reason for h in holds}
    asked = {(a.type, a.package): a.id for a in approvals if a.status == PENDING}
    planned = {(s.item.type, s.item.package): s for s in scheduled}
    found: list[PendingFigure] = []
    for row in rows:
        if row.status != "update":
            continue  # unknown source, feed not reachable: not an update anyone can apply
        key = (row.type, row.package)
        detail: str | None = None
        if key in held:
            reason, detail = HELD, held[key]
        elif key in planned:
            at = planned[key].at
            reason, detail = (DUE, None) if at <= now else (OUTSIDE_WINDOW, at.isoformat())
        elif key in asked:
            reason = AWAITING_APPROVAL
        else:
            reason = BY_HAND
        found.append(
            PendingFigure(
                type=row.type,
                package=row.package,
                installed=row.installed,
                target=planned[key].item.target if key in planned else row.latest,
                security=row.security,
                reason=reason,
                detail=detail,
                approval_id=asked.get(key),
            )
        )
    return found


def _item(
    event: Event,
    data: dict[str, Any],
    item: dict[str, Any],
    ecosystems: Mapping[tuple[int, str, str], str],
    released: Mapping[ReleaseKey, datetime],
) -> UpdateFigure:
    type_, package = str(item.get("type")), str(item.get("package"))
    target = item.get("target")
    eco = ecosystems.get((event.site_id or 0, type_, package))
    when = released.get((eco, type_, package, str(target))) if eco and target else None
    hours = (event.ts - when).total_seconds() / 3600 if when is not None else None
    run = data.get("run")
    return UpdateFigure(
        type=type_,
        package=package,
        from_version=_text(item.get("installed")),
        to_version=_text(target),
        security=bool(item.get("security")),
        at=event.ts,
        run_id=int(run) if run is not None else None,
        event_id=event.id,
        released_at=when,
        hours_after_release=round(hours, 1) if hours is not None else None,
    )


def _failed_step(data: dict[str, Any]) -> str | None:
    for step in data.get("steps") or []:
        if not step.get("ok"):
            return str(step.get("name"))
    return None


def _text(value: object) -> str | None:
    return None if value is None else str(value)
