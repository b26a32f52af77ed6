"""Site software + advisories + vendor catalogue -> findings. Pure: no I/O, no store.

Advisories are indexed by ``(ecosystem, package)`` once, so matching costs one
dictionary lookup per installed package plus a range check per hit — never
sites x advisories. A site known only by a fingerprint's candidate range gets
"possible" findings; an extension whose updates come from somewhere we do not
poll is an ``unknown-source`` finding, never "up to date".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from sitekeeper.domain.advisory import Advisory, AffectedPackage, PackageType
from sitekeeper.domain.catalogue import (
    BAD_STATUSES,
    UNREACHABLE,
    CatalogueEntry,
    PackageKey,
)
from sitekeeper.domain.findings import (
    CERTAIN,
    POSSIBLE,
    UNKNOWN_SOURCE,
    UPDATE,
    VULNERABILITY,
    FindingSpec,
    Software,
)
from sitekeeper.domain.ranges import Constraint, parse_constraint
from sitekeeper.domain.versions import Ecosystem
from sitekeeper.store.inventories import is_polled

_CONSTRAINT = re.compile(r"[<>=^~*|, ]")


class AdvisoryIndex:
    """Advisories by ``(ecosystem, package)``, built once per matching run."""

    def __init__(self, advisories: Iterable[Advisory]) -> None:
        self._by_package: dict[tuple[str, str], list[tuple[Advisory, AffectedPackage]]] = {}
        for advisory in advisories:
            for affected in advisory.affected:
                if affected.slug:
                    key = (str(affected.ecosystem), affected.slug)
                    self._by_package.setdefault(key, []).append((advisory, affected))

    def packages(self) -> set[tuple[str, str]]:
        """Every (ecosystem, package) some advisory names."""
        return set(self._by_package)

    def lookup(self, software: Software) -> list[tuple[Advisory, AffectedPackage]]:
        """Advisory entries for this package whose package type fits the software's."""
        entries = self._by_package.get((str(software.ecosystem), software.package), [])
        return [(a, p) for a, p in entries if _type_fits(p.type, software.type)]


def _type_fits(advisory_type: PackageType, software_type: str) -> bool:
    """Core, plugin and theme must agree (a theme may share a plugin's slug); Drupal's OSV
    names modules and themes alike, so the other types match any non-core package."""
    if advisory_type in (PackageType.CORE, PackageType.PLUGIN, PackageType.THEME):
        return str(advisory_type) == software_type
    return software_type != "core"


def match(
    software: Iterable[Software],
    advisories: AdvisoryIndex,
    catalogue: Mapping[PackageKey, CatalogueEntry],
) -> list[FindingSpec]:
    """Every finding the given software has: vulnerabilities, pending updates, unknown sources."""
    result: list[FindingSpec] = []
    for item in software:
        entry = catalogue.get(item.catalogue_key)
        vulns = [
            spec
            for advisory, affected in advisories.lookup(item)
            if (spec := _vulnerability(item, advisory, affected, entry)) is not None
        ]
        result.extend(vulns)
        update = _update(item, entry, vulns)
        if update is not None:
            result.append(update)
    return result


def _vulnerability(
    item: Software, advisory: Advisory, affected: AffectedPackage, entry: CatalogueEntry | None
) -> FindingSpec | None:
    if item.version is not None:
        try:
            hit = affected.affects(item.version)
        except ValueError:
            return None  # the site reported a version this ecosystem cannot read
        certainty = CERTAIN
        probe = item.version
    else:
        hits = [v for v in _candidate_versions(item, entry) if _affects(affected, v)]
        hit, certainty = bool(hits), POSSIBLE
        probe = hits[0] if hits else ""
    if not hit:
        return None
    return FindingSpec(
        site_id=item.site_id,
        kind=VULNERABILITY,
        ecosystem=str(item.ecosystem),
        type=item.type,
        package=item.package,
        installed=item.version or (" ".join(item.candidates) or None),
        basis=item.basis,
        advisory_id=advisory.id,
        security=True,
        certainty=certainty,
        aliases=advisory.aliases,
        severity=advisory.severity,
        fixed_in=fixed_in(affected, probe),
    )


def _affects(affected: AffectedPackage, version: str) -> bool:
    try:
        return affected.affects(version)
    except ValueError:
        return False


def _candidate_versions(item: Software, entry: CatalogueEntry | None) -> list[str]:
    """Concrete versions a fingerprint still allows: listed ones, and for a range the
    vendor's releases inside it plus its bounds (so no release list still tests something)."""
    versions: list[str] = []
    for candidate in item.candidates:
        text = candidate.strip()
        if not _CONSTRAINT.search(text):
            versions.append(text)
            continue
        try:
            constraint = parse_constraint(text)
        except ValueError:
            continue
        known = entry.releases if entry else ()
        versions.extend(v for v in known if _satisfies(constraint, v, item.ecosystem))
        for conjunction in constraint.alternatives:
            versions.extend(c.raw for c in conjunction if c.raw and c.op in (">=", "==", "<="))
    return list(dict.fromkeys(versions))


def _satisfies(constraint: Constraint, version: str, ecosystem: Ecosystem) -> bool:
    try:
        return constraint.satisfied_by(version, ecosystem)
    except ValueError:
        return False


def fixed_in(affected: AffectedPackage, version: str) -> str | None:
    """The fix for ``version``'s own branch when the advisory has one, else the general fix."""
    eco = affected.ecosystem
    try:
        branch: str | None = eco.branch(version) if version else None
    except ValueError:
        branch = None
    own = [r for r in affected.ranges.ranges if r.branch is not None and r.branch == branch]
    ranges = own or [r for r in affected.ranges.ranges if r.branch is None]
    for item in ranges:
        try:
            inside = not version or item.contains(version, eco)
        except ValueError:
            inside = False
        if inside and item.fixed:
            return item.fixed
    later = [p for p in affected.patched_versions if version and _newer(eco, p, version)]
    return later[0] if later else None


def _newer(eco: Ecosystem, left: str, right: str) -> bool:
    try:
        return eco.compare(left, right) > 0
    except ValueError:
        return False


def _update(
    item: Software, entry: CatalogueEntry | None, vulns: Sequence[FindingSpec]
) -> FindingSpec | None:
    if item.version is None:
        return None  # a candidate range cannot say whether an update is pending
    base = FindingSpec(
        site_id=item.site_id,
        kind=UPDATE,
        ecosystem=str(item.ecosystem),
        type=item.type,
        package=item.package,
        installed=item.version,
        basis=item.basis,
    )
    advisory_ids = tuple(v.advisory_id for v in vulns if v.advisory_id)
    source = item.update_source or "unknown"
    polled = is_polled(item.ecosystem, source)
    if polled and (entry is None or entry.status == UNREACHABLE):
        # Not polled yet, or its feed failed (offline): we know nothing either way, which
        # is not an untracked source. The updates view says "feed not reachable since …".
        return None
    if not polled or entry is None or entry.status == "not-found" or entry.latest is None:
        return replace(
            base,
            kind=UNKNOWN_SOURCE,
            security=bool(advisory_ids),
            advisory_ids=advisory_ids,
            note=f"unknown source: {source}",
        )
    target = _target(item, entry)
    behind = _newer(item.ecosystem, target, item.version)
    flagged = item.version in entry.insecure or entry.status in BAD_STATUSES
    if not behind and not flagged:
        return None
    branch = _branch_target(item, entry) if entry.branch_latest else (target if behind else None)
    beyond = branch is None or _newer(item.ecosystem, target, branch)
    major = target if behind and beyond else None
    return replace(
        base,
        latest=target,
        security=flagged or bool(advisory_ids) or _fixes(item, entry, target, vulns),
        advisory_ids=advisory_ids,
        note=entry.status if entry.status in BAD_STATUSES else None,
        branch_update=branch,
        branch_security=branch is not None and _fixes(item, entry, branch, vulns),
        major_update=major,
    )


def _fixes(
    item: Software, entry: CatalogueEntry, target: str, vulns: Sequence[FindingSpec]
) -> bool:
    """Whether updating to ``target`` brings security fixes: a vendor security release up to
    it, a known vulnerability fixed by it, or leaving a release the vendor flags insecure."""
    installed = item.version
    assert installed is not None
    eco = item.ecosystem

    def reached(version: str) -> bool:
        return _newer(eco, version, installed) and not _newer(eco, version, target)

    if installed in entry.insecure and target not in entry.insecure:
        return True
    if any(reached(v) for v in entry.security_releases):
        return True
    return any(v.fixed_in is not None and reached(v.fixed_in) for v in vulns)


def _target(item: Software, entry: CatalogueEntry) -> str:
    """The newest release there is (the vendor's latest)."""
    assert entry.latest is not None
    return entry.latest


def _branch_target(item: Software, entry: CatalogueEntry) -> str | None:
    """The newest release on the installed version's own branch, when newer: the update a
    security policy applies without approval (a package whose vendor publishes no branches
    has one path, its latest release). A branch its vendor no longer supports moves to
    the oldest supported branch of the same line instead (``Ecosystem.line``: minor
    releases keep compatibility there; the unsupported branch gets no fixes)."""
    assert item.version is not None
    eco = item.ecosystem
    try:
        branch = eco.branch(item.version)
    except ValueError:
        return None
    found = entry.branch_latest.get(branch)
    supported = any(item.version.startswith(p) for p in entry.supported_branches)
    if entry.supported_branches and not supported:
        found = _supported_sibling(eco, item.version, entry) or found
    if found is None or not _newer(eco, found, item.version):
        return None
    return found


def _supported_sibling(eco: Ecosystem, version: str, entry: CatalogueEntry) -> str | None:
    """The newest release of the oldest supported branch on ``version``'s line."""
    try:
        mine = eco.line(version)
    except ValueError:
        return None
    siblings: list[str] = []
    for latest in entry.branch_latest.values():
        try:
            other = eco.line(latest)
        except ValueError:
            continue
        supported = any(latest.startswith(p) for p in entry.supported_branches)
        if supported and other == mine:
            siblings.append(latest)
    newer = [v for v in siblings if _newer(eco, v, version)]
    return min(newer, key=eco.sort_key()) if newer else None
