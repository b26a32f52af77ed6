"""The one advisory model every source (OSV, Wordfence, Joomla, WPScan) is normalised to.

Matching a site against advisories then needs no knowledge of where an
advisory came from: an affected package is an ecosystem, a slug, a kind and
per-branch ranges that compare with the ecosystem's own rules.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sitekeeper.domain.ranges import AffectedRanges
from sitekeeper.domain.versions import Ecosystem


class PackageType(enum.StrEnum):
    """What an affected package is on the site."""

    CORE = "core"
    PLUGIN = "plugin"
    THEME = "theme"
    MODULE = "module"
    COMPONENT = "component"
    LIBRARY = "library"


@dataclass(frozen=True)
class AffectedPackage:
    """One package an advisory names, with the versions it affects."""

    ecosystem: Ecosystem
    slug: str  # the vendor's project name: "wordpress", "joomla", "drupal", "admin_toolbar"
    type: PackageType
    ranges: AffectedRanges
    patched_versions: tuple[str, ...] = ()

    def affects(self, version: str) -> bool:
        """Whether a site running ``version`` of this package is vulnerable."""
        return self.ranges.contains(version)


@dataclass(frozen=True)
class Advisory:
    """A security advisory, whatever its source."""

    id: str
    aliases: tuple[str, ...]
    summary: str
    severity: str | None  # "low" | "medium" | "high" | "critical" when the source says
    cvss_score: float | None
    cvss_vector: str | None
    published: datetime | None
    modified: datetime | None
    affected: tuple[AffectedPackage, ...]
    references: tuple[str, ...] = ()
    source: str = ""

    def affects(self, ecosystem: Ecosystem, slug: str, version: str) -> bool:
        """Whether ``slug`` at ``version`` in ``ecosystem`` is hit by this advisory."""
        return any(
            p.ecosystem is ecosystem and p.slug == slug and p.affects(version)
            for p in self.affected
        )


def severity_from_score(score: float | None) -> str | None:
    """CVSS v3 qualitative rating, used when a source gives only the number."""
    if score is None:
        return None
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    if score > 0.0:
        return "low"
    return "none"
