"""The check locations seen: when each last stored a result, and since when it is silent.

One row per location, refreshed once per recorder flush (not per result), so the
watch for silent locations reads a handful of rows instead of scanning raw results.
Kept out of ``tables.py`` so the feature is one slice (see env.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from sitekeeper.store.tables import Base


class CheckLocation(Base):
    """A location that has stored check results ('' is the default location)."""

    __tablename__ = "check_locations"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_result_at: Mapped[datetime]
    silent_since: Mapped[datetime | None]  # set while alerted as silent
