"""Plan levels beyond the columns: backups, updates, reports, SLA.

Stored as validated JSON in ``Plan.options`` so a later feature adds a field
here, not a column; unknown keys are rejected so typos never pass silently.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sitekeeper.domain.durations import parse_duration
from sitekeeper.errors import UsageError

MIN_CHECK_INTERVAL = 10  # seconds; faster checks look like an attack to the site's host

BackupSchedule = Literal["none", "hourly", "daily", "weekly"]
DrillCadence = Literal["none", "weekly", "monthly", "quarterly"]
UpdatePolicy = Literal["none", "security", "minor", "all"]
ReportCadence = Literal["none", "monthly", "quarterly"]


class PlanOptions(BaseModel):
    """What a plan includes besides checks and price."""

    model_config = ConfigDict(extra="forbid")

    backup: BackupSchedule = "none"
    keep_daily: int = Field(default=7, ge=0, le=3650)
    keep_weekly: int = Field(default=4, ge=0, le=520)
    keep_monthly: int = Field(default=12, ge=0, le=1200)
    restore_drill: DrillCadence = "none"
    update_policy: UpdatePolicy = "none"
    report: ReportCadence = "monthly"
    sla_hours: float | None = Field(default=None, gt=0, description="Response-time SLA (hours).")


def parse_check_interval(text: str) -> int:
    """Seconds of a check interval like ``60s``/``5m``/``1h``; UsageError if bad or too short."""
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"invalid check interval: {exc}") from None
    if seconds < MIN_CHECK_INTERVAL:
        raise UsageError(f"check interval {text!r} is too short (minimum {MIN_CHECK_INTERVAL}s)")
    return seconds


def parse_sla(text: str) -> float:
    """Hours of an SLA given as a duration (``4h``, ``30m``) or a bare number of hours."""
    value = text.strip()
    try:
        return float(value) if value.replace(".", "", 1).isdigit() else parse_duration(value) / 3600
    except ValueError as exc:
        raise UsageError(f"invalid SLA: {exc}") from None
