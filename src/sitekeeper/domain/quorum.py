"""Quorum of check locations: when a failure seen from one place is an incident.

A site checked from several locations (plan option ``check_locations`` > 1) is
down only when a second location confirms the failure; a failure from exactly
one location while another reaches the site meanwhile is "unreachable from X", a
network problem between that location and the site rather than an outage. A
location with no results for ``SILENT_INTERVALS`` check intervals is silent: its
stale opinion no longer counts, so its loss raises one alert, not one per site.
Pure functions; the store feeds them the latest result per location.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sitekeeper.domain.incidents import IncidentKind, Transition

SILENT_INTERVALS = 3  # intervals without a result before a location counts as silent
CONFIRMATIONS = 2  # locations that must see a failure before a site is down
CAUSE_MAX = 500  # an incident's cause column

State = Literal["up", "down", "unreachable", "pending"]


@dataclass(frozen=True, slots=True)
class LocationView:
    """One location's latest opinion of one site."""

    location: str
    up: bool
    at: datetime  # when its latest result was taken
    down_since: datetime | None = None  # first failure of its current run of failures
    cause: str | None = None  # the latest failure's cause


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the locations together say about a site."""

    state: State
    cause: str | None = None
    location: str | None = None  # the one location that cannot reach it (unreachable)


def horizon(interval: int) -> timedelta:
    """How long a location's latest result still counts (and how long before it is silent)."""
    return timedelta(seconds=SILENT_INTERVALS * interval)


def verdict(views: Iterable[LocationView], now: datetime, interval: int) -> Verdict:
    """The site's state from the latest result of every location not silent.

    Down needs failures from two locations; one failing location is
    "unreachable from it" once another location reached the site during its run
    of failures and it failed again after that (so a site coming back up, seen
    by one location first, is not called unreachable from the other), and
    pending (no incident yet, none closed) until then. A lone location
    (a new site, the others silent, which is alerted on its own, or only one
    location deployed) decides alone once its failures have lasted the silence
    horizon unconfirmed, so an outage of the monitoring never hides one of the site.
    """
    alive = sorted((v for v in views if now - v.at <= horizon(interval)), key=lambda v: v.location)
    failing = [v for v in alive if not v.up]
    if not failing:
        return Verdict("up") if alive else Verdict("pending")
    cause = max(failing, key=lambda v: v.at).cause  # the newest failure says it best
    if len(alive) == 1:
        # Nobody else to ask (a new site, the others silent, or one location running):
        # its failures count once unconfirmed for as long as a location takes to fall silent.
        since = failing[0].down_since or failing[0].at
        return Verdict("down", cause) if now - since >= horizon(interval) else Verdict("pending")
    if len(failing) >= CONFIRMATIONS:
        where = f"down from {len(failing)} of {len(alive)} locations"
        return Verdict("down", _with(cause, where))
    lone = failing[0]
    since = lone.down_since or lone.at
    if any(v.up and since < v.at < lone.at for v in alive):
        where = f"unreachable from {lone.location}"
        return Verdict("unreachable", _with(cause, where), lone.location)
    return Verdict("pending")


def _with(cause: str | None, where: str) -> str:
    """The cause and where it was seen from, within the incident's 500 characters."""
    return f"{cause[: CAUSE_MAX - len(where) - 3]} ({where})" if cause else where


def transitions(verdict: Verdict, open_kinds: frozenset[IncidentKind]) -> list[Transition]:
    """Incidents to open and close so that the open ones match ``verdict``.

    Pending changes nothing: an unconfirmed failure neither opens an incident
    nor closes one already open.
    """
    if verdict.state == "pending":
        return []
    want = {
        "up": None,
        "down": IncidentKind.DOWN,
        "unreachable": IncidentKind.UNREACHABLE,
    }[verdict.state]
    moves = [
        Transition("close", kind)
        for kind in (IncidentKind.DOWN, IncidentKind.UNREACHABLE)
        if kind in open_kinds and kind != want
    ]
    if want is not None and want not in open_kinds:
        moves.append(Transition("open", want, verdict.cause))
    return moves


def silent(last_seen: Mapping[str, datetime], now: datetime, interval: int) -> list[str]:
    """Locations whose latest result of any site is older than the silence horizon."""
    return sorted(loc for loc, at in last_seen.items() if now - at > horizon(interval))
