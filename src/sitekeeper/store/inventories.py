"""Named queries for what sites run: inventories and fingerprints with history, and the
``site_software`` index matching reads.

An SSH inventory is the truth about a site; a fingerprint only stands in for
a site without one. Either way ``site_software`` is rebuilt for the site in the
same transaction, so matching never sees a half-written site.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import delete, func, insert, select, tuple_
from sqlalchemy.orm import Session

from sitekeeper.domain.findings import FINGERPRINT, INVENTORY, Software
from sitekeeper.domain.fingerprint import Fingerprint
from sitekeeper.domain.intel_events import IntelEventKind
from sitekeeper.domain.inventory import Inventory, InventoryDiff, diff
from sitekeeper.domain.untrusted import clean
from sitekeeper.domain.versions import Ecosystem
from sitekeeper.plugins import Registry
from sitekeeper.store import journal
from sitekeeper.store.dialect import upsert_insert
from sitekeeper.store.intel_tables import (
    FingerprintRecord,
    IntelAttempt,
    InventoryRecord,
    SiteSoftware,
)
from sitekeeper.store.tables import Site


class CmsSoftware(Protocol):
    """What the store needs of a CMS to index a site's software: where its packages live
    and where its core's updates come from (a ``cms.protocol.Cms``, filed here by
    ``cms.registry``)."""

    @property
    def ecosystem(self) -> Ecosystem:
        """The ecosystem of its core and extensions."""
        ...

    @property
    def core_source(self) -> str:
        """Where its core's updates come from, as the catalogue names it."""
        ...

    def polls(self, source: str | None) -> bool:
        """Whether a package whose updates come from ``source`` is looked up in our feeds."""
        ...


CMS_SOFTWARE: Registry[CmsSoftware] = Registry("cms-software", builtins=("sitekeeper.cms",))
_CLIP = 100
RETRY_AFTER = 3600.0  # seconds before a site whose inventory or fingerprint failed is retried


def ecosystem(name: str) -> Ecosystem:
    """A stored ecosystem name revived; the CMS packages are discovered first, since a
    CMS may declare its own ecosystem (ValueError if none did)."""
    CMS_SOFTWARE.discover()
    return Ecosystem(name)


def _cms_of(ecosystem: str) -> CmsSoftware | None:
    return next((c for _, c in CMS_SOFTWARE.items() if c.ecosystem == ecosystem), None)


def is_polled(ecosystem: str, source: str | None) -> bool:
    """Whether we poll where this package's updates come from (its CMS says: the vendor's
    directory, or an update server an extension declares); several CMSes may share an
    ecosystem (a Composer-based one): any of them polling it is enough."""
    return any(c.polls(source) for _, c in CMS_SOFTWARE.items() if c.ecosystem == ecosystem)


def polled_source(ecosystem: str) -> str:
    """The source a package of ``ecosystem`` is polled at by default (its core's)."""
    cms = _cms_of(ecosystem)
    return cms.core_source if cms is not None else "unknown"


def latest_inventory(session: Session, site_id: int) -> Inventory | None:
    """The site's most recent inventory, if any."""
    row = session.scalars(
        select(InventoryRecord)
        .where(InventoryRecord.site_id == site_id)
        .order_by(InventoryRecord.collected_at.desc(), InventoryRecord.id.desc())
        .limit(1)
    ).first()
    return Inventory.model_validate(row.data) if row else None


def store_inventory(session: Session, site: Site, inventory: Inventory) -> InventoryDiff:
    """Keep the inventory, journal what changed since the last one, refresh the index.

    The first inventory of a site journals every extension as installed.
    """
    previous = latest_inventory(session, site.id)
    empty = Inventory(cms=inventory.cms, collected_at=inventory.collected_at)
    changes = diff(previous or empty, inventory)
    session.add(
        InventoryRecord(
            site_id=site.id,
            collected_at=inventory.collected_at,
            cms=inventory.cms[:32],
            version=_clip(inventory.version),
            data=inventory.model_dump(mode="json"),
        )
    )
    if previous is None or not changes.empty:
        journal.record(
            session,
            IntelEventKind.INVENTORY_CHANGED,
            site_id=site.id,
            client_id=site.client_id,
            data={"first": previous is None, **changes.model_dump(mode="json")},
            ts=inventory.collected_at,
        )
    site.cms = inventory.cms[:32]
    site.cms_version = inventory.version[:64] if inventory.version else None
    _replace_software(session, site.id, list(software_from_inventory(site.id, inventory)))
    return changes


def software_from_inventory(site_id: int, inventory: Inventory) -> Iterable[dict[str, Any]]:
    """``site_software`` rows of an inventory: the core, then every extension."""
    cms = CMS_SOFTWARE.find(inventory.cms)
    if cms is None:
        return
    ecosystem = cms.ecosystem
    yield _row(
        site_id, ecosystem, "core", inventory.cms,
        name=inventory.cms, version=inventory.version, basis=INVENTORY,
        update_source=cms.core_source, active=True,
    )  # fmt: skip
    for ext in inventory.extensions:
        yield _row(
            site_id, ecosystem, ext.type, ext.slug,
            name=ext.name, version=ext.version, basis=INVENTORY,
            update_source=ext.update_source, active=ext.active,
        )  # fmt: skip


def store_fingerprint(
    session: Session, site: Site, fingerprint: Fingerprint, now: datetime
) -> bool:
    """Keep the fingerprint; it becomes the site's software only without an inventory.

    Returns whether the CMS or version changed (journalled as fingerprint.changed).
    """
    previous = session.scalars(
        select(FingerprintRecord)
        .where(FingerprintRecord.site_id == site.id)
        .order_by(FingerprintRecord.taken_at.desc(), FingerprintRecord.id.desc())
        .limit(1)
    ).first()
    # What a site serves is hostile text: one clean line per stored value.
    version = clean(fingerprint.version, _CLIP) if fingerprint.version else None
    candidates = [clean(c, _CLIP) for c in fingerprint.candidates[:50]]
    data = fingerprint.to_json()
    data["version"], data["candidates"] = version, candidates
    session.add(
        FingerprintRecord(
            site_id=site.id,
            taken_at=now,
            cms=fingerprint.cms[:32] if fingerprint.cms else None,
            version=version,
            data=data,
        )
    )
    before = (previous.cms, previous.version, previous.data.get("candidates")) if previous else None
    changed = before != (fingerprint.cms, version, candidates)
    if changed and fingerprint.error is None:
        journal.record(
            session,
            IntelEventKind.FINGERPRINT_CHANGED,
            site_id=site.id,
            client_id=site.client_id,
            data={
                "cms": fingerprint.cms,
                "version": version,
                "candidates": candidates,
            },
            ts=now,
        )
    has_inventory = session.scalar(
        select(InventoryRecord.id).where(InventoryRecord.site_id == site.id).limit(1)
    )
    if has_inventory is None and fingerprint.error is None:
        rows = []
        cms = CMS_SOFTWARE.find(fingerprint.cms) if fingerprint.cms else None
        if cms is not None and fingerprint.cms is not None:
            rows.append(
                _row(
                    site.id, cms.ecosystem, "core", fingerprint.cms,
                    name=fingerprint.cms, version=version, basis=FINGERPRINT,
                    update_source=cms.core_source, active=None,
                    candidates=candidates,
                )
            )  # fmt: skip
        _replace_software(session, site.id, rows)
        if fingerprint.cms and site.cms is None:
            site.cms = fingerprint.cms[:32]
    return changed


def software(
    session: Session,
    *,
    site_ids: Collection[int] | None = None,
    packages: Collection[tuple[str, str]] | None = None,
) -> list[Software]:
    """Site software, optionally of some sites or of some (ecosystem, package) only.

    The package filter uses ``ix_site_software_package``: a new advisory reads
    only the rows of the packages it names.
    """
    stmt = select(
        SiteSoftware.site_id,
        SiteSoftware.ecosystem,
        SiteSoftware.type,
        SiteSoftware.package,
        SiteSoftware.version,
        SiteSoftware.candidates,
        SiteSoftware.basis,
        SiteSoftware.update_source,
    ).join(Site, Site.id == SiteSoftware.site_id)
    if site_ids is not None:
        stmt = stmt.where(SiteSoftware.site_id.in_(list(site_ids)))
    result: list[Software] = []
    if packages is not None:
        pairs = list(packages)
        if not pairs:
            return []
        for start in range(0, len(pairs), 500):
            chunk = pairs[start : start + 500]
            where = tuple_(SiteSoftware.ecosystem, SiteSoftware.package).in_(chunk)
            result.extend(_software(row) for row in session.execute(stmt.where(where)))
        return result
    return [_software(row) for row in session.execute(stmt)]


def _software(row: Any) -> Software:
    return Software(
        site_id=row[0],
        ecosystem=ecosystem(row[1]),
        type=row[2],
        package=row[3],
        version=row[4],
        candidates=tuple(str(c) for c in row[5] or ()),
        basis=row[6],
        update_source=row[7],
    )


def site_packages(session: Session, site_id: int) -> set[tuple[str, str]]:
    """(ecosystem, package) pairs one site runs."""
    rows = session.execute(
        select(SiteSoftware.ecosystem, SiteSoftware.package).where(SiteSoftware.site_id == site_id)
    )
    return {(e, p) for e, p in rows}


def _replace_software(session: Session, site_id: int, rows: list[dict[str, Any]]) -> None:
    session.execute(delete(SiteSoftware).where(SiteSoftware.site_id == site_id))
    unique = {(r["ecosystem"], r["type"], r["package"]): r for r in rows}
    if unique:
        session.execute(insert(SiteSoftware), list(unique.values()))


def _row(
    site_id: int,
    ecosystem: Ecosystem,
    type_: str,
    package: str,
    *,
    name: str,
    version: str | None,
    basis: str,
    update_source: str | None,
    active: bool | None,
    candidates: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "site_id": site_id,
        "ecosystem": str(ecosystem),
        "type": type_,
        "package": package[:200],
        "name": name[:200],
        "version": _clip(version),
        "candidates": candidates or [],
        "basis": basis,
        "update_source": update_source[:500] if update_source else None,
        "active": active,
    }


def _clip(value: str | None) -> str | None:
    return value[:_CLIP] if value else None


def sites_due(
    session: Session, kind: str, now: datetime, default_interval: float, limit: int = 100
) -> list[int]:
    """Sites whose last inventory (``kind`` "inventory": sites with SSH access) or fingerprint
    ("fingerprint": every unpaused site) is older than their interval, least recently tried
    first.

    A plan may set ``inventory_interval`` / ``fingerprint_interval`` (seconds) in its
    options; otherwise ``default_interval`` applies. A site tried without success (or
    skipped) is tried again after ``min(interval, RETRY_AFTER)``, behind every site tried
    less recently: one failing site cannot hold the first places of every round.
    """
    from sitekeeper.store.tables import Contract, Plan  # noqa: PLC0415 - same store layer

    table, column = (
        (InventoryRecord, InventoryRecord.collected_at)
        if kind == "inventory"
        else (FingerprintRecord, FingerprintRecord.taken_at)
    )
    last = select(table.site_id, func.max(column).label("last")).group_by(table.site_id).subquery()
    tried = (
        select(IntelAttempt.site_id, IntelAttempt.attempted_at)
        .where(IntelAttempt.kind == kind)
        .subquery()
    )
    # Attempts are recorded before the work, so the last attempt is never older than the
    # last success; the success stands in for sites done before attempts were recorded.
    turn = func.coalesce(tried.c.attempted_at, last.c.last)
    stmt = (
        select(Site.id, last.c.last, tried.c.attempted_at, Plan.options)
        .outerjoin(last, last.c.site_id == Site.id)
        .outerjoin(tried, tried.c.site_id == Site.id)
        .outerjoin(Contract, Contract.id == Site.contract_id)
        .outerjoin(Plan, Plan.id == Contract.plan_id)
        .where(Site.paused.is_(False))
        .order_by(turn.is_not(None), turn, Site.id)
    )
    if kind == "inventory":
        stmt = stmt.where(Site.ssh.is_not(None))
    due: list[int] = []
    moment = now.timestamp()
    for site_id, seen, attempted, options in session.execute(stmt):
        interval = float((options or {}).get(f"{kind}_interval") or default_interval)
        if seen is not None and _aware(seen).timestamp() + interval > moment:
            continue
        if attempted is not None and (
            _aware(attempted).timestamp() + min(interval, RETRY_AFTER) > moment
        ):
            continue
        due.append(site_id)
        if len(due) >= limit:
            break
    return due


def mark_attempted(session: Session, kind: str, site_ids: Collection[int], now: datetime) -> None:
    """Record that ``kind`` is being tried for these sites now (see :func:`sites_due`)."""
    if not site_ids:
        return
    stmt = upsert_insert(session.connection())(IntelAttempt)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[IntelAttempt.site_id, IntelAttempt.kind],
            set_={"attempted_at": stmt.excluded.attempted_at},
        ),
        [{"site_id": sid, "kind": kind, "attempted_at": now} for sid in site_ids],
    )


def attempts_due(
    session: Session, kind: str, now: datetime, default_interval: float, limit: int = 100
) -> list[int]:
    """Unpaused sites whose last ``kind`` attempt (:func:`mark_attempted`) is older than
    their interval (the plan's ``{kind}_interval`` or ``default_interval``), never-tried
    first, then least recently tried: the turn of checks with no record of their own."""
    from sitekeeper.store.tables import Contract, Plan  # noqa: PLC0415 - same store layer

    tried = (
        select(IntelAttempt.site_id, IntelAttempt.attempted_at)
        .where(IntelAttempt.kind == kind)
        .subquery()
    )
    stmt = (
        select(Site.id, tried.c.attempted_at, Plan.options)
        .outerjoin(tried, tried.c.site_id == Site.id)
        .outerjoin(Contract, Contract.id == Site.contract_id)
        .outerjoin(Plan, Plan.id == Contract.plan_id)
        .where(Site.paused.is_(False))
        .order_by(tried.c.attempted_at.is_not(None), tried.c.attempted_at, Site.id)
    )
    due: list[int] = []
    moment = now.timestamp()
    for site_id, attempted, options in session.execute(stmt):
        interval = float((options or {}).get(f"{kind}_interval") or default_interval)
        if attempted is not None and _aware(attempted).timestamp() + interval > moment:
            continue
        due.append(site_id)
        if len(due) >= limit:
            break
    return due


def _aware(value: datetime) -> datetime:
    """SQLite hands back aggregate datetimes as naive (or text); they are stored in UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
