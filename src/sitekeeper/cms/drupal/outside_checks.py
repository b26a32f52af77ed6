"""Drupal from outside: its own paths that must not be public (settings.php copies,
the public files folder's listing)."""

from __future__ import annotations

from sitekeeper.domain.exposure import SecurityIssue
from sitekeeper.domain.severity import Severity
from sitekeeper.probes.security.checks import CHECKS, SiteView
from sitekeeper.probes.security.exposed_files import (
    CONFIG_FIX,
    LISTING,
    PHP_CONFIG,
    Exposable,
    exposed,
)

CMS = "drupal"  # the check here runs on sites of this kind only

PATHS: tuple[Exposable, ...] = (
    *(
        Exposable(path, PHP_CONFIG, Severity.CRITICAL, f"Copy of settings.php readable ({path})",
                  CONFIG_FIX)
        for path in ("/sites/default/settings.php.bak", "/sites/default/settings.php~",
                     "/sites/default/settings.php.old")
    ),
    Exposable(
        "/sites/default/files/",
        LISTING,
        Severity.LOW,
        "Directory listing of the public files folder",
        "Turn directory listings off (Options -Indexes).",
    ),
)  # fmt: skip


@CHECKS.register("drupal-exposed-file")
class ExposedFiles:
    """Drupal's own paths that must not be public."""

    async def run(self, site: SiteView) -> list[SecurityIssue]:
        """The exposed Drupal paths of a Drupal site."""
        return await exposed(site, PATHS) if site.cms == CMS else []
