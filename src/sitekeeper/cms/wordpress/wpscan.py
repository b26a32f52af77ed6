"""WPScan API v3 answers: a plugin's or theme's vulnerabilities, a core version's status.

A vulnerability gives ``introduced_in``/``fixed_in``, or, when a fix was
back-ported, a list of such pairs (``affected_versions``); each pair becomes
one bounded range, so 10.4.4 (fixed on its branch) is not flagged by 10.5.3.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sitekeeper.cms.wordpress.ecosystem import WORDPRESS
from sitekeeper.domain.advisory import Advisory, AffectedPackage, PackageType, severity_from_score
from sitekeeper.domain.ranges import AffectedRanges, VersionRange
from sitekeeper.errors import InvalidFeed
from sitekeeper.intel.payload import DEFAULT_MAX_BYTES, load_json, validate


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class _Pair(_Model):
    introduced_in: str | None = None
    fixed_in: str | None = None


class _Cvss(_Model):
    score: float | None = None
    vector: str | None = None
    severity: str | None = None


class _Vulnerability(_Model):
    id: str = Field(min_length=1)
    title: str
    created_at: datetime | None = None
    updated_at: datetime | None = None
    published_date: datetime | None = None
    fixed_in: str | None = None
    introduced_in: str | None = None
    affected_versions: list[_Pair] = Field(default_factory=list)
    references: dict[str, list[str]] = Field(default_factory=dict)
    cvss: _Cvss | None = None


class _Package(_Model):
    latest_version: str | None = None
    vulnerabilities: list[_Vulnerability] = Field(default_factory=list)


class CoreRelease(_Model):
    """``/wordpresses/<digits>``: a core version's release date and status."""

    release_date: date
    status: str  # "latest", "outdated", "insecure"
    vulnerabilities: list[dict[str, Any]] = Field(default_factory=list)


def _ranges(vuln: _Vulnerability) -> tuple[VersionRange, ...]:
    pairs = vuln.affected_versions or [
        _Pair(introduced_in=vuln.introduced_in, fixed_in=vuln.fixed_in)
    ]
    return tuple(VersionRange(introduced=p.introduced_in, fixed=p.fixed_in) for p in pairs)


def parse_wpscan_package(
    data: bytes | str, *, slug: str, kind: PackageType, max_bytes: int = DEFAULT_MAX_BYTES
) -> list[Advisory]:
    """``/plugins/<slug>`` or ``/themes/<slug>``; the body may be keyed by slug or not."""
    what = f"WPScan {kind} {slug}"
    body = load_json(data, what=what, max_bytes=max_bytes)
    if isinstance(body, dict) and set(body) == {slug}:
        body = body[slug]
    package = validate(_Package, body, what=what)
    advisories = []
    for vuln in package.vulnerabilities:
        ranges = _ranges(vuln)
        for item in ranges:
            for bound in (item.introduced, item.fixed):
                if bound is not None and not bound[:1].isdigit():
                    raise InvalidFeed(f"{what}: {bound!r} is not a version")
        cvss = vuln.cvss or _Cvss()
        advisories.append(
            Advisory(
                id=f"WPSCAN-{vuln.id}",
                aliases=tuple(f"CVE-{c}" for c in vuln.references.get("cve", [])),
                summary=vuln.title,
                severity=(cvss.severity or "").lower() or severity_from_score(cvss.score),
                cvss_score=cvss.score,
                cvss_vector=cvss.vector,
                published=vuln.published_date or vuln.created_at,
                modified=vuln.updated_at,
                affected=(
                    AffectedPackage(
                        WORDPRESS,
                        slug,
                        kind,
                        AffectedRanges(WORDPRESS, ranges),
                        tuple(p.fixed_in for p in vuln.affected_versions if p.fixed_in),
                    ),
                ),
                references=tuple(vuln.references.get("url", [])),
                source="wpscan",
            )
        )
    return advisories


def parse_wpscan_core_release(
    data: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> CoreRelease:
    """A core version's record; the body may be keyed by the version ("4.0") or not."""
    what = "WPScan core version"
    body = load_json(data, what=what, max_bytes=max_bytes)
    if isinstance(body, dict) and len(body) == 1:
        (inner,) = body.values()
        if isinstance(inner, dict):
            body = inner
    return validate(CoreRelease, body, what=what)
