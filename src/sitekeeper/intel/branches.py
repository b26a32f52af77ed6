"""Per-branch normalisation of affected ranges, from the vendor's release list.

Vendors back-port security fixes: "fixed in 5.8.3" was also fixed in 5.7.5 on
the 5.7 branch, so "< 5.8.3" alone would flag every 5.7 site. Given the
vendor's releases (dates and security flags where its release history has them,
at least its insecure flags: each CMS package turns its feed into them), each
branch below the fix gets its own fix: the first release on that branch shipped
with the advisory's fix release (same date, give or take a day), or failing
dates, the first release after which the vendor flags nothing on that branch as
insecure. A branch with
no such release stays affected; branches the vendor does not list keep the
original range, so missing vendor data never hides a vulnerability.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sitekeeper.domain.catalogue import VendorRelease
from sitekeeper.domain.ranges import AffectedRanges, VersionRange
from sitekeeper.domain.versions import Ecosystem

SAME_RELEASE_WINDOW = timedelta(days=1)  # back-ports ship with the fix, give or take time zones


def split_by_branch(affected: AffectedRanges, releases: Iterable[VendorRelease]) -> AffectedRanges:
    """``affected`` plus a range per vendor branch it touches; the original ranges stay
    as the fallback for branches the vendor did not list.

    A branch with ranges of its own is judged by those alone, so every original
    range contributes to every such branch: refined where the vendor data allows,
    unchanged (just tagged) where it does not.
    """
    eco = affected.ecosystem
    by_branch = _group(eco, releases)
    originals = [item for item in affected.ranges if item.branch is None]
    refined = [_split(eco, item, by_branch) for item in originals]
    branches = sorted({branch for split in refined for branch in split})
    extra = [
        split.get(branch) or replace(item, branch=branch)
        for item, split in zip(originals, refined, strict=True)
        for branch in branches
    ]
    return replace(affected, ranges=affected.ranges + tuple(extra))


def _group(eco: Ecosystem, releases: Iterable[VendorRelease]) -> dict[str, list[VendorRelease]]:
    grouped: dict[str, list[VendorRelease]] = {}
    for release in releases:
        if "dev" in release.version.lower():
            continue  # snapshots are not releases anyone was told to install
        try:
            branch = eco.branch(release.version)
        except ValueError:
            continue
        grouped.setdefault(branch, []).append(release)
    key = eco.sort_key()
    return {b: sorted(rs, key=lambda r: key(r.version)) for b, rs in grouped.items()}


def _split(
    eco: Ecosystem, item: VersionRange, by_branch: dict[str, list[VendorRelease]]
) -> dict[str, VersionRange]:
    upper = item.fixed or item.last_affected
    if upper is None:
        return {}  # nothing is fixed anywhere: the range already says it all
    fix_branch = _branch_of(eco, upper, by_branch)
    anchor = _fix_date(eco, item, by_branch.get(fix_branch, []))
    result = {fix_branch: replace(item, branch=fix_branch)}
    for branch, releases in by_branch.items():
        if branch == fix_branch or not any(item.contains(r.version, eco) for r in releases):
            continue
        fix = _backport(releases, anchor)
        result[branch] = VersionRange(
            introduced=item.introduced,
            introduced_exclusive=item.introduced_exclusive,
            fixed=fix.version if fix else None,
            branch=branch,
        )
    return result


def _branch_of(eco: Ecosystem, version: str, by_branch: dict[str, list[VendorRelease]]) -> str:
    """The vendor's branch for a version, which may be spelt differently ("2.2.0", "8.x-2.2")."""
    for branch, releases in by_branch.items():
        if any(eco.compare(r.version, version) == 0 for r in releases):
            return branch
    return eco.branch(version)


def _fix_date(
    eco: Ecosystem, item: VersionRange, fix_branch: Sequence[VendorRelease]
) -> datetime | None:
    """When the fix shipped: the date of the fixed release (or the one after last_affected)."""
    for release in fix_branch:
        if item.fixed is not None and eco.compare(release.version, item.fixed) >= 0:
            return release.date
        if item.last_affected is not None and eco.compare(release.version, item.last_affected) > 0:
            return release.date
    return None


def _backport(releases: Sequence[VendorRelease], anchor: datetime | None) -> VendorRelease | None:
    """The first release of a branch that carries the fix, or None if we cannot tell."""
    if anchor is not None and all(r.date is not None for r in releases):
        flagged = any(r.security_update for r in releases)
        for release in releases:
            assert release.date is not None
            if release.date >= anchor - SAME_RELEASE_WINDOW and (
                release.security_update or not flagged
            ):
                return release
        return None
    if any(r.insecure for r in releases):
        last_insecure = max(i for i, r in enumerate(releases) if r.insecure)
        if last_insecure + 1 < len(releases):
            return releases[last_insecure + 1]
    return None
