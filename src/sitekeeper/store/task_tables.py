"""The ``tasks`` table: actions asked for from the API or the UI, run by a worker.

A task is a durable request ("back this site up now"): the web process
enqueues it, any worker claims it (``store.tasks.claim``), runs it and writes
the outcome back. Kept out of ``tables.py`` so the feature is one slice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

import sitekeeper.store.web_tables  # noqa: F401 - users, which requested_by refers to
from sitekeeper.store.tables import Base

# A task's life: queued, then running (claimed by one worker), then ok or failed.
QUEUED, RUNNING, OK, FAILED = "queued", "running", "ok", "failed"
ACTIVE = (QUEUED, RUNNING)
STATUSES = (QUEUED, RUNNING, OK, FAILED)


class Task(Base):
    """One action on one site (or on the catalogue) and its outcome.

    A partial unique index allows one queued-or-running task per kind and
    site, so a double click (or two web processes) cannot back a site up twice
    at once; the store returns the existing task instead.
    """

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_status_id", "status", "id"),
        Index("ix_tasks_site_id", "site_id", "id"),
        Index(
            "uq_tasks_active",
            "kind",
            "site_id",
            unique=True,
            sqlite_where=text("status IN ('queued', 'running') AND site_id IS NOT NULL"),
            postgresql_where=text("status IN ('queued', 'running') AND site_id IS NOT NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16))
    result: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    worker: Mapped[str | None] = mapped_column(String(200))
    # PostgreSQL: the procrastinate job that carries this task (engine.dispatch); None on
    # SQLite, where the in-process runner claims the row itself.
    job_id: Mapped[int | None] = mapped_column(BigInteger)
