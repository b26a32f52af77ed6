"""The ``site_domains`` table: per site, the last RDAP registration and the DNS watch's
state (last seen records, trusted name servers, accepted networks).

One row per site, replaced at each check: the history is in the journal (every change of
a record is an event) and in the findings. Kept out of ``tables.py`` so the feature is one
slice; ``Base`` is shared, so Alembic's metadata sees it once imported (see env.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from sitekeeper.store.tables import Base


class SiteDomain(Base):
    """A site's domain as last seen: RDAP facts and DNS records."""

    __tablename__ = "site_domains"
    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    domain: Mapped[str] = mapped_column(String(253))
    registrar: Mapped[str | None] = mapped_column(String(200))
    expires_at: Mapped[datetime | None]
    registered_at: Mapped[datetime | None]
    statuses: Mapped[list[str]] = mapped_column(JSON, default=list)
    dnssec: Mapped[bool | None] = mapped_column(Boolean)
    rdap_source: Mapped[str | None] = mapped_column(String(800))
    rdap_error: Mapped[str | None] = mapped_column(String(500))
    rdap_checked_at: Mapped[datetime | None]
    dns_records: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dns_trusted_ns: Mapped[list[str]] = mapped_column(JSON, default=list)
    dns_networks: Mapped[list[str]] = mapped_column(JSON, default=list)
    dns_failed: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dns_checked_at: Mapped[datetime | None]
