"""The ``work_entries`` table: the agency's work done by hand, for the monthly report.

Kept out of ``tables.py`` so the feature is one slice; ``Base`` is shared, so
Alembic's metadata sees it once this module is imported (see env.py).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sitekeeper.store.tables import Base


class WorkEntry(Base):
    """Minutes of work on one day for a client, on one of its sites or on the whole."""

    __tablename__ = "work_entries"
    __table_args__ = (Index("ix_work_entries_client_day", "client_id", "day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    # A removed site's work was still done (and billed): the entry stays with its client.
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("sites.id", ondelete="SET NULL"), index=True
    )
    day: Mapped[date] = mapped_column(Date)  # the client's local date
    minutes: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
