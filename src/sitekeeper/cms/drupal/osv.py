"""How Drupal's packages are named in OSV records.

Drupal publishes core as Packagist ``drupal/core`` and contrib under
``Packagist:https://packages.drupal.org/8`` with Composer-style versions
("2.5.0" for "8.x-2.5"); we map both to the Drupal ecosystem, whose
comparator understands either spelling, so a site's "8.x-2.4" matches.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sitekeeper.cms.drupal.versions import DRUPAL
from sitekeeper.domain.advisory import PackageType
from sitekeeper.domain.ranges import VersionRange, constraint_to_ranges, parse_constraint
from sitekeeper.intel.osv import OSV_NAMES, OsvPackage

CORE_PACKAGES = frozenset({"drupal/core", "drupal/drupal"})


class DrupalOsvNames:
    """Drupal core and contrib in OSV's Packagist names."""

    def package(self, osv_ecosystem: str, name: str) -> OsvPackage | None:
        """Core (``drupal/core``) or a contrib project (``drupal/<project>``), else None."""
        base = osv_ecosystem.split(":", 1)[0].strip().lower()
        if base != "packagist":
            return None
        if not (name.startswith("drupal/") or "packages.drupal.org" in osv_ecosystem):
            return None
        if name in CORE_PACKAGES:
            return OsvPackage(DRUPAL, "drupal", PackageType.CORE)
        return OsvPackage(DRUPAL, name.removeprefix("drupal/"), PackageType.MODULE)

    def extra_ranges(
        self, package: OsvPackage, database_specific: Mapping[str, Any], ranges: list[VersionRange]
    ) -> list[VersionRange]:
        """Drupal 7 core's ranges, for core (see :func:`older_cores`)."""
        if package.type is not PackageType.CORE:
            return []
        return older_cores(database_specific, ranges)


def older_cores(
    database_specific: Mapping[str, Any], ranges: list[VersionRange]
) -> list[VersionRange]:
    """Drupal 7 core ranges, which Drupal's OSV records carry only in ``affected_versions``.

    ``drupal/core`` starts at 8.0.0, so only alternatives wholly below every listed
    range are added; anything else in that free-form field is already covered.
    """
    text = database_specific.get("affected_versions")
    if not isinstance(text, str) or not ranges or any(r.introduced is None for r in ranges):
        return []
    try:
        extra = constraint_to_ranges(parse_constraint(text))
    except ValueError:
        return []  # a vendor-specific, optional field: the standard ranges still apply
    floor = min((r.introduced for r in ranges if r.introduced), key=DRUPAL.sort_key())
    return [
        r for r in extra if (top := r.fixed or r.last_affected) and DRUPAL.compare(top, floor) <= 0
    ]


OSV_NAMES.add("drupal", DrupalOsvNames())
