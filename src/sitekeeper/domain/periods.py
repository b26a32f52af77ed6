"""How a report period is named: pure date arithmetic shared by the reports and the
archive that stores them (the store may not import the reports package)."""

from __future__ import annotations

from datetime import date, timedelta


def month_end(first: date) -> date:
    """The last day of ``first``'s month."""
    next_month = first.replace(day=28) + timedelta(days=4)  # day 28 + 4 is always next month
    return next_month.replace(day=1) - timedelta(days=1)


def label(first: date, last: date) -> str:
    """``2026-11`` for the dates of a calendar month, ``2026-11-03..2026-11-20`` otherwise."""
    if first.day == 1 and last == month_end(first):
        return first.strftime("%Y-%m")
    return f"{first.isoformat()}..{last.isoformat()}"
