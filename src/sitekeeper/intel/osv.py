"""OSV advisories (osv.dev, GitHub Advisory Database, a vendor's own OSV feed).

A CMS whose packages OSV files under another ecosystem's names (Drupal's under
Packagist) says how to read them through ``OSV_NAMES``, from its package; any
other package is taken in the ecosystem OSV names, as a library.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from sitekeeper.domain.advisory import Advisory, AffectedPackage, PackageType, severity_from_score
from sitekeeper.domain.ranges import (
    AffectedRanges,
    VersionRange,
)
from sitekeeper.domain.versions import Ecosystem
from sitekeeper.errors import InvalidFeed
from sitekeeper.intel.payload import DEFAULT_MAX_BYTES, load_json, validate
from sitekeeper.plugins import Registry


@dataclass(frozen=True)
class OsvPackage:
    """What an OSV package is to us: its ecosystem, slug and kind."""

    ecosystem: Ecosystem
    slug: str
    type: PackageType


class OsvNames(Protocol):
    """How a CMS's packages are named in OSV records (filed by its package)."""

    def package(self, osv_ecosystem: str, name: str) -> OsvPackage | None:
        """Our package for OSV's ``(ecosystem, name)`` if it is one of this CMS's."""
        ...

    def extra_ranges(
        self, package: OsvPackage, database_specific: Mapping[str, Any], ranges: list[VersionRange]
    ) -> list[VersionRange]:
        """Ranges the vendor's records carry outside the standard fields (``ranges``: the
        standard ones); none usually."""
        ...


OSV_NAMES: Registry[OsvNames] = Registry("osv-names", builtins=("sitekeeper.cms",))


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class _Event(_Model):
    introduced: str | None = None
    fixed: str | None = None
    last_affected: str | None = None
    limit: str | None = None


class _Range(_Model):
    type: Literal["ECOSYSTEM", "SEMVER", "GIT"]
    events: list[_Event] = Field(min_length=1)


class _Package(_Model):
    ecosystem: str
    name: str


class _Severity(_Model):
    type: str
    score: str


class _Affected(_Model):
    package: _Package
    ranges: list[_Range] = Field(default_factory=list)
    versions: list[str] = Field(default_factory=list)
    severity: list[_Severity] = Field(default_factory=list)
    database_specific: dict[str, Any] | None = None


class _Reference(_Model):
    type: str
    url: str


class _Osv(_Model):
    id: str = Field(min_length=1)
    modified: datetime
    published: datetime | None = None
    withdrawn: datetime | None = None
    aliases: list[str] = Field(default_factory=list)
    summary: str | None = None
    details: str | None = None
    severity: list[_Severity] = Field(default_factory=list)
    affected: list[_Affected] = Field(default_factory=list)
    references: list[_Reference] = Field(default_factory=list)
    database_specific: dict[str, Any] | None = None


def _ranges(raw: _Range, what: str) -> list[VersionRange]:
    """OSV events to intervals: each ``introduced`` opens one, the next fix closes it."""
    result: list[VersionRange] = []
    start: str | None = None
    open_range = False
    for event in raw.events:
        if event.introduced is not None:
            if open_range:
                result.append(VersionRange(introduced=start))
            start, open_range = (None if event.introduced == "0" else event.introduced), True
        elif event.fixed is not None or event.last_affected is not None:
            if not open_range:
                raise InvalidFeed(f"{what}: a fixed/last_affected event without introduced")
            result.append(
                VersionRange(introduced=start, fixed=event.fixed, last_affected=event.last_affected)
            )
            open_range = False
    if open_range:
        result.append(VersionRange(introduced=start))
    return result


def _identify(affected: _Affected) -> tuple[OsvPackage, OsvNames | None] | None:
    """Our package for an OSV one: a CMS's naming first, else the ecosystem as named."""
    osv_ecosystem, name = affected.package.ecosystem, affected.package.name
    for _, names in OSV_NAMES.items():
        found = names.package(osv_ecosystem, name)
        if found is not None:
            return found, names
    try:
        ecosystem = Ecosystem.from_osv(osv_ecosystem, name)
    except ValueError:
        return None  # an ecosystem no monitored site can run
    return OsvPackage(ecosystem, name, PackageType.LIBRARY), None


def _package(affected: _Affected, what: str) -> AffectedPackage | None:
    identified = _identify(affected)
    if identified is None:
        return None
    package, names = identified
    ecosystem = package.ecosystem
    ranges = [r for raw in affected.ranges if raw.type != "GIT" for r in _ranges(raw, what)]
    if names is not None:
        ranges += names.extra_ranges(package, affected.database_specific or {}, ranges)
    try:  # a version our comparator cannot read would fail at match time; fail now instead
        for item in ranges:
            for bound in (item.introduced, item.fixed, item.last_affected):
                if bound is not None:
                    ecosystem.compare(bound, bound)
    except ValueError as exc:
        raise InvalidFeed(f"{what}: {exc}") from exc
    return AffectedPackage(
        ecosystem=ecosystem,
        slug=package.slug,
        type=package.type,
        ranges=AffectedRanges(ecosystem, tuple(ranges), tuple(affected.versions)),
    )


def _severity(record: _Osv) -> tuple[str | None, str | None]:
    vector = next((s.score for s in record.severity if s.type.startswith("CVSS")), None)
    label = (record.database_specific or {}).get("severity")
    return (label.lower() if isinstance(label, str) else None), vector


def parse_osv(data: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Advisory:
    """One OSV record; packages in ecosystems we do not monitor are left out."""
    what = "OSV advisory"
    record = validate(_Osv, load_json(data, what=what, max_bytes=max_bytes), what=what)
    what = f"OSV advisory {record.id}"
    packages = [p for a in record.affected if (p := _package(a, what)) is not None]
    severity, vector = _severity(record)
    score = (record.database_specific or {}).get("cvss_score")
    numeric = float(score) if isinstance(score, int | float) else None
    return Advisory(
        id=record.id,
        aliases=tuple(record.aliases),
        summary=record.summary or (record.details or "").split("\n", 1)[0][:300],
        severity=severity or severity_from_score(numeric),
        cvss_score=numeric,
        cvss_vector=vector,
        published=record.published,
        modified=record.modified,
        affected=tuple(packages),
        references=tuple(r.url for r in record.references),
        source="osv",
    )
