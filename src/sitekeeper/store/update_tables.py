"""The ``update_runs`` table: every safe-update run of one site, step by step.

Kept out of ``tables.py`` so the feature is one slice; ``Base`` is shared, so
Alembic's metadata sees it once this module is imported (see env.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sitekeeper.store.tables import Base

# A run's life: running, then one of the outcomes. ROLLED_BACK: applied, found broken and
# put back from its safety snapshot; FAILED: broken and NOT put back (a human is needed);
# REFUSED: preflight said no and nothing on the site changed; INTERRUPTED: its process died.
# NEEDS_REVIEW: applied and healthy, but the home page looks different (the plan's visual
# check): it stays applied, and a person should look.
RUNNING, APPLIED, ROLLED_BACK = "running", "applied", "rolled_back"
REFUSED, FAILED, INTERRUPTED = "refused", "failed", "interrupted"
NEEDS_REVIEW = "needs_review"
OUTCOMES = frozenset({APPLIED, NEEDS_REVIEW, ROLLED_BACK, REFUSED, FAILED, INTERRUPTED})
IN_PLACE = frozenset({APPLIED, NEEDS_REVIEW})  # the update is on the site
# Who asked: an operator (CLI, API, page) or the plan's policy (serve).
MANUAL, POLICY = "manual", "policy"


class UpdateRun(Base):
    """One update run: the items it moves, each step with its result and duration."""

    __tablename__ = "update_runs"
    __table_args__ = (Index("ix_update_runs_site_started", "site_id", "started_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), index=True)
    trigger: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str | None] = mapped_column(String(200))
    # [{type, package, installed, target, source, security, sha256, url, checksum_source}]
    items: Mapped[list[Any]] = mapped_column(default=list)
    # [{name, ok, detail, seconds}] in the order they ran
    steps: Mapped[list[Any]] = mapped_column(default=list)
    snapshot_id: Mapped[str | None] = mapped_column(String(64))
    # the healthy site before the update (updates.health.Baseline): what a rollback, or the
    # recovery of an interrupted run after a restart, compares the site with
    baseline: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


# An approval's life: pending until a person decides; approved ones are applied by the
# policy job (then applied), a newer release supersedes a pending or approved one.
PENDING, APPROVED, REJECTED, SUPERSEDED = "pending", "approved", "rejected", "superseded"


class UpdateApproval(Base):
    """An update a plan's policy does not apply by itself, waiting for a person's yes or no."""

    __tablename__ = "update_approvals"
    __table_args__ = (
        UniqueConstraint("site_id", "type", "package", "target", name="uq_update_approvals_item"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    package: Mapped[str] = mapped_column(String(200))
    installed: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(64))
    security: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), index=True)
    requested_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    run_id: Mapped[int | None] = mapped_column(ForeignKey("update_runs.id", ondelete="SET NULL"))


class UpdateHold(Base):
    """ "Never update this extension by policy", with the reason a person gave."""

    __tablename__ = "update_holds"
    __table_args__ = (UniqueConstraint("site_id", "type", "package", name="uq_update_holds_item"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    package: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    held_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
