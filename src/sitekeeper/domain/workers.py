"""Process roles of ``serve`` and when a silent process counts as gone (pure rules)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

# The job queues (engine.dispatch.QUEUES: long work apart), what `serve --queues` may name.
# ``schedule`` carries the periodic planning jobs, which only scheduler processes run.
SCHEDULE = "schedule"
ALL_QUEUES = ("tasks", "scans", "backups", "updates", "reports", "feeds", SCHEDULE)
# A location's name, as SITEKEEPER_LOCATION accepts it (bounded, shown in tables).
LOCATION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,25}")  # as Settings.location

# A process silent for this many of its own heartbeat periods is taken for gone: one
# late beat (a busy database, a pause) is normal, three in a row are not.
MISSED_BEATS = 3


class Role(StrEnum):
    """What one ``serve`` process does; ``all`` is the embedded default."""

    WEB = "web"  # HTTP only: the UI and the API
    SCHEDULER = "scheduler"  # the periodic loops that decide what is due
    WORKER = "worker"  # runs jobs and claims due check batches
    ALL = "all"

    @property
    def web(self) -> bool:
        """Whether it serves HTTP."""
        return self in (Role.WEB, Role.ALL)

    @property
    def schedules(self) -> bool:
        """Whether it runs the periodic loops."""
        return self in (Role.SCHEDULER, Role.ALL)

    @property
    def works(self) -> bool:
        """Whether it runs jobs and checks."""
        return self in (Role.WORKER, Role.ALL)


SQLITE_ROLES_REFUSED = (
    "--role {role} needs PostgreSQL: with SQLite, one process holds the database, so web, "
    "scheduler and workers run together (--role all, the default); set "
    "SITEKEEPER_DATABASE_URL to a PostgreSQL database to run them apart"
)


def role_allowed(role: Role, dialect: str) -> str | None:
    """Why ``role`` cannot run on a database of ``dialect``, or None if it can."""
    if role is Role.ALL or dialect == "postgresql":
        return None
    return SQLITE_ROLES_REFUSED.format(role=role.value)


@dataclass(frozen=True, slots=True)
class Liveness:
    """A process's state as its heartbeats tell it."""

    state: str  # "running", "gone" (silent too long) or "stopped" (said goodbye)
    silent_for: timedelta


def liveness(
    heartbeat_at: datetime, period_seconds: float, stopped_at: datetime | None, now: datetime
) -> Liveness:
    """``gone`` once silent for more than MISSED_BEATS heartbeat periods."""
    silent = max(now - heartbeat_at, timedelta(0))
    if stopped_at is not None:
        return Liveness("stopped", silent)
    if silent > timedelta(seconds=period_seconds * MISSED_BEATS):
        return Liveness("gone", silent)
    return Liveness("running", silent)
