"""Periodic work of the scheduler role, as the job engine runs it on PostgreSQL.

Every scheduler process declares the same periodic jobs; procrastinate defers each one
once per period across all of them (a hot standby does no double work and takes over at
the next period when the active one dies), and a worker taking the job's queue runs it.
A period becomes a cron expression with procrastinate's sixth field (seconds).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Periodic:
    """One periodic job: its name, period (s), queue and what it does.

    ``exclusive``: one run at a time across the fleet (the engine's job lock), for work
    that must not overlap itself (mailing a client's report) or that is long; a killed
    worker's run then holds the next one back until the sweep fails it (30-45 s), so the
    frequent jobs (delivery, planning) are not exclusive and tolerate two at once.
    """

    name: str
    period: float
    queue: str
    action: Callable[[], Awaitable[object]]
    exclusive: bool = False


def _divisor_at_most(limit: int, of: int) -> int:
    """The largest divisor of ``of`` not above ``limit`` (at least 1)."""
    return max(d for d in range(1, max(1, min(limit, of)) + 1) if of % d == 0)


def cron_of(period: float) -> str:
    """A cron expression firing about every ``period`` seconds, never less often.

    Cron steps restart at each minute, hour or day, so a period is rounded down to one
    that divides the next unit (7 s → every 6 s, 45 min → every 30 min); a day or more
    runs daily at midnight UTC.
    """
    seconds = max(1, int(period))
    if seconds < 60:
        return f"* * * * * */{_divisor_at_most(seconds, 60)}"
    if seconds < 3600:
        return f"*/{_divisor_at_most(seconds // 60, 60)} * * * *"
    if seconds < 86400:
        return f"0 */{_divisor_at_most(seconds // 3600, 24)} * * *"
    return "0 0 * * *"
