"""Drupal from outside: its own paths that must not be public (settings.php copies,
the public files folder's listing)."""

from __future__ import annotations

from sitekeeper.domain.severity import Severity
from sitekeeper.probes.security.exposed_files import (
    LISTING,
    Exposable,
    cms_exposed_files,
    config_copies,
)

CMS = "drupal"  # the check here runs on sites of this kind only

PATHS: tuple[Exposable, ...] = (
    *config_copies("/sites/default/settings.php", (".bak", "~", ".old")),
    Exposable(
        "/sites/default/files/",
        LISTING,
        Severity.LOW,
        "Directory listing of the public files folder",
        "Turn directory listings off (Options -Indexes).",
    ),
)

ExposedFiles = cms_exposed_files(CMS, PATHS)
