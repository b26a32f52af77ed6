"""Named queries for advisories: store normalised advisories, find them by package.

An advisory is kept whole as JSON (its per-branch ranges included) with a
side index of the packages it names, so "which advisories concern the
packages this site runs" and "which sites run what this advisory names" are
both index lookups.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.orm import Session

from sitekeeper.domain.advisory import Advisory, AffectedPackage, PackageType
from sitekeeper.domain.ranges import AffectedRanges, VersionRange
from sitekeeper.store.intel_tables import AdvisoryPackage, AdvisoryRecord
from sitekeeper.store.inventories import ecosystem as revive_ecosystem


def to_json(advisory: Advisory) -> dict[str, Any]:
    """The advisory as JSON (datetimes as ISO text)."""
    return {
        "id": advisory.id,
        "aliases": list(advisory.aliases),
        "summary": advisory.summary,
        "severity": advisory.severity,
        "cvss_score": advisory.cvss_score,
        "cvss_vector": advisory.cvss_vector,
        "published": advisory.published.isoformat() if advisory.published else None,
        "modified": advisory.modified.isoformat() if advisory.modified else None,
        "references": list(advisory.references),
        "source": advisory.source,
        "affected": [_package_json(p) for p in advisory.affected],
    }


def _package_json(package: AffectedPackage) -> dict[str, Any]:
    return {
        "ecosystem": str(package.ecosystem),
        "slug": package.slug,
        "type": str(package.type),
        "patched_versions": list(package.patched_versions),
        "versions": list(package.ranges.versions),
        "ranges": [
            {
                "introduced": r.introduced,
                "fixed": r.fixed,
                "last_affected": r.last_affected,
                "introduced_exclusive": r.introduced_exclusive,
                "branch": r.branch,
            }
            for r in package.ranges.ranges
        ],
    }


def from_json(data: dict[str, Any]) -> Advisory:
    """The inverse of :func:`to_json`."""
    return Advisory(
        id=data["id"],
        aliases=tuple(data["aliases"]),
        summary=data["summary"],
        severity=data["severity"],
        cvss_score=data["cvss_score"],
        cvss_vector=data["cvss_vector"],
        published=_when(data["published"]),
        modified=_when(data["modified"]),
        references=tuple(data["references"]),
        source=data["source"],
        affected=tuple(_package(p) for p in data["affected"]),
    )


def _package(data: dict[str, Any]) -> AffectedPackage:
    ecosystem = revive_ecosystem(data["ecosystem"])
    return AffectedPackage(
        ecosystem=ecosystem,
        slug=data["slug"],
        type=PackageType(data["type"]),
        patched_versions=tuple(data["patched_versions"]),
        ranges=AffectedRanges(
            ecosystem,
            tuple(VersionRange(**r) for r in data["ranges"]),
            tuple(data["versions"]),
        ),
    )


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def upsert(session: Session, advisories: Sequence[Advisory], now: datetime) -> list[str]:
    """Insert new advisories and replace changed ones; returns the ids of both.

    An unchanged advisory is left alone, so a refresh of a whole feed only
    re-matches what actually changed.
    """
    if not advisories:
        return []
    by_id = {a.id[:200]: a for a in advisories}
    rows = session.execute(
        select(AdvisoryRecord.id, AdvisoryRecord.data).where(AdvisoryRecord.id.in_(list(by_id)))
    )
    existing = {advisory_id: data for advisory_id, data in rows}
    changed: list[str] = []
    records: list[dict[str, Any]] = []
    packages: list[dict[str, Any]] = []
    for advisory_id, advisory in by_id.items():
        data = to_json(advisory)
        if existing.get(advisory_id) == data:
            continue
        changed.append(advisory_id)
        records.append(
            {
                "id": advisory_id,
                "source": advisory.source[:64] or "unknown",
                "summary": advisory.summary,
                "severity": (advisory.severity or "")[:16] or None,
                "aliases": list(advisory.aliases),
                "published": advisory.published,
                "modified": advisory.modified,
                "imported_at": now,
                "data": data,
            }
        )
        packages.extend(
            {"advisory_id": advisory_id, "ecosystem": e, "package": p}
            for e, p in {(str(x.ecosystem), x.slug[:200]) for x in advisory.affected if x.slug}
        )
    if changed:
        session.execute(delete(AdvisoryRecord).where(AdvisoryRecord.id.in_(changed)))
        session.execute(insert(AdvisoryRecord), records)
        if packages:
            session.execute(insert(AdvisoryPackage), packages)
    return changed


def packages_of(session: Session, advisory_ids: Collection[str]) -> set[tuple[str, str]]:
    """(ecosystem, package) pairs the given advisories name."""
    if not advisory_ids:
        return set()
    rows = session.execute(
        select(AdvisoryPackage.ecosystem, AdvisoryPackage.package).where(
            AdvisoryPackage.advisory_id.in_(list(advisory_ids))
        )
    )
    return {(e, p) for e, p in rows}


def for_packages(session: Session, packages: Collection[tuple[str, str]] | None) -> list[Advisory]:
    """Advisories naming any of ``packages`` (every advisory when None)."""
    stmt = select(AdvisoryRecord.data)
    if packages is not None:
        pairs = list(packages)
        if not pairs:
            return []
        ids: set[str] = set()
        for start in range(0, len(pairs), 500):
            where = tuple_(AdvisoryPackage.ecosystem, AdvisoryPackage.package).in_(
                pairs[start : start + 500]
            )
            ids.update(session.scalars(select(AdvisoryPackage.advisory_id).where(where)))
        stmt = stmt.where(AdvisoryRecord.id.in_(ids))
    return [from_json(data) for data in session.scalars(stmt)]


def list_all(session: Session) -> list[AdvisoryRecord]:
    """Every stored advisory, newest first."""
    return list(
        session.scalars(
            select(AdvisoryRecord).order_by(
                AdvisoryRecord.published.desc().nulls_last(), AdvisoryRecord.id
            )
        )
    )
