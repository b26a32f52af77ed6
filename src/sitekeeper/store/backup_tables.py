"""Tables of the backup feature: where repositories are, and every backup run.

Kept out of ``tables.py`` so the feature is one slice; ``Base`` is shared, so
Alembic's metadata sees these once this module is imported (see env.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from sitekeeper.store.tables import Base

# A run's status: running, then ok or failed; an ok run whose snapshot retention removed is pruned.
RUNNING, OK, FAILED, PRUNED = "running", "ok", "failed", "pruned"
# A run whose process died (killed, crashed) before finishing; found at the next start.
INTERRUPTED = "interrupted"
# Why a backup was taken (a run's reason and its snapshot's tag). SAFETY: the snapshot
# a restore in place takes first, not one of the site's backups.
MANUAL, SCHEDULED, SAFETY = "manual", "scheduled", "safety"


class BackupRepository(Base):
    """A restic repository: the agency default (no client) or one client's own.

    ``secrets`` is the vault-encrypted JSON of the repository password and the
    storage credentials; the password is generated once, when the row is made.
    """

    __tablename__ = "backup_repositories"
    __table_args__ = (
        Index(
            "uq_backup_repositories_default",
            text("(client_id IS NULL)"),
            unique=True,
            sqlite_where=text("client_id IS NULL"),
            postgresql_where=text("client_id IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), unique=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # backup.repository.RepositoryKind
    location: Mapped[str] = mapped_column(Text)  # restic repository string, no secrets
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)  # non-secret settings
    secrets: Mapped[str] = mapped_column(Text)  # Vault-encrypted JSON
    initialized: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class BackupRun(Base):
    """One backup attempt of one site: running, then ok (with a snapshot) or failed."""

    __tablename__ = "backup_runs"
    __table_args__ = (Index("ix_backup_runs_site_started", "site_id", "started_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    repository_id: Mapped[int | None] = mapped_column(
        ForeignKey("backup_repositories.id", ondelete="SET NULL")
    )
    reason: Mapped[str] = mapped_column(String(16))  # manual | scheduled | safety
    status: Mapped[str] = mapped_column(String(16))  # running | ok | failed | interrupted
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    snapshot_id: Mapped[str | None] = mapped_column(String(64), index=True)
    files: Mapped[int | None] = mapped_column(Integer)
    files_new: Mapped[int | None] = mapped_column(Integer)
    files_changed: Mapped[int | None] = mapped_column(Integer)
    bytes_total: Mapped[int | None] = mapped_column(BigInteger)
    bytes_added: Mapped[int | None] = mapped_column(BigInteger)
    bytes_transferred: Mapped[int | None] = mapped_column(BigInteger)
    database_bytes: Mapped[int | None] = mapped_column(BigInteger)
    duration: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    verified: Mapped[bool | None] = mapped_column(Boolean)
    verified_at: Mapped[datetime | None]
    verify_detail: Mapped[str | None] = mapped_column(Text)
