"""When a client's report is due: on the plan's cadence, the period just ended, from the
first working day (Monday–Friday) after it, at ``report_hour`` in the client's time zone.

A monthly plan's report covers the previous month; a quarterly plan's the previous quarter
(a client with both kinds of contract gets the monthly ones, which cover everything). The
memory is the archive: a report is due until its client's report recipients have been sent
it once (by the schedule, ``report --send`` or a resend; one to other addresses only does
not count), and a failed send waits a growing backoff before the next try, up to
``max_attempts``. Missed
days are caught up while the period is the last one ended (a ``serve`` stopped over the
first of the month still sends it), never for older periods.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from sitekeeper.domain.plans import PlanOptions
from sitekeeper.reports.period import Period, between
from sitekeeper.store import report_archive as archive
from sitekeeper.store.tables import Contract
from sitekeeper.timezones import zone

BACKOFF_FIRST = timedelta(minutes=30)
BACKOFF_MAX = timedelta(hours=6)
QUARTER_MONTHS = 3


@dataclass(frozen=True, slots=True)
class Due:
    """One client's report to make and send now."""

    client_id: int
    period: Period


def first_working_day(first: date) -> date:
    """The first Monday–Friday on or after ``first``."""
    day = first
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def ended_period(cadence: str, now: datetime, timezone: str, hour: int) -> Period | None:
    """The month (or quarter) that ended before ``now`` where the client is, once its first
    working day has reached ``hour``; None before that, and for the cadence ``none``."""
    if cadence not in ("monthly", "quarterly"):
        return None
    local = now.astimezone(zone(timezone))
    months = 1 if cadence == "monthly" else QUARTER_MONTHS
    index = local.year * 12 + local.month - 1
    start_index = index - (index % months)  # this month, or this quarter's first
    begun = date(start_index // 12, start_index % 12 + 1, 1)
    if (local.date(), local.hour) < (first_working_day(begun), hour):
        return None
    first_index = start_index - months
    first = date(first_index // 12, first_index % 12 + 1, 1)
    return between(first, begun - timedelta(days=1), timezone)


def cadence_of(contracts: list[Contract], period_of: dict[str, Period | None]) -> str | None:
    """Which cadence the client's report follows: monthly if a contract in effect during the
    last month wants it, else quarterly if one in effect during the last quarter does."""
    for cadence in ("monthly", "quarterly"):
        period = period_of.get(cadence)
        if period is None:
            continue
        for contract in contracts:
            overlaps = contract.start <= period.last and (
                contract.end is None or contract.end >= period.first
            )
            wants = PlanOptions.model_validate(contract.plan.options or {}).report
            if overlaps and wants == cadence:
                return cadence
    return None


def due_reports(session: Session, now: datetime, *, hour: int, max_attempts: int) -> list[Due]:
    """Every client whose report is due now: it has recipients, a contract whose plan
    wants the period's report, and the schedule has not delivered it (or may try again)."""
    clients = archive.clients_with_recipients(session)
    if not clients:
        return []
    contracts = archive.contracts_by_client(session, [c.id for c in clients])
    wanted: list[Due] = []
    for client in clients:
        periods = {
            cadence: ended_period(cadence, now, client.timezone, hour)
            for cadence in ("monthly", "quarterly")
        }
        cadence = cadence_of(contracts.get(client.id, []), periods)
        period = periods.get(cadence) if cadence else None
        if period is not None:
            wanted.append(Due(client.id, period))
    if not wanted:
        return []
    recipients = {c.id: list(c.report_recipients or []) for c in clients}
    states = archive.schedule_states(
        session,
        {d.client_id: recipients[d.client_id] for d in wanted},
        min(d.period.first for d in wanted),
    )
    return [
        due
        for due in wanted
        if _may_send(
            states.get((due.client_id, due.period.first, due.period.last)), now, max_attempts
        )
    ]


def _may_send(state: archive.ScheduleState | None, now: datetime, max_attempts: int) -> bool:
    if state is None:
        return True  # not even rendered yet
    accepted, failed, last_try = state
    return not accepted and may_try(failed, last_try, now, max_attempts)


def may_try(failed: int, last_try: datetime | None, now: datetime, max_attempts: int) -> bool:
    """Whether to try again after ``failed`` failed tries, the last at ``last_try``: once
    the backoff since it has passed, and not after ``max_attempts`` (a resend is a
    person's call then)."""
    if failed >= max_attempts:
        return False
    if failed == 0 or last_try is None:
        return True
    wait = min(BACKOFF_FIRST * 2 ** (failed - 1), BACKOFF_MAX)
    return bool(now >= last_try + wait)
