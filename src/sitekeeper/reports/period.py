"""A report's period: local calendar dates of the client, and their exact UTC bounds.

A month (``2026-11``) or a range of dates (``--from``/``--to``, both inclusive) is read in
the client's time zone, so "November" of a Berlin client starts at its midnight
(2026-10-31T23:00Z) and ends at the next month's midnight, whatever daylight-saving change
lies between (``zoneinfo`` gives each midnight its own offset).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction

from sitekeeper.domain.periods import label, month_end
from sitekeeper.errors import UsageError
from sitekeeper.timezones import zone

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
MAX_DAYS = 366  # a report covers a year at most


@dataclass(frozen=True, slots=True)
class Period:
    """Local dates ``first``..``last`` (inclusive) in the IANA zone ``timezone``."""

    first: date
    last: date
    timezone: str

    @property
    def start(self) -> datetime:
        """The first date's local midnight, in UTC (inclusive)."""
        return _midnight(self.first, self.timezone)

    @property
    def end(self) -> datetime:
        """The local midnight after the last date, in UTC (exclusive)."""
        return _midnight(self.last + timedelta(days=1), self.timezone)

    @property
    def days(self) -> int:
        """How many local dates the period has."""
        return (self.last - self.first).days + 1

    @property
    def label(self) -> str:
        """``2026-11`` for a calendar month, ``2026-11-03..2026-11-20`` otherwise."""
        return label(self.first, self.last)

    @property
    def months(self) -> Fraction:
        """How many months the dates make, each date counting 1/(days of its month): 1 for a
        calendar month, less for part of one (what a plan's monthly hours scale by)."""
        total = Fraction(0)
        day = self.first
        while day <= self.last:
            total += Fraction(1, calendar.monthrange(day.year, day.month)[1])
            day += timedelta(days=1)
        return total

    def dates(self) -> list[date]:
        """Every local date of the period, in order."""
        return [self.first + timedelta(days=n) for n in range(self.days)]

    def contains(self, moment: datetime) -> bool:
        """Whether an aware moment lies within ``start`` (inclusive) and ``end`` (exclusive)."""
        return self.start <= moment < self.end


def month(text: str, timezone: str) -> Period:
    """The calendar month ``YYYY-MM`` in ``timezone``; UsageError if it is not one."""
    found = _MONTH.match(text.strip())
    if not found or not 1 <= int(found[2]) <= 12 or int(found[1]) < 1970:
        raise UsageError(f"invalid period {text!r}: a month like 2026-11")
    first = date(int(found[1]), int(found[2]), 1)
    return between(first, month_end(first), timezone)


def between(first: date, last: date, timezone: str) -> Period:
    """The local dates ``first``..``last`` in ``timezone``; UsageError if empty or too long."""
    zone(timezone)  # an unknown zone fails here, with its own message
    if last < first:
        raise UsageError(f"the period ends ({last}) before it starts ({first})")
    if (last - first).days + 1 > MAX_DAYS:
        raise UsageError(f"a period covers at most {MAX_DAYS} days")
    return Period(first, last, timezone)


def previous_month(now: datetime, timezone: str) -> Period:
    """The last complete calendar month before ``now`` in ``timezone`` (a report's default)."""
    today = now.astimezone(zone(timezone)).date()
    last = today.replace(day=1) - timedelta(days=1)
    return between(last.replace(day=1), last, timezone)


def chosen(
    period: str | None,
    first: date | None,
    last: date | None,
    *,
    timezone: str,
    now: datetime,
) -> Period:
    """The period a command asked for: a month, or ``--from``/``--to`` (a missing end is
    the other end's month's), or the previous month; UsageError if both ways are given."""
    if period is not None and (first is not None or last is not None):
        raise UsageError("give either --period or --from/--to, not both")
    if period is not None:
        return month(period, timezone)
    if first is None and last is None:
        return previous_month(now, timezone)
    if first is None:
        assert last is not None
        first = last.replace(day=1)
    return between(first, last or month_end(first), timezone)


def parse_date(text: str) -> date:
    """A ``YYYY-MM-DD`` date; UsageError otherwise."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"invalid date {text!r}: YYYY-MM-DD") from None


def _midnight(day: date, timezone: str) -> datetime:
    """Local midnight of ``day`` as UTC (a zone whose clocks skip midnight: the first
    moment of that date)."""
    local = datetime.combine(day, time(0), tzinfo=zone(timezone))
    moment = local.astimezone(UTC)
    if moment.astimezone(zone(timezone)).date() != day:  # midnight did not exist that day
        moment += timedelta(hours=1)
    return moment
