"""Tables of hack detection: each site's last file manifest (integrity scan), its pages'
baselines (SEO spam and cloaking), and the findings an operator acknowledged as false
positives.

Kept out of ``tables.py`` so the feature is one slice; ``Base`` is shared, so Alembic's
metadata sees them once imported (see env.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from sitekeeper.store.tables import Base


class SiteFileManifest(Base):
    """A site's files as the last integrity scan saw them: one compressed blob per site.

    One row per site, not per file: 100,000 sites × 3,000 files would be 300 million rows
    read back only whole (the next scan rehashes what changed by size, mtime and ctime).
    ``manifest`` is opaque to the database; its format belongs to ``scan``.
    """

    __tablename__ = "site_file_manifests"
    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    cms: Mapped[str] = mapped_column(String(16))
    cms_version: Mapped[str | None] = mapped_column(String(100))
    scanned_at: Mapped[datetime]
    file_count: Mapped[int] = mapped_column(Integer, default=0)
    manifest: Mapped[bytes] = mapped_column(LargeBinary)


class PageBaseline(Base):
    """What one page of a site looked like when it was last accepted as normal: its visible
    text's digest and the domains, scripts and frames it named (``data``, capped)."""

    __tablename__ = "page_baselines"
    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    url: Mapped[str] = mapped_column(String(800), primary_key=True)
    captured_at: Mapped[datetime]
    checked_at: Mapped[datetime | None]
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class FindingAck(Base):
    """An operator's "this is ours": the finding ``key`` on a site stays quiet while its
    evidence still has ``digest`` (a file's hash, a page element's); a change reopens it."""

    __tablename__ = "finding_acks"
    __table_args__ = (
        Index("uq_finding_acks_site_key", "site_id", "key", unique=True),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(500))
    digest: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
