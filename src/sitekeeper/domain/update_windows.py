"""Maintenance windows: when a plan lets updates run on a client's sites, in the client's
time zone — ``Mon-Fri 22:00-06:00``, ``Sat,Sun 02:00-05:00``, ``daily 03:00-04:00``.

A window that ends before it starts runs past midnight and belongs to the day it starts
on (``Fri 22:00-02:00`` is Friday night into Saturday). Times are wall-clock times in the
client's zone (the caller gives a moment in it: ``timezones.zone``), so a window keeps its
hours across daylight-saving changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sitekeeper.errors import UsageError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SHAPE = re.compile(
    r"^\s*(?P<days>[A-Za-z,\- ]+?)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$"
)
_LOOKAHEAD_DAYS = 8  # every weekly window opens within a week


@dataclass(frozen=True, slots=True)
class Window:
    """The weekdays (0 = Monday) a window opens on, and its wall-clock start and end."""

    days: frozenset[int]
    start: time
    end: time

    def is_open(self, moment: datetime) -> bool:
        """Whether ``moment`` (aware, in the client's zone) falls inside the window."""
        clock, today = moment.timetz().replace(tzinfo=None), moment.weekday()
        if self.start < self.end:
            return today in self.days and self.start <= clock < self.end
        started_today = today in self.days and clock >= self.start
        started_yesterday = (today - 1) % 7 in self.days and clock < self.end
        return started_today or started_yesterday

    def next_opening(self, moment: datetime) -> datetime:
        """The next time the window opens at or after ``moment`` (``moment`` if open now)."""
        if self.is_open(moment):
            return moment
        for ahead in range(_LOOKAHEAD_DAYS):
            day = (moment + timedelta(days=ahead)).date()
            if day.weekday() not in self.days:
                continue
            opening = datetime.combine(day, self.start, tzinfo=moment.tzinfo)
            if opening >= moment:
                return opening
        raise AssertionError("a window with days opens within a week")  # pragma: no cover


def parse_window(text: str) -> Window:
    """``Mon-Fri 22:00-06:00`` and the like; UsageError naming the problem otherwise."""
    found = _SHAPE.match(text)
    if found is None:
        raise UsageError(f"not a maintenance window: {text!r} (like 'Mon-Fri 22:00-06:00')")
    start, end = _clock(found["start"]), _clock(found["end"])
    if start == end:
        raise UsageError(f"maintenance window {text!r} is empty (start equals end)")
    return Window(_days(found["days"]), start, end)


def window_text(text: str) -> str:
    """A window's text, checked (the plan keeps what the operator wrote)."""
    parse_window(text)
    return text.strip()


def _clock(text: str) -> time:
    hours, minutes = (int(part) for part in text.split(":"))
    if hours > 23 or minutes > 59:
        raise UsageError(f"not a time of day: {text!r}")
    return time(hours, minutes)


def _days(text: str) -> frozenset[int]:
    days: set[int] = set()
    for part in (p.strip().lower() for p in text.replace(" ", ",").split(",") if p.strip()):
        if part in ("daily", "every day"):
            days |= set(range(7))
        elif "-" in part:
            first, _, last = part.partition("-")
            a, b = _day(first), _day(last)
            days |= {d % 7 for d in range(a, b + (7 if b < a else 0) + 1)}
        else:
            days.add(_day(part))
    return frozenset(days)


def _day(text: str) -> int:
    key = text.strip().lower()[:3]
    if key not in DAYS:
        raise UsageError(f"not a weekday: {text!r} (Mon, Tue, … Sun, or daily)")
    return DAYS.index(key)
