"""The ``leases`` table: named, expiring claims on periodic work shared by several processes.

Kept out of ``tables.py`` so the feature is one slice (``store.leases`` is its only user).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from sitekeeper.store.tables import Base


class Lease(Base):
    """Who may do a piece of periodic work until when ("backup:42", "schedule:intel-feeds")."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]
