"""Joomla from outside: its own paths that must not be public (configuration.php copies,
the images folder's listing)."""

from __future__ import annotations

from sitekeeper.domain.severity import Severity
from sitekeeper.probes.security.exposed_files import (
    LISTING,
    Exposable,
    cms_exposed_files,
    config_copies,
)

CMS = "joomla"  # the check here runs on sites of this kind only

PATHS: tuple[Exposable, ...] = (
    *config_copies("/configuration.php", (".bak", "~", ".old")),
    Exposable(
        "/images/",
        LISTING,
        Severity.LOW,
        "Directory listing of the images folder",
        "Turn directory listings off (Options -Indexes).",
    ),
)

ExposedFiles = cms_exposed_files(CMS, PATHS)
