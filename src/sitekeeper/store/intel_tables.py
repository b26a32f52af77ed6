"""Tables of software intelligence: what sites run, what the vendors publish, what matches.

Kept out of ``tables.py`` so the feature is one slice; ``Base`` is shared, so
Alembic's metadata sees these once this module is imported. ``site_software``
is the matching index: one row per site and package, looked up by
``(ecosystem, package)`` so a new advisory touches only the sites that run it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from sitekeeper.store.tables import Base

_ID = BigInteger().with_variant(Integer, "sqlite")


class InventoryRecord(Base):
    """One SSH inventory of a site (domain.inventory.Inventory as JSON), kept as history."""

    __tablename__ = "inventories"
    __table_args__ = (Index("ix_inventories_site_at", "site_id", "collected_at"),)
    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    collected_at: Mapped[datetime]
    cms: Mapped[str] = mapped_column(String(32))
    version: Mapped[str | None] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class FingerprintRecord(Base):
    """One outside fingerprint of a site (domain.fingerprint.Fingerprint), kept as history."""

    __tablename__ = "fingerprints"
    __table_args__ = (Index("ix_fingerprints_site_at", "site_id", "taken_at"),)
    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    taken_at: Mapped[datetime]
    cms: Mapped[str | None] = mapped_column(String(32))
    version: Mapped[str | None] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class IntelAttempt(Base):
    """When a site's inventory or fingerprint was last tried, whatever came of it.

    The due query orders by it, so a site that fails (or is skipped) goes to the back
    of the queue instead of taking the first places of every round.
    """

    __tablename__ = "intel_attempts"
    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # inventory | fingerprint
    attempted_at: Mapped[datetime]


class SiteSoftware(Base):
    """A site's current best knowledge of one package (from its inventory, else fingerprint)."""

    __tablename__ = "site_software"
    __table_args__ = (Index("ix_site_software_package", "ecosystem", "package"),)
    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    ecosystem: Mapped[str] = mapped_column(String(16), primary_key=True)
    type: Mapped[str] = mapped_column(String(16), primary_key=True)  # core | plugin | theme ...
    package: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str | None] = mapped_column(String(100))
    candidates: Mapped[list[Any]] = mapped_column(default=list)  # when only a range is known
    basis: Mapped[str] = mapped_column(String(16))  # inventory | fingerprint
    update_source: Mapped[str | None] = mapped_column(String(500))
    active: Mapped[bool | None] = mapped_column(Boolean)


class CataloguePackage(Base):
    """What a vendor says about one package: latest release, support status, branches."""

    __tablename__ = "catalogue_packages"
    ecosystem: Mapped[str] = mapped_column(String(16), primary_key=True)
    type: Mapped[str] = mapped_column(String(16), primary_key=True)
    package: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(300))
    latest: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="published")
    # branch -> latest release on it; supported branch prefixes (Drupal), channel data (Joomla)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source: Mapped[str] = mapped_column(String(500))
    checked_at: Mapped[datetime]


class CatalogueRelease(Base):
    """One release of a package with the vendor's security flags."""

    __tablename__ = "catalogue_releases"
    ecosystem: Mapped[str] = mapped_column(String(16), primary_key=True)
    type: Mapped[str] = mapped_column(String(16), primary_key=True)
    package: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[str] = mapped_column(String(100), primary_key=True)
    released_at: Mapped[datetime | None]
    security_update: Mapped[bool] = mapped_column(Boolean, default=False)
    insecure: Mapped[bool] = mapped_column(Boolean, default=False)


class FeedState(Base):
    """Per feed URL: validators for conditional requests and the failure backoff."""

    __tablename__ = "feed_state"
    url: Mapped[str] = mapped_column(String(2048), primary_key=True)
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    fetched_at: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(Float, default=0.0)  # epoch seconds
    last_error: Mapped[str | None] = mapped_column(Text)


class AdvisoryRecord(Base):
    """A normalised advisory (intel.advisory.Advisory as JSON), from any source."""

    __tablename__ = "advisories"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text)
    severity: Mapped[str | None] = mapped_column(String(16))
    aliases: Mapped[list[Any]] = mapped_column(default=list)
    published: Mapped[datetime | None]
    modified: Mapped[datetime | None]
    imported_at: Mapped[datetime]
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class AdvisoryPackage(Base):
    """Index of which packages an advisory names, so matching is a lookup, not a scan."""

    __tablename__ = "advisory_packages"
    __table_args__ = (Index("ix_advisory_packages_package", "ecosystem", "package"),)
    advisory_id: Mapped[str] = mapped_column(
        ForeignKey("advisories.id", ondelete="CASCADE"), primary_key=True
    )
    ecosystem: Mapped[str] = mapped_column(String(16), primary_key=True)
    package: Mapped[str] = mapped_column(String(200), primary_key=True)


class Finding(Base):
    """Derived state that opens and resolves: a pending update, a vulnerability, an unknown source.

    ``key`` identifies the finding across re-matches; at most one open finding per
    site and key (partial unique index).
    """

    __tablename__ = "findings"
    __table_args__ = (
        Index(
            "uq_findings_open",
            "site_id",
            "key",
            unique=True,
            sqlite_where=text("resolved_at IS NULL"),
            postgresql_where=text("resolved_at IS NULL"),
        ),
        Index("ix_findings_package", "ecosystem", "package"),
    )
    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(16))  # update | vulnerability | unknown-source
    ecosystem: Mapped[str] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(16))
    package: Mapped[str] = mapped_column(String(200))
    installed: Mapped[str | None] = mapped_column(String(100))
    latest: Mapped[str | None] = mapped_column(String(100))
    advisory_id: Mapped[str | None] = mapped_column(String(200))
    security: Mapped[bool] = mapped_column(Boolean, default=False)
    certainty: Mapped[str] = mapped_column(String(16), default="certain")
    basis: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)  # aliases, severity, fixed_in, ...
    opened_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
