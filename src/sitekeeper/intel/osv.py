"""OSV advisories (osv.dev, GitHub Advisory Database, Drupal's own OSV feed).

Drupal publishes core as Packagist ``drupal/core`` and contrib under
``Packagist:https://packages.drupal.org/8`` with Composer-style versions
("2.5.0" for "8.x-2.5"); we map both to the Drupal ecosystem, whose
comparator understands either spelling, so a site's "8.x-2.4" matches.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sitekeeper.domain.advisory import Advisory, AffectedPackage, PackageType, severity_from_score
from sitekeeper.domain.ranges import (
    AffectedRanges,
    VersionRange,
    constraint_to_ranges,
    parse_constraint,
)
from sitekeeper.domain.versions import Ecosystem
from sitekeeper.errors import InvalidFeed
from sitekeeper.intel.payload import DEFAULT_MAX_BYTES, load_json, validate

_DRUPAL_CORE_PACKAGES = {"drupal/core", "drupal/drupal"}


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


def _older_cores(affected: _Affected, ranges: list[VersionRange]) -> list[VersionRange]:
    """Drupal 7 core ranges, which Drupal's OSV records carry only in ``affected_versions``.

    ``drupal/core`` starts at 8.0.0, so only alternatives wholly below every listed
    range are added; anything else in that free-form field is already covered.
    """
    text = (affected.database_specific or {}).get("affected_versions")
    if not isinstance(text, str) or not ranges or any(r.introduced is None for r in ranges):
        return []
    try:
        extra = constraint_to_ranges(parse_constraint(text))
    except ValueError:
        return []  # a vendor-specific, optional field: the standard ranges still apply
    floor = min((r.introduced for r in ranges if r.introduced), key=Ecosystem.DRUPAL.sort_key())
    return [
        r
        for r in extra
        if (top := r.fixed or r.last_affected) and Ecosystem.DRUPAL.compare(top, floor) <= 0
    ]


def _package(affected: _Affected, what: str) -> AffectedPackage | None:
    name = affected.package.name
    try:
        ecosystem = Ecosystem.from_osv(affected.package.ecosystem, name)
    except ValueError:
        return None  # an ecosystem no monitored site can run
    if ecosystem is Ecosystem.DRUPAL:
        core = name in _DRUPAL_CORE_PACKAGES
        slug = "drupal" if core else name.removeprefix("drupal/")
        kind = PackageType.CORE if core else PackageType.MODULE
    else:
        slug, kind = name, PackageType.LIBRARY
    ranges = [r for raw in affected.ranges if raw.type != "GIT" for r in _ranges(raw, what)]
    if ecosystem is Ecosystem.DRUPAL and kind is PackageType.CORE:
        ranges += _older_cores(affected, ranges)
    try:  # a version our comparator cannot read would fail at match time; fail now instead
        for item in ranges:
            for bound in (item.introduced, item.fixed, item.last_affected):
                if bound is not None:
                    ecosystem.compare(bound, bound)
    except ValueError as exc:
        raise InvalidFeed(f"{what}: {exc}") from exc
    return AffectedPackage(
        ecosystem=ecosystem,
        slug=slug,
        type=kind,
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
