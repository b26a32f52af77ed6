"""The check locations seen, and each location's daily figures of the sites it checks.

``check_locations`` has one row per location, refreshed once per recorder flush (not
per result), so the watch for silent locations reads a handful of rows instead of
scanning raw results. ``check_daily_by_location`` keeps, past the raw retention, the
response times each location saw. Kept out of ``tables.py`` so the feature is one
slice (see env.py).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sitekeeper.store.tables import Base


class CheckLocation(Base):
    """A location that has stored check results ('' is the default location)."""

    __tablename__ = "check_locations"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_result_at: Mapped[datetime]
    silent_since: Mapped[datetime | None]  # set while alerted as silent


class CheckDailyByLocation(Base):
    """Per site, UTC day and check location: that location's own figures of the day.

    Written only for the days a site was checked from somewhere other than the default
    location ('' as in ``check_raw``): a single-location install stores nothing more,
    and a day without rows here was the default location's alone (``check_daily``).
    Charts only; uptime for reports and SLAs stays ``check_daily``'s.
    """

    __tablename__ = "check_daily_by_location"
    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    location: Mapped[str] = mapped_column(String(32), primary_key=True)
    checks: Mapped[int] = mapped_column(Integer)
    up_checks: Mapped[int] = mapped_column(Integer)
    avg_ms: Mapped[int | None] = mapped_column(Integer)
    p50_ms: Mapped[int | None] = mapped_column(Integer)
    p95_ms: Mapped[int | None] = mapped_column(Integer)
    p99_ms: Mapped[int | None] = mapped_column(Integer)
    max_ms: Mapped[int | None] = mapped_column(Integer)
