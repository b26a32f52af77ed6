"""The ``workers`` table: every running ``serve`` process, for ``sitekeeper workers``.

Kept out of ``tables.py`` so the feature is one slice (``store.workers`` is its only user).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sitekeeper.store.tables import Base


class WorkerProcess(Base):
    """One ``serve`` process: where it runs, what it does, and when it last said so."""

    __tablename__ = "workers"
    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))  # "<worker_name>/<pid>", as on its tasks
    role: Mapped[str] = mapped_column(String(20))
    location: Mapped[str] = mapped_column(String(100))
    queues: Mapped[list[Any]]  # empty: every queue (or none, for web and scheduler)
    version: Mapped[str] = mapped_column(String(50))
    schema_revision: Mapped[str] = mapped_column(String(50))
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime] = mapped_column(index=True)
    heartbeat_seconds: Mapped[float]  # its period: "gone" is judged against its own
    stopped_at: Mapped[datetime | None]
