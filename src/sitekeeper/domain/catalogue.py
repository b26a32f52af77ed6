"""What vendors publish about packages: releases, catalogue entries, where updates come from.

Pure types shared by the feed pollers (which fill them), the store (which keeps them)
and matching (which reads them), so none of those layers imports another for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sitekeeper.domain.versions import Ecosystem

BAD_STATUSES = frozenset({"insecure", "revoked", "unsupported"})
# A catalogue entry a poll could not read yet: "feed not reachable", never "unknown source".
UNREACHABLE = "unreachable"
PackageKey = tuple[str, str, str]  # (ecosystem, type, package)


@dataclass(frozen=True)
class VendorRelease:
    """A release as the vendor lists it, with what the vendor says about its security."""

    version: str
    date: datetime | None = None
    security_update: bool = False  # the release fixes a vulnerability
    insecure: bool = False  # the vendor flags it as vulnerable (to anything)


@dataclass(frozen=True)
class ReleaseInfo:
    """One release as a feed lists it."""

    version: str
    released_at: datetime | None = None
    security_update: bool = False
    insecure: bool = False


@dataclass(frozen=True)
class PackageInfo:
    """A package's catalogue entry as one poll saw it."""

    ecosystem: Ecosystem
    type: str
    package: str
    latest: str | None
    source: str
    name: str | None = None
    status: str = "published"
    details: dict[str, Any] = field(default_factory=dict)
    releases: tuple[ReleaseInfo, ...] = ()

    @property
    def key(self) -> PackageKey:
        """(ecosystem, type, package)."""
        return (str(self.ecosystem), self.type, self.package)


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """What the vendor says about a package (from the release feeds)."""

    latest: str | None
    status: str = "published"  # published | insecure | revoked | unsupported | not-found |
    # unreachable (the feed failed before it was ever read: no data, no finding)
    branch_latest: Mapping[str, str] = field(default_factory=dict)
    supported_branches: tuple[str, ...] = ()
    insecure: frozenset[str] = frozenset()  # versions the vendor flags as insecure
    security_releases: tuple[str, ...] = ()  # versions that fixed a vulnerability
    releases: tuple[str, ...] = ()  # every known version (to test candidate ranges)
    requires_php: Mapping[str, str] = field(default_factory=dict)  # version -> lowest PHP
    # version -> lowest MySQL-compatible database server version
    requires_db: Mapping[str, str] = field(default_factory=dict)
