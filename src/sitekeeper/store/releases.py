"""Named queries for the release catalogue (what vendors publish) and feed fetch state.

A poll stores each package's whole picture at once (latest, status, every
release with its security flags), replacing the previous one in the same
transaction, and says which packages changed so only those are re-matched.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.orm import Session

from sitekeeper.domain.catalogue import (
    UNREACHABLE,
    CatalogueEntry,
    PackageInfo,
    PackageKey,
    VendorRelease,
)
from sitekeeper.domain.versions import Ecosystem
from sitekeeper.store.intel_tables import (
    CataloguePackage,
    CatalogueRelease,
    FeedState,
    SiteSoftware,
)
from sitekeeper.store.inventories import is_polled, polled_source
from sitekeeper.store.tables import Client, Site


def store_packages(
    session: Session, infos: Sequence[PackageInfo], now: datetime
) -> list[PackageInfo]:
    """Replace the catalogue entries of these packages; returns those that changed."""
    if not infos:
        return []
    unique = {info.key: info for info in infos}
    keys = list(unique)
    before = catalogue(session, keys)
    changed = [info for key, info in unique.items() if _entry(info) != before.get(key)]
    for start in range(0, len(keys), 300):
        chunk = keys[start : start + 300]
        for table in (CataloguePackage, CatalogueRelease):
            where = tuple_(table.ecosystem, table.type, table.package).in_(chunk)
            session.execute(delete(table).where(where))
    session.execute(
        insert(CataloguePackage),
        [
            {
                "ecosystem": str(i.ecosystem),
                "type": i.type,
                "package": i.package[:200],
                "name": (i.name or "")[:300] or None,
                "latest": i.latest[:100] if i.latest else None,
                "status": i.status[:16],
                "details": i.details,
                "source": i.source[:500],
                "checked_at": now,
            }
            for i in unique.values()
        ],
    )
    releases = [
        {
            "ecosystem": str(i.ecosystem),
            "type": i.type,
            "package": i.package[:200],
            "version": r.version[:100],
            "released_at": r.released_at,
            "security_update": r.security_update,
            "insecure": r.insecure,
        }
        for i in unique.values()
        for r in {r.version[:100]: r for r in i.releases}.values()
    ]
    if releases:
        session.execute(insert(CatalogueRelease), releases)
    return changed


def mark_unreachable(
    session: Session, failed: Mapping[PackageKey, str], now: datetime
) -> list[PackageKey]:
    """Remember that these packages' feeds failed (``details["unreachable"]``: since when,
    the last error, the last successful read); returns the packages that had no entry.

    An entry read before keeps its data (matching goes on with it); a package never
    read gets an ``unreachable`` entry, so it is shown as "feed not reachable since …"
    and opens no finding. The next successful poll replaces either.
    """
    if not failed:
        return []
    keys = list(failed)
    rows: dict[PackageKey, CataloguePackage] = {}
    for start in range(0, len(keys), 300):
        where = tuple_(
            CataloguePackage.ecosystem, CataloguePackage.type, CataloguePackage.package
        ).in_(keys[start : start + 300])
        rows.update(
            ((r.ecosystem, r.type, r.package), r)
            for r in session.scalars(select(CataloguePackage).where(where))
        )
    fresh: list[PackageKey] = []
    for key, error in failed.items():
        row = rows.get(key)
        if row is None:
            eco, type_, package = key
            source = polled_source(eco)
            row = CataloguePackage(
                ecosystem=eco, type=type_, package=package[:200], latest=None,
                status=UNREACHABLE, details={}, source=source, checked_at=now,
            )  # fmt: skip
            session.add(row)
            fresh.append(key)
        before = dict(row.details.get("unreachable") or {})
        last_success = None if row.status == UNREACHABLE else row.checked_at.isoformat()
        row.details = {
            **row.details,
            "unreachable": {
                "since": before.get("since") or now.isoformat(),
                "error": error[:500],
                "last_success": last_success,
            },
        }
    return fresh


@dataclass(frozen=True)
class Untracked:
    """A package some site runs whose polled feed could not be read."""

    site_id: int
    site: str
    client: str | None
    ecosystem: str
    type: str
    package: str
    installed: str | None
    basis: str
    since: datetime | None
    error: str | None
    last_success: datetime | None

    @property
    def note(self) -> str:
        """What to tell a person: "feed not reachable since …", the last read and error."""
        said = "feed not reachable"
        if self.since is not None:
            said += f" since {self.since:%Y-%m-%d %H:%M} UTC"
        if self.last_success is not None:
            said += f" (last read {self.last_success:%Y-%m-%d %H:%M} UTC)"
        return said + (f": {self.error}" if self.error else "")


def untracked(session: Session, site_ids: Collection[int] | None = None) -> list[Untracked]:
    """Packages of polled sources whose feed failed before it was ever read (``unreachable``
    entries), by site name then package: the ``updates`` view lists them, with no finding."""
    stmt = (
        select(
            SiteSoftware.site_id, Site.name, Client.name, SiteSoftware.ecosystem,
            SiteSoftware.type, SiteSoftware.package, SiteSoftware.version,
            SiteSoftware.basis, SiteSoftware.update_source, CataloguePackage.details,
        )
        .join(Site, Site.id == SiteSoftware.site_id)
        .outerjoin(Client, Client.id == Site.client_id)
        .join(
            CataloguePackage,
            (CataloguePackage.ecosystem == SiteSoftware.ecosystem)
            & (CataloguePackage.type == SiteSoftware.type)
            & (CataloguePackage.package == SiteSoftware.package),
        )
        .where(CataloguePackage.status == UNREACHABLE)
        .order_by(Site.name, SiteSoftware.package)
    )  # fmt: skip
    if site_ids is not None:
        stmt = stmt.where(SiteSoftware.site_id.in_(list(site_ids)))
    found: list[Untracked] = []
    for (
        site_id,
        site,
        client,
        eco,
        type_,
        package,
        version,
        basis,
        source,
        details,
    ) in session.execute(stmt).tuples():
        if not is_polled(eco, source):
            continue  # an unknown source has its own finding
        failure = (details or {}).get("unreachable") or {}
        found.append(
            Untracked(
                site_id=site_id, site=site, client=client, ecosystem=eco, type=type_,
                package=package, installed=version, basis=basis,
                since=_when(failure.get("since")), error=failure.get("error"),
                last_success=_when(failure.get("last_success")),
            )
        )  # fmt: skip
    return found


def _when(text: object) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) else None


def _entry(info: PackageInfo) -> CatalogueEntry:
    """What matching would see of a poll result (to tell whether anything changed)."""
    return CatalogueEntry(
        latest=info.latest[:100] if info.latest else None,
        status=info.status[:16],
        branch_latest=dict(info.details.get("branch_latest", {})),
        supported_branches=tuple(info.details.get("supported_branches", ())),
        insecure=frozenset(r.version for r in info.releases if r.insecure),
        security_releases=tuple(sorted(r.version for r in info.releases if r.security_update)),
        releases=tuple(sorted(r.version for r in info.releases)),
    )


def catalogue(
    session: Session, keys: Collection[PackageKey] | None = None
) -> dict[PackageKey, CatalogueEntry]:
    """Catalogue entries for the given (ecosystem, type, package) keys (all when None)."""
    packages: list[CataloguePackage] = []
    flags: dict[PackageKey, list[tuple[str, bool, bool]]] = {}
    chunks: list[list[PackageKey] | None] = [None]
    if keys is not None:
        wanted = list(keys)
        chunks = [wanted[i : i + 300] for i in range(0, len(wanted), 300)]
    for chunk in chunks:
        pstmt = select(CataloguePackage)
        rstmt = select(
            CatalogueRelease.ecosystem,
            CatalogueRelease.type,
            CatalogueRelease.package,
            CatalogueRelease.version,
            CatalogueRelease.security_update,
            CatalogueRelease.insecure,
        )
        if chunk is not None:
            pstmt = pstmt.where(
                tuple_(CataloguePackage.ecosystem, CataloguePackage.type, CataloguePackage.package)
                .in_(chunk)
            )  # fmt: skip
            rstmt = rstmt.where(
                tuple_(CatalogueRelease.ecosystem, CatalogueRelease.type, CatalogueRelease.package)
                .in_(chunk)
            )  # fmt: skip
        packages.extend(session.scalars(pstmt))
        for eco, type_, package, version, security, insecure in session.execute(rstmt):
            flags.setdefault((eco, type_, package), []).append((version, security, insecure))
    result: dict[PackageKey, CatalogueEntry] = {}
    for row in packages:
        key = (row.ecosystem, row.type, row.package)
        rel = flags.get(key, [])
        result[key] = CatalogueEntry(
            latest=row.latest,
            status=row.status,
            branch_latest=dict(row.details.get("branch_latest", {})),
            supported_branches=tuple(row.details.get("supported_branches", ())),
            insecure=frozenset(v for v, _, bad in rel if bad),
            security_releases=tuple(sorted(v for v, sec, _ in rel if sec)),
            releases=tuple(sorted(v for v, _, _ in rel)),
            requires_php=dict(row.details.get("requires_php", {})),
            requires_db=dict(row.details.get("requires_db", {})),
        )
    return result


def vendor_releases(session: Session, ecosystem: Ecosystem, package: str) -> list[VendorRelease]:
    """A package's releases as ``intel.branches`` wants them (for per-branch ranges)."""
    rows = session.execute(
        select(
            CatalogueRelease.version,
            CatalogueRelease.released_at,
            CatalogueRelease.security_update,
            CatalogueRelease.insecure,
        ).where(CatalogueRelease.ecosystem == str(ecosystem), CatalogueRelease.package == package)
    )
    return [VendorRelease(v, d, security_update=s, insecure=i) for v, d, s, i in rows]


def packages_to_poll(session: Session, ecosystem: Ecosystem) -> list[tuple[str, str, str | None]]:
    """(type, package, update source) triples some site runs in ``ecosystem``."""
    rows = session.execute(
        select(SiteSoftware.type, SiteSoftware.package, SiteSoftware.update_source)
        .where(SiteSoftware.ecosystem == str(ecosystem))
        .distinct()
    )
    return sorted(((t, p, u) for t, p, u in rows), key=lambda r: (r[0], r[1], r[2] or ""))


# --- feed state ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedStateRow:
    """Validators and backoff of one feed URL, as stored."""

    etag: str | None
    last_modified: str | None
    failures: int
    next_attempt_at: float
    last_error: str | None


def load_feed_state(session: Session) -> dict[str, FeedStateRow]:
    """Every feed URL's validators and backoff."""
    return {
        row.url: FeedStateRow(
            row.etag, row.last_modified, row.failures, row.next_attempt_at, row.last_error
        )
        for row in session.scalars(select(FeedState))
    }


def save_feed_state(session: Session, states: Mapping[str, FeedStateRow], now: datetime) -> None:
    """Upsert the state of the URLs a poll touched."""
    for url, state in states.items():
        row = session.get(FeedState, url[:2048]) or FeedState(url=url[:2048])
        session.add(row)
        row.etag = state.etag[:500] if state.etag else None
        row.last_modified = state.last_modified[:100] if state.last_modified else None
        row.failures = state.failures
        row.next_attempt_at = state.next_attempt_at
        row.last_error = state.last_error[:2000] if state.last_error else None
        if state.failures == 0:
            row.fetched_at = now
